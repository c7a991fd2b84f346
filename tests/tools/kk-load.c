/* ISC license. */
/* kk-load: the load generator of the hitless-operation tests. It keeps a
 * number of HTTP/1.1 connections busy with GET requests and counts every
 * request by how it ended, so a test can assert that a reload, an upgrade
 * or a worker's death cost no client anything. One thread, one epoll
 * loop, its own small response parser: like kk-testbackend it shares no
 * code with the proxy, so a proxy bug cannot hide by being mirrored. */

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define PROG "kk-load"
#define USAGE "kk-load [ -c conns ] [ -d seconds ] [ -m keepalive|close|mixed ] [ -p path ]" \
	" [ -H host ] [ -T timeout-ms ] [ -o statsfile ] host:port"

#define MAX_CONNS 4096
/* A response head larger than this is a failure of the server. */
#define HEAD_MAX (16 * 1024)
#define READ_CHUNK (64 * 1024)
/* After a failed request its connection pauses this long, so an outage
 * is counted without a busy loop that would starve the proxy under test. */
#define FAIL_PAUSE_MS 10
/* Failures described on stderr, so a failing test says what happened. */
#define DETAILS_MAX 10

/* How a request ended. */
enum outcome { OK, REFUSED, RESET, EARLY_EOF, NON2XX, TIMEOUT, NOUTCOMES };
static const char *const outcome_name[NOUTCOMES] = {
	"ok", "refused", "reset", "eof", "non2xx", "timeout"
};

enum cstate { C_IDLE, C_CONNECTING, C_SENDING, C_HEAD, C_BODY };
/* Body framing of the response being read. */
enum framing { F_NONE, F_LENGTH, F_CHUNKED, F_UNTIL_EOF };
/* Where a chunked body stands. */
enum chunkstep { K_SIZE, K_SIZE_LF, K_DATA, K_DATA_CR, K_DATA_LF, K_TRAILER };

struct conn {
	int fd;
	enum cstate state;
	int close_mode;		/* Connection: close on every request */
	int reused;		/* this connection already carried a response */
	int retry;		/* the request in flight is a retry */
	long long started;	/* ms: when the request (or its connect) started */
	size_t sent;		/* request bytes written */
	unsigned long long got;	/* response bytes read */
	char head[HEAD_MAX];
	size_t headlen;
	int status;
	int server_close;	/* the response said Connection: close */
	enum framing framing;
	unsigned long long left;	/* F_LENGTH, or the chunk in K_DATA */
	enum chunkstep kstep;
	int trailer_lf;		/* K_TRAILER: the last byte seen was the end of a line */
	long long not_before;	/* ms: after a failure, the next request waits */
};

static struct conn *conns;
static unsigned nconns = 10;
static int epfd;
static struct sockaddr_storage target;
static socklen_t targetlen;
static char request_ka[2048], request_close[2048];
static size_t request_ka_len, request_close_len;
static unsigned long long counts[NOUTCOMES], retried;
static unsigned details;
static long long timeout_ms = 10000;
static volatile sig_atomic_t stop_asked;

static void
die(int code, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, PROG ": fatal: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static long long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_asked = 1;
}

static void
parse_target(const char *arg)
{
	char host[256];
	const char *port;
	struct addrinfo hints, *res;
	size_t hl;
	int e;

	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');
		if (!end || end[1] != ':')
			die(100, "bad address %s: want host:port or [v6]:port", arg);
		hl = (size_t)(end - arg - 1);
		if (hl >= sizeof host)
			die(100, "bad address %s", arg);
		memcpy(host, arg + 1, hl);
		port = end + 2;
	} else {
		const char *colon = strrchr(arg, ':');
		if (!colon)
			die(100, "bad address %s: want host:port or [v6]:port", arg);
		hl = (size_t)(colon - arg);
		if (hl >= sizeof host)
			die(100, "bad address %s", arg);
		memcpy(host, arg, hl);
		port = colon + 1;
	}
	host[hl] = 0;
	memset(&hints, 0, sizeof hints);
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	e = getaddrinfo(host, port, &hints, &res);
	if (e)
		die(100, "bad address %s: %s", arg, gai_strerror(e));
	memcpy(&target, res->ai_addr, res->ai_addrlen);
	targetlen = res->ai_addrlen;
	freeaddrinfo(res);
}

