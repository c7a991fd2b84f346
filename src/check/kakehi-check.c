/* ISC license. */
/* kakehi-check: the active health checks of a proxy, one process for all
 * its workers (doc/kakehi-check.html). Started by the supervisor with its
 * channel and the state in a memfd, it probes every backend of every
 * cluster with a health-check, over plain HTTP/1.1, with non-blocking
 * sockets in one poll loop, and reports each backend's transitions
 * (health CLUSTER BACKEND up|down, kakehi/proto.h); the supervisor turns
 * them into verdicts for the workers. It follows the state's changes as
 * the workers do (delta, state) and exits when its channel closes. What
 * a probe writes and reads is in probe.c. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <skalibs/strerr.h>
#include <kakehi/chan.h>
#include <kakehi/frame.h>
#include <kakehi/index.h>
#include <kakehi/proto.h>
#include <kakehi/state.h>
#include <kakehi/statejournal.h>
#include <kakehi/verb.h>
#include "probe.h"

#define USAGE "kakehi-check -c CHANNEL_FD -s STATE_FD -g GENERATION"
const char *PROG = "kakehi-check";

/* Probes in flight at once at most: past this, the others wait their
 * turn, so a state of many backends cannot use up the descriptors. */
#define INFLIGHT_MAX 512

enum phase { IDLE, CONNECTING, SENDING, READING };

/* A backend of a checked cluster: what to ask, and where its probe is. */
typedef struct target target;
struct target {
	char *key;		/* CLUSTER NUL BACKEND NUL */
	size_t klen;		/* both parts and the first NUL */
	const char *backend;	/* in key */
	kk_addr addr;
	char req[KK_PROBE_REQMAX];
	size_t reqlen, sent;
	/* The cluster's check; its strings are the state's, read only while
	 * the request is built. */
	kk_hcheck hc;
	kk_probe_count count;
	enum phase phase;
	int fd;
	char in[KK_PROBE_INMAX];
	size_t inlen;
	uint64_t next_at, deadline;
	size_t flpos;		/* in flight: its place in fl */
};

static kk_chan ch;
static kk_state st;
static uint64_t gen;
static target *targets;
static size_t ntargets;
/* The idle targets by their next probe, a binary min-heap of indexes into
 * targets, and the probes in flight, a list: a loop turn looks at the
 * heap's top and at the probes in flight, never at every backend. */
static size_t *heap, nheap;
static size_t fl[INFLIGHT_MAX], nfl;

static int
earlier(size_t a, size_t b)
{
	return targets[heap[a]].next_at < targets[heap[b]].next_at;
}

static void
heap_swap(size_t a, size_t b)
{
	size_t x = heap[a];
	heap[a] = heap[b];
	heap[b] = x;
}

static void
heap_down(size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < nheap && earlier(l, m))
			m = l;
		if (l + 1 < nheap && earlier(l + 1, m))
			m = l + 1;
		if (m == i)
			return;
		heap_swap(i, m);
		i = m;
	}
}

