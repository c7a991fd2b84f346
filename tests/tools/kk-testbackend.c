/* ISC license. */
/* kk-testbackend: the HTTP/1.1 origin the integration tests, the demo and
 * the benchmark put behind the proxy. One thread, one epoll loop, its own
 * small parser: it shares no code with the proxy, so a proxy bug cannot
 * hide itself by being mirrored here. It echoes what it received, so tests
 * can assert what the proxy sent upstream; with -s it serves a fixed body
 * from one precomputed buffer, so it is never the bottleneck of a bench. */

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#define PROG "kk-testbackend"
#define USAGE "kk-testbackend [ -n name ] [ -s bytes ] [ -d notif-fd ] [ -p ] " \
    "[ -f file [ -F path ] ] addr"

/* A request head larger than this is refused (400, close). */
#define HEAD_MAX (64 * 1024)
/* Buffered request bytes (pipelined requests, bodies) before refusing. */
#define IN_MAX (64 * 1024 * 1024)
/* Stop parsing new requests while this much output is still unsent. */
#define OUT_SOFT (1024 * 1024)
/* How long a closing connection drains its input before the final close. */
#define LINGER_MS 2000
#define READ_CHUNK (64 * 1024)
#define EVENTS_MAX 256
#define ACCEPT_BATCH 64

struct buf {
	char *p;
	size_t off;	/* first unconsumed byte */
	size_t len;	/* end of data */
	size_t cap;
};

struct conn {
	int fd;
	unsigned events;	/* epoll interest currently registered */
	struct buf in;
	struct buf out;
	/* Output not owned by the connection (the precomputed -s response):
	 * sent straight from there while nothing else is queued. */
	const char *ext;
	size_t extlen;
	long long deadline;	/* ms, monotonic; 0 when no timer */
	struct conn *tprev, *tnext;	/* timer list */
	struct conn *dnext;	/* dead list, freed at the end of a loop turn */
	unsigned slow_wait : 1;	/* a /slow request waits for its timer */
	unsigned slow_fired : 1;	/* its timer fired: answer it now */
	unsigned cont_sent : 1;	/* 100 Continue sent for the current request */
	unsigned closing : 1;	/* close once the output is flushed */
	unsigned lingering : 1;	/* write side shut, draining input */
	unsigned eof : 1;	/* peer finished sending */
	unsigned dead : 1;
};

struct req {
	const char *head;
	size_t headlen;
	const char *method, *target, *version;
	size_t methodlen, targetlen, versionlen;
	int keepalive;
	int http10;
	int chunked;
	int expect_continue;
	long long clen;	/* -1 when absent */
	size_t bodylen;	/* decoded body length */
	size_t rawbodylen;	/* bytes the body occupies on the wire */
};

static const char *name = "backend";
static size_t namelen = 7;
static int efd = -1;
static int lfd = -1;
static int sfd = -1;
static int accept_paused;
static long long accept_resume;
static struct conn *timers;
static struct conn *dead;
static char *fixed_ka, *fixed_close;
static size_t fixed_ka_len, fixed_close_len;
static int fixed_mode;
/* -f: while this file exists, requests (those for the -F path alone, when
 * given) get 500: a backend that falls sick and recovers on a test's
 * word, for the health tests. */
static const char *fail_file, *fail_path;
static size_t fixed_size;

static void
die(int code, const char *what, int err)
{
	if (err)
		fprintf(stderr, PROG ": fatal: %s: %s\n", what, strerror(err));
	else
		fprintf(stderr, PROG ": fatal: %s\n", what);
	exit(code);
}

static void
dieusage(void)
{
	fprintf(stderr, PROG ": usage: " USAGE "\n");
	exit(100);
}

static void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q)
		die(111, "unable to allocate memory", errno);
	return q;
}

static long long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
buf_reserve(struct buf *b, size_t n)
{
	if (b->off && b->off == b->len)
		b->off = b->len = 0;
	if (b->cap - b->len >= n)
		return;
	if (b->off) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= n)
			return;
	}
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