static void
detail(const struct conn *c, const char *what, const char *why)
{
	if (details++ >= DETAILS_MAX)
		return;
	fprintf(stderr, PROG ": %s: connection %u, %s, %s connection, %llu response bytes\n",
	    what, (unsigned)(c - conns), why, c->reused ? "reused" : "new", c->got);
}

static void
drop_fd(struct conn *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->state = C_IDLE;
	c->reused = 0;
}

static int start_request(struct conn *c, int retry);

/* The request in flight ended with o. A failure before any response byte
 * on a reused keep-alive connection is what an idle close racing the
 * request looks like; HTTP clients retry such a GET once on a new
 * connection (RFC 9112 §9.3.1), and so does kk-load, counting it. */
static void
finish(struct conn *c, enum outcome o, const char *why)
{
	if ((o == RESET || o == EARLY_EOF) && c->reused && !c->got && !c->retry
	    && !stop_asked) {
		retried++;
		drop_fd(c);
		start_request(c, 1);
		return;
	}
	counts[o]++;
	if (o != OK) {
		detail(c, outcome_name[o], why);
		c->not_before = now_ms() + FAIL_PAUSE_MS;
	}
	if (o != OK || c->close_mode || c->server_close)
		drop_fd(c);
	else {
		c->reused = 1;
		c->state = C_IDLE;
	}
}

static int
want(struct conn *c, unsigned events)
{
	struct epoll_event ev;
	ev.events = events;
	ev.data.ptr = c;
	return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
reset_response(struct conn *c)
{
	c->sent = 0;
	c->got = 0;
	c->headlen = 0;
	c->status = 0;
	c->server_close = 0;
	c->framing = F_NONE;
	c->left = 0;
	c->kstep = K_SIZE;
	c->trailer_lf = 0;
}

static void try_send(struct conn *c);

static int
start_request(struct conn *c, int retry)
{
	struct epoll_event ev;

	reset_response(c);
	c->retry = retry;
	c->started = now_ms();
	if (c->fd >= 0) {
		c->state = C_SENDING;
		if (want(c, EPOLLOUT | EPOLLIN) < 0)
			die(111, "epoll_ctl: %s", strerror(errno));
		try_send(c);
		return 1;
	}
	c->reused = 0;
	c->fd = socket(target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die(111, "socket: %s", strerror(errno));
	{
		int one = 1;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	ev.events = EPOLLOUT | EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die(111, "epoll_ctl: %s", strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&target, targetlen) == 0) {
		c->state = C_SENDING;
		try_send(c);
	} else if (errno == EINPROGRESS)
		c->state = C_CONNECTING;
	else {
		int e = errno;
		finish(c, e == ECONNREFUSED ? REFUSED : RESET, strerror(e));
	}
	return 1;
}

static void
try_send(struct conn *c)
{
	const char *req = c->close_mode ? request_close : request_ka;
	size_t len = c->close_mode ? request_close_len : request_ka_len;

	while (c->sent < len) {
		ssize_t w = send(c->fd, req + c->sent, len - c->sent, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			finish(c, RESET, strerror(errno));
			return;
		}
		c->sent += (size_t)w;
	}
	c->state = C_HEAD;
	if (want(c, EPOLLIN) < 0)
		die(111, "epoll_ctl: %s", strerror(errno));
}

/* Case-insensitive match of a header name at p (line of length n);
 * returns its value with surrounding blanks cut, or NULL. */
static const char *
header_value(const char *p, size_t n, const char *name, size_t *vlen)
{
	size_t nl = strlen(name), i;
	const char *v, *end = p + n;
	if (n <= nl || p[nl] != ':')
		return NULL;
	for (i = 0; i < nl; i++)
		if ((p[i] | 0x20) != name[i])
			return NULL;
	v = p + nl + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*vlen = (size_t)(end - v);
	return v;
}

static int
has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), i = 0;
	while (i < n) {
		size_t j, k;
		while (i < n && (v[i] == ' ' || v[i] == ',' || v[i] == '\t'))
			i++;
		j = i;
		while (j < n && v[j] != ',')
			j++;
		k = j;
		while (k > i && (v[k - 1] == ' ' || v[k - 1] == '\t'))
			k--;
		if (k - i == tl) {
			size_t m;
			for (m = 0; m < tl && (v[i + m] | 0x20) == tok[m]; m++)
				;
			if (m == tl)
				return 1;
		}
		i = j;
	}
	return 0;
}

