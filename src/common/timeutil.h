/* Private: clocks and durations. */
#ifndef VCLI_TIMEUTIL_H
#define VCLI_TIMEUTIL_H

#include <stdint.h>
#include <stddef.h>

/* Monotonic nanoseconds. */
uint64_t time_mono_ns(void);
/* Wall-clock seconds and nanoseconds since the epoch. */
void time_wall(int64_t *sec, int32_t *nsec);

/*
 * Parses a duration: numbers each followed by a unit ns, us, ms, s, m, h, d,
 * summed ("500ms", "1.5s", "1m30s", "2h").  A unit is required, so "10"
 * never silently means 10 ms or 10 s.  Writes milliseconds, rounded to the
 * nearest.  Returns 0, or -1 when the text is not a duration or rounds to
 * less than 1 ms.
 */
int duration_parse_ms(const char *text, uint64_t *ms);

/* ms since the epoch as "2026-11-27T03:04:05Z"; "-" for 0. */
void time_format_utc(int64_t ms, char *out, size_t outlen);

/* Go-style: "1h2m3s", "1.5s", "45s", "120ms". */
void duration_format(uint64_t ms, char *out, size_t outlen);

/*
 * gRPC's grpc-timeout header: 1 to 8 ASCII digits and a unit (H M S m u n).
 * Returns 0 and the timeout in nanoseconds, or -1 when malformed.
 */
int grpc_timeout_parse(const char *v, size_t n, uint64_t *ns);
/* Formats ms as a grpc-timeout value (at most 8 digits, largest exact unit). */
void grpc_timeout_format(uint64_t ms, char *out, size_t outlen);

#endif