/* Room for every target is made when they are built. */
static void
heap_push(const target *t)
{
	size_t i = nheap++;
	heap[i] = (size_t)(t - targets);
	while (i && earlier(i, (i - 1) / 2)) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static target *
heap_pop(void)
{
	target *t = &targets[heap[0]];
	heap[0] = heap[--nheap];
	heap_down(0);
	return t;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
warn(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	strerr_warnw1x(msg);
}

static void
send_words(unsigned argc, const char *const *argv)
{
	if (!kk_chan_put(&ch, argc, argv))
		warn("unable to queue a %s message: out of memory", argv[0]);
	kk_chan_flush(&ch);
}

static void
report(const target *t, int up)
{
	const char *argv[4] = { KK_MSG_HEALTH, t->key, t->backend, up ? "up" : "down" };
	send_words(4, argv);
}

static void
finish(target *t, int good, uint64_t now)
{
	enum kk_probe_state s;
	if (t->fd >= 0) {
		close(t->fd);
		t->fd = -1;
	}
	if (t->phase != IDLE) {
		fl[t->flpos] = fl[--nfl];
		targets[fl[t->flpos]].flpos = t->flpos;
	}
	t->phase = IDLE;
	s = kk_probe_tally(&t->count, good, t->hc.rise, t->hc.fall);
	if (s != KK_PROBE_UNKNOWN)
		report(t, s == KK_PROBE_UP);
	/* From the start of this probe, so the rate holds whatever it took;
	 * never in the past. */
	if (t->next_at + t->hc.interval_ms <= now)
		t->next_at = now + t->hc.interval_ms;
	else
		t->next_at += t->hc.interval_ms;
	heap_push(t);
}

static void
start(target *t, uint64_t now)
{
	int one = 1;
	t->inlen = t->sent = 0;
	t->next_at = now;
	t->deadline = now + t->hc.timeout_ms;
	t->fd = socket(t->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		warn("unable to open a socket to probe %s: %s", t->backend, strerror(errno));
		t->next_at = now + t->hc.interval_ms;
		heap_push(t);
		return;
	}
	t->phase = CONNECTING;
	t->flpos = nfl;
	fl[nfl++] = (size_t)(t - targets);
	setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(t->fd, (const struct sockaddr *)&t->addr.ss, t->addr.len) < 0
	    && errno != EINPROGRESS)
		finish(t, 0, now);
}

/* What the socket allows now, as poll said. */
static void
advance(target *t, short revents, uint64_t now)
{
	unsigned status;
	ssize_t r;
	int err = 0;
	socklen_t len = sizeof err;
	if (t->phase == CONNECTING) {
		if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
			finish(t, 0, now);
			return;
		}
		if (!(revents & POLLOUT))
			return;
		t->phase = SENDING;
	}
	if (t->phase == SENDING) {
		r = send(t->fd, t->req + t->sent, t->reqlen - t->sent, MSG_NOSIGNAL);
		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR)
				finish(t, 0, now);
			return;
		}
		if ((t->sent += (size_t)r) < t->reqlen)
			return;
		t->phase = READING;
		return;
	}
	if (t->phase != READING || !(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	r = recv(t->fd, t->in + t->inlen, sizeof t->in - t->inlen, 0);
	if (r < 0) {
		if (errno != EAGAIN && errno != EINTR)
			finish(t, 0, now);
		return;
	}
	t->inlen += (size_t)r;
	switch (kk_probe_status(t->in, t->inlen, &status)) {
	case 1:
		finish(t, status >= t->hc.expect_lo && status <= t->hc.expect_hi, now);
		return;
	case 0:
		if (r == 0 || t->inlen == sizeof t->in)
			finish(t, 0, now);
		return;
	default:
		finish(t, 0, now);
	}
}

static void
free_targets(target *a, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		if (a[i].fd >= 0)
			close(a[i].fd);
		free(a[i].key);
	}
	free(a);
}

/* Whether target o's probe in flight asks what t would: the same
 * address, request and answer expected. */
static int
same_probe(const target *o, const target *t)
{
	return o->addr.len == t->addr.len && !memcmp(&o->addr.ss, &t->addr.ss, t->addr.len)
	    && o->reqlen == t->reqlen && !memcmp(o->req, t->req, t->reqlen)
	    && o->hc.timeout_ms == t->hc.timeout_ms && o->hc.expect_lo == t->hc.expect_lo
	    && o->hc.expect_hi == t->hc.expect_hi;
}

/* The targets of the state now. A backend checked before keeps its count
 * and its schedule, and its probe in flight when it asks the same (one
 * that changed is dropped, the next starts at its time): a busy control
 * plane does not keep every probe from ever ending. A newcomer's first
 * probe is spread over its interval, so that a state loaded whole does
 * not probe every backend in the same millisecond. 1 ok, 0 ENOMEM (the
 * old kept). */
