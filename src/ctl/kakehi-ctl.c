/* ISC license. */
/* kakehi-ctl: one verb per invocation to the supervisor's control socket.
 * The verb is parsed here first, with the parser the config loader uses,
 * so a typo never reaches the proxy; the supervisor parses it again. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <skalibs/iopause.h>
#include <skalibs/socket.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <kakehi/base64.h>
#include <kakehi/cert.h>
#include <kakehi/frame.h>
#include <kakehi/proto.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>

#include "top.h"

#define USAGE "kakehi-ctl [ -s socket ] [ -t timeout-ms ] [ --json ] verb [ args... ]" \
	"  or  kakehi-ctl help [ word ]" \
	"  or  kakehi-ctl [ -s socket ] [ -t timeout-ms ] top [ --interval ms ] [ --once ]"
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

#define NAME "kakehi-ctl"
const char *PROG = NAME;
static const char *socket_path;

#define dieusage() strerr_dieusage(EXIT_USAGE, USAGE)

/* Milliseconds left before deadline (a STAMP time; NULL for none), for
 * kk_frame_*: -1 is no deadline, 0 when it has passed (the call then
 * fails at once with ETIMEDOUT). */
static int
left_ms(const tain *deadline)
{
	tain left;

	if (!deadline)
		return -1;
	tain_now_g();
	if (!tain_future(deadline))
		return 0;
	tain_sub(&left, deadline, &STAMP);
	if (tai_sec(&left.sec) >= 0x7fffffff / 1000)
		return 0x7fffffff;
	return (int)(tai_sec(&left.sec) * 1000 + left.nano / 1000000);
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
	strerr_diefu(EXIT_SYS, what, " ", socket_path, ": ", strerror(e), "; ",
	    reach_hint(e));
}

/* Connects to the control socket before deadline (NULL: none). The
 * socket stays non-blocking: kk_frame_write and kk_frame_read poll. */
