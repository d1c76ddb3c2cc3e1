/*
 * Private: functions banned from vcli's own code (the idea of git's banned.h).
 * Each of them writes past a buffer or keeps hidden state; use snprintf,
 * buf_*() or strtok_r-free parsing instead.  Force-included by the build.
 */
#ifndef VCLI_BANNED_H
#define VCLI_BANNED_H

/* The system headers that declare them come first, so that their
 * declarations are seen before the macros below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)

#endif
