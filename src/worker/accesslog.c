/* ISC license. */
/* Access-log lines: rendering (a template or JSON, escaped so that no
 * byte a client sent can end or break a line), the worker's bounded
 * buffer, and its non-blocking writer. Lines go out whole: to a pipe or a
 * socket each write carries whole lines and at most PIPE_BUF bytes, so
 * the lines of several workers sharing the pipe never mix within a line;
 * to a file, O_APPEND puts each write of whole lines at the end. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <kakehi/logfmt.h>
#include "accesslog.h"
#include "log.h"
#include "loop.h"
#include "worker.h"

/* The buffer of one worker: a second of lines at a few tens of thousands
 * of requests a second would need more, but a reader that falls that far
 * behind is one whose lines are better dropped than held. */
#define ALOG_BUFSIZE (256u << 10)
/* A line, newline included: one atomic write to a pipe. */
#define ALOG_LINEMAX PIPE_BUF
/* What one write to a file carries at most: whole lines, few calls. */
#define ALOG_FILE_WRITE (64u << 10)
/* The escaped bytes a string value may take (before its "..."), so that
 * a JSON line, which has every field once, always fits ALOG_LINEMAX:
 * 1536 + 320 + 64 + 8 * 160 plus keys and numbers stay under 3.6 KiB. */
#define ALOG_PATH_ROOM 1536
#define ALOG_HOST_ROOM 320
#define ALOG_METHOD_ROOM 64
#define ALOG_FIELD_ROOM 160

/* How the destination takes bytes. */
enum dest { D_NONE = 0, D_FILE, D_PIPE, D_SOCKET };

/* One open destination. */
struct sink {
	int fd;
	enum dest kind;
	char *path;		/* the FILE, NULL for stderr */
};

int kk_accesslog_on;

static kk_logfmt fmt, next_fmt;
static struct sink cur = { -1, D_NONE, NULL }, next = { -1, D_NONE, NULL };
static int next_keep;		/* the destination did not change: cur stays */
static int next_on;
static unsigned long sample = 1, next_sample = 1, seq;

static char *buf;		/* ALOG_BUFSIZE bytes, while the log is on */
static size_t off, len;
static int blocked;		/* the last write found the pipe full: wait for EPOLLOUT */
static kk_io io;
static kk_task flush_task;

static struct {
	uint64_t lines, dropped, cut, errors, reopens;
} counts;

/* The second of the last line and its text, "YYYY-MM-DDTHH:MM:SS". */
static time_t stamp_sec = -1;
static char stamp[24];

int
kk_accesslog_sampled(void)
{
	return seq++ % sample == 0;
}

/* Copies up to max bytes of p[0..n) into dst: flag when it was cut,
 * else 0. */
static unsigned
keep(char *dst, uint16_t *dlen, size_t max, const char *p, size_t n, unsigned flag)
{
	unsigned cut = n > max ? flag : 0;
	if (cut)
		n = max;
	memcpy(dst, p, n);
	*dlen = (uint16_t)n;
	return cut;
}

void
kk_accesslog_begin(kk_alog_req *r, const kk_reqhead *h, const kk_addr *src)
{
	const char *base = h->fl.base;
	r->start_ms = kk_now_ms;
	r->first_ms = 0;
	r->bytes_in = r->bytes_out = 0;
	r->version = h->version;
	r->cut = (unsigned char)(keep(r->method, &r->method_len, sizeof r->method,
	    base + h->method.off, h->method.len, KK_ALOG_CUT_METHOD) |
	    keep(r->host, &r->host_len, sizeof r->host, h->host, h->hostlen, KK_ALOG_CUT_HOST) |
	    keep(r->path, &r->path_len, sizeof r->path, base + h->path.off, h->path.len,
	    KK_ALOG_CUT_PATH));
	if (!src || !kk_addr_fmt(r->client, src))
		r->client[0] = 0;
}

/* The line being written: bytes past cap are refused and the line is
 * marked cut, so a template repeating long fields still ends whole. */
