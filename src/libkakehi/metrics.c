/* ISC license. */
/* The metrics segment's names and text forms (kakehi/metrics.h): the
 * statuses and close reasons counted apart, and the text, JSON and
 * Prometheus forms of the objects' sums (the HTML page is
 * metricshtml.c's, the layout metricsseg.c's). Nothing here knows a
 * worker's objects; the worker's side is src/worker/wmetrics.c, the
 * supervisor's src/supervisor/metrics.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kakehi/metrics.h>

#include "metricsobj.h"

static const unsigned short status_codes[KK_METRICS_NSTATUS] = {
	200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308,
	400, 401, 403, 404, 405, 408, 409, 410, 413, 414, 415, 421, 429, 431,
	500, 501, 502, 503, 504,
};

/* status to 1 + its index in status_codes, 0 for the others (the zero
 * a static table starts with). */
const signed char kk_metrics_status_of[600] = {
	[200] = 1, [201] = 2, [202] = 3, [204] = 4, [206] = 5, [301] = 6, [302] = 7,
	[303] = 8, [304] = 9, [307] = 10, [308] = 11, [400] = 12, [401] = 13, [403] = 14,
	[404] = 15, [405] = 16, [408] = 17, [409] = 18, [410] = 19, [413] = 20, [414] = 21,
	[415] = 22, [421] = 23, [429] = 24, [431] = 25, [500] = 26, [501] = 27, [502] = 28,
	[503] = 29, [504] = 30,
};

unsigned
kk_metrics_status_code(unsigned i)
{
	return i < KK_METRICS_NSTATUS ? status_codes[i] : 0;
}

const char *
kk_metrics_close_name(unsigned r)
{
	static const char *const names[KK_METRICS_NCLOSE] = {
		"done", "client", "client-abort", "idle-timeout", "request-timeout",
		"send-timeout", "body-timeout", "bad-request", "read-error", "write-error",
		"backend-error", "drain", "stop", "nomem", "h2-refused", "no-route",
		"bad-clienthello", "bad-proxy", "handshake", "handshake-timeout",
		"tunnel-done", "tunnel-timeout", "tunnel-error", "h2-flood", "h2-error",
		"back-done", "back-connect", "back-connect-timeout", "back-timeout",
		"back-reset", "back-invalid", "back-idle", "back-idle-timeout", "back-abort",
		"back-tunnel",
	};
	return r < KK_METRICS_NCLOSE ? names[r] : "unknown";
}

/* Printing. */

typedef kk_metrics_obj obj;

static const char *const kind_word[KK_METRICS_NKINDS] = { "", "listener", "cluster", "backend" };

/* The objects picked, summed, in kind then key order (a stable output
 * whatever the slots). *n their number; NULL with *n 0 when none or out
 * of memory (*oom set). */
static int
obj_cmp(const void *x, const void *y)
{
	const obj *a = x, *b = y;
	int r;
	if (a->d->kind != b->d->kind)
		return a->d->kind < b->d->kind ? -1 : 1;
	if ((r = strcmp(a->d->a, b->d->a)))
		return r;
	return strcmp(a->d->b, b->d->b);
}

typedef struct gathering gathering;
struct gathering {
	obj *v;
	size_t n, cap;
};

static int
gather_one(void *ctx, unsigned slot, const kk_mdir *d, const kk_mcount *c)
{
	gathering *g = ctx;

	(void)slot;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		obj *p = realloc(g->v, cap * sizeof *p);
		if (!p)
			return 0;
		g->v = p;
		g->cap = cap;
	}
	g->v[g->n].d = d;
	kk_metrics_summary(&g->v[g->n].c, c);
	g->n++;
	return 1;
}

static obj *
gather(kk_metrics *m, const kk_metrics_filter *f, size_t *n, int *oom)
{
	gathering g = { 0, 0, 0 };

	*n = 0;
	*oom = !kk_metrics_each(m, f, gather_one, &g);
	if (*oom) {
		free(g.v);
		return 0;
	}
	if (g.n)
		qsort(g.v, g.n, sizeof *g.v, obj_cmp);
	*n = g.n;
	return g.v;
}

