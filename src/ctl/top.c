/* ISC license. */
/* kakehi-ctl top: the proxy at a glance, redrawn every interval, from
 * the same `status` answer a script reads: the totals of the workers'
 * counters ("total KEY VALUE"), turned into rates between two samples,
 * the backends avoided now and the workers. The screen is plain text
 * with two ANSI controls (home, clear to end), so it works in any
 * terminal, tmux included; `--once` prints one frame without them. */

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "top.h"

/* The rates shown, each from a total counter: label, key. */
static const struct {
	const char *label, *key;
} rates[] = {
	{ "requests", "requests" },
	{ "2xx", "responses-2xx" },
	{ "3xx", "responses-3xx" },
	{ "4xx", "responses-4xx" },
	{ "5xx", "responses-5xx" },
	{ "connections", "connections-total" },
	{ "back connects", "back-connects" },
	{ "retries", "retries" },
	{ "TLS handshakes", "tls-handshakes" },
	{ "h2 streams", "h2-streams" },
};
#define NRATES (sizeof rates / sizeof *rates)

/* Counters under these prefixes, and these closes, are errors: the
 * non-zero ones are listed. */
static const char *const error_prefixes[] = {
	"errors-", "h2-errors-", "h2-flood-", "clienthello-", "proxy-",
	"closes-back-connect", "closes-back-timeout", "closes-back-reset",
	"closes-back-invalid", "closes-back-abort", "closes-bad-request",
	"closes-read-error", "closes-write-error", "closes-request-timeout",
	"closes-send-timeout", "closes-body-timeout", "closes-handshake",
	"closes-h2-flood", "closes-h2-error", "closes-nomem", "closes-tunnel-error",
};

static void
line_copy(char *dst, size_t n, const char *p, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(dst, p, len);
	dst[len] = 0;
}

int
kk_top_parse(kk_top_sample *s, const char *text, uint64_t at_ms)
{
	const char *p = text;

	memset(s, 0, sizeof *s);
	s->at_ms = at_ms;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[KK_TOP_LINE], key[64];
		unsigned long long v;

		line_copy(line, sizeof line, p, len);
		p += len + (eol ? 1 : 0);
		if (sscanf(line, "total %63s %llu", key, &v) == 2) {
			if (s->ntotals < KK_TOP_MAXTOTALS) {
				snprintf(s->totals[s->ntotals].key, sizeof s->totals[0].key, "%s", key);
				s->totals[s->ntotals++].v = v;
			}
		} else if (!strncmp(line, "generation ", 11))
			s->generation = strtoull(line + 11, 0, 10);
		else if (!strncmp(line, "uptime ", 7))
			s->uptime_s = strtoull(line + 7, 0, 10);
		else if (!strncmp(line, "workers ", 8))
			snprintf(s->workers, sizeof s->workers, "%s", line + 8);
		else if (!strncmp(line, "worker ", 7) || !strncmp(line, "backend-avoided ", 16)) {
			int worker = line[6] == ' ';
			char (*dst)[KK_TOP_LINE] = worker ? s->worker_lines : s->avoided;
			unsigned *n = worker ? &s->nworkers : &s->navoided;
			if (*n < KK_TOP_MAXLIST)
				snprintf(dst[(*n)++], KK_TOP_LINE, "%s", line);
		}
	}
	if (!s->workers[0]) {
		errno = EPROTO;
		return 0;
	}
	return 1;
}

static int
total(const kk_top_sample *s, const char *key, unsigned long long *v)
{
	unsigned i;

	for (i = 0; i < s->ntotals; i++)
		if (!strcmp(s->totals[i].key, key)) {
			*v = s->totals[i].v;
			return 1;
		}
	return 0;
}

/* The change of key a second between prev and cur; -1 when either
 * lacks it or a counter went back (a worker restarted). */
static double
rate(const kk_top_sample *prev, const kk_top_sample *cur, const char *key)
{
	unsigned long long a, b;
	double secs = (double)(cur->at_ms - prev->at_ms) / 1000.0;

	if (!prev->at_ms || secs <= 0 || !total(prev, key, &a) || !total(cur, key, &b) || b < a)
		return -1;
	return (double)(b - a) / secs;
}

static int
is_error(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof error_prefixes / sizeof *error_prefixes; i++)
		if (!strncmp(key, error_prefixes[i], strlen(error_prefixes[i])))
			return 1;
	return 0;
}

/* The end of every line: "" or the terminal's clear to end of line. */
static const char *line_end = "";

/* One line into out, cut to width. */
static void
put(kk_str *out, unsigned width, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (width && n > width)
		n = width;
	kk_str_catb(out, line, n);
	kk_str_cats(out, line_end);
	kk_str_cats(out, "\n");
}