struct line {
	char *p;
	size_t n, cap;
	int cut;
};

static void
put(struct line *l, const char *s, size_t n)
{
	if (n > l->cap - l->n) {
		n = l->cap - l->n;
		l->cut = 1;
	}
	memcpy(l->p + l->n, s, n);
	l->n += n;
}

static void
put_lit(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void
put_num(struct line *l, uint64_t v)
{
	char d[24];
	size_t i = sizeof d;
	do
		d[--i] = (char)('0' + v % 10);
	while (v /= 10);
	put(l, d + i, sizeof d - i);
}

/* A string value, escaped: for JSON (RFC 8259 §7: quotes, backslash and
 * controls; bytes past ASCII as \u00XX, one per byte, so a line is valid
 * UTF-8 whatever the client sent) or for a template line (\" \\ and \xHH
 * for controls and bytes past ASCII). At most room escaped bytes, then
 * "..." and the line is marked cut. */
static void
put_str(struct line *l, int json, const char *s, size_t n, size_t room, unsigned was_cut)
{
	static const char hex[] = "0123456789abcdef";
	size_t used = 0, i = 0;
	while (i < n) {
		unsigned char c;
		char e[6];
		size_t k, run = i;
		/* Bytes that need no escape go in one copy. */
		while (run < n && run - i < room - used && (unsigned char)s[run] >= 0x20 &&
		    (unsigned char)s[run] < 0x7f && s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i) {
			put(l, s + i, run - i);
			used += run - i;
			i = run;
			continue;
		}
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			k = 2;
		} else if (c >= 0x20 && c < 0x7f) {
			/* Plain, but the room is spent. */
			k = 1;
		} else if (json) {
			memcpy(e, "\\u00", 4);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			k = 6;
		} else {
			e[0] = '\\';
			e[1] = 'x';
			e[2] = hex[c >> 4];
			e[3] = hex[c & 15];
			k = 4;
		}
		if (used + k > room) {
			was_cut = 1;
			break;
		}
		put(l, e, k);
		used += k;
		i++;
	}
	if (was_cut) {
		put(l, "...", 3);
		l->cut = 1;
	}
}

/* A string field: "-" (template) or null (JSON) when it has no value. */
static void
put_field(struct line *l, int json, const char *s, size_t n, size_t room, unsigned was_cut)
{
	if (!s || !n) {
		put_lit(l, json ? "null" : "-");
		return;
	}
	if (json)
		put(l, "\"", 1);
	put_str(l, json, s, n, room, was_cut);
	if (json)
		put(l, "\"", 1);
}

/* A short string field the proxy knows (an id, an address, a name). */
static void
put_known(struct line *l, int json, const char *s)
{
	put_field(l, json, s, s ? strlen(s) : 0, ALOG_FIELD_ROOM, 0);
}

static void
put_time(struct line *l, int json)
{
	struct timespec ts;
	struct tm tm;
	char ms[6];
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != stamp_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
		stamp_sec = ts.tv_sec;
	}
	ms[0] = '.';
	ms[1] = (char)('0' + ts.tv_nsec / 100000000);
	ms[2] = (char)('0' + ts.tv_nsec / 10000000 % 10);
	ms[3] = (char)('0' + ts.tv_nsec / 1000000 % 10);
	ms[4] = 'Z';
	ms[5] = 0;
	if (json)
		put(l, "\"", 1);
	put_lit(l, stamp);
	put_lit(l, ms);
	if (json)
		put(l, "\"", 1);
}

/* What one line shows, gathered once. */
struct rec {
	const kk_alog_req *r;
	const kk_rlistener *rl;
	const kk_rcluster *c;
	const char *backend_id;
	const kk_bend *bend;
	unsigned status;
	enum kk_close reason;
	size_t hostlen, portat;	/* the client's address and where its port starts */
};

