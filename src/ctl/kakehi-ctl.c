/* ISC license. */
/* kakehi-ctl: one verb per invocation to the supervisor's control socket.
 * The verb is parsed here first, with the parser the config loader uses,
 * so a typo never reaches the proxy; the supervisor parses it again. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <kakehi/frame.h>
#include <kakehi/proto.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>
#include <kakehi/wait.h>

#define PROG "kakehi-ctl"
#define USAGE PROG " [ -s socket ] [ -t timeout-ms ] [ --json ] verb [ args... ]" \
	"  or  " PROG " help [ word ]"
/* A mutation returns only when every worker has applied it, and a stuck
 * worker is only declared so after the supervisor's own deadline: the
 * client waits longer than that by default. */
#define DEFAULT_TIMEOUT_MS 30000
/* Exit codes (doc/kakehi-ctl.html). */
#define EXIT_REFUSED 1
#define EXIT_USAGE 100
#define EXIT_SYS 111
/* reply_one: the exchange goes on. */
#define REPLY_CONTINUE (-1)

static const char *socket_path;

static void
dieusage(void)
{
	fprintf(stderr, PROG ": usage: " USAGE "\n");
	exit(EXIT_USAGE);
}

/* Milliseconds left before deadline, for kk_frame_*: -1 is no deadline,
 * 0 when it has passed (the call then fails at once with ETIMEDOUT). */
static int
left_ms(long long deadline)
{
	long long left;

	if (deadline < 0)
		return -1;
	left = deadline - kk_clock_ms();
	if (left <= 0)
		return 0;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

/* The advice that follows every "cannot reach the supervisor" message. */
static const char *
reach_hint(int e)
{
	switch (e) {
	case ENOENT:
	case ECONNREFUSED:
		return "is kakehi-supervisor running, and is this its control socket? "
		    "(-s PATH, $KAKEHI_SOCKET, or set command-socket in its config)";
	case EACCES:
	case EPERM:
		return "the control socket is mode 0600: run as the supervisor's user "
		    "or root";
	case ETIMEDOUT:
	case EAGAIN:
		return "the supervisor did not answer in time; it may be busy or stuck "
		    "(check its log, or raise -t)";
	default:
		return "check that kakehi-supervisor is running and listens there";
	}
}

static void
die_reach(const char *what, int e)
{
	fprintf(stderr, PROG ": fatal: unable to %s %s: %s; %s\n", what, socket_path,
	    strerror(e), reach_hint(e));
	exit(EXIT_SYS);
}

/* Connects to the control socket before deadline. The socket stays
 * non-blocking: kk_frame_write and kk_frame_read poll. */
static int
connect_control(const char *path, long long deadline)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, PROG ": fatal: control socket path %s is too long for a unix "
		    "socket (at most %zu bytes); use a shorter -s path\n", path,
		    sizeof sun.sun_path - 1);
		exit(EXIT_USAGE);
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, PROG ": fatal: unable to create a unix socket: %s\n",
		    strerror(errno));
		exit(EXIT_SYS);
	}
	for (;;) {
		int e;
		socklen_t len = sizeof e;

		if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
			return fd;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* The listen backlog is full: the supervisor is alive but
			 * behind; try again shortly, within the deadline. */
			if (deadline >= 0 && kk_clock_ms() >= deadline)
				die_reach("connect to", ETIMEDOUT);
			poll(0, 0, 20);
			continue;
		}
		if (errno != EINPROGRESS)
			die_reach("connect to", errno);
		if (!kk_fd_wait(fd, POLLOUT, deadline))
			die_reach("connect to", errno);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
			die_reach("connect to", errno);
		if (e)
			die_reach("connect to", e);
		return fd;
	}
}

/* Writes a reply body, adding the final newline a human reader expects
 * when the body lacks one. 1 ok, 0 write error. */
static int
put_body(FILE *f, const char *body, size_t len)
{
	if (len && fwrite(body, 1, len, f) != len)
		return 0;
	if (len && body[len - 1] != '\n' && putc('\n', f) == EOF)
		return 0;
	return fflush(f) == 0;
}

/* Handles one reply payload: status byte, then body. Returns
 * REPLY_CONTINUE after a "more follows" frame, else the exit code: 0 ok
 * (body on out), 1 refused (body on err), 111 malformed or unwritable. */
