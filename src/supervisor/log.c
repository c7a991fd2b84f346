/* ISC license. */
/* Diagnostics of the supervisor: one line per message on stderr, written
 * with a single write(2) so lines from the supervisor and its workers do
 * not interleave mid-line in a shared log. strerr writes through the
 * 1024-byte buffer_2 and splits a longer line (audit lines reach 2 KiB),
 * so it serves only the fatal exit (sv.h); info and warning lines, in the
 * same "PROG: level:" form or as JSON (set log-format), are written here,
 * info lines only at set log-level info. Also the clock. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/tai.h>

#include <kakehi/cert.h>
#include <kakehi/logline.h>
#include <kakehi/str.h>
#include "sv.h"

#define LOG_LINE_MAX 4096

/* The supervisor's one clock is skalibs' STAMP, on the stopwatch (set in
 * main) so it never steps back; iopause_g refreshes it after each pause.
 * Deadlines and start times are tain values of that clock; tain_zero,
 * long before any time of the stopwatch, means "none". */
void
sv_tain_after(tain *d, const tain *t, unsigned long ms)
{
	tain rel;
	tai_u64(&rel.sec, (uint64_t)(ms / 1000));
	rel.nano = (uint32_t)(ms % 1000) * 1000000u;
	tain_add(d, t, &rel);
}

void
sv_tain_ago(tain *t, unsigned long long ms)
{
	tain rel;
	tain_now_g();
	tai_u64(&rel.sec, (uint64_t)(ms / 1000));
	rel.nano = (uint32_t)(ms % 1000) * 1000000u;
	tain_sub(t, &STAMP, &rel);
}

void
sv_now(tain *t)
{
	tain_now_g();
	*t = STAMP;
}

void
sv_deadline_in(tain *d, unsigned long ms)
{
	tain_now_g();
	sv_tain_after(d, &STAMP, ms);
}

int
sv_deadline_set(const tain *d)
{
	return tai_sec(&d->sec) || tain_nano(d);
}

int
sv_deadline_due(const tain *d)
{
	return sv_deadline_set(d) && !tain_future(d);
}

void
sv_deadline_earliest(tain *earliest, const tain *d)
{
	if (sv_deadline_set(d) && tain_less(d, earliest))
		*earliest = *d;
}

/* b - a in milliseconds, negative when b is earlier. */
static long long
ms_between(const tain *a, const tain *b)
{
	tain x;
	long long ms;
	int neg = tain_less(b, a);
	tain_sub(&x, neg ? a : b, neg ? b : a);
	ms = (long long)tai_sec(&x.sec) * 1000 + (long long)(tain_nano(&x) / 1000000);
	return neg ? -ms : ms;
}

long long
sv_ms_since(const tain *t)
{
	tain_now_g();
	return ms_between(t, &STAMP);
}

long long
sv_ms_left(const tain *d)
{
	tain_now_g();
	return ms_between(&STAMP, d);
}

/* One JSON line of fields (logline.h), written at once; without the
 * memory for it, the line goes as text so that nothing is lost. */
static int
write_json(const char *level, const char *const *fields)
{
	kk_str line = KK_STR_ZERO;
	int ok = kk_log_json(&line, PROG, level, fields);

	if (ok)
		(void)!write(2, line.s, line.len);
	kk_str_free(&line);
	return ok;
}

static void
vlog(const char *level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int e = errno;
	int n, m, prefix;

	n = prefix = snprintf(line, sizeof line, "%s: %s: ", PROG, level);
	m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > LOG_LINE_MAX - 2)
		n = LOG_LINE_MAX - 2;
	if (sv.state.set.log_format == KK_LOG_JSON) {
		const char *fields[] = { "message", line + prefix, 0 };
		line[n] = 0;
		if (write_json(level, fields)) {
			errno = e;
			return;
		}
	}
	line[n++] = '\n';
	(void)!write(2, line, (size_t)n);
	errno = e;
}

void
sv_info(const char *fmt, ...)
{
	va_list ap;

	if (sv.state.set.log_level > KK_LOG_INFO)
		return;
	va_start(ap, fmt);
	vlog("info", fmt, ap);
	va_end(ap);
}

/* An info line whatever the level: the audit trail is never filtered. */
static void
info_always(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("info", fmt, ap);
	va_end(ap);
}

void
sv_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning", fmt, ap);
	va_end(ap);
}

void
sv_warn_limited(sv_ratelimit *rl, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX / 2];
	long long since = rl->used ? sv_ms_since(&rl->last) : 0;
	va_list ap;

	if (rl->used && since < SV_WARN_EVERY_MS) {
		rl->skipped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (rl->skipped)
		sv_warn("%s (and %u more like it in the last %llds, not logged)", msg,
		    rl->skipped, since / 1000);
	else
		sv_warn("%s", msg);
	rl->used = 1;
	sv_now(&rl->last);
	rl->skipped = 0;
}

void
sv_scrub(char *dst, size_t n, const char *src)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i + 1 < n && src[i]; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	dst[i] = 0;
}

/* The actor's short command name, as the kernel knows it. */
static void
comm_of(pid_t pid, char *buf, size_t n)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	buf[0] = 0;
	f = fopen(path, "re");
	if (f) {
		if (fgets(buf, (int)n, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
	if (!buf[0])
		snprintf(buf, n, "?");
}

void
sv_actor_of_peer(sv_origin *o, pid_t pid, uid_t uid)
{
	char comm[32], clean[32];

	comm_of(pid, comm, sizeof comm);
	sv_scrub(clean, sizeof clean, comm);
	snprintf(o->actor, sizeof o->actor, "uid=%u pid=%d comm=%s",
	    (unsigned)uid, (int)pid, clean);
}

/* The verb for an audit line: scrubbed, and without a certificate's
 * bytes (a key never reaches a log). */
static void
audit_verb(char *verb, size_t n, const char *verbline)
{
	kk_str shown = KK_STR_ZERO;

	if (kk_cert_redact(&shown, verbline, strlen(verbline)))
		sv_scrub(verb, n, shown.s);
	else
		sv_scrub(verb, n, "(a verb line; out of memory to show it)");
	kk_str_free(&shown);
}

/* One audit line: "audit: ACTOR verb="VERB" result=RESULT[: why]", or
 * in JSON the same as fields (why only with a reason). */
static void
audit_line(const sv_origin *o, const char *verbline, const char *result, const char *why)
{
	char verb[1024], res[1024];

	audit_verb(verb, sizeof verb, verbline);
	if (why)
		sv_scrub(res, sizeof res, *why ? why : "error");
	if (sv.state.set.log_format == KK_LOG_JSON) {
		const char *fields[] = { "event", "audit", "actor", o->actor, "verb", verb,
			"result", result, why ? "why" : 0, res, 0 };
		if (write_json("info", fields))
			return;
	}
	if (why)
		info_always("audit: %s verb=\"%s\" result=%s: %s", o->actor, verb, result, res);
	else
		info_always("audit: %s verb=\"%s\" result=%s", o->actor, verb, result);
}

void
sv_audit(const sv_origin *o, const char *verbline, int ok, const char *result)
{
	audit_line(o, verbline, ok ? "ok" : "error", ok ? 0 : result ? result : "");
}

void
sv_audit_refused(const sv_origin *o, const char *verbline, const char *why)
{
	audit_line(o, verbline, "refused", why);
}
