/* ISC license. */
/* The worker's own diagnostic lines on stderr, which it shares with the
 * supervisor: "kakehi-worker: LEVEL: message", or one JSON object a line
 * under set log-format json, info lines only under set log-level info.
 * Each line is one write(2), so lines of several processes never mix.
 * Fatal lines at start, before any state, stay text. */
#ifndef KK_WORKER_LOG_H
#define KK_WORKER_LOG_H

#include <kakehi/state.h>

/* The format and level of the settings, applied by each new state. */
void kk_log_configure(const kk_settings *);
void kk_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kk_log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