static int
reply_one(const char *payload, size_t len, FILE *out, FILE *err)
{
	const char *body = payload + 1;
	size_t blen = len ? len - 1 : 0;

	if (!len) {
		fprintf(err, PROG ": fatal: empty reply from %s; the supervisor and this "
		    "kakehi-ctl may be different versions\n", socket_path);
		return EXIT_SYS;
	}
	switch (payload[0]) {
	case KK_REPLY_MORE:
	case KK_REPLY_OK:
		if (!put_body(out, body, blen)) {
			if (errno != EPIPE)
				fprintf(err, PROG ": fatal: unable to write to stdout: %s\n",
				    strerror(errno));
			return EXIT_SYS;
		}
		return payload[0] == KK_REPLY_MORE ? REPLY_CONTINUE : 0;
	case KK_REPLY_ERROR:
		if (!blen)
			fprintf(err, PROG ": the supervisor refused the request and gave "
			    "no reason; check its log\n");
		else {
			fputs(PROG ": ", err);
			put_body(err, body, blen);
		}
		fflush(err);
		return EXIT_REFUSED;
	default:
		fprintf(err, PROG ": fatal: malformed reply from %s (status byte 0x%02x); "
		    "the supervisor and this kakehi-ctl may be different versions\n",
		    socket_path, (unsigned)(unsigned char)payload[0]);
		return EXIT_SYS;
	}
}

/* Sends the request frame and reads replies until a final one. deadline
 * (ms, monotonic, -1 for none) covers sending and the first reply; each
 * "more follows" frame renews it by timeout_ms, so a long stream is not
 * cut while it flows. Returns the exit code. */
static int
exchange(int fd, const kk_str *request, long long deadline, int timeout_ms, FILE *out,
    FILE *err)
{
	kk_str in = KK_STR_ZERO;
	int r;

	/* A supervisor that refuses the peer (allowed-uids) may answer and
	 * close before reading the request: read what it said anyway. */
	if (!kk_frame_write(fd, request->s, request->len, left_ms(deadline)) &&
	    errno != EPIPE && errno != ECONNRESET) {
		fprintf(err, PROG ": fatal: unable to send the request to %s: %s; %s\n",
		    socket_path, strerror(errno), reach_hint(errno));
		return EXIT_SYS;
	}
	for (;;) {
		if (!kk_frame_read(fd, &in, KK_FRAME_MAX_CONTROL, left_ms(deadline))) {
			/* A reset is how a unix socket reports a peer that closed
			 * without reading what we sent: the same story as EOF. */
			if (!errno || errno == ECONNRESET)
				fprintf(err, PROG ": fatal: %s closed the connection before "
				    "answering; check the supervisor's log (it may have "
				    "restarted, or refused this uid: set allowed-uids)\n",
				    socket_path);
			else if (errno == EMSGSIZE)
				fprintf(err, PROG ": fatal: reply from %s exceeds the %u-byte "
				    "frame limit\n", socket_path, KK_FRAME_MAX_CONTROL);
			else if (errno == EPROTO)
				fprintf(err, PROG ": fatal: %s closed the connection in the "
				    "middle of a reply; check the supervisor's log\n",
				    socket_path);
			else
				fprintf(err, PROG ": fatal: unable to read the reply from %s: "
				    "%s; %s\n", socket_path, strerror(errno), reach_hint(errno));
			r = EXIT_SYS;
			break;
		}
		r = reply_one(in.s, in.len, out, err);
		if (r != REPLY_CONTINUE)
			break;
		if (timeout_ms)
			deadline = kk_clock_ms() + timeout_ms;
	}
	kk_str_free(&in);
	return r;
}

/* state save/load and reload name a file the supervisor opens, from its
 * own working directory: a relative name is made absolute here, where
 * the operator meant it. */
static const char *
absolute_file(const kk_verb *v, kk_str *buf)
{
	char cwd[4096];

	if (!v->npos || v->pos[0][0] == '/')
		return 0;
	if (v->def->id != KK_V_STATE_SAVE && v->def->id != KK_V_STATE_LOAD &&
	    v->def->id != KK_V_RELOAD)
		return 0;
	if (!getcwd(cwd, sizeof cwd)) {
		fprintf(stderr, PROG ": fatal: unable to get the current directory to make "
		    "%s absolute: %s; give an absolute path\n", v->pos[0], strerror(errno));
		exit(EXIT_SYS);
	}
	kk_str_reset(buf);
	if (!kk_str_catf(buf, "%s/%s", strcmp(cwd, "/") ? cwd : "", v->pos[0])) {
		fprintf(stderr, PROG ": fatal: out of memory\n");
		exit(EXIT_SYS);
	}
	return buf->s;
}

