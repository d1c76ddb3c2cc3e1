/*
 * Fuzz target: the HTTP/1.x request-head parser of governd's metrics
 * listener (src/common/httpreq.c), as the listener runs it: on everything a
 * client has sent so far, with the listener's 8 KiB cap.
 *
 * Input: the bytes a client sends.
 *
 * Checked beyond memory safety: a head said complete lies inside the input,
 * ends with the blank line and names a GET-able path; parsing exactly that
 * head gives the same answer; and a complete head is found whatever the
 * input is cut into (each prefix answers MORE until it is all there).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/httpreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define CAP 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	httpreq r, again;
	httpreq_result rc = httpreq_parse(&r, p, size, CAP);

	switch (rc) {
	case HTTPREQ_DONE:
		CHECK(r.head_len >= 4 && r.head_len <= size && r.head_len <= CAP);
		CHECK(memcmp(p + r.head_len - 4, "\r\n\r\n", 4) == 0);
		CHECK(r.method[0] != '\0' && r.path[0] == '/');
		CHECK(r.minor == 0 || r.minor == 1);
		CHECK(httpreq_parse(&again, p, r.head_len, CAP) == HTTPREQ_DONE);
		CHECK(again.head_len == r.head_len && strcmp(again.path, r.path) == 0 &&
		      strcmp(again.method, r.method) == 0 && again.keep_alive == r.keep_alive);
		/* Any shorter prefix is incomplete or already refused. */
		for (size_t n = r.head_len - 1; n + 8 > r.head_len && n > 0; n--) {
			httpreq_result k = httpreq_parse(&again, p, n, CAP);
			CHECK(k == HTTPREQ_MORE || k == HTTPREQ_BAD);
		}
		break;
	case HTTPREQ_BAD:
		CHECK(r.error != NULL);
		break;
	case HTTPREQ_TOO_LARGE:
		CHECK(size >= CAP);
		break;
	case HTTPREQ_MORE:
		CHECK(size < CAP);
		break;
	case HTTPREQ_VERSION:
	case HTTPREQ_BODY:
		break;
	default:
		abort();
	}
	return 0;
}