void
kk_top_render(kk_str *out, const kk_top_sample *prev, const kk_top_sample *cur,
    unsigned width, unsigned height, const char *eol)
{
	unsigned i, lines = 0, shown = 0;
	unsigned long long v;
	char when[32];
	time_t now = time(0);
	struct tm tm;

	line_end = eol;
	if (!gmtime_r(&now, &tm) || !strftime(when, sizeof when, "%H:%M:%S UTC", &tm))
		snprintf(when, sizeof when, "?");
	put(out, width, "kakehi  %s  generation %llu  up %llus  workers %s", when,
	    cur->generation, cur->uptime_s, cur->workers);
	put(out, width, "%s", "");
	lines = 2;
	put(out, width, "%-16s %12s %14s", "", "per second", "total");
	lines++;
	for (i = 0; i < NRATES; i++) {
		double r = rate(prev, cur, rates[i].key);
		char rs[32];
		if (!total(cur, rates[i].key, &v))
			continue;
		if (r < 0)
			snprintf(rs, sizeof rs, "-");
		else
			snprintf(rs, sizeof rs, "%.1f", r);
		put(out, width, "%-16s %12s %14llu", rates[i].label, rs, v);
		lines++;
	}
	if (total(cur, "connections-active", &v)) {
		put(out, width, "%-16s %12s %14llu", "active conns", "", v);
		lines++;
	}
	if (total(cur, "bytes-in", &v)) {
		double rin = rate(prev, cur, "bytes-in"), rout = rate(prev, cur, "bytes-out");
		unsigned long long bout = 0;
		total(cur, "bytes-out", &bout);
		put(out, width, "%-16s %12.0f %14llu", "bytes in", rin < 0 ? 0 : rin, v);
		put(out, width, "%-16s %12.0f %14llu", "bytes out", rout < 0 ? 0 : rout, bout);
		lines += 2;
	}
	if (total(cur, "latency-total-p50-us", &v)) {
		static const char *const kinds[] = { "ttfb", "total" };
		put(out, width, "%-16s %12s %14s %14s", "latency (ms)", "p50", "p90", "p99");
		lines++;
		for (i = 0; i < 2; i++) {
			unsigned long long q[3] = { 0, 0, 0 };
			char key[64];
			unsigned k;
			for (k = 0; k < 3; k++) {
				snprintf(key, sizeof key, "latency-%s-p%s-us", kinds[i],
				    k == 0 ? "50" : k == 1 ? "90" : "99");
				total(cur, key, &q[k]);
			}
			put(out, width, "  %-14s %12.1f %14.1f %14.1f", kinds[i], q[0] / 1000.0,
			    q[1] / 1000.0, q[2] / 1000.0);
			lines++;
		}
	}
	put(out, width, "%s", "");
	put(out, width, "errors (per second, total)");
	lines += 2;
	for (i = 0; i < cur->ntotals && lines + 4 < height; i++) {
		double r;
		if (!is_error(cur->totals[i].key) || !cur->totals[i].v)
			continue;
		r = rate(prev, cur, cur->totals[i].key);
		put(out, width, "  %-28s %10.1f %12llu", cur->totals[i].key, r < 0 ? 0 : r,
		    cur->totals[i].v);
		lines++;
		shown++;
	}
	if (!shown) {
		put(out, width, "  none");
		lines++;
	}
	put(out, width, "%s", "");
	lines++;
	for (i = 0; i < cur->navoided && lines + 2 < height; i++, lines++)
		put(out, width, "%s", cur->avoided[i]);
	for (i = 0; i < cur->nworkers && lines < height; i++, lines++)
		put(out, width, "%s", cur->worker_lines[i]);
}

/* The terminal, in the state the operator had it. */
static struct termios saved;
static int raw_on;

static void
restore(void)
{
	if (raw_on) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		raw_on = 0;
	}
}

static void
on_signal(int sig)
{
	restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Keys one at a time, no echo: 'q' is read as soon as it is typed. */
static void
keys_raw(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved) < 0)
		return;
	t = saved;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
		return;
	raw_on = 1;
	atexit(restore);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits up to ms for a key: 1 when it is a quit key (q, Q, ^D on a
 * closed stdin counts as none). */
static int
quit_key(unsigned ms)
{
	struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
	uint64_t end = now_ms() + ms;

	for (;;) {
		uint64_t t = now_ms();
		int r;
		char c;

		if (t >= end)
			return 0;
		r = poll(raw_on ? &p : 0, raw_on ? 1 : 0, (int)(end - t));
		if (r < 0 && errno != EINTR)
			return 0;
		if (r > 0 && read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q'))
			return 1;
		if (r > 0 && (p.revents & (POLLHUP | POLLERR)))
			raw_on = 0;	/* stdin went: just wait */
	}
}

int
kk_top_run(int (*sample)(kk_str *), unsigned interval_ms, int once)
{
	kk_top_sample *s = calloc(2, sizeof *s);
	unsigned cur = 0;
	kk_str text = KK_STR_ZERO, frame = KK_STR_ZERO;
	int tty = isatty(STDOUT_FILENO) && !once, rc = 0;

	if (!s)
		return 111;
	if (tty)
		keys_raw();
	for (;;) {
		struct winsize ws = { 0 };
		unsigned width = 0, height = 1000;

		kk_str_reset(&text);
		if ((rc = sample(&text)))
			break;
		if (!kk_top_parse(&s[cur], text.s ? text.s : "", now_ms())) {
			fprintf(stderr, "kakehi-ctl: fatal: top: the status answer is not one this "
			    "kakehi-ctl reads; the supervisor and kakehi-ctl may be different "
			    "versions\n");
			rc = 111;
			break;
		}
		if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col) {
			width = ws.ws_col;
			height = ws.ws_row;
		}
		/* --once: the first sample only starts the rates. */
		if (once && !s[cur ^ 1].at_ms) {
			cur ^= 1;
			quit_key(interval_ms);
			continue;
		}
		kk_str_reset(&frame);
		if (tty)
			kk_str_cats(&frame, "\033[H");
		kk_top_render(&frame, &s[cur ^ 1], &s[cur], width, height, tty ? "\033[K" : "");
		if (tty)
			kk_str_cats(&frame, "\033[J");
		if (fwrite(frame.s, 1, frame.len, stdout) != frame.len || fflush(stdout)) {
			if (errno != EPIPE)
				fprintf(stderr, "kakehi-ctl: fatal: top: unable to write to stdout: %s\n",
				    strerror(errno));
			rc = 111;
			break;
		}
		if (once)
			break;
		cur ^= 1;
		if (quit_key(interval_ms))
			break;
	}
	restore();
	kk_str_free(&text);
	kk_str_free(&frame);
	free(s);
	return rc;
}