static int
do_help(int argc, char **argv)
{
	kk_str out = KK_STR_ZERO;

	if (argc > 2)
		dieusage();
	if (!kk_verb_help(&out, argc == 2 ? argv[1] : 0)) {
		if (errno == ENOENT) {
			fprintf(stderr, PROG ": no verb starts with \"%s\"; " PROG
			    " help lists them all\n", argv[1]);
			return EXIT_USAGE;
		}
		fprintf(stderr, PROG ": fatal: out of memory\n");
		return EXIT_SYS;
	}
	if (!put_body(stdout, out.s, out.len)) {
		kk_str_free(&out);
		return EXIT_SYS;
	}
	kk_str_free(&out);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *words[KK_FRAME_MAXWORDS];
	char errbuf[KK_ERRLEN];
	kk_str request = KK_STR_ZERO, file = KK_STR_ZERO;
	unsigned long timeout = DEFAULT_TIMEOUT_MS;
	unsigned nwords = 0, i;
	const char *abs;
	int json = 0, fd, r;
	long long deadline;
	kk_verb v;

	socket_path = getenv("KAKEHI_SOCKET");
	if (!socket_path || !*socket_path)
		socket_path = KK_DEFAULT_CONTROL_SOCKET;
	/* Options stop at the first word that is not one: what follows is
	 * the verb, with its own --options. */
	for (argc--, argv++; argc && argv[0][0] == '-'; argc--, argv++) {
		const char *a = argv[0];

		if (!strcmp(a, "--")) {
			argc--, argv++;
			break;
		} else if (!strcmp(a, "--json"))
			json = 1;
		else if (a[1] == 's' || a[1] == 't') {
			const char *val = a[2] ? a + 2 : argc > 1 ? argv[1] : 0;

			if (!val)
				dieusage();
			if (!a[2])
				argc--, argv++;
			if (a[1] == 's') {
				if (!*val)
					dieusage();
				socket_path = val;
			} else if (!kk_scan_uint(val, 0, 0x7fffffffUL, &timeout)) {
				fprintf(stderr, PROG ": -t %s: the timeout is a number of "
				    "milliseconds, 0 for none\n", val);
				return EXIT_USAGE;
			}
		} else
			dieusage();
	}
	if (!argc)
		dieusage();
	if (!strcmp(argv[0], "help"))
		return do_help(argc, argv);

	if (!kk_verb_parse(&v, (unsigned)argc, (const char *const *)argv, errbuf,
	    sizeof errbuf)) {
		fprintf(stderr, PROG ": %s\n", errbuf);
		return EXIT_USAGE;
	}
	if ((unsigned)argc + 1 > KK_FRAME_MAXWORDS) {
		fprintf(stderr, PROG ": too many words (at most %u)\n", KK_FRAME_MAXWORDS - 1);
		return EXIT_USAGE;
	}
	abs = absolute_file(&v, &file);
	if (json)
		words[nwords++] = "--json";
	for (i = 0; i < (unsigned)argc; i++)
		words[nwords++] = abs && argv[i] == v.pos[0] ? abs : argv[i];
	if (!kk_words_frame(&request, nwords, words)) {
		fprintf(stderr, PROG ": fatal: out of memory\n");
		return EXIT_SYS;
	}
	if (request.len - KK_FRAME_HDRLEN > KK_FRAME_MAX_CONTROL) {
		fprintf(stderr, PROG ": the request is larger than the %u-byte frame limit\n",
		    KK_FRAME_MAX_CONTROL);
		return EXIT_USAGE;
	}

	/* A closed pipe on stdout or a vanished supervisor is reported as an
	 * error code, not a silent death by signal. */
	signal(SIGPIPE, SIG_IGN);
	/* One deadline for connecting, sending and the first answer. */
	deadline = timeout ? kk_clock_ms() + (long long)timeout : -1;
	fd = connect_control(socket_path, deadline);
	r = exchange(fd, &request, deadline, (int)timeout, stdout, stderr);
	close(fd);
	kk_str_free(&request);
	kk_str_free(&file);
	return r;
}
