/* Private to src/store: what the backend shares with demo.c and tests. */
#ifndef VCLI_STORE_INT_H
#define VCLI_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

int64_t store__now_ms(void);
/* prefix + 32 lowercase hex digits of randomness */
void store__random_id(const char *prefix, char *out, size_t outlen);
/* Transactions committed so far (group-commit checks in tests). */
uint64_t store__commits(const store *st);

#endif