static int
rebuild(uint64_t now)
{
	kk_index old = KK_INDEX_ZERO;
	target *a;
	size_t *h, i, n = 0;
	for (i = 0; i < st.nbackends; i++) {
		const kk_backend *b = &st.backends[i];
		const kk_cluster *c = b->cluster ? kk_state_cluster(&st, b->cluster) : NULL;
		n += c && c->hc.path;
	}
	if (!(a = calloc(n ? n : 1, sizeof *a)))
		return 0;
	if (!(h = malloc((n ? n : 1) * sizeof *h))) {
		free(a);
		return 0;
	}
	for (i = 0; i < ntargets; i++)
		if (!kk_index_put(&old, targets[i].key, targets[i].klen, i))
			goto nomem;
	n = 0;
	for (i = 0; i < st.nbackends; i++) {
		const kk_backend *b = &st.backends[i];
		const kk_cluster *c = b->cluster ? kk_state_cluster(&st, b->cluster) : NULL;
		size_t cl, bl, *was;
		target *t = &a[n];
		if (!c || !c->hc.path)
			continue;
		cl = strlen(c->id);
		bl = strlen(b->id);
		if (!(t->key = malloc(cl + bl + 2)))
			goto nomem;
		n++;
		memcpy(t->key, c->id, cl + 1);
		memcpy(t->key + cl + 1, b->id, bl + 1);
		t->klen = cl + 1 + bl;
		t->backend = t->key + cl + 1;
		t->addr = b->addr;
		t->fd = -1;
		t->hc = c->hc;
		t->reqlen = kk_probe_request(t->req, sizeof t->req, c->hc.path,
		    c->hc.host ? c->hc.host : b->addr_text);
		if ((was = kk_index_get(&old, t->key, t->klen))) {
			target *o = &targets[*was];
			t->count = o->count;
			t->next_at = o->next_at;
			if (o->phase != IDLE && same_probe(o, t)) {
				t->phase = o->phase;
				t->fd = o->fd;
				o->fd = -1;
				t->sent = o->sent;
				t->inlen = o->inlen;
				memcpy(t->in, o->in, o->inlen);
				t->deadline = o->deadline;
			}
		} else
			t->next_at = now + kk_index_hash(t->key, t->klen) % t->hc.interval_ms;
	}
	kk_index_free(&old);
	free_targets(targets, ntargets);
	free(heap);
	targets = a;
	ntargets = n;
	heap = h;
	/* The probes kept in flight, then the heap of the others, in
	 * order. */
	nfl = nheap = 0;
	for (i = 0; i < n; i++) {
		if (a[i].phase != IDLE) {
			a[i].flpos = nfl;
			fl[nfl++] = i;
		} else
			heap[nheap++] = i;
	}
	for (i = nheap / 2; i-- > 0;)
		heap_down(i);
	return 1;
nomem:
	kk_index_free(&old);
	free_targets(a, n);
	free(h);
	return 0;
}

static void
resync(void)
{
	char have[24];
	const char *argv[2] = { KK_MSG_RESYNC, have };
	snprintf(have, sizeof have, "%llu", (unsigned long long)gen);
	send_words(2, argv);
}

static int
scan_gen(const char *s, uint64_t *g)
{
	unsigned long long v;
	char *end;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (!*s || *end || errno)
		return 0;
	*g = v;
	return 1;
}

/* Whether a change touches what is probed: a backend of a checked
 * cluster, or a cluster's check. The rest of the state (frontends,
 * listeners, certificates, settings, clusters without a check) does not,
 * so a change there costs no pass over the backends. */