/* The head is whole (headlen bytes, ends with an empty line): reads the
 * status and the framing. 0 when it is not a response we can read. */
static int
parse_head(struct conn *c)
{
	const char *p = c->head, *end = c->head + c->headlen, *eol;
	int have_length = 0;

	if (c->headlen < 12 || memcmp(p, "HTTP/1.", 7) || p[8] != ' ')
		return 0;
	if (p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
		return 0;
	c->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (p[7] == '0')
		c->server_close = 1;
	c->framing = F_UNTIL_EOF;
	for (p = memchr(p, '\n', (size_t)(end - p)) + 1; p < end; p = eol + 1) {
		const char *v;
		size_t n, vl;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			return 0;
		n = (size_t)(eol - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (!n)
			break;
		if ((v = header_value(p, n, "content-length", &vl))) {
			char num[24];
			char *stop;
			if (!vl || vl >= sizeof num)
				return 0;
			memcpy(num, v, vl);
			num[vl] = 0;
			c->left = strtoull(num, &stop, 10);
			if (*stop)
				return 0;
			have_length = 1;
		} else if ((v = header_value(p, n, "transfer-encoding", &vl))) {
			if (has_token(v, vl, "chunked"))
				c->framing = F_CHUNKED;
		} else if ((v = header_value(p, n, "connection", &vl))) {
			if (has_token(v, vl, "close"))
				c->server_close = 1;
			else if (has_token(v, vl, "keep-alive"))
				c->server_close = 0;
		}
	}
	if (c->framing != F_CHUNKED && have_length)
		c->framing = F_LENGTH;
	if (c->status == 204 || c->status == 304 || c->status < 200)
		c->framing = F_NONE;
	if (c->framing == F_UNTIL_EOF)
		c->server_close = 1;
	return 1;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Feeds body bytes; 1 when the body is whole, 0 for more, -1 on a
 * framing error. *used says how much of the input was taken. */
static int
feed_body(struct conn *c, const char *p, size_t n, size_t *used)
{
	size_t i = 0;

	switch (c->framing) {
	case F_NONE:
		*used = 0;
		return 1;
	case F_UNTIL_EOF:
		*used = n;
		return 0;
	case F_LENGTH: {
		size_t take = n < c->left ? n : (size_t)c->left;
		c->left -= take;
		*used = take;
		return c->left == 0;
	}
	case F_CHUNKED:
		break;
	}
	while (i < n) {
		char ch = p[i];
		switch (c->kstep) {
		case K_SIZE:
			/* Hex digits, then anything (extensions) to the line end. */
			i++;
			if (hexval(ch) >= 0) {
				if (c->left >> 56)
					return -1;
				c->left = c->left * 16 + (unsigned)hexval(ch);
				break;
			}
			if (ch != '\n') {
				c->kstep = K_SIZE_LF;
				break;
			}
			c->kstep = c->left ? K_DATA : K_TRAILER;
			c->trailer_lf = 1;
			break;
		case K_SIZE_LF:
			i++;
			if (ch == '\n') {
				c->kstep = c->left ? K_DATA : K_TRAILER;
				c->trailer_lf = 1;
			}
			break;
		case K_DATA: {
			size_t take = n - i < c->left ? n - i : (size_t)c->left;
			c->left -= take;
			i += take;
			if (!c->left)
				c->kstep = K_DATA_CR;
			break;
		}
		case K_DATA_CR:
			i++;
			if (ch == '\n')
				c->kstep = K_SIZE;
			else if (ch == '\r')
				c->kstep = K_DATA_LF;
			else
				return -1;
			break;
		case K_DATA_LF:
			i++;
			if (ch != '\n')
				return -1;
			c->kstep = K_SIZE;
			break;
		case K_TRAILER:
			/* Trailer lines up to an empty one. */
			i++;
			if (ch == '\n') {
				if (c->trailer_lf) {
					*used = i;
					return 1;
				}
				c->trailer_lf = 1;
			} else if (ch != '\r')
				c->trailer_lf = 0;
			break;
		}
	}
	*used = i;
	return 0;
}

static void
complete(struct conn *c)
{
	finish(c, c->status >= 200 && c->status < 300 ? OK : NON2XX, "status");
}

static void
on_readable(struct conn *c)
{
	char buf[READ_CHUNK];

	for (;;) {
		ssize_t r = recv(c->fd, buf, sizeof buf, 0);
		size_t off = 0;
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			finish(c, RESET, strerror(errno));
			return;
		}
		if (r == 0) {
			if (c->state == C_BODY && c->framing == F_UNTIL_EOF)
				complete(c);
			else
				finish(c, EARLY_EOF, c->state == C_HEAD ? "in the head" : "in the body");
			return;
		}
		c->got += (unsigned long long)r;
		while (off < (size_t)r) {
			if (c->state == C_HEAD) {
				/* Byte by byte into the head until its empty line. */
				char ch = buf[off++];
				if (c->headlen == sizeof c->head) {
					finish(c, EARLY_EOF, "response head too large");
					return;
				}
				c->head[c->headlen++] = ch;
				if (ch == '\n' && c->headlen >= 2
				    && (c->head[c->headlen - 2] == '\n'
				    || (c->headlen >= 4 && !memcmp(c->head + c->headlen - 4,
				    "\r\n\r\n", 4)))) {
					if (!parse_head(c)) {
						finish(c, EARLY_EOF, "malformed response head");
						return;
					}
					if (c->status < 200) {
						/* An interim response: the final one follows. */
						c->headlen = 0;
						continue;
					}
					c->state = C_BODY;
					if (c->framing == F_NONE) {
						complete(c);
						return;
					}
				}
			} else {
				size_t used;
				int done = feed_body(c, buf + off, (size_t)r - off, &used);
				if (done < 0) {
					finish(c, EARLY_EOF, "malformed chunked body");
					return;
				}
				off += used;
				if (done) {
					/* kk-load never pipelines: bytes after a
					 * response are the server's error. */
					if (off < (size_t)r) {
						finish(c, EARLY_EOF, "bytes after the response");
						return;
					}
					complete(c);
					return;
				}
			}
		}
	}
}

static void
on_event(struct conn *c, unsigned events)
{
	if (c->state == C_IDLE) {
		/* A kept connection the server closed between requests:
		 * not a request's failure. */
		drop_fd(c);
		return;
	}
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			finish(c, err == ECONNREFUSED ? REFUSED : RESET, strerror(err));
			return;
		}
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		c->state = C_SENDING;
	}
	if (c->state == C_SENDING) {
		try_send(c);
		if (c->state != C_HEAD)
			return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		on_readable(c);
}

static void
build_requests(const char *path, const char *host)
{
	int n = snprintf(request_ka, sizeof request_ka,
	    "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: kk-load\r\n\r\n", path, host);
	int m = snprintf(request_close, sizeof request_close,
	    "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: kk-load\r\nConnection: close\r\n\r\n",
	    path, host);
	if (n < 0 || m < 0 || (size_t)m >= sizeof request_close)
		die(100, "path or host too long");
	request_ka_len = (size_t)n;
	request_close_len = (size_t)m;
}

int
main(int argc, char **argv)
{
	const char *path = "/", *host = NULL, *mode = "keepalive", *statsfile = NULL;
	double seconds = 5;
	long long deadline, stop_at = 0;
	struct sigaction sa;
	char line[256];
	unsigned long long total = 0, failed;
	unsigned i;
	int opt, o;

	while ((opt = getopt(argc, argv, "c:d:m:p:H:T:o:")) != -1) {
		char *stop;
		switch (opt) {
		case 'c':
			nconns = (unsigned)strtoul(optarg, &stop, 10);
			if (*stop || !nconns || nconns > MAX_CONNS)
				die(100, "bad -c %s: 1 to %d", optarg, MAX_CONNS);
			break;
		case 'd':
			seconds = strtod(optarg, &stop);
			if (*stop || seconds < 0)
				die(100, "bad -d %s", optarg);
			break;
		case 'm':
			mode = optarg;
			if (strcmp(mode, "keepalive") && strcmp(mode, "close") && strcmp(mode, "mixed"))
				die(100, "bad -m %s: keepalive, close or mixed", optarg);
			break;
		case 'p':
			path = optarg;
			if (*path != '/')
				die(100, "bad -p %s: a path starts with /", optarg);
			break;
		case 'H':
			host = optarg;
			break;
		case 'T':
			timeout_ms = strtoll(optarg, &stop, 10);
			if (*stop || timeout_ms <= 0)
				die(100, "bad -T %s", optarg);
			break;
		case 'o':
			statsfile = optarg;
			break;
		default:
			die(100, "usage: %s", USAGE);
		}
	}
	if (optind != argc - 1)
		die(100, "usage: %s", USAGE);
	parse_target(argv[optind]);
	build_requests(path, host ? host : argv[optind]);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die(111, "epoll_create1: %s", strerror(errno));
	conns = calloc(nconns, sizeof *conns);
	if (!conns)
		die(111, "out of memory");
	for (i = 0; i < nconns; i++) {
		conns[i].fd = -1;
		conns[i].close_mode = !strcmp(mode, "close") || (!strcmp(mode, "mixed") && (i & 1));
	}
	deadline = seconds > 0 ? now_ms() + (long long)(seconds * 1000) : 0;

	for (;;) {
		struct epoll_event evs[256];
		long long now = now_ms();
		int busy = 0, n;

		if (!stop_at && (stop_asked || (deadline && now >= deadline))) {
			stop_asked = 1;
			stop_at = now;
		}
		for (i = 0; i < nconns; i++) {
			struct conn *c = &conns[i];
			if (c->state != C_IDLE && now - c->started >= timeout_ms) {
				detail(c, "timeout", "no complete response in time");
				counts[TIMEOUT]++;
				drop_fd(c);
				c->not_before = now + FAIL_PAUSE_MS;
			}
			if (c->state == C_IDLE) {
				if (stop_at)
					drop_fd(c);
				else if (now >= c->not_before)
					start_request(c, 0);
			}
			busy += c->state != C_IDLE;
		}
		if (stop_at && !busy)
			break;
		n = epoll_wait(epfd, evs, 256, busy < (int)nconns && !stop_at ? FAIL_PAUSE_MS : 100);
		if (n < 0 && errno != EINTR)
			die(111, "epoll_wait: %s", strerror(errno));
		for (o = 0; o < n; o++)
			on_event(evs[o].data.ptr, evs[o].events);
	}

	for (o = 0; o < NOUTCOMES; o++)
		total += counts[o];
	failed = total - counts[OK];
	snprintf(line, sizeof line,
	    "requests=%llu ok=%llu refused=%llu reset=%llu eof=%llu non2xx=%llu timeout=%llu"
	    " retried=%llu\n", total, counts[OK], counts[REFUSED], counts[RESET],
	    counts[EARLY_EOF], counts[NON2XX], counts[TIMEOUT], retried);
	fputs(line, stdout);
	fflush(stdout);
	if (statsfile) {
		/* Written whole, then renamed: a reader never sees half a line. */
		char tmp[4096];
		FILE *f;
		snprintf(tmp, sizeof tmp, "%s.tmp", statsfile);
		f = fopen(tmp, "w");
		if (!f || fputs(line, f) == EOF || fclose(f) == EOF || rename(tmp, statsfile) < 0)
			die(111, "unable to write %s: %s", statsfile, strerror(errno));
	}
	return failed || !total ? 1 : 0;
}