static void
buf_put(struct buf *b, const void *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void
buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Timers: a plain list; the backend never holds many timed connections. */
static void
timer_set(struct conn *c, long long deadline)
{
	if (!c->deadline) {
		c->tprev = 0;
		c->tnext = timers;
		if (timers)
			timers->tprev = c;
		timers = c;
	}
	c->deadline = deadline;
}

static void
timer_clear(struct conn *c)
{
	if (!c->deadline)
		return;
	if (c->tprev)
		c->tprev->tnext = c->tnext;
	else
		timers = c->tnext;
	if (c->tnext)
		c->tnext->tprev = c->tprev;
	c->deadline = 0;
}

static void
conn_close(struct conn *c)
{
	if (c->dead)
		return;
	timer_clear(c);
	close(c->fd);
	c->dead = 1;
	c->dnext = dead;
	dead = c;
}

static size_t
out_pending(const struct conn *c)
{
	return c->extlen + (c->out.len - c->out.off);
}

/* Queue response bytes. ext != 0 means s stays valid forever and may be
 * sent from where it is when nothing else waits. */
static void
out_queue(struct conn *c, const char *s, size_t n, int ext)
{
	if (ext && !out_pending(c)) {
		c->ext = s;
		c->extlen = n;
		return;
	}
	if (c->extlen) {
		/* Keep the order: what was borrowed goes first. */
		struct buf b = { 0, 0, 0, 0 };
		buf_put(&b, c->ext, c->extlen);
		buf_put(&b, c->out.p + c->out.off, c->out.len - c->out.off);
		free(c->out.p);
		c->out = b;
		c->ext = 0;
		c->extlen = 0;
	}
	buf_put(&c->out, s, n);
}

static void
interest(struct conn *c)
{
	unsigned want = 0;
	if (c->lingering)
		want = EPOLLIN;
	else {
		if (!c->eof && !c->closing && out_pending(c) < OUT_SOFT
		    && c->in.len - c->in.off < IN_MAX)
			want |= EPOLLIN;
		if (out_pending(c))
			want |= EPOLLOUT;
	}
	if (want == c->events)
		return;
	struct epoll_event ev = { .events = want, .data.ptr = c };
	if (epoll_ctl(efd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die(111, "unable to modify epoll interest", errno);
	c->events = want;
}

static int
ieq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	return alen == blen && !strncasecmp(a, b, blen);
}

/* Does the comma-separated list s contain the token tok? */
static int
has_token(const char *s, size_t n, const char *tok)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
			i++;
		size_t j = i;
		while (j < n && s[j] != ',')
			j++;
		size_t k = j;
		while (k > i && (s[k - 1] == ' ' || s[k - 1] == '\t'))
			k--;
		if (k > i && ieq(s + i, k - i, tok))
			return 1;
		i = j;
	}
	return 0;
}

/* Walks a chunked body. Returns 1 complete (*raw = wire length, *data =
 * decoded length, decoded bytes appended to out when out != 0), 0 when
 * more bytes are needed, -1 when malformed. Trailers are skipped. */
static int
chunked_scan(const char *p, size_t n, size_t *raw, size_t *data, struct buf *out)
{
	size_t i = 0, total = 0;
	for (;;) {
		size_t size = 0, digits = 0;
		while (i < n) {
			int v;
			char ch = p[i];
			if (ch >= '0' && ch <= '9')
				v = ch - '0';
			else if (ch >= 'a' && ch <= 'f')
				v = ch - 'a' + 10;
			else if (ch >= 'A' && ch <= 'F')
				v = ch - 'A' + 10;
			else
				break;
			if (size > ((size_t)IN_MAX >> 4))
				return -1;
			size = size * 16 + (size_t)v;
			digits++;
			i++;
		}
		if (i == n)
			return 0;
		if (!digits)
			return -1;
		/* Skip chunk extensions up to the end of the line. */
		while (i < n && p[i] != '\n')
			i++;
		if (i == n)
			return 0;
		i++;
		if (!size)
			break;
		if (n - i < size + 1)
			return 0;
		if (out)
			buf_put(out, p + i, size);
		total += size;
		i += size;
		if (p[i] == '\r') {
			if (n - i < 2)
				return 0;
			i++;
		}
		if (p[i] != '\n')
			return -1;
		i++;
	}
	/* Trailer section: lines until an empty one. */
	for (;;) {
		size_t start = i;
		while (i < n && p[i] != '\n')
			i++;
		if (i == n)
			return 0;
		size_t len = i - start;
		i++;
		if (!len || (len == 1 && p[start] == '\r'))
			break;
	}
	*raw = i;
	*data = total;
	return 1;
}

