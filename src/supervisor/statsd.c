/* ISC license. */
/* statsd push (set statsd ADDR, statsd-prefix, statsd-interval): every
 * interval the supervisor sums the metrics segment and sends what each
 * listener, cluster and backend counted since the last push as statsd
 * counters ("NAME:N|c"), and the in-flight figures as gauges ("|g"),
 * over UDP. The socket is non-blocking: a datagram the kernel will not
 * take now is dropped and counted, never waited for; statsd is lossy by
 * design (a drop is logged, at most once per SV_WARN_EVERY_MS). Names: PREFIX.KIND.NAME[.BACKEND].METRIC, dots in an address
 * or id replaced by underscores (a dot separates levels in statsd).
 * Only what moved is sent: a counter that counted nothing since the last
 * push, a gauge that is 0 and was 0 at the last push, say nothing, so a
 * push costs lines for the busy objects, not for all of them (100 000
 * idle sites send none). A gauge is sent at every push while it is not
 * 0, as statsd servers that drop gauges not sent in an interval want, and
 * once when it falls to 0. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <kakehi/addr.h>
#include <kakehi/metrics.h>

#include "sv.h"

/* Datagrams stay under the common 1500-byte Ethernet MTU less IP and
 * UDP headers, so none is fragmented on the way. */
#define DGRAM_MAX 1400

/* What a slot had at the last push: counters go out as differences;
 * gauges, the ones that were not 0 (a bit each, G_*). */
typedef struct last last;
struct last {
	uint64_t requests, responses[6], bytes_in, bytes_out, retries, conns;
	unsigned gauges;
};

enum { G_CONNS_ACTIVE = 1, G_REQUESTS_ACTIVE = 2, G_TTFB = 4, G_TOTAL = 8, G_QUEUE = 16 };

/* One object's lines: its name is made at the first of them. */
typedef struct object object;
struct object {
	const char *prefix;
	const kk_mdir *d;
	last *p;
	char name[320];
};

static int fd = -1;
static char target[KK_ADDR_FMTLEN];	/* the address fd sends to; "" none */
static kk_addr dest;
static tain next;
/* By slot, as many as the segment handed out, with the push that last
 * saw the slot in use: figures not from the push before are stale (the
 * slot was free, or freed and given to another object in between). */
static last *prev;
static uint64_t *prev_push;	/* 0: no figures kept */
static size_t nprev;
static uint64_t pushes;
static char dgram[DGRAM_MAX];
static size_t dlen;
static sv_ratelimit dropped;

static void
flush_dgram(void)
{
	if (!dlen)
		return;
	if (sendto(fd, dgram, dlen, MSG_DONTWAIT, (const struct sockaddr *)&dest.ss,
	    dest.len) < 0)
		sv_warn_limited(&dropped, "statsd: a datagram to %s was dropped: %s", target,
		    strerror(errno));
	dlen = 0;
}

/* Appends one line, sending the datagram first when it would not fit. */
static void
put_line(const char *line, size_t n)
{
	if (n > DGRAM_MAX)
		return;
	if (dlen + n + 1 > DGRAM_MAX)
		flush_dgram();
	if (dlen)
		dgram[dlen++] = '\n';
	memcpy(dgram + dlen, line, n);
	dlen += n;
}

/* s with dots, colons, brackets and bars made underscores. */
static void
clean(char *dst, size_t n, const char *s)
{
	size_t i;
	for (i = 0; i + 1 < n && s[i]; i++)
		dst[i] = strchr(".:[]|@# ", s[i]) ? '_' : s[i];
	dst[i] = 0;
}

static void
line(object *o, const char *what, unsigned long long v, const char *type)
{
	static const char *const kinds[KK_METRICS_NKINDS] = { "", "listener", "cluster",
	    "backend" };
	char buf[512];
	int n;
	if (!o->name[0]) {
		char a[KK_METRICS_KEYMAX], b[KK_METRICS_KEYMAX];
		clean(a, sizeof a, o->d->a);
		clean(b, sizeof b, o->d->b);
		snprintf(o->name, sizeof o->name, "%s.%s.%s%s%s", o->prefix, kinds[o->d->kind], a,
		    *b ? "." : "", b);
	}
	n = snprintf(buf, sizeof buf, "%s.%s:%llu|%s", o->name, what, v, type);
	if (n > 0 && (size_t)n < sizeof buf)
		put_line(buf, (size_t)n);
}

static void
counter(object *o, const char *what, uint64_t delta)
{
	if (delta)
		line(o, what, delta, "c");
}

static void
gauge(object *o, const char *what, unsigned bit, uint64_t v)
{
	if (v || (o->p->gauges & bit))
		line(o, what, v, "g");
	if (v)
		o->p->gauges |= bit;
	else
		o->p->gauges &= ~bit;
}

