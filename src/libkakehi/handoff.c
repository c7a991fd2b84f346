/* ISC license. */
/* The handoff envelope and its checks, shared by kakehi-upgrade and the
 * supervisor (which writes it, and checks it again when it adopts it).
 * Nothing here acts on an fd: it only asks the kernel what each one is. */

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <kakehi/handoff.h>
#include <kakehi/verb.h>

/* A header line is short; anything longer is not one. */
#define HEADER_MAX 128

uint64_t
kk_handoff_sum(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int
kk_handoff_seal(kk_str *out, const char *body, size_t len)
{
	return kk_str_catf(out, "%s %u %zu %016llx\n", KK_HANDOFF_MAGIC, KK_HANDOFF_VERSION,
	    len, (unsigned long long)kk_handoff_sum(body, len))
	    && kk_str_catb(out, body, len) && kk_str_ready(out, 1);
}

static int
refuse(int res, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
refuse(int res, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return res;
}

/* Reads len bytes at off; the count read (short at end of file), -1 on
 * error. */
static ssize_t
read_at(int fd, char *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(fd, buf + got, len - got, off + (off_t)got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (!r)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int
kk_handoff_read(int fd, kk_str *body, char *err, size_t errlen)
{
	char head[HEADER_MAX + 1], *nl, *p, *end;
	unsigned long version, sum_hi, sum_lo;
	unsigned long long len, sum;
	size_t mlen = strlen(KK_HANDOFF_MAGIC);
	ssize_t r;

	r = read_at(fd, head, HEADER_MAX, 0);
	if (r < 0)
		return refuse(errno == EBADF ? KK_HANDOFF_EFDCLOSED : KK_HANDOFF_ESYS, err,
		    errlen, "unable to read the handoff on fd %d: %s", fd, strerror(errno));
	head[r] = 0;
	if ((size_t)r <= mlen || memcmp(head, KK_HANDOFF_MAGIC " ", mlen + 1))
		return refuse(KK_HANDOFF_EMAGIC, err, errlen, "fd %d does not hold a handoff:"
		    " it does not start with \"%s\"; give the fd the supervisor passed",
		    fd, KK_HANDOFF_MAGIC);
	nl = memchr(head, '\n', (size_t)r);
	if (!nl)
		return refuse(KK_HANDOFF_EFORMAT, err, errlen, "the handoff header on fd %d"
		    " has no end of line", fd);
	*nl = 0;
	p = head + mlen + 1;
	errno = 0;
	version = strtoul(p, &end, 10);
	if (end == p || *end != ' ')
		return refuse(KK_HANDOFF_EFORMAT, err, errlen, "the handoff header on fd %d"
		    " has no format version", fd);
	if (version < KK_HANDOFF_VERSION_OLDEST || version > KK_HANDOFF_VERSION)
		return refuse(KK_HANDOFF_EVERSION, err, errlen, "the handoff on fd %d is in"
		    " format version %lu; this build reads versions %u to %u: upgrade through"
		    " a release that reads both", fd, version, KK_HANDOFF_VERSION_OLDEST,
		    KK_HANDOFF_VERSION);
	p = end + 1;
	len = strtoull(p, &end, 10);
	if (end == p || *end != ' ' || strlen(end + 1) != 16
	    || strspn(end + 1, "0123456789abcdef") != 16)
		return refuse(KK_HANDOFF_EFORMAT, err, errlen, "the handoff header on fd %d"
		    " is malformed (want: %s VERSION LENGTH CHECKSUM)", fd, KK_HANDOFF_MAGIC);
	{
		char hi[9], lo[9];
		memcpy(hi, end + 1, 8);
		hi[8] = 0;
		memcpy(lo, end + 9, 8);
		lo[8] = 0;
		sum_hi = strtoul(hi, 0, 16);
		sum_lo = strtoul(lo, 0, 16);
		sum = ((unsigned long long)sum_hi << 32) | sum_lo;
	}
	if (len > KK_HANDOFF_MAX)
		return refuse(KK_HANDOFF_ESUM, err, errlen, "the handoff on fd %d claims %llu"
		    " bytes, more than the %u a handoff may hold: it is corrupt", fd, len,
		    KK_HANDOFF_MAX);
	kk_str_reset(body);
	if (!kk_str_ready(body, (size_t)len + 1))
		return refuse(KK_HANDOFF_ESYS, err, errlen, "out of memory reading the"
		    " handoff");
	r = read_at(fd, body->s, (size_t)len + 1, (off_t)(nl - head + 1));
	if (r < 0)
		return refuse(KK_HANDOFF_ESYS, err, errlen, "unable to read the handoff on"
		    " fd %d: %s", fd, strerror(errno));
	if ((unsigned long long)r != len)
		return refuse(KK_HANDOFF_ESUM, err, errlen, "the handoff on fd %d has %s than"
		    " the %llu bytes its header announces: it is truncated or corrupt", fd,
		    (unsigned long long)r < len ? "fewer bytes" : "more bytes", len);
	body->len = (size_t)len;
	body->s[len] = 0;
	if (kk_handoff_sum(body->s, body->len) != sum)
		return refuse(KK_HANDOFF_ESUM, err, errlen, "the handoff on fd %d fails its"
		    " checksum: it is corrupt", fd);
	return KK_HANDOFF_OK;
}

int
kk_handoff_next(const char *body, size_t len, size_t *pos, char *buf, size_t buflen,
    char **argv, unsigned max, unsigned *argc, char *err, size_t errlen)
{
	char why[KK_ERRLEN];

	for (;;) {
		const char *s = body + *pos, *eol;
		size_t n;

		if (*pos >= len)
			return 0;
		eol = memchr(s, '\n', len - *pos);
		if (!eol)
			return refuse(-1, err, errlen, "handoff line at byte %zu has no end of"
			    " line", *pos);
		n = (size_t)(eol - s);
		if (n >= buflen)
			return refuse(-1, err, errlen, "handoff line at byte %zu is too long",
			    *pos);
		memcpy(buf, s, n);
		buf[n] = 0;
		if (!strcmp(buf, "config")) {
			*pos += n + 1;
			return 0;
		}
		*pos += n + 1;
		if (!kk_line_split(buf, argv, max, argc, why, sizeof why))
			return refuse(-1, err, errlen, "handoff line \"%.80s\": %s", s, why);
		if (*argc)
			return 1;
	}
}

static const char *const kind_names[] = {
	"a regular file", "an open fd", "a listening TCP socket",
	"a listening unix socket", "a connected unix stream socket"
};

int
kk_handoff_check_fd(int fd, enum kk_handoff_fdkind kind, const char *what, int *res,
    char *err, size_t errlen)
{
	struct stat st;
	int domain = 0, type = 0, acc = 0;
	socklen_t l;

	if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
		*res = KK_HANDOFF_EFDCLOSED;
		snprintf(err, errlen, "%s: fd %d is not open; the handoff does not match the"
		    " fds this process was given", what, fd);
		return 0;
	}
	if (kind == KK_HANDOFF_FD_ANY)
		return 1;
	if (fstat(fd, &st) < 0) {
		*res = KK_HANDOFF_EFDCLOSED;
		snprintf(err, errlen, "%s: unable to stat fd %d: %s", what, fd, strerror(errno));
		return 0;
	}
	if (kind == KK_HANDOFF_FD_FILE) {
		if (S_ISREG(st.st_mode))
			return 1;
		goto wrong;
	}
	if (!S_ISSOCK(st.st_mode))
		goto wrong;
	l = sizeof domain;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l) < 0)
		goto wrong;
	l = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_STREAM)
		goto wrong;
	l = sizeof acc;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) < 0)
		goto wrong;
	switch (kind) {
	case KK_HANDOFF_FD_LISTENER:
		if ((domain == AF_INET || domain == AF_INET6) && acc)
			return 1;
		break;
	case KK_HANDOFF_FD_CONTROL:
		if (domain == AF_UNIX && acc)
			return 1;
		break;
	case KK_HANDOFF_FD_STREAM:
		if (domain == AF_UNIX && !acc)
			return 1;
		break;
	default:
		break;
	}