/* Finds the head in p[0..n): 1 with r filled, 0 need more, -1 malformed. */
static int
parse_head(const char *p, size_t n, struct req *r)
{
	size_t i = 0, lineno = 0;
	memset(r, 0, sizeof *r);
	r->clen = -1;
	r->head = p;
	for (;;) {
		size_t start = i;
		const char *nl = memchr(p + i, '\n', n - i);
		if (!nl)
			return n > HEAD_MAX ? -1 : 0;
		i = (size_t)(nl - p) + 1;
		if (i > HEAD_MAX)
			return -1;
		size_t len = (size_t)(nl - (p + start));
		if (len && p[start + len - 1] == '\r')
			len--;
		const char *line = p + start;
		if (!lineno++) {
			const char *sp1 = memchr(line, ' ', len);
			if (!sp1)
				return -1;
			const char *sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line));
			if (!sp2)
				return -1;
			r->method = line;
			r->methodlen = (size_t)(sp1 - line);
			r->target = sp1 + 1;
			r->targetlen = (size_t)(sp2 - sp1 - 1);
			r->version = sp2 + 1;
			r->versionlen = len - (size_t)(sp2 + 1 - line);
			if (!r->methodlen || !r->targetlen)
				return -1;
			if (ieq(r->version, r->versionlen, "HTTP/1.1"))
				r->keepalive = 1;
			else if (ieq(r->version, r->versionlen, "HTTP/1.0"))
				r->http10 = 1;
			else
				return -1;
			continue;
		}
		if (!len)
			break;
		if (line[0] == ' ' || line[0] == '\t')
			return -1;	/* obsolete line folding */
		const char *colon = memchr(line, ':', len);
		if (!colon || colon == line)
			return -1;
		size_t nlen = (size_t)(colon - line);
		if (memchr(line, ' ', nlen) || memchr(line, '\t', nlen))
			return -1;
		const char *v = colon + 1;
		size_t vlen = len - nlen - 1;
		while (vlen && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		if (ieq(line, nlen, "content-length")) {
			long long cl = 0;
			if (!vlen)
				return -1;
			for (size_t k = 0; k < vlen; k++) {
				if (v[k] < '0' || v[k] > '9' || cl > IN_MAX)
					return -1;
				cl = cl * 10 + (v[k] - '0');
			}
			if (r->clen >= 0 && r->clen != cl)
				return -1;
			r->clen = cl;
		} else if (ieq(line, nlen, "transfer-encoding")) {
			if (!has_token(v, vlen, "chunked"))
				return -1;
			r->chunked = 1;
		} else if (ieq(line, nlen, "connection")) {
			if (has_token(v, vlen, "close"))
				r->keepalive = 0;
			else if (has_token(v, vlen, "keep-alive"))
				r->keepalive = 1;
		} else if (ieq(line, nlen, "expect")) {
			if (ieq(v, vlen, "100-continue"))
				r->expect_continue = 1;
		}
	}
	/* Both framings at once is the smuggling shape: refuse it. */
	if (r->chunked && r->clen >= 0)
		return -1;
	r->headlen = i;
	return 1;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