/* The gauges and health of every form are metricsobj.h's. */
static uint64_t
diff(uint64_t a, uint64_t b)
{
	return kk_metrics_gauge(a, b);
}

static const char *
health(const kk_mdir *d, const kk_msum *c, uint64_t now_ms)
{
	return kk_metrics_health(d, c, now_ms);
}

const unsigned kk_metrics_quantiles[3] = { 500, 900, 990 };

static void
lat(kk_mlat *dst, const kk_mhist *h)
{
	unsigned i;

	dst->count = kk_mhist_count(h);
	for (i = 0; i < 3; i++)
		dst->q[i] = kk_mhist_quantile(h, kk_metrics_quantiles[i]);
}

void
kk_metrics_summary(kk_msum *dst, const kk_mcount *src)
{
	_Static_assert(offsetof(kk_msum, ttfb) == offsetof(kk_mcount, ttfb),
	    "the counters of a sum and of a stripe differ");
	memcpy(dst, src, offsetof(kk_mcount, ttfb));
	lat(&dst->ttfb, &src->ttfb);
	lat(&dst->total, &src->total);
}

uint64_t
kk_metrics_errors(const kk_msum *c)
{
	/* The ordinary ends, by their index in kk_metrics_close_name:
	 * done, client, idle-timeout, drain, stop, tunnel-done, back-done,
	 * back-idle, back-idle-timeout, back-tunnel. */
	static const unsigned char ordinary[KK_METRICS_NCLOSE] = {
		[0] = 1, [1] = 1, [3] = 1, [11] = 1, [12] = 1, [20] = 1, [25] = 1,
		[31] = 1, [32] = 1, [34] = 1,
	};
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < KK_METRICS_NCLOSE; i++)
		if (!ordinary[i])
			n += c->closes[i];
	return n;
}

const char *
kk_metrics_health(const kk_mdir *d, const kk_msum *c, uint64_t now_ms)
{
	if (d->kind != KK_METRICS_BACKEND)
		return 0;
	return c->down_until > now_ms ? "down" : "up";
}

/* The fields of one object of kind, "key value" words (text) or
 * "key":value members (json) after what names it. Connections open are
 * a listener's only: a back connection outlives its request in the pool
 * and is not counted closed per cluster or backend. */