wrong:
	*res = KK_HANDOFF_EFDKIND;
	snprintf(err, errlen, "%s: fd %d is not %s; the handoff does not match the fds"
	    " this process was given", what, fd, kind_names[kind]);
	return 0;
}

/* Which word of a line holds its fd, and what it must be. */
static const struct {
	const char *word;
	unsigned at;
	enum kk_handoff_fdkind kind;
} fd_lines[] = {
	{ "self", 1, KK_HANDOFF_FD_FILE },
	{ "control", 1, KK_HANDOFF_FD_CONTROL },
	{ "listener", 2, KK_HANDOFF_FD_LISTENER },
	{ "worker", 2, KK_HANDOFF_FD_STREAM },
	{ "client", 1, KK_HANDOFF_FD_STREAM },
	{ "notify", 1, KK_HANDOFF_FD_ANY },
	{ "board", 1, KK_HANDOFF_FD_FILE },
	{ "metrics", 1, KK_HANDOFF_FD_FILE },
	{ 0, 0, 0 }
};

int
kk_handoff_check_fds(const char *body, size_t len, char *err, size_t errlen)
{
	char buf[4096], what[256];
	char *argv[KK_LINE_MAXWORDS];
	unsigned argc, i;
	size_t pos = 0;
	int r, res;

	while ((r = kk_handoff_next(body, len, &pos, buf, sizeof buf, argv,
	    KK_LINE_MAXWORDS, &argc, err, errlen)) > 0) {
		unsigned long fd;
		for (i = 0; fd_lines[i].word; i++)
			if (!strcmp(argv[0], fd_lines[i].word))
				break;
		if (!fd_lines[i].word)
			continue;
		/* A worker whose channel is already closed has none. */
		if (argc > fd_lines[i].at && !strcmp(argv[fd_lines[i].at], "-"))
			continue;
		if (argc <= fd_lines[i].at || !kk_scan_uint(argv[fd_lines[i].at], 0, 1 << 30,
		    &fd))
			return refuse(KK_HANDOFF_EFORMAT, err, errlen, "handoff line \"%s\" has"
			    " no fd number in word %u", argv[0], fd_lines[i].at + 1);
		if (!strcmp(argv[0], "listener"))
			snprintf(what, sizeof what, "listener %s", argv[1]);
		else if (!strcmp(argv[0], "worker"))
			snprintf(what, sizeof what, "channel of worker %s", argv[1]);
		else if (!strcmp(argv[0], "control"))
			snprintf(what, sizeof what, "control socket %s",
			    argc > 2 ? argv[2] : "");
		else if (!strcmp(argv[0], "self"))
			snprintf(what, sizeof what, "the previous supervisor binary");
		else if (!strcmp(argv[0], "client"))
			snprintf(what, sizeof what, "the waiting control client");
		else if (!strcmp(argv[0], "board"))
			snprintf(what, sizeof what, "the workers' board");
		else
			snprintf(what, sizeof what, "the readiness fd");
		if (!kk_handoff_check_fd((int)fd, fd_lines[i].kind, what, &res, err, errlen))
			return res;
	}
	return r < 0 ? KK_HANDOFF_EFORMAT : KK_HANDOFF_OK;
}