static void
put_var(struct line *l, int json, const struct rec *x, enum kk_logvar v)
{
	static const char *const versions[] = { "HTTP/1.0", "HTTP/1.1", "HTTP/2" };
	const kk_alog_req *r = x->r;
	const char *s;
	switch (v) {
	case KK_LV_TIME:
		put_time(l, json);
		break;
	case KK_LV_CLIENT:
		s = r->client;
		/* An IPv6 address without its brackets. */
		if (s[0] == '[')
			put_field(l, json, s + 1, x->hostlen ? x->hostlen - 2 : 0, ALOG_FIELD_ROOM, 0);
		else
			put_field(l, json, s, x->hostlen, ALOG_FIELD_ROOM, 0);
		break;
	case KK_LV_CLIENT_PORT:
		if (x->portat)
			put_lit(l, r->client + x->portat);
		else
			put_num(l, 0);
		break;
	case KK_LV_LISTENER:
		put_known(l, json, x->rl ? x->rl->addr : NULL);
		break;
	case KK_LV_METHOD:
		put_field(l, json, r->method, r->method_len, ALOG_METHOD_ROOM,
		    r->cut & KK_ALOG_CUT_METHOD);
		break;
	case KK_LV_HOST:
		put_field(l, json, r->host, r->host_len, ALOG_HOST_ROOM, r->cut & KK_ALOG_CUT_HOST);
		break;
	case KK_LV_PATH:
		put_field(l, json, r->path, r->path_len, ALOG_PATH_ROOM, r->cut & KK_ALOG_CUT_PATH);
		break;
	case KK_LV_PROTO:
		put_known(l, json, versions[r->version < 3 ? r->version : 1]);
		break;
	case KK_LV_STATUS:
		put_num(l, x->status);
		break;
	case KK_LV_BYTES_IN:
		put_num(l, r->bytes_in);
		break;
	case KK_LV_BYTES_OUT:
		put_num(l, r->bytes_out);
		break;
	case KK_LV_CLUSTER:
		put_known(l, json, x->c ? x->c->id : NULL);
		break;
	case KK_LV_BACKEND:
		put_known(l, json, x->backend_id);
		break;
	case KK_LV_BACKEND_ADDR:
		put_known(l, json, x->bend ? x->bend->addr_text : NULL);
		break;
	case KK_LV_DURATION_MS:
		put_num(l, kk_now_ms - r->start_ms);
		break;
	case KK_LV_TTFB_MS:
		if (r->first_ms)
			put_num(l, r->first_ms - r->start_ms);
		else
			put_lit(l, json ? "null" : "-");
		break;
	case KK_LV_CLOSE:
		put_known(l, json, kk_status_close_name(x->reason));
		break;
	case KK_LV_WORKER:
		put_known(l, json, kk_worker_id());
		break;
	default:
		break;
	}
}

static void
render(struct line *l, const struct rec *x)
{
	if (fmt.json) {
		put(l, "{", 1);
		for (int v = 0; v < KK_LV_COUNT; v++) {
			put(l, v ? ",\"" : "\"", v ? 2 : 1);
			put_lit(l, kk_logfmt_name((enum kk_logvar)v));
			put(l, "\":", 2);
			put_var(l, 1, x, (enum kk_logvar)v);
		}
		put(l, "}", 1);
		return;
	}
	for (unsigned i = 0; i < fmt.n; i++) {
		const kk_logitem *it = &fmt.item[i];
		if (it->var == KK_LV_TEXT)
			put(l, fmt.text + it->off, it->len);
		else
			put_var(l, 0, x, (enum kk_logvar)it->var);
	}
}