static int
fields(kk_str *out, const kk_msum *c, unsigned kind, int json, const char *hl)
{
	const char *fmt = json ? ",\"%s\":%llu" : " %s %llu";
	struct { const char *k; uint64_t v; int listener; } f[] = {
		{ "requests", c->requests, 0 },
		{ json ? "requests_active" : "requests-active", diff(c->requests, c->ended), 0 },
		{ json ? "connections" : "connections", c->conns_opened, 0 },
		{ json ? "connections_active" : "connections-active",
		    diff(c->conns_opened, c->conns_closed), 1 },
		{ json ? "bytes_in" : "bytes-in", c->bytes_in, 0 },
		{ json ? "bytes_out" : "bytes-out", c->bytes_out, 0 },
		{ "retries", c->retries, 0 },
		{ json ? "queue_length" : "queue-length", diff(c->queued, c->dequeued), 0 },
		{ "queued", c->queued, 0 },
		{ json ? "queue_full" : "queue-full", c->queue_full, 0 },
		{ json ? "queue_timeouts" : "queue-timeouts", c->queue_timeouts, 0 },
	};
	unsigned i;
	int ok = 1;

	if (hl)
		ok &= kk_str_catf(out, json ? ",\"health\":\"%s\"" : " health %s", hl);
	for (i = 0; i < sizeof f / sizeof f[0]; i++)
		if (!f[i].listener || kind == KK_METRICS_LISTENER)
			ok &= kk_str_catf(out, fmt, f[i].k, (unsigned long long)f[i].v);
	if (json) {
		ok &= kk_str_cats(out, ",\"responses\":{");
		for (i = 1; i <= 5; i++)
			ok &= kk_str_catf(out, "%s\"%uxx\":%llu", i > 1 ? "," : "", i,
			    (unsigned long long)c->responses[i]);
		ok &= kk_str_cats(out, "},\"status\":{");
		for (i = 0; i < KK_METRICS_NSTATUS; i++)
			if (c->status[i])
				ok &= kk_str_catf(out, "%s\"%u\":%llu", out->s[out->len - 1] == '{'
				    ? "" : ",", status_codes[i], (unsigned long long)c->status[i]);
		ok &= kk_str_cats(out, "},\"closes\":{");
		for (i = 0; i < KK_METRICS_NCLOSE; i++)
			if (c->closes[i])
				ok &= kk_str_catf(out, "%s\"%s\":%llu", out->s[out->len - 1] == '{'
				    ? "" : ",", kk_metrics_close_name(i),
				    (unsigned long long)c->closes[i]);
		ok &= kk_str_catf(out, "},\"errors\":%llu",
		    (unsigned long long)kk_metrics_errors(c));
		for (i = 0; i < 2; i++) {
			const kk_mlat *h = i ? &c->total : &c->ttfb;
			ok &= kk_str_catf(out, ",\"%s_us\":{\"count\":%llu,\"sum\":%llu,"
			    "\"p50\":%llu,\"p90\":%llu,\"p99\":%llu}", i ? "total" : "ttfb",
			    (unsigned long long)h->count,
			    (unsigned long long)(i ? c->total_sum : c->ttfb_sum),
			    (unsigned long long)h->q[0], (unsigned long long)h->q[1],
			    (unsigned long long)h->q[2]);
		}
		return ok;
	}
	for (i = 1; i <= 5; i++)
		ok &= kk_str_catf(out, " %uxx %llu", i, (unsigned long long)c->responses[i]);
	for (i = 0; i < KK_METRICS_NSTATUS; i++)
		if (c->status[i])
			ok &= kk_str_catf(out, " status-%u %llu", status_codes[i],
			    (unsigned long long)c->status[i]);
	for (i = 0; i < KK_METRICS_NCLOSE; i++)
		if (c->closes[i])
			ok &= kk_str_catf(out, " closes-%s %llu", kk_metrics_close_name(i),
			    (unsigned long long)c->closes[i]);
	for (i = 0; i < 2; i++) {
		const kk_mlat *h = i ? &c->total : &c->ttfb;
		const char *w = i ? "total" : "ttfb";
		ok &= kk_str_catf(out, " %s-count %llu %s-p50-us %llu %s-p90-us %llu"
		    " %s-p99-us %llu", w, (unsigned long long)h->count,
		    w, (unsigned long long)h->q[0], w, (unsigned long long)h->q[1],
		    w, (unsigned long long)h->q[2]);
	}
	return ok;
}

static const char *const list_word[KK_METRICS_NKINDS] = { "", "listeners", "clusters",
    "backends" };

/* Text: one line per object, then the retired totals. */
static int
text_object(kk_str *out, const obj *o, uint64_t now)
{
	const kk_mdir *d = o->d;
	int ok = kk_str_catf(out, "%s %s%s%s", kind_word[d->kind], d->a, *d->b ? " " : "", d->b);
	ok &= fields(out, &o->c, d->kind, 0, health(d, &o->c, now));
	return ok & kk_str_cats(out, "\n");
}

static int
text_retired(kk_str *out, const kk_metrics *m)
{
	kk_msum r;
	unsigned k;
	int ok = 1;

	for (k = 1; k < KK_METRICS_NKINDS; k++) {
		ok &= kk_str_catf(out, "retired %s", kind_word[k]);
		kk_metrics_summary(&r, &m->h->retired[k]);
		ok &= fields(out, &r, k, 0, 0);
		ok &= kk_str_cats(out, "\n");
	}
	return ok;
}

/* JSON: the lists of the kinds before k closed and those up to k opened
 * (*at: the kind whose list is open; 0 none yet). */