static int
connect_control(const char *path, const tain *deadline)
{
	struct sockaddr_un sun;
	int fd;

	if (strlen(path) >= sizeof sun.sun_path) {
		char max[SIZE_FMT];
		max[size_fmt(max, sizeof sun.sun_path - 1)] = 0;
		strerr_dief(EXIT_USAGE, "control socket path ", path, " is too long for a"
		    " unix socket (at most ", max, " bytes); use a shorter -s path");
	}
	fd = ipc_stream_nbcoe();
	if (fd < 0)
		strerr_diefusys(EXIT_SYS, "create a unix socket");
	/* A unix connect never waits on Linux: it succeeds, fails, or says
	 * EAGAIN when the listen backlog is full. Then the supervisor is
	 * alive but behind: try again shortly, within the deadline. */
	while (!ipc_connect(fd, path)) {
		tain pause;

		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			die_reach("connect to", errno);
		tain_now_g();
		if (deadline && !tain_future(deadline))
			die_reach("connect to", ETIMEDOUT);
		tain_from_millisecs(&pause, 20);
		tain_add_g(&pause, &pause);
		if (deadline && tain_less(deadline, &pause))
			pause = *deadline;
		deepsleepuntil_g(&pause);
	}
	return fd;
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

/* Handles one reply payload: status byte, then body. Its messages go to
 * err, in strerr's form, so a caller (the unit test) can collect them. Returns
 * REPLY_CONTINUE after a "more follows" frame, else the exit code: 0 ok
 * (body on out), 1 refused (body on err), 111 malformed or unwritable. */
static int
reply_one(const char *payload, size_t len, FILE *out, FILE *err)
{
	const char *body = payload + 1;
	size_t blen = len ? len - 1 : 0;

	if (!len) {
		fprintf(err, NAME ": fatal: empty reply from %s; the supervisor and this "
		    "kakehi-ctl may be different versions\n", socket_path);
		return EXIT_SYS;
	}
	switch (payload[0]) {
	case KK_REPLY_MORE:
	case KK_REPLY_OK:
		if (!put_body(out, body, blen)) {
			if (errno != EPIPE)
				fprintf(err, NAME ": fatal: unable to write to stdout: %s\n",
				    strerror(errno));
			return EXIT_SYS;
		}
		return payload[0] == KK_REPLY_MORE ? REPLY_CONTINUE : 0;
	case KK_REPLY_ERROR:
		if (!blen)
			fprintf(err, NAME ": the supervisor refused the request and gave "
			    "no reason; check its log\n");
		else {
			fputs(NAME ": ", err);
			put_body(err, body, blen);
		}
		fflush(err);
		return EXIT_REFUSED;
	default:
		fprintf(err, NAME ": fatal: malformed reply from %s (status byte 0x%02x); "
		    "the supervisor and this kakehi-ctl may be different versions\n",
		    socket_path, (unsigned)(unsigned char)payload[0]);
		return EXIT_SYS;
	}
}

/* Sends the request frame and reads replies until a final one. deadline
 * (a STAMP time, NULL for none) covers sending and the first reply; each
 * "more follows" frame renews it by timeout_ms, so a long stream is not
 * cut while it flows. follow (events): after the first reply, no deadline:
 * quiet spells are what an event stream mostly is. Returns the exit code. */
static int
exchange(int fd, const kk_str *request, const tain *deadline, int timeout_ms, int follow,
    FILE *out, FILE *err)
{
	kk_str in = KK_STR_ZERO;
	tain renewed;
	int r;

	/* A supervisor that refuses the peer (allowed-uids) may answer and
	 * close before reading the request: read what it said anyway. */
	if (!kk_frame_write(fd, request->s, request->len, left_ms(deadline)) &&
	    errno != EPIPE && errno != ECONNRESET) {
		fprintf(err, NAME ": fatal: unable to send the request to %s: %s; %s\n",
		    socket_path, strerror(errno), reach_hint(errno));
		return EXIT_SYS;
	}
	for (;;) {
		if (!kk_frame_read(fd, &in, KK_FRAME_MAX_CONTROL, left_ms(deadline))) {
			/* A reset is how a unix socket reports a peer that closed
			 * without reading what we sent: the same story as EOF. */
			if (!errno || errno == ECONNRESET)
				fprintf(err, NAME ": fatal: %s closed the connection before "
				    "answering; check the supervisor's log (it may have "
				    "restarted, or refused this uid: set allowed-uids)\n",
				    socket_path);
			else if (errno == EMSGSIZE)
				fprintf(err, NAME ": fatal: reply from %s exceeds the %u-byte "
				    "frame limit\n", socket_path, KK_FRAME_MAX_CONTROL);
			else if (errno == EPROTO)
				fprintf(err, NAME ": fatal: %s closed the connection in the "
				    "middle of a reply; check the supervisor's log\n",
				    socket_path);
			else
				fprintf(err, NAME ": fatal: unable to read the reply from %s: "
				    "%s; %s\n", socket_path, strerror(errno), reach_hint(errno));
			r = EXIT_SYS;
			break;
		}
		r = reply_one(in.s, in.len, out, err);
		if (r != REPLY_CONTINUE)
			break;
		if (follow)
			deadline = 0;
		else if (timeout_ms) {
			tain_from_millisecs(&renewed, timeout_ms);
			tain_add_g(&renewed, &renewed);
			deadline = &renewed;
		}
	}
	kk_str_free(&in);
	return r;
}

/* state save/load and reload name a file the supervisor opens, and
 * upgrade --binary a program it runs, from its own working directory: a
 * relative name is made absolute here, where the operator meant it.
 * *word is set to the argv word to replace. */
static const char *
absolute_file(const kk_verb *v, kk_str *buf, const char **word)
{
	const char *name = 0;
	char cwd[4096];

	if (v->def->id == KK_V_UPGRADE)
		name = kk_verb_opt(v, "--binary");
	else if (v->npos && (v->def->id == KK_V_STATE_SAVE || v->def->id == KK_V_STATE_LOAD
	    || v->def->id == KK_V_RELOAD))
		name = v->pos[0];
	if (!name || name[0] == '/')
		return 0;
	if (!getcwd(cwd, sizeof cwd)) {
		char why[256];
		snprintf(why, sizeof why, "%s", strerror(errno));
		strerr_diefu(EXIT_SYS, "get the current directory to make ", name,
		    " absolute: ", why, "; give an absolute path");
	}
	kk_str_reset(buf);
	if (!kk_str_catf(buf, "%s/%s", strcmp(cwd, "/") ? cwd : "", name))
		strerr_dief(EXIT_SYS, "out of memory");
	*word = name;
	return buf->s;
}

/* Whether name is w or the value of w written as --option=name. */
static int
in_word(const char *w, const char *name)
{
	/* Within w first: only then is name[-1] a byte of w. */
	return name == w || (name > w && name <= w + strlen(w) && name[-1] == '=');
}

/* Whether option name of v names an operator's file: a certificate's
 * four, an https listener's client CA, a --tls cluster's CA. */
static int
names_file(const kk_verb *v, const char *name)
{
	if (v->def->id == KK_V_LISTENER_ADD)
		return !strcmp(name, "--client-ca");
	if (v->def->id == KK_V_CLUSTER_ADD)
		return !strcmp(name, "--ca");
	if (v->def->id == KK_V_FRONTEND_ADD)
		return !strcmp(name, "--htpasswd");
	return !strcmp(name, "--cert") || !strcmp(name, "--key") || !strcmp(name, "--chain")
	    || !strcmp(name, "--ocsp");
}

/* certificate add and replace, listener add with a client CA,
 * cluster add with --ca, and listener or cluster add with --answer
 * STATUS:FILE name the operator's files, which the supervisor
 * never reads: they are read here, from the current directory, and sent
 * in the data form (each option's -data twin with the bytes in base64).
 * The verb is rebuilt from its parse into words, its strings kept in
 * store. A file that cannot be read is bad input: 100, naming it. */
static unsigned
file_words(const kk_verb *v, const char **words, unsigned n, kk_str *store)
{
	size_t offs[2 * KK_VERB_MAXOPTS];
	unsigned i, k = 0, first = n;

	words[n++] = v->def->word1;
	words[n++] = v->def->word2;
	for (i = 0; i < v->npos; i++)
		words[n++] = v->pos[i];
	for (i = 0; i < v->nopt; i++) {
		const char *name = v->opt[i].def->name, *value = v->opt[i].value;
		char err[KK_ERRLEN];
		kk_blob b = { 0, 0 };

		/* --answer STATUS:FILE: the file after the status, which goes
		 * before the data as it went before the file. */
		size_t skip = !strcmp(name, "--answer") && strlen(value) > 4 ? 4 : 0;
		if (!names_file(v, name) && !(skip && (v->def->id == KK_V_LISTENER_ADD
		    || v->def->id == KK_V_CLUSTER_ADD))) {
			words[n++] = name;
			if (value)	/* not a flag */
				words[n++] = value;
			if (v->opt[i].value2)	/* a pair's second word */
				words[n++] = v->opt[i].value2;
			continue;
		}
		if (!kk_cert_read_file(value + skip, 0, &b, err, sizeof err))
			strerr_dief(EXIT_USAGE, v->def->word1, " ", v->def->word2, ": ", name,
			    ": ", err);
		/* Offsets, not pointers: the store grows and moves. */
		offs[k++] = store->len;
		if (!kk_str_catf(store, "%s-data", name) || !kk_str_catb(store, "", 1))
			strerr_dief(EXIT_SYS, "out of memory");
		offs[k++] = store->len;
		if (!kk_str_catb(store, value, skip) || !kk_base64_encode(store, b.p, b.len)
		    || !kk_str_catb(store, "", 1))
			strerr_dief(EXIT_SYS, "out of memory");
		kk_blob_free(&b);
		words[n++] = 0;
		words[n++] = 0;
	}
	for (i = first, k = 0; i < n; i++)
		if (!words[i])
			words[i] = store->s + offs[k++];
	return n;
}

/* top's sample: one status exchange, its answer into out; 0, or the
 * exit code of a failed exchange. */
static unsigned long top_timeout = DEFAULT_TIMEOUT_MS;

static int
top_sample(kk_str *out)
{
	static const char *const w[] = { "status" };
	kk_str req = KK_STR_ZERO;
	char *buf = 0;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	tain deadline, *dl = 0;
	int fd, r;

	if (!f || !kk_words_frame(&req, 1, w))
		strerr_dief(EXIT_SYS, "out of memory");
	if (top_timeout) {
		tain_now_set_stopwatch_g();
		tain_from_millisecs(&deadline, (int)top_timeout);
		tain_add_g(&deadline, &deadline);
		dl = &deadline;
	}
	fd = connect_control(socket_path, dl);
	r = exchange(fd, &req, dl, (int)top_timeout, 0, f, stderr);
	close(fd);
	fclose(f);
	if (!r && !kk_str_catb(out, buf, len))
		r = EXIT_SYS;
	free(buf);
	kk_str_free(&req);
	return r;
}

/* top [--interval MS] [--once]: not a verb of the supervisor's, but a
 * view made here from status answers (top.c). */
static int
do_top(int argc, char **argv)
{
	unsigned long interval = 1000;
	int once = 0, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--once"))
			once = 1;
		else if (!strcmp(argv[i], "--interval") && i + 1 < argc) {
			if (!kk_scan_uint(argv[++i], 100, 60000, &interval)) {
				strerr_warn(PROG, ": top: --interval ", argv[i], ": a number of "
				    "milliseconds in 100..60000");
				return EXIT_USAGE;
			}
		} else {
			strerr_warn(PROG, ": top: unknown option ", argv[i], "; it takes "
			    "--interval MS and --once");
			return EXIT_USAGE;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	return kk_top_run(top_sample, (unsigned)interval, once);
}

static int
do_help(int argc, char **argv)
{
	kk_str out = KK_STR_ZERO;

	if (argc > 2)
		dieusage();
	if (!kk_verb_help(&out, argc == 2 ? argv[1] : 0)) {
		if (errno == ENOENT) {
			strerr_warn(PROG, ": no verb starts with \"", argv[1], "\"; ", PROG,
			    " help lists them all");
			return EXIT_USAGE;
		}
		strerr_warn(PROG, ": fatal: out of memory");
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
	/* The request and store may hold a key's bytes (--key-data). */
	kk_str request = KK_STR_SECRET, file = KK_STR_ZERO, store = KK_STR_SECRET;
	unsigned long timeout = DEFAULT_TIMEOUT_MS;
	unsigned nwords = 0, i;
	const char *abs, *absword = 0;
	int json = 0, fd, r;
	tain deadline;
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
				strerr_warn(PROG, ": -t ", val, ": the timeout is a number of"
				    " milliseconds, 0 for none");
				return EXIT_USAGE;
			}
		} else
			dieusage();
	}
	if (!argc)
		dieusage();
	if (!strcmp(argv[0], "help"))
		return do_help(argc, argv);
	if (!strcmp(argv[0], "top")) {
		top_timeout = timeout;
		return do_top(argc, argv);
	}

	if (!kk_verb_parse(&v, (unsigned)argc, (const char *const *)argv, errbuf,
	    sizeof errbuf)) {
		strerr_warn(PROG, ": ", errbuf);
		return EXIT_USAGE;
	}
	if ((unsigned)argc + 1 > KK_FRAME_MAXWORDS) {
		char max[UINT_FMT];
		max[uint_fmt(max, KK_FRAME_MAXWORDS - 1)] = 0;
		strerr_warn(PROG, ": too many words (at most ", max, ")");
		return EXIT_USAGE;
	}
	abs = absolute_file(&v, &file, &absword);
	for (i = 0; abs && i < (unsigned)argc; i++)
		if (argv[i] != absword && in_word(argv[i], absword)) {
			/* --binary=rel: the word is the option and the absolute path. */
			kk_str whole = KK_STR_ZERO;
			if (!kk_str_catb(&whole, argv[i], (size_t)(absword - argv[i]))
			    || !kk_str_cats(&whole, abs))
				strerr_dief(EXIT_SYS, "out of memory");
			kk_str_free(&file);
			file = whole;
			abs = file.s;
		}
	if (json)
		words[nwords++] = "--json";
	if (v.def->id == KK_V_CERTIFICATE_ADD || v.def->id == KK_V_CERTIFICATE_REPLACE
	    || (v.def->id == KK_V_LISTENER_ADD && kk_verb_opt(&v, "--client-ca"))
	    || (v.def->id == KK_V_CLUSTER_ADD && kk_verb_opt(&v, "--ca"))
	    || ((v.def->id == KK_V_LISTENER_ADD || v.def->id == KK_V_CLUSTER_ADD)
		&& kk_verb_opt(&v, "--answer"))
	    || (v.def->id == KK_V_FRONTEND_ADD && kk_verb_opt(&v, "--htpasswd")))
		nwords = file_words(&v, words, nwords, &store);
	else
		for (i = 0; i < (unsigned)argc; i++)
			words[nwords++] = abs && in_word(argv[i], absword) ? abs : argv[i];
	if (!kk_words_frame(&request, nwords, words))
		strerr_dief(EXIT_SYS, "out of memory");
	if (request.len - KK_FRAME_HDRLEN > KK_FRAME_MAX_CONTROL) {
		char max[UINT_FMT];
		max[uint_fmt(max, KK_FRAME_MAX_CONTROL)] = 0;
		strerr_warn(PROG, ": the request is larger than the ", max,
		    "-byte frame limit");
		return EXIT_USAGE;
	}

	/* A closed pipe on stdout or a vanished supervisor is reported as an
	 * error code, not a silent death by signal. */
	signal(SIGPIPE, SIG_IGN);
	/* One deadline for connecting, sending and the first answer. */
	if (timeout) {
		tain_now_set_stopwatch_g();
		tain_from_millisecs(&deadline, (int)timeout);
		tain_add_g(&deadline, &deadline);
	}
	fd = connect_control(socket_path, timeout ? &deadline : 0);
	r = exchange(fd, &request, timeout ? &deadline : 0, (int)timeout,
	    v.def->id == KK_V_EVENTS, stdout, stderr);
	close(fd);
	/* The key's bytes, in base64, leave no copy behind (KK_STR_SECRET
	 * wipes what the strings free). */
	kk_str_free(&request);
	kk_str_free(&file);
	kk_str_free(&store);
	return r;
}