/* The path of a target without its query; absolute-form reduced to it. */
static void
target_path(const struct req *r, const char **path, size_t *plen)
{
	const char *t = r->target;
	size_t n = r->targetlen;
	if (n > 7 && (!strncasecmp(t, "http://", 7) || !strncasecmp(t, "https://", 8))) {
		const char *s = memchr(t + 8, '/', n - 8);
		if (s) {
			n -= (size_t)(s - t);
			t = s;
		} else {
			t = "/";
			n = 1;
		}
	}
	const char *q = memchr(t, '?', n);
	if (q)
		n = (size_t)(q - t);
	*path = t;
	*plen = n;
}

static int
prefix(const char *p, size_t n, const char *pre, const char **rest, size_t *restlen)
{
	size_t k = strlen(pre);
	if (n < k || memcmp(p, pre, k))
		return 0;
	*rest = p + k;
	*restlen = n - k;
	return 1;
}

/* A decimal in [lo, hi], or -1. */
static long
number(const char *s, size_t n, long lo, long hi)
{
	long v = 0;
	if (!n || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v < lo || v > hi ? -1 : v;
}

static void
respond_error(struct conn *c)
{
	char head[256];
	int n = snprintf(head, sizeof head,
	    "HTTP/1.1 400 Bad Request\r\nX-Backend: %s\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", name);
	out_queue(c, head, (size_t)n < sizeof head ? (size_t)n : sizeof head - 1, 0);
	c->closing = 1;
}

/* The echo body: who answered, then the request as it arrived, with the
 * body de-chunked. */
static void
echo_body(struct buf *b, const struct req *r, const char *body)
{
	buf_puts(b, "backend ");
	buf_put(b, name, namelen);
	buf_puts(b, "\n");
	buf_put(b, r->head, r->headlen);
	if (r->chunked) {
		size_t raw, data;
		chunked_scan(body, r->rawbodylen, &raw, &data, b);
	} else
		buf_put(b, body, r->bodylen);
}

static void
respond(struct conn *c, const struct req *r, const char *body)
{
	const char *path, *rest;
	size_t plen, restlen;
	int status = 200, mode_chunked = 0, mode_close = 0, headonly;
	long v;

	target_path(r, &path, &plen);
	if (fail_file && (!fail_path || (plen == strlen(fail_path)
	    && !memcmp(path, fail_path, plen))) && !access(fail_file, F_OK))
		status = 500;
	else if (prefix(path, plen, "/status/", &rest, &restlen)
	    && (v = number(rest, restlen, 200, 599)) > 0)
		status = (int)v;
	else if (plen == 8 && !memcmp(path, "/chunked", 8))
		mode_chunked = 1;
	else if (plen == 6 && !memcmp(path, "/close", 6))
		mode_close = 1;
	else if (fixed_mode && !prefix(path, plen, "/slow/", &rest, &restlen)
	    && !ieq(r->method, r->methodlen, "HEAD") && !r->http10) {
		if (r->keepalive)
			out_queue(c, fixed_ka, fixed_ka_len, 1);
		else {
			out_queue(c, fixed_close, fixed_close_len, 1);
			c->closing = 1;
		}
		return;
	}

	headonly = ieq(r->method, r->methodlen, "HEAD");
	int nobody = status == 204 || status == 304;
	struct buf b = { 0, 0, 0, 0 };
	if (!nobody) {
		if (fixed_mode && !mode_chunked && !mode_close && status == 200) {
			buf_reserve(&b, fixed_size);
			memset(b.p, 'x', fixed_size);
			b.len = fixed_size;
		} else
			echo_body(&b, r, body);
	}

	struct buf h = { 0, 0, 0, 0 };
	buf_printf(&h, "HTTP/1.1 %d %s\r\nX-Backend: ", status, reason(status));
	buf_put(&h, name, namelen);
	buf_puts(&h, "\r\n");
	if (!nobody)
		buf_puts(&h, "Content-Type: text/plain\r\n");
	if (mode_close)
		c->closing = 1;
	else if (mode_chunked)
		buf_puts(&h, "Transfer-Encoding: chunked\r\n");
	else if (status != 204)
		buf_printf(&h, "Content-Length: %zu\r\n", b.len);
	if (!r->keepalive || mode_close) {
		buf_puts(&h, "Connection: close\r\n");
		c->closing = 1;
	} else if (r->http10)
		buf_puts(&h, "Connection: keep-alive\r\n");
	buf_puts(&h, "\r\n");

	if (!headonly && !nobody) {
		if (mode_chunked) {
			/* Two chunks, so a proxy must really reassemble. */
			size_t half = b.len / 2;
			if (half) {
				buf_printf(&h, "%zx;ext=1\r\n", half);
				buf_put(&h, b.p, half);
				buf_puts(&h, "\r\n");
			}
			buf_printf(&h, "%zx\r\n", b.len - half);
			buf_put(&h, b.p + half, b.len - half);
			buf_puts(&h, "\r\n0\r\n\r\n");
		} else
			buf_put(&h, b.p, b.len);
	}
	out_queue(c, h.p, h.len, 0);
	free(h.p);
	free(b.p);
}

static void
send_continue(struct conn *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	out_queue(c, cont, sizeof cont - 1, 1);
	c->cont_sent = 1;
}

/* Answers every complete request buffered, in order, until one must
 * wait (slow, incomplete, output full) or the connection is closing. */
static void
process(struct conn *c)
{
	while (!c->dead && !c->closing && !c->slow_wait && out_pending(c) < OUT_SOFT) {
		/* Blank lines before a request line are tolerated (RFC 9112 2.2). */
		while (c->in.off < c->in.len
		    && (c->in.p[c->in.off] == '\r' || c->in.p[c->in.off] == '\n'))
			c->in.off++;
		const char *p = c->in.p + c->in.off;
		size_t n = c->in.len - c->in.off;
		if (!n)
			return;
		struct req r;
		int k = parse_head(p, n, &r);
		if (k < 0) {
			respond_error(c);
			return;
		}
		if (!k)
			return;
		const char *body = p + r.headlen;
		size_t avail = n - r.headlen;
		if (r.chunked) {
			k = chunked_scan(body, avail, &r.rawbodylen, &r.bodylen, 0);
			if (k < 0) {
				respond_error(c);
				return;
			}
		} else if (r.clen > 0) {
			k = avail >= (size_t)r.clen;
			r.bodylen = r.rawbodylen = (size_t)r.clen;
		} else
			k = 1;
		if (!k) {
			if (r.expect_continue && !c->cont_sent)
				send_continue(c);
			return;
		}
		const char *path, *rest;
		size_t plen, restlen;
		target_path(&r, &path, &plen);
		if (!c->slow_fired && prefix(path, plen, "/slow/", &rest, &restlen)) {
			long ms = number(rest, restlen, 0, 600000);
			if (ms >= 0) {
				c->slow_wait = 1;
				timer_set(c, now_ms() + ms);
				return;
			}
		}
		c->slow_fired = 0;
		c->cont_sent = 0;
		respond(c, &r, body);
		c->in.off += r.headlen + r.rawbodylen;
	}
}

/* Sends what is queued; then closes, lingers or waits as the state says. */
static void
flush(struct conn *c)
{
	while (out_pending(c)) {
		const char *p;
		size_t n;
		if (c->extlen) {
			p = c->ext;
			n = c->extlen;
		} else {
			p = c->out.p + c->out.off;
			n = c->out.len - c->out.off;
		}
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(c);
			return;
		}
		if (c->extlen) {
			c->ext += w;
			c->extlen -= (size_t)w;
		} else
			c->out.off += (size_t)w;
	}
	if (!out_pending(c)) {
		c->out.off = c->out.len = 0;
		if (c->out.cap > 1024 * 1024) {
			free(c->out.p);
			c->out.p = 0;
			c->out.cap = 0;
		}
		if (c->closing && !c->lingering) {
			/* Shut the write side and drain what the peer still sends,
			 * so unread input cannot turn the close into a reset that
			 * destroys the response. */
			shutdown(c->fd, SHUT_WR);
			c->lingering = 1;
			timer_set(c, now_ms() + LINGER_MS);
		} else if (c->eof && !c->slow_wait) {
			conn_close(c);
			return;
		}
	}
	interest(c);
}