static int
json_lists_to(kk_str *out, unsigned *at, unsigned k)
{
	int ok = 1;

	if (!*at)
		ok &= kk_str_cats(out, "{");
	while (*at < k) {
		if (*at)
			ok &= kk_str_cats(out, "],");
		(*at)++;
		ok &= kk_str_catf(out, "\"%s\":[", list_word[*at]);
	}
	return ok;
}

/* One object, a line each: a long answer is cut after a line into
 * parts (the supervisor's control.c). */
static int
json_object(kk_str *out, const obj *o, int first, uint64_t now)
{
	const kk_mdir *d = o->d;
	unsigned k = d->kind;
	int ok = kk_str_cats(out, first ? "{" : ",\n{");

	ok &= kk_str_cats(out, k == KK_METRICS_LISTENER ? "\"address\":" :
	    k == KK_METRICS_CLUSTER ? "\"id\":" : "\"cluster\":");
	ok &= kk_str_catjson(out, d->a);
	if (k == KK_METRICS_BACKEND) {
		ok &= kk_str_cats(out, ",\"id\":");
		ok &= kk_str_catjson(out, d->b);
	}
	ok &= fields(out, &o->c, k, 1, health(d, &o->c, now));
	return ok & kk_str_cats(out, "}");
}

static int
json_end(kk_str *out, const kk_metrics *m, unsigned *at, int all)
{
	kk_msum r;
	unsigned k;
	int ok = json_lists_to(out, at, KK_METRICS_NKINDS - 1);

	ok &= kk_str_cats(out, "]");
	if (all) {
		ok &= kk_str_cats(out, ",\"retired\":{");
		for (k = 1; k < KK_METRICS_NKINDS; k++) {
			ok &= kk_str_catf(out, "%s\"%s\":{\"kind\":\"%s\"", k > 1 ? "," : "",
			    list_word[k], kind_word[k]);
			kk_metrics_summary(&r, &m->h->retired[k]);
			ok &= fields(out, &r, k, 1, 0);
			ok &= kk_str_cats(out, "}");
		}
		ok &= kk_str_cats(out, "}");
	}
	return ok & kk_str_cats(out, "}\n");
}

/* Prometheus label values: backslash, quote and newline escaped
 * (exposition format, "text-based format"). */
static int
label(kk_str *out, const char *name, const char *v, int first)
{
	int ok = kk_str_catf(out, "%s%s=\"", first ? "" : ",", name);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			ok &= kk_str_catb(out, "\\", 1);
		if (*v == '\n')
			ok &= kk_str_cats(out, "\\n");
		else
			ok &= kk_str_catb(out, v, 1);
	}
	return ok & kk_str_cats(out, "\"");
}

static int
labels(kk_str *out, const kk_mdir *d)
{
	if (d->kind == KK_METRICS_LISTENER)
		return label(out, "listener", d->a, 1);
	if (d->kind == KK_METRICS_CLUSTER)
		return label(out, "cluster", d->a, 1);
	return label(out, "cluster", d->a, 1) & label(out, "backend", d->b, 0);
}