void
kk_accesslog_emit(const kk_alog_req *r, const kk_rlistener *rl, const kk_rcluster *c,
    const char *backend_id, const kk_bend *bend, unsigned status, enum kk_close reason)
{
	static char text[ALOG_LINEMAX];
	struct line l = { text, 0, sizeof text - 1, 0 };
	struct rec x = { r, rl, c, backend_id, bend, status, reason, 0, 0 };
	const char *colon = strrchr(r->client, ':');
	if (!buf)
		return;
	if (colon) {
		x.hostlen = (size_t)(colon - r->client);
		x.portat = x.hostlen + 1;
	}
	render(&l, &x);
	if (r->cut)
		l.cut = 1;
	text[l.n++] = '\n';
	if (l.cut)
		counts.cut++;
	if (l.n > ALOG_BUFSIZE - len) {
		counts.dropped++;
		return;
	}
	if (off + len + l.n > ALOG_BUFSIZE) {
		memmove(buf, buf + off, len);
		off = 0;
	}
	memcpy(buf + off + len, text, l.n);
	len += l.n;
	counts.lines++;
	/* Written once the turn's events are done: the lines of a turn go
	 * in as few writes as they fit. */
	if (!blocked)
		kk_loop_wake(&flush_task);
}

void
kk_accesslog_answered(const kk_reqhead *h, const kk_addr *src, const kk_rlistener *rl,
    const kk_rcluster *c, unsigned status)
{
	/* One at a time, and too large for a stack frame on this path. */
	static kk_alog_req r;
	kk_accesslog_begin(&r, h, src);
	kk_accesslog_emit(&r, rl, c, NULL, NULL, status, status == 404 ? KK_CLOSE_NO_ROUTE :
	    status >= 400 ? KK_CLOSE_BAD_REQUEST : KK_CLOSE_DONE);
}

/* How many bytes from off one write takes: whole lines, and for a pipe
 * or socket no more than PIPE_BUF (each line is at most that). */
static size_t
chunk(void)
{
	size_t max = cur.kind == D_FILE ? ALOG_FILE_WRITE : ALOG_LINEMAX;
	const char *end;
	if (len <= max)
		return len;
	end = memrchr(buf + off, '\n', max);
	return end ? (size_t)(end - (buf + off)) + 1 : max;
}

/* The buffered lines are thrown away, counted as dropped. */
static void
drop_buffered(void)
{
	for (size_t i = off; i < off + len; i++)
		if (buf[i] == '\n')
			counts.dropped++;
	off = len = 0;
}

/* A write failed for good (the reader is gone, the disk is full): the
 * buffered lines are dropped, and later ones try again. */
static void
lost(int e)
{
	counts.errors++;
	drop_buffered();
	kk_log_warning("access log: write failed: %s; its buffered "
	    "lines are dropped", strerror(e));
}

static void
flush(void)
{
	while (len && !blocked && cur.fd >= 0) {
		size_t n = chunk();
		ssize_t w = cur.kind == D_SOCKET ?
		    send(cur.fd, buf + off, n, MSG_DONTWAIT | MSG_NOSIGNAL) :
		    write(cur.fd, buf + off, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				blocked = 1;
				break;
			}
			lost(errno);
			break;
		}
		off += (size_t)w;
		len -= (size_t)w;
	}
	if (!len)
		off = 0;
}

static void
on_flush(kk_task *t)
{
	(void)t;
	flush();
}

static void
on_event(kk_io *x, uint32_t ev)
{
	(void)x;
	(void)ev;
	blocked = 0;
	flush();
}

static void
sink_close(struct sink *k)
{
	if (k->fd >= 0)
		close(k->fd);
	free(k->path);
	k->fd = -1;
	k->kind = D_NONE;
	k->path = NULL;
}

/* Opens path (NULL: this worker's stderr) into k. For stderr, its own
 * open file description (through /proc), so that O_NONBLOCK does not
 * change the one the supervisor shares; a socket (journald) cannot be
 * opened so, and is written with MSG_DONTWAIT instead. 1 ok, 0 err. */
static int
sink_open(struct sink *k, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;
	if (path)
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0640);
	else {
		fd = open("/proc/self/fd/2", O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 && errno == ENXIO)
			fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "access-log: unable to open %s: %s%s", path ? path : "stderr",
		    strerror(errno), path ? "; check the directory exists and the worker's user "
		    "may write there" : "; is /proc mounted?");
		if (fd >= 0)
			close(fd);
		return 0;
	}
	k->fd = fd;
	k->kind = S_ISREG(st.st_mode) ? D_FILE : S_ISSOCK(st.st_mode) ? D_SOCKET : D_PIPE;
	k->path = NULL;
	if (path && !(k->path = strdup(path))) {
		snprintf(err, errlen, "access-log: out of memory");
		sink_close(k);
		return 0;
	}
	return 1;
}