static void
on_read(struct conn *c)
{
	if (c->lingering) {
		char drain[4096];
		ssize_t r = read(c->fd, drain, sizeof drain);
		if (!r || (r < 0 && errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	buf_reserve(&c->in, READ_CHUNK);
	ssize_t r = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len);
	if (r < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		conn_close(c);
		return;
	}
	if (!r)
		c->eof = 1;
	else
		c->in.len += (size_t)r;
	process(c);
	if (!c->dead)
		flush(c);
}

static void
on_accept(void)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(lfd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
			    || errno == ENOMEM) {
				/* Out of descriptors: pause accepting for a moment
				 * instead of spinning on a readable listener. */
				epoll_ctl(efd, EPOLL_CTL_DEL, lfd, 0);
				accept_paused = 1;
				accept_resume = now_ms() + 100;
			}
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			return;
		}
		c->fd = fd;
		c->events = EPOLLIN;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(efd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			return;
		}
	}
}

static void
run_timers(void)
{
	long long now = now_ms();
	if (accept_paused && now >= accept_resume) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = 0 };
		if (!epoll_ctl(efd, EPOLL_CTL_ADD, lfd, &ev))
			accept_paused = 0;
		else
			accept_resume = now + 100;
	}
	struct conn *c = timers, *next;
	for (; c; c = next) {
		next = c->tnext;
		if (c->deadline > now)
			continue;
		timer_clear(c);
		if (c->lingering)
			conn_close(c);
		else if (c->slow_wait) {
			c->slow_wait = 0;
			c->slow_fired = 1;
			process(c);
			if (!c->dead)
				flush(c);
		}
		/* Restart from the head: the handlers may have changed the list. */
		next = timers;
		now = now_ms();
	}
}