/* A family of one value per object. */
enum fam_kind { F_COUNTER, F_GAUGE };
typedef struct fam fam;
struct fam {
	const char *name, *help;
	enum fam_kind type;
	unsigned kinds;		/* bit (1 << kind) for the kinds that have it */
	size_t off, off2;	/* a counter's offset; a gauge's: off - off2 */
};
#define L (1u << KK_METRICS_LISTENER)
#define C (1u << KK_METRICS_CLUSTER)
#define B (1u << KK_METRICS_BACKEND)
#define OFF(f) offsetof(kk_msum, f)
static const fam fams[] = {
	{ "requests_total", "Requests received (listener, cluster) or sent (backend).",
	    F_COUNTER, L | C | B, OFF(requests), 0 },
	{ "requests_active", "Requests in flight.", F_GAUGE, C | B, OFF(requests), OFF(ended) },
	{ "connections_total", "Connections opened: client connections accepted (listener), "
	    "connections made to backends (cluster, backend).", F_COUNTER, L | C | B,
	    OFF(conns_opened), 0 },
	{ "connections_active", "Client connections open.", F_GAUGE, L, OFF(conns_opened),
	    OFF(conns_closed) },
	{ "received_bytes_total", "Bytes read from clients (listener), request body bytes "
	    "(cluster, backend).", F_COUNTER, L | C | B, OFF(bytes_in), 0 },
	{ "sent_bytes_total", "Bytes written to clients (listener), response body bytes "
	    "(cluster, backend).", F_COUNTER, L | C | B, OFF(bytes_out), 0 },
	{ "retries_total", "Requests sent again after a failed attempt.", F_COUNTER, C | B,
	    OFF(retries), 0 },
	{ "queue_length", "Requests waiting for a backend under its --max-connections.",
	    F_GAUGE, C, OFF(queued), OFF(dequeued) },
	{ "queued_total", "Requests that waited in the queue.", F_COUNTER, C, OFF(queued), 0 },
	{ "queue_full_total", "Requests refused (503) because the queue was full.", F_COUNTER,
	    C, OFF(queue_full), 0 },
	{ "queue_timeouts_total", "Requests that waited past --queue-timeout (503).",
	    F_COUNTER, C, OFF(queue_timeouts), 0 },
};

static uint64_t
field(const kk_msum *c, size_t off)
{
	uint64_t v;
	memcpy(&v, (const char *)c + off, sizeof v);
	return v;
}

static int
head(kk_str *out, const char *kind, const char *name, const char *type, const char *help)
{
	return kk_str_catf(out, "# HELP kakehi_%s_%s %s\n# TYPE kakehi_%s_%s %s\n", kind, name,
	    help, kind, name, type);
}

/* The families of a kind, in order: those of fams, then the responses by
 * class, by status and the closes, then up (backends), then the two
 * latencies (not listeners). */
#define NFAMS (sizeof fams / sizeof fams[0])
enum { FAM_CLASS = NFAMS, FAM_STATUS, FAM_CLOSES, FAM_UP, FAM_TTFB, FAM_TOTAL, FAM_END };

static int
fam_of_kind(unsigned f, unsigned k)
{
	if (f < NFAMS)
		return (fams[f].kinds & (1u << k)) != 0;
	if (f == FAM_UP)
		return k == KK_METRICS_BACKEND;
	if (f == FAM_TTFB || f == FAM_TOTAL)
		return k != KK_METRICS_LISTENER;
	return f < FAM_END;
}

static int
prom_head(kk_str *out, unsigned k, unsigned f)
{
	const char *kw = kind_word[k];

	if (f < NFAMS)
		return head(out, kw, fams[f].name, fams[f].type == F_GAUGE ? "gauge" : "counter",
		    fams[f].help);
	switch (f) {
	case FAM_CLASS:
		return head(out, kw, "responses_total", "counter",
		    "Responses by status class (1xx to 5xx).");
	case FAM_STATUS:
		return head(out, kw, "responses_status_total", "counter",
		    "Responses by status, for the statuses seen.");
	case FAM_CLOSES:
		return head(out, kw, "closes_total", "counter", k == KK_METRICS_LISTENER ?
		    "Client connections closed, by reason." : "Requests ended, by reason.");
	case FAM_UP:
		return head(out, kw, "up", "gauge", "1 when no worker avoids the backend "
		    "after a failed connect, else 0.");
	case FAM_TTFB:
		return head(out, kw, "ttfb_seconds", "summary",
		    "Time from the request routed to the backend's first response byte.");
	default:
		return head(out, kw, "total_seconds", "summary",
		    "Time from the request routed to the end of the response.");
	}
}

/* kakehi_KIND_NAME{LABELS[,EXTRA]} */
static int
sample(kk_str *out, const obj *o, const char *name, const char *extra)
{
	int ok = kk_str_catf(out, "kakehi_%s_%s{", kind_word[o->d->kind], name);
	ok &= labels(out, o->d);
	return ok & kk_str_catf(out, "%s} ", extra);
}