static int
touches_checks(const kk_journal *j)
{
	size_t i;
	for (i = 0; i < j->n; i++) {
		kk_change c;
		const kk_cluster *cl;
		kk_journal_change(&st, j, i, &c);
		switch (c.id) {
		case KK_V_CLUSTER_ADD:
		case KK_V_CLUSTER_REMOVE:
			if (c.c && c.c->hc.path)
				return 1;
			break;
		case KK_V_CLUSTER_HEALTH_CHECK:
			return 1;
		case KK_V_BACKEND_ADD:
		case KK_V_BACKEND_REMOVE:
			/* A removed cluster's backends went first, while it
			 * was there; a cluster that lost its check says so. */
			if (!c.b || !c.b->cluster || ((cl = kk_state_cluster(&st, c.b->cluster))
			    && cl->hc.path))
				return 1;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* A change, as the workers get it: applied when it is on our
 * generation, else (or when it does not apply) the whole state asked. */
static void
on_delta(const char *base, const char *to, const char *text)
{
	char err[KK_ERRLEN];
	kk_journal j = KK_JOURNAL_ZERO;
	uint64_t b, g;
	int probed;
	if (!scan_gen(base, &b) || !scan_gen(to, &g) || b != gen) {
		resync();
		return;
	}
	st.certs_checked = 1;
	if (!kk_state_apply_text_journal(&st, text, strlen(text), "delta", &j, err, sizeof err)) {
		st.certs_checked = 0;
		warn("%s; asking for the whole state", err);
		resync();
		return;
	}
	st.certs_checked = 0;
	probed = touches_checks(&j);
	kk_journal_commit(&st, &j);
	gen = g;
	if (probed && !rebuild(now_ms()))
		warn("out of memory following generation %llu; probing as before",
		    (unsigned long long)g);
}

static int
load_fd(int fd, uint64_t g)
{
	char err[KK_ERRLEN];
	kk_state next;
	kk_state_init(&next);
	if (!kk_state_load_fd_checked(&next, fd, "state", err, sizeof err)) {
		warn("%s; keeping the state it had", err);
		kk_state_free(&next);
		return 0;
	}
	kk_state_free(&st);
	st = next;
	gen = g;
	if (!rebuild(now_ms()))
		warn("out of memory loading generation %llu", (unsigned long long)g);
	return 1;
}

static void
handle(unsigned argc, char **argv)
{
	uint64_t g;
	if (!strcmp(argv[0], KK_MSG_DELTA) && argc == 4) {
		on_delta(argv[1], argv[2], argv[3]);
	} else if (!strcmp(argv[0], KK_MSG_STATE) && argc == 2) {
		int fd = kk_chan_take_fd(&ch);
		if (fd < 0 || !scan_gen(argv[1], &g))
			warn("state announced without its memfd or generation");
		else
			load_fd(fd, g);
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(argv[0], KK_MSG_STOP)) {
		_exit(0);
	}
	/* Anything else is for workers: not ours to answer. */
}

/* 0: the channel is gone, leave. */
static int
on_channel(short revents)
{
	char *argv[KK_FRAME_MAXWORDS];
	unsigned argc;
	int r, eof = 0;
	if (revents & POLLOUT && kk_chan_flush(&ch) < 0)
		return 0;
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return 1;
	for (;;) {
		r = kk_chan_fill(&ch);
		if (r > 0)
			continue;
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			eof = 1;
		break;
	}
	while ((r = kk_chan_next(&ch, argv, KK_FRAME_MAXWORDS, &argc)) > 0)
		if (argc)
			handle(argc, argv);
	return r >= 0 && !eof;
}

static int
scan_fd(const char *s)
{
	unsigned long v;
	if (!kk_scan_uint(s, 0, 1u << 20, &v))
		strerr_dieusage(100, USAGE);
	return (int)v;
}

int
main(int argc, char **argv)
{
	int chanfd = -1, statefd = -1, opt;
	struct pollfd *p = NULL;
	size_t *ids = NULL, cap = 0;
	while ((opt = getopt(argc, argv, "c:s:g:")) != -1) {
		switch (opt) {
		case 'c': chanfd = scan_fd(optarg); break;
		case 's': statefd = scan_fd(optarg); break;
		case 'g':
			if (!scan_gen(optarg, &gen))
				strerr_dieusage(100, USAGE);
			break;
		default: strerr_dieusage(100, USAGE);
		}
	}
	if (chanfd < 0 || statefd < 0 || optind != argc)
		strerr_dieusage(100, USAGE);
	signal(SIGPIPE, SIG_IGN);
	if (fcntl(chanfd, F_SETFL, fcntl(chanfd, F_GETFL) | O_NONBLOCK) < 0
	    || fcntl(chanfd, F_SETFD, FD_CLOEXEC) < 0)
		strerr_diefu1sys(111, "set up the channel");
	kk_chan_init(&ch, chanfd);
	kk_state_init(&st);
	if (!load_fd(statefd, gen))
		strerr_dief1x(111, "unable to load the initial state");
	close(statefd);
	for (;;) {
		uint64_t now = now_ms(), next = now + 60000;
		size_t i, n = 0;
		int timeout, r;
		if (!cap) {
			size_t c = INFLIGHT_MAX + 1;
			struct pollfd *np = realloc(p, c * sizeof *p);
			size_t *ni = np ? realloc(ids, c * sizeof *ids) : NULL;
			if (np)
				p = np;
			if (!ni)
				strerr_dief1x(111, "out of memory");
			ids = ni;
			cap = c;
		}
		p[n].fd = ch.fd;
		p[n].events = POLLIN | (kk_chan_pending(&ch) ? POLLOUT : 0);
		ids[n++] = 0;
		for (i = 0; i < nfl;) {
			target *t = &targets[fl[i]];
			if (now >= t->deadline)
				finish(t, 0, now);	/* fl[i] is now another */
			else
				i++;
		}
		while (nheap && nfl < INFLIGHT_MAX && targets[heap[0]].next_at <= now)
			start(heap_pop(), now);
		if (nheap && nfl < INFLIGHT_MAX && targets[heap[0]].next_at < next)
			next = targets[heap[0]].next_at;
		for (i = 0; i < nfl; i++) {
			target *t = &targets[fl[i]];
			if (t->deadline < next)
				next = t->deadline;
			p[n].fd = t->fd;
			p[n].events = t->phase == READING ? POLLIN : POLLOUT;
			ids[n++] = fl[i];
		}
		timeout = next > now ? (int)(next - now) : 0;
		r = poll(p, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR)
			strerr_diefu1sys(111, "poll");
		if (r <= 0)
			continue;
		now = now_ms();
		/* The targets first: a change read from the channel may
		 * rebuild them, and the poll array's indexes with them. */
		for (i = 1; i < n; i++)
			if (p[i].revents)
				advance(&targets[ids[i]], p[i].revents, now);
		if (p[0].revents && !on_channel(p[0].revents))
			return 0;
	}
}
