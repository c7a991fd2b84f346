/* ISC license. */
/* The answers of --service listeners (service.h): prometheus answers
 * GET /metrics, stats GET / and /stats (the HTML page) and /stats.json
 * (the JSON form the page's script reads). The body is the text
 * kk_metrics_print makes of the segment this worker maps, so any worker
 * gives the same sums the supervisor would. A scrape is an operator's
 * request every few seconds, not the data plane, but of a large state it
 * is tens of MB: it is made a part at a time, one part a loop turn, so
 * the worker's other connections go on meanwhile. The body then has no
 * length: the connection's close ends it. */
#include <stdlib.h>
#include <string.h>

#include <kakehi/metrics.h>
#include <kakehi/str.h>

#include "loop.h"
#include "service.h"
#include "wmetrics.h"

/* The text one turn makes at most (about a millisecond of printing). */
#define PART_BYTES (64u << 10)

typedef struct job job;
struct job {
	kk_front *f;		/* NULL: free */
	kk_metrics_printer *printer;	/* NULL: all of the body is made */
	kk_str body;		/* the part being written */
	size_t off;
	uint64_t made_us;	/* the turn (kk_now_us) that made the last part */
};
static job jobs[KK_SERVICE_MAX];

static job *
job_of(const kk_front *f)
{
	unsigned i;
	for (i = 0; i < KK_SERVICE_MAX; i++)
		if (jobs[i].f == f)
			return &jobs[i];
	return NULL;
}

static int
is(const kk_reqhead *h, kk_span s, const char *word)
{
	size_t n = strlen(word);
	return s.len == n && !memcmp(h->fl.base + s.off, word, n);
}

/* What a path of a service answers: its form and content type; 0 when
 * the service has no such path. */
static int
route(enum kk_service svc, const kk_reqhead *h, kk_span path, enum kk_metrics_format *fmt,
    const char **type)
{
	if (svc == KK_SERVICE_PROMETHEUS && is(h, path, "/metrics")) {
		/* Version 0.0.4 of the text format names it (Prometheus'
		 * exposition formats, "Basic info"). */
		*fmt = KK_METRICS_PROMETHEUS;
		*type = "text/plain; version=0.0.4; charset=utf-8";
		return 1;
	}
	if (svc != KK_SERVICE_STATS)
		return 0;
	if (is(h, path, "/") || is(h, path, "/stats")) {
		*fmt = KK_METRICS_HTML;
		*type = "text/html; charset=utf-8";
		return 1;
	}
	if (is(h, path, "/stats.json")) {
		*fmt = KK_METRICS_JSON;
		*type = "application/json";
		return 1;
	}
	return 0;
}

int
kk_service_start(kk_front *f, const kk_reqhead *h)
{
	kk_span path = { h->path.off, h->pathlen };
	kk_buf *out = &f->conn.out;
	int head = is(h, h->method, "HEAD");
	enum kk_metrics_format fmt;
	const char *type;
	job *j;
	size_t n;
	char fields[256];

	if (!head && !is(h, h->method, "GET"))
		return 405;
	if (!route(f->lsock->rl->service, h, path, &fmt, &type))
		return 404;
	if (!kk_wmetrics_seg || !(j = job_of(NULL)))
		return 503;
	kk_str_reset(&j->body);
	j->off = 0;
	j->printer = NULL;
	if (!head && !(j->printer = kk_metrics_printer_new(kk_wmetrics_seg, NULL, fmt,
	    kk_now_ms)))
		return 503;
	if (!kk_buf_take(out, NULL)) {
		kk_metrics_printer_free(j->printer);
		j->printer = NULL;
		return 503;
	}
	/* no-store: a page of live numbers is never the one to show again. */
	n = (size_t)snprintf(fields, sizeof fields, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: %s\r\n"
	    "Connection: close\r\nCache-Control: no-store\r\n\r\n", type);
	memcpy(kk_buf_tail(out), fields, n);
	out->len += (uint32_t)n;
	j->made_us = 0;
	j->f = f;
	return 200;
}

int
kk_service_feed(kk_front *f)
{
	kk_buf *out = &f->conn.out;
	job *j = job_of(f);
	size_t n;

	if (!j)
		return 0;
	if (j->off == j->body.len) {
		int r;
		if (!j->printer) {
			kk_service_gone(f);
			return 0;
		}
		/* One part a turn: the next one when this turn's events and
		 * tasks have had theirs. */
		if (j->made_us == kk_now_us) {
			kk_conn_wake(&f->conn);
			return -1;
		}
		kk_str_reset(&j->body);
		j->off = 0;
		j->made_us = kk_now_us;
		r = kk_metrics_printer_next(j->printer, &j->body, PART_BYTES);
		if (r <= 0) {
			kk_metrics_printer_free(j->printer);
			j->printer = NULL;
		}
		/* Out of memory: what was made goes, then the close ends it. */
		if (!j->body.len) {
			kk_service_gone(f);
			return 0;
		}
	}
	if (!kk_buf_take(out, &f->conn.task))
		return -1;	/* no buffer now: the pool wakes the connection */
	n = j->body.len - j->off;
	if (n > kk_buf_room(out))
		n = kk_buf_room(out);
	memcpy(kk_buf_tail(out), j->body.s + j->off, n);
	out->len += (uint32_t)n;
	j->off += n;
	return 1;
}

void
kk_service_gone(kk_front *f)
{
	job *j = job_of(f);

	if (!j)
		return;
	kk_metrics_printer_free(j->printer);
	j->printer = NULL;
	kk_str_free(&j->body);
	j->off = 0;
	j->f = NULL;
}