static int
next_timeout(void)
{
	long long first = 0;
	for (struct conn *c = timers; c; c = c->tnext)
		if (!first || c->deadline < first)
			first = c->deadline;
	if (accept_paused && (!first || accept_resume < first))
		first = accept_resume;
	if (!first)
		return -1;
	long long d = first - now_ms();
	return d < 0 ? 0 : d > INT_MAX ? INT_MAX : (int)d;
}

static void
free_dead(void)
{
	while (dead) {
		struct conn *c = dead;
		dead = c->dnext;
		free(c->in.p);
		free(c->out.p);
		free(c);
	}
}

/* HOST:PORT or [V6]:PORT; with anyport, the port may be left out. */
static void
parse_addr(const char *s, int anyport, struct sockaddr_storage *ss, socklen_t *sslen)
{
	char host[128];
	const char *port = 0;
	size_t hlen;
	if (*s == '[') {
		const char *e = strchr(s, ']');
		if (!e)
			dieusage();
		hlen = (size_t)(e - s - 1);
		if (hlen >= sizeof host)
			dieusage();
		memcpy(host, s + 1, hlen);
		if (e[1] == ':')
			port = e + 2;
		else if (e[1])
			dieusage();
	} else {
		const char *e = strrchr(s, ':');
		hlen = e ? (size_t)(e - s) : strlen(s);
		if (hlen >= sizeof host)
			dieusage();
		memcpy(host, s, hlen);
		if (e)
			port = e + 1;
	}
	host[hlen] = 0;
	if (!port) {
		if (!anyport)
			dieusage();
		port = "0";
	}
	struct addrinfo hints, *ai;
	memset(&hints, 0, sizeof hints);
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	int e = getaddrinfo(host, port, &hints, &ai);
	if (e) {
		fprintf(stderr, PROG ": fatal: invalid address %s: %s\n", s, gai_strerror(e));
		exit(100);
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static void
build_fixed(size_t size)
{
	struct buf b = { 0, 0, 0, 0 };
	for (int close_it = 0; close_it < 2; close_it++) {
		b.len = b.off = 0;
		buf_printf(&b, "HTTP/1.1 200 OK\r\nX-Backend: %s\r\n"
		    "Content-Type: application/octet-stream\r\nContent-Length: %zu\r\n%s\r\n",
		    name, size, close_it ? "Connection: close\r\n" : "");
		buf_reserve(&b, size);
		memset(b.p + b.len, 'x', size);
		b.len += size;
		char *copy = xrealloc(0, b.len);
		memcpy(copy, b.p, b.len);
		if (close_it) {
			fixed_close = copy;
			fixed_close_len = b.len;
		} else {
			fixed_ka = copy;
			fixed_ka_len = b.len;
		}
	}
	free(b.p);
}

int
main(int argc, char **argv)
{
	int notif = -1, printport = 0, opt;
	while ((opt = getopt(argc, argv, "n:s:d:pf:F:")) != -1) {
		switch (opt) {
		case 'n':
			name = optarg;
			namelen = strlen(name);
			if (!namelen || strpbrk(name, "\r\n"))
				dieusage();
			break;
		case 's': {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || v > (1ULL << 30))
				dieusage();
			fixed_mode = 1;
			fixed_size = (size_t)v;
			break;
		}
		case 'd': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 0 || v > INT_MAX)
				dieusage();
			notif = (int)v;
			break;
		}
		case 'p':
			printport = 1;
			break;
		case 'f':
			fail_file = optarg;
			break;
		case 'F':
			fail_path = optarg;
			break;
		default:
			dieusage();
		}
	}
	if (argc - optind != 1)
		dieusage();

	struct sockaddr_storage ss;
	socklen_t sslen;
	parse_addr(argv[optind], printport, &ss, &sslen);
	if (printport) {
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	}
	if (fixed_mode)
		build_fixed(fixed_size);

	/* Benchmarks open thousands of connections: take every fd allowed. */
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die(111, "unable to create socket", errno);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&ss, sslen) < 0) {
		fprintf(stderr, PROG ": fatal: unable to bind %s: %s\n", argv[optind],
		    strerror(errno));
		exit(111);
	}
	if (listen(lfd, 4096) < 0)
		die(111, "unable to listen", errno);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, 0);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		die(111, "unable to create signalfd", errno);
	efd = epoll_create1(EPOLL_CLOEXEC);
	if (efd < 0)
		die(111, "unable to create epoll instance", errno);
	/* data.ptr 0 is the listener; the signalfd is told apart by address. */
	static char sigtag;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = 0 };
	if (epoll_ctl(efd, EPOLL_CTL_ADD, lfd, &ev) < 0)
		die(111, "unable to watch the listener", errno);
	ev.data.ptr = &sigtag;
	if (epoll_ctl(efd, EPOLL_CTL_ADD, sfd, &ev) < 0)
		die(111, "unable to watch signals", errno);

	if (printport) {
		struct sockaddr_storage got;
		socklen_t gotlen = sizeof got;
		if (getsockname(lfd, (struct sockaddr *)&got, &gotlen) < 0)
			die(111, "unable to read the bound address", errno);
		unsigned port = ntohs(got.ss_family == AF_INET
		    ? ((struct sockaddr_in *)&got)->sin_port
		    : ((struct sockaddr_in6 *)&got)->sin6_port);
		printf("%u\n", port);
		if (fflush(stdout) == EOF)
			die(111, "unable to write the port to stdout", errno);
	}
	if (notif >= 0) {
		if (write(notif, "\n", 1) != 1)
			die(111, "unable to write to the notification fd", errno);
		close(notif);
	}

	struct epoll_event events[EVENTS_MAX];
	for (;;) {
		int n = epoll_wait(efd, events, EVENTS_MAX, next_timeout());
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die(111, "epoll_wait failed", errno);
		}
		for (int i = 0; i < n; i++) {
			void *ptr = events[i].data.ptr;
			if (!ptr) {
				on_accept();
				continue;
			}
			if (ptr == &sigtag)
				return 0;
			struct conn *c = ptr;
			if (c->dead)
				continue;
			if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_read(c);
			if (!c->dead && (events[i].events & EPOLLOUT))
				flush(c);
		}
		run_timers();
		free_dead();
	}
}
