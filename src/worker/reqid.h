/* ISC license. */
/* Request ids: 32 lower-case hex digits (128 bits), unique per request
 * across the workers of a proxy and its restarts, made without a system
 * call per request. Only the making of them: which field carries them,
 * and when a client's own is kept, is head.c's. */
#ifndef KK_WORKER_REQID_H
#define KK_WORKER_REQID_H

#include <stddef.h>

#define KK_REQID_LEN 32

/* Draws the worker's secret from the kernel, once, at start: 1 ok, 0
 * with errno (no id can be told apart from another worker's). */
int kk_reqid_init(void);
/* Writes the next id in out (not NUL ended); KK_REQID_LEN. */
size_t kk_reqid_next(char out[KK_REQID_LEN]);

#endif