static int
seconds(kk_str *out, uint64_t us)
{
	return kk_str_catf(out, "%llu.%06llu\n", (unsigned long long)(us / 1000000),
	    (unsigned long long)(us % 1000000));
}

/* The samples of one object in family f. */
static int
prom_object(kk_str *out, unsigned f, const obj *o, uint64_t now)
{
	static const char *const qs[3] = { "0.5", "0.9", "0.99" };
	const kk_msum *c = &o->c;
	char extra[64];
	unsigned j;
	int ok = 1;

	if (f < NFAMS) {
		uint64_t x = field(c, fams[f].off);
		if (fams[f].type == F_GAUGE)
			x = diff(x, field(c, fams[f].off2));
		ok &= sample(out, o, fams[f].name, "");
		return ok & kk_str_catf(out, "%llu\n", (unsigned long long)x);
	}
	switch (f) {
	case FAM_CLASS:
		for (j = 1; j <= 5; j++) {
			snprintf(extra, sizeof extra, ",class=\"%uxx\"", j);
			ok &= sample(out, o, "responses_total", extra);
			ok &= kk_str_catf(out, "%llu\n", (unsigned long long)c->responses[j]);
		}
		return ok;
	case FAM_STATUS:
		for (j = 0; j < KK_METRICS_NSTATUS; j++) {
			if (!c->status[j])
				continue;
			snprintf(extra, sizeof extra, ",status=\"%u\"", status_codes[j]);
			ok &= sample(out, o, "responses_status_total", extra);
			ok &= kk_str_catf(out, "%llu\n", (unsigned long long)c->status[j]);
		}
		return ok;
	case FAM_CLOSES:
		for (j = 0; j < KK_METRICS_NCLOSE; j++) {
			if (!c->closes[j])
				continue;
			snprintf(extra, sizeof extra, ",reason=\"%s\"", kk_metrics_close_name(j));
			ok &= sample(out, o, "closes_total", extra);
			ok &= kk_str_catf(out, "%llu\n", (unsigned long long)c->closes[j]);
		}
		return ok;
	case FAM_UP:
		ok &= sample(out, o, "up", "");
		return ok & kk_str_catf(out, "%d\n", c->down_until > now ? 0 : 1);
	default: {
		const kk_mlat *h = f == FAM_TOTAL ? &c->total : &c->ttfb;
		const char *nm = f == FAM_TOTAL ? "total_seconds" : "ttfb_seconds";
		char name[32];
		for (j = 0; j < 3; j++) {
			snprintf(extra, sizeof extra, ",quantile=\"%s\"", qs[j]);
			ok &= sample(out, o, nm, extra);
			ok &= seconds(out, h->q[j]);
		}
		snprintf(name, sizeof name, "%s_sum", nm);
		ok &= sample(out, o, name, "");
		ok &= seconds(out, f == FAM_TOTAL ? c->total_sum : c->ttfb_sum);
		snprintf(name, sizeof name, "%s_count", nm);
		ok &= sample(out, o, name, "");
		return ok & kk_str_catf(out, "%llu\n", (unsigned long long)h->count);
	}
	}
}

/* Printing in parts. */

struct kk_metrics_printer {
	kk_metrics *m;
	enum kk_metrics_format fmt;
	uint64_t now;
	int all;		/* no filter: the retired totals too */
	obj *v;			/* sorted by kind, then key */
	size_t n;
	size_t lo[KK_METRICS_NKINDS], hi[KK_METRICS_NKINDS];	/* each kind's in v */
	/* Where the next part starts: the object i, of kind k (JSON: the
	 * list open), family f (Prometheus); done once all is out. */
	size_t i;
	unsigned k, f;
	int headed;		/* family f's head is out */
	int done;
};

kk_metrics_printer *
kk_metrics_printer_new(kk_metrics *m, const kk_metrics_filter *f,
    enum kk_metrics_format fmt, uint64_t now_ms)
{
	kk_metrics_printer *p = calloc(1, sizeof *p);
	int oom;
	size_t i;