void
kk_handoff_cloexec(const char *body, size_t len, int on)
{
	char buf[4096], err[KK_ERRLEN];
	char *argv[KK_LINE_MAXWORDS];
	unsigned argc, i;
	size_t pos = 0;

	while (kk_handoff_next(body, len, &pos, buf, sizeof buf, argv, KK_LINE_MAXWORDS,
	    &argc, err, sizeof err) > 0) {
		unsigned long fd;
		for (i = 0; fd_lines[i].word; i++)
			if (!strcmp(argv[0], fd_lines[i].word))
				break;
		if (!fd_lines[i].word || argc <= fd_lines[i].at
		    || !kk_scan_uint(argv[fd_lines[i].at], 0, 1 << 30, &fd))
			continue;
		fcntl((int)fd, F_SETFD, on ? FD_CLOEXEC : 0);
	}
}

int
kk_handoff_cathex(kk_str *out, const char *s, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (!len)
		return kk_str_cats(out, "-");
	if (!kk_str_ready(out, 2 * len + 1))
		return 0;
	for (i = 0; i < len; i++) {
		out->s[out->len++] = digits[(unsigned char)s[i] >> 4];
		out->s[out->len++] = digits[(unsigned char)s[i] & 15];
	}
	out->s[out->len] = 0;
	return 1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
kk_handoff_unhex(kk_str *out, const char *hex)
{
	size_t n = strlen(hex), i;

	if (!strcmp(hex, "-"))
		return 1;
	if (n % 2 || !kk_str_ready(out, n / 2 + 1))
		return 0;
	for (i = 0; i < n; i += 2) {
		int a = hexval(hex[i]), b = hexval(hex[i + 1]);
		if (a < 0 || b < 0)
			return 0;
		out->s[out->len++] = (char)(a << 4 | b);
	}
	out->s[out->len] = 0;
	return 1;
}

void
kk_handoff_exec_previous(int self, const char *fdtext, const char *reason)
{
	const char *argv[6];

	argv[0] = "kakehi-supervisor";
	argv[1] = "--handoff";
	argv[2] = fdtext;
	argv[3] = "--rollback";
	argv[4] = reason;
	argv[5] = 0;
	fexecve(self, (char *const *)argv, environ);
}