/* Watches cur for room (pipes and sockets; a file always has it). */
static int
watch(char *err, size_t errlen)
{
	io.fd = cur.fd;
	io.prio = KK_IO_OTHER;
	io.on_event = on_event;
	if (cur.kind == D_FILE || kk_loop_add(&io, EPOLLOUT | EPOLLET))
		return 1;
	snprintf(err, errlen, "access-log: unable to watch the destination: %s",
	    strerror(errno));
	return 0;
}

static int
same_dest(const char *want)
{
	if (cur.kind == D_NONE)
		return 0;
	if (!want || !cur.path)
		return !want && !cur.path;
	return !strcmp(want, cur.path);
}

int
kk_accesslog_prepare(const kk_settings *s, char *err, size_t errlen)
{
	const char *dest = s->access_log;
	next_on = dest != NULL;
	next_keep = 1;
	next_sample = s->access_log_sample ? s->access_log_sample : 1;
	if (!next_on)
		return 1;
	if (!kk_logfmt_compile(&next_fmt, s->access_log_format ? s->access_log_format :
	    "default", err, errlen))
		return 0;
	if (!buf && !(buf = malloc(ALOG_BUFSIZE))) {
		snprintf(err, errlen, "access-log: out of memory");
		return 0;
	}
	if (!strcmp(dest, "stderr"))
		dest = NULL;
	if (same_dest(dest))
		return 1;
	next_keep = 0;
	return sink_open(&next, dest, err, errlen);
}

void
kk_accesslog_abandon(void)
{
	sink_close(&next);
}

/* Makes next the destination: what is buffered goes to the new one. */
static void
switch_sink(void)
{
	if (cur.fd >= 0 && cur.kind != D_FILE)
		kk_loop_del(&io);
	sink_close(&cur);
	cur = next;
	next.fd = -1;
	next.kind = D_NONE;
	next.path = NULL;
	blocked = 0;
}

void
kk_accesslog_commit(void)
{
	char err[KK_ERRLEN];
	sample = next_sample;
	if (!next_on) {
		if (cur.fd >= 0) {
			/* What the destination does not take now is lost with it. */
			flush();
			switch_sink();
		}
		if (buf)
			drop_buffered();
		kk_accesslog_on = 0;
		free(buf);
		buf = NULL;
		return;
	}
	fmt = next_fmt;
	flush_task.run = on_flush;
	if (!next_keep) {
		flush();
		switch_sink();
		if (!watch(err, sizeof err))
			/* Not watched, it is still written each turn that logs. */
			kk_log_warning("%s", err);
	}
	kk_accesslog_on = 1;
	if (len)
		kk_loop_wake(&flush_task);
}

int
kk_accesslog_reopen(char *err, size_t errlen)
{
	char werr[KK_ERRLEN];
	if (!cur.path)
		return 1;
	flush();
	if (!sink_open(&next, cur.path, err, errlen)) {
		kk_log_warning("%s; writing on to the file open", err);
		return 0;
	}
	switch_sink();
	if (!watch(werr, sizeof werr))
		kk_log_warning("%s", werr);
	counts.reopens++;
	return 1;
}

int
kk_accesslog_status(kk_str *out)
{
	return kk_str_catf(out, "access-log-lines %llu\naccess-log-dropped %llu\n"
	    "access-log-cut %llu\naccess-log-errors %llu\naccess-log-reopens %llu\n"
	    "access-log-buffered %zu\n", (unsigned long long)counts.lines,
	    (unsigned long long)counts.dropped, (unsigned long long)counts.cut,
	    (unsigned long long)counts.errors, (unsigned long long)counts.reopens, len);
}
