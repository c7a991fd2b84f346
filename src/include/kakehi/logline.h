/* ISC license. */
/* The programs' own log lines as JSON (set log-format json): one object
 * a line with the wall-clock time, the program and the level, then the
 * line's own fields, so that a collector reads every line of the
 * supervisor and its workers the same way. The text form stays each
 * program's ("PROGRAM: LEVEL: message"). */
#ifndef KAKEHI_LOGLINE_H
#define KAKEHI_LOGLINE_H

#include <stddef.h>
#include <kakehi/str.h>

/* Now, UTC, RFC 3339 with milliseconds: 2026-12-03T08:30:00.123Z. */
#define KK_LOG_STAMPLEN 32
size_t kk_log_stamp(char buf[KK_LOG_STAMPLEN]);

/* {"time":...,"program":prog,"level":level,NAME:VALUE...} and a LF into
 * out (reset first); fields are NAME, VALUE pairs, NULL-terminated, each
 * value a string. 1 ok, 0 ENOMEM. */
int kk_log_json(kk_str *out, const char *prog, const char *level, const char *const *fields);

#endif
