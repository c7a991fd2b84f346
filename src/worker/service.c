/* ISC license. */
/* The answers of --service listeners (service.h): prometheus answers
 * GET /metrics, stats GET / and /stats (the HTML page) and /stats.json
 * (the JSON form the page's script reads). The body is the text
 * kk_metrics_print makes of the segment this worker maps, so any worker
 * gives the same sums the supervisor would. A scrape is an operator's
 * request every few seconds, not the data plane: its body is allocated
 * once per answer and freed when written. */
#include <stdlib.h>
#include <string.h>

#include <kakehi/metrics.h>
#include <kakehi/str.h>

#include "loop.h"
#include "service.h"
#include "wmetrics.h"

typedef struct job job;
struct job {
	kk_front *f;		/* NULL: free */
	kk_str body;
	size_t off;
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
	if (!kk_metrics_print(&j->body, kk_wmetrics_seg, NULL, fmt, kk_now_ms)
	    || !kk_buf_take(out, NULL)) {
		kk_str_free(&j->body);
		return 503;
	}
	/* no-store: a page of live numbers is never the one to show again. */
	n = (size_t)snprintf(fields, sizeof fields, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n",
	    type, j->body.len);
	if (n > kk_buf_room(out)) {
		kk_str_free(&j->body);
		return 503;
	}
	memcpy(kk_buf_tail(out), fields, n);
	out->len += (uint32_t)n;
	j->off = head ? j->body.len : 0;
	j->f = f;
	kk_service_feed(f);
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
		kk_service_gone(f);
		return 0;
	}
	if (!kk_buf_take(out, &f->conn.task))
		return 0;	/* no buffer now: the pool wakes the connection */
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
	kk_str_free(&j->body);
	j->off = 0;
	j->f = NULL;
}
