/* ISC license. */
/* The worker's diagnostic lines: see log.h. Rare (a refused update, a
 * backend's TLS failing), so a JSON line may allocate. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <kakehi/logline.h>
#include "log.h"

#define LINE_MAX_BYTES 4096
#define PROG "kakehi-worker"

static enum kk_log_format format;
static enum kk_log_level least;

void
kk_log_configure(const kk_settings *s)
{
	format = s->log_format;
	least = s->log_level;
}

static void
vlog(enum kk_log_level level, const char *fmt, va_list ap)
{
	const char *name = level == KK_LOG_WARNING ? "warning" : "info";
	char line[LINE_MAX_BYTES];
	int e = errno, n, m, prefix;

	if (level < least)
		return;
	n = prefix = snprintf(line, sizeof line, "%s: %s: ", PROG, name);
	m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	n += m < 0 ? 0 : m;
	if (n > LINE_MAX_BYTES - 2)
		n = LINE_MAX_BYTES - 2;
	line[n] = 0;
	if (format == KK_LOG_JSON) {
		const char *fields[] = { "message", line + prefix, 0 };
		kk_str json = KK_STR_ZERO;
		int ok = kk_log_json(&json, PROG, name, fields);
		if (ok)
			(void)!write(2, json.s, json.len);
		kk_str_free(&json);
		if (ok) {
			errno = e;
			return;
		}
	}
	line[n++] = '\n';
	(void)!write(2, line, (size_t)n);
	errno = e;
}

void
kk_log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(KK_LOG_INFO, fmt, ap);
	va_end(ap);
}

void
kk_log_warning(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(KK_LOG_WARNING, fmt, ap);
	va_end(ap);
}
