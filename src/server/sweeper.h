/* Private: governd's SLA sweeper (expires overdue decisions). */
#ifndef VCLI_SERVER_SWEEPER_H
#define VCLI_SERVER_SWEEPER_H

#include <uv.h>

#include "store/store.h"

/* Runs on loop (governd's main loop). */
void sweeper_start(uv_loop_t *loop, store *st);
void sweeper_stop(void);

#endif