static uint64_t
since(uint64_t now, uint64_t then)
{
	/* A slot given to a new object starts again from zero. */
	return now >= then ? now - then : now;
}

/* Room for the figures of every slot handed out. */
static int
prev_room(size_t n)
{
	last *p;
	uint64_t *k;

	if (n <= nprev)
		return 1;
	if (!(p = realloc(prev, n * sizeof *p)))
		return 0;
	prev = p;
	if (!(k = realloc(prev_push, n * sizeof *k)))
		return 0;
	prev_push = k;
	memset(prev_push + nprev, 0, (n - nprev) * sizeof *k);
	nprev = n;
	return 1;
}

static int
push_one(void *ctx, unsigned slot, const kk_mdir *d, const kk_mcount *c)
{
	object o;
	unsigned j;

	if (slot >= nprev || d->kind >= KK_METRICS_NKINDS || !d->kind)
		return 1;
	o.prefix = ctx;
	o.d = d;
	o.p = &prev[slot];
	o.name[0] = 0;
	if (!prev_push[slot] || prev_push[slot] != pushes - 1)
		memset(o.p, 0, sizeof *o.p);
	prev_push[slot] = pushes;
	counter(&o, "requests", since(c->requests, o.p->requests));
	for (j = 1; j <= 5; j++) {
		char what[16];
		snprintf(what, sizeof what, "responses_%uxx", j);
		counter(&o, what, since(c->responses[j], o.p->responses[j]));
	}
	counter(&o, "bytes_in", since(c->bytes_in, o.p->bytes_in));
	counter(&o, "bytes_out", since(c->bytes_out, o.p->bytes_out));
	counter(&o, "connections", since(c->conns_opened, o.p->conns));
	if (d->kind == KK_METRICS_LISTENER)
		gauge(&o, "connections_active", G_CONNS_ACTIVE, c->conns_opened > c->conns_closed ?
		    c->conns_opened - c->conns_closed : 0);
	else {
		counter(&o, "retries", since(c->retries, o.p->retries));
		gauge(&o, "requests_active", G_REQUESTS_ACTIVE, c->requests > c->ended ?
		    c->requests - c->ended : 0);
		gauge(&o, "ttfb_p99_us", G_TTFB, kk_mhist_quantile(&c->ttfb, 990));
		gauge(&o, "total_p99_us", G_TOTAL, kk_mhist_quantile(&c->total, 990));
	}
	if (d->kind == KK_METRICS_CLUSTER)
		gauge(&o, "queue_length", G_QUEUE, c->queued > c->dequeued ?
		    c->queued - c->dequeued : 0);
	o.p->requests = c->requests;
	memcpy(o.p->responses, c->responses, sizeof o.p->responses);
	o.p->bytes_in = c->bytes_in;
	o.p->bytes_out = c->bytes_out;
	o.p->retries = c->retries;
	o.p->conns = c->conns_opened;
	return 1;
}

static void
push(void)
{
	const char *prefix = sv.state.set.statsd_prefix ? sv.state.set.statsd_prefix : "kakehi";

	pushes++;
	if (!prev_room(sv.metrics->h->nfresh) || !kk_metrics_each(sv.metrics, NULL, push_one,
	    (void *)prefix))
		sv_warn_limited(&dropped, "statsd: out of memory; this push is incomplete");
	flush_dgram();
}

/* Follows set statsd: a socket for the address it names, none when off. */
static void
configure(void)
{
	const char *want = sv.state.set.statsd ? sv.state.set.statsd : "";

	if (!strcmp(want, target))
		return;
	if (fd >= 0)
		close(fd);
	fd = -1;
	target[0] = 0;
	if (nprev)
		memset(prev_push, 0, nprev * sizeof *prev_push);
	if (!*want)
		return;
	if (!kk_addr_parse(&dest, want))
		return;	/* the setting's check made this impossible */
	fd = socket(dest.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		sv_warn("statsd: unable to create a UDP socket: %s; not sending (set statsd"
		    " off, or again to retry)", strerror(errno));
		snprintf(target, sizeof target, "%s", want);
		return;
	}
	snprintf(target, sizeof target, "%s", want);
	/* The first push sets the baseline of what came before. */
	sv_deadline_in(&next, 0);
	sv_info("statsd: sending to %s every %lu ms", want, sv.state.set.statsd_interval_ms);
}

void
sv_statsd_timers(void)
{
	configure();
	if (fd < 0 || !sv.metrics || !sv_deadline_due(&next))
		return;
	push();
	sv_deadline_in(&next, sv.state.set.statsd_interval_ms);
}

void
sv_statsd_deadline(tain *earliest)
{
	configure();
	if (fd >= 0)
		sv_deadline_earliest(earliest, &next);
}