	if (!p)
		return 0;
	p->m = m;
	p->fmt = fmt;
	p->now = now_ms;
	p->all = !f || (!f->cluster && !f->backend);
	p->v = gather(m, f, &p->n, &oom);
	if (oom) {
		free(p);
		return 0;
	}
	for (i = p->n; i-- > 0;)
		p->lo[p->v[i].d->kind] = i;
	for (i = 0; i < p->n; i++)
		p->hi[p->v[i].d->kind] = i + 1;
	p->k = fmt == KK_METRICS_PROMETHEUS ? 1 : 0;
	return p;
}

void
kk_metrics_printer_free(kk_metrics_printer *p)
{
	if (!p)
		return;
	free(p->v);
	free(p);
}

/* Prometheus: the next family or object, from the cursor. 1 ok. */
static int
prom_step(kk_metrics_printer *p, kk_str *out)
{
	for (; p->k < KK_METRICS_NKINDS; p->k++, p->f = 0) {
		size_t lo = p->lo[p->k], hi = p->hi[p->k];
		if (lo >= hi)
			continue;
		for (; p->f < FAM_END; p->f++) {
			if (!fam_of_kind(p->f, p->k))
				continue;
			if (!p->headed) {
				p->headed = 1;
				p->i = lo;
				return prom_head(out, p->k, p->f);
			}
			if (!prom_object(out, p->f, &p->v[p->i], p->now))
				return 0;
			if (++p->i == hi) {
				p->headed = 0;
				p->f++;
			}
			return 1;
		}
	}
	p->done = 1;
	return 1;
}

/* HTML: the page's head (k 0), each kind's table a row at a time, then
 * its end. */
static int
html_step(kk_metrics_printer *p, kk_str *out)
{
	size_t lo, hi;

	if (!p->k) {
		p->k = KK_METRICS_LISTENER;
		return kk_metrics_html_open(out);
	}
	if (p->k == KK_METRICS_NKINDS) {
		p->done = 1;
		return kk_metrics_html_close(out);
	}
	lo = p->lo[p->k];
	hi = p->hi[p->k];
	if (!p->headed) {
		p->headed = 1;
		p->i = lo;
		return kk_metrics_html_table(out, p->k);
	}
	if (p->i < hi)
		return kk_metrics_html_row(out, &p->v[p->i++], p->now);
	p->headed = 0;
	return kk_metrics_html_table_end(out, p->k++, hi > lo ? hi - lo : 0);
}

static int
step(kk_metrics_printer *p, kk_str *out)
{
	int ok;

	switch (p->fmt) {
	case KK_METRICS_PROMETHEUS:
		return prom_step(p, out);
	case KK_METRICS_HTML:
		return html_step(p, out);
	case KK_METRICS_JSON:
		if (p->i == p->n) {
			p->done = 1;
			return json_end(out, p->m, &p->k, p->all);
		}
		ok = json_lists_to(out, &p->k, p->v[p->i].d->kind);
		ok &= json_object(out, &p->v[p->i], p->i == p->lo[p->k], p->now);
		p->i++;
		return ok;
	default:
		if (p->i == p->n) {
			p->done = 1;
			return !p->all || text_retired(out, p->m);
		}
		return text_object(out, &p->v[p->i++], p->now);
	}
}

int
kk_metrics_printer_next(kk_metrics_printer *p, kk_str *out, size_t want)
{
	size_t start = out->len;

	while (!p->done && out->len - start < want)
		if (!step(p, out))
			return -1;
	return !p->done;
}

int
kk_metrics_print(kk_str *out, kk_metrics *m, const kk_metrics_filter *f,
    enum kk_metrics_format fmt, uint64_t now_ms)
{
	kk_metrics_printer *p = kk_metrics_printer_new(m, f, fmt, now_ms);
	int r;

	if (!p)
		return 0;
	while ((r = kk_metrics_printer_next(p, out, (size_t)-1)) > 0)
		;
	kk_metrics_printer_free(p);
	return r == 0;
}
