/* ISC license. */
/* Tests kakehi-ctl's reply handling (src/ctl/kakehi-ctl.c, included with
 * main renamed): status bytes, streams, refusals, malformed replies,
 * timeouts and EOF, then whole runs against a fake supervisor on a real
 * unix socket (request words, --json, relative file names). */

#define main ctl_main
#include "ctl/kakehi-ctl.c"
#include "ctl/top.c"
#undef main

#include <sys/wait.h>
#include "tap.h"

/* The whole content of f, as a static string. */
static const char *
slurp(FILE *f)
{
	static char buf[4096];
	size_t n;

	fflush(f);
	rewind(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	rewind(f);
	if (ftruncate(fileno(f), 0) < 0)
		buf[0] = 0;
	return buf;
}

/* Queues reply frames on the server end of a socketpair. */
static void
serve(int fd, char status, const char *body)
{
	kk_str f = KK_STR_ZERO;

	kk_reply_frame(&f, status, body, strlen(body));
	if (write(fd, f.s, f.len) != (ssize_t)f.len)
		perror("write");
	kk_str_free(&f);
}

static int
run_follow(int fd, int timeout_ms, int follow, FILE *out, FILE *err)
{
	const char *w[] = { "status" };
	kk_str req = KK_STR_ZERO;
	tain deadline;
	int r;

	kk_words_frame(&req, 1, w);
	tain_now_set_stopwatch_g();
	tain_from_millisecs(&deadline, timeout_ms);
	tain_add_g(&deadline, &deadline);
	r = exchange(fd, &req, &deadline, timeout_ms, follow, out, err);
	kk_str_free(&req);
	return r;
}

static int
run_exchange(int fd, int timeout_ms, FILE *out, FILE *err)
{
	return run_follow(fd, timeout_ms, 0, out, err);
}

/* A first "more follows" frame now, the final one after 500 ms. */
static void
serve_late(int *sp)
{
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	serve(sp[1], KK_REPLY_MORE, "e1\n");
	if (!fork()) {
		usleep(500000);
		serve(sp[1], KK_REPLY_OK, "end\n");
		_exit(0);
	}
}

/* A fake supervisor: accepts one connection on path, records the request
 * words (one per line) in reqfile, answers with status and body. Returns
 * the child's pid. */
static pid_t
fake_supervisor(int lfd, const char *reqfile, char status, const char *body)
{
	pid_t pid = fork();

	if (pid == 0) {
		kk_str in = KK_STR_ZERO, out = KK_STR_ZERO;
		char *argv[64];
		unsigned argc, i;
		int c = accept(lfd, 0, 0);
		FILE *f = fopen(reqfile, "w");

		if (c < 0 || !f || !kk_frame_read(c, &in, KK_FRAME_MAX_CONTROL, 10000) ||
		    !kk_words_split(in.s, in.len, argv, 64, &argc))
			_exit(1);
		for (i = 0; i < argc; i++)
			fprintf(f, "%s\n", argv[i]);
		fclose(f);
		kk_reply_frame(&out, KK_REPLY_MORE, "line 1\n", 7);
		kk_reply_frame(&out, status, body, strlen(body));
		kk_frame_write(c, out.s, out.len, 10000);
		_exit(0);
	}
	return pid;
}

/* Runs ctl_main with stdout and stderr sent to files; returns its code. */
static int
run_ctl(int argc, const char **argv, FILE *out, FILE *err)
{
	int so = dup(1), se = dup(2), r;

	fflush(stdout);
	fflush(stderr);
	dup2(fileno(out), 1);
	dup2(fileno(err), 2);
	r = ctl_main(argc, (char **)argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	return r;
}

static const char *
file_text(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
	}
	buf[n] = 0;
	return buf;
}

int
main(void)
{
	FILE *out = tmpfile(), *err = tmpfile();
	int sp[2], r;

	socket_path = "/test/control";
	signal(SIGPIPE, SIG_IGN);

	/* reply_one, frame by frame. */
	is_int(reply_one("Ohello", 6, out, err), 0, "ok: exit 0");
	is_str(slurp(out), "hello\n", "ok body on stdout, newline added");
	is_int(reply_one("Oa\nb\n", 5, out, err), 0, "ok with newline");
	is_str(slurp(out), "a\nb\n", "no second newline");
	is_int(reply_one("O", 1, out, err), 0, "ok with empty body");
	is_str(slurp(out), "", "nothing printed");
	is_int(reply_one("Mpart", 5, out, err), REPLY_CONTINUE, "more: continue");
	is_str(slurp(out), "part\n", "more body on stdout");
	is_int(reply_one("Ebackend add: cluster \"x\" does not exist", 40, out, err), 1,
	    "error: exit 1");
	is_str(slurp(err), "kakehi-ctl: backend add: cluster \"x\" does not exist\n",
	    "error body on stderr, prefixed");
	is_str(slurp(out), "", "nothing on stdout for an error");
	is_int(reply_one("E", 1, out, err), 1, "error without body");
	ok(strstr(slurp(err), "no reason") != 0, "says no reason was given");
	is_int(reply_one("Xwhat", 5, out, err), 111, "unknown status: 111");
	ok(strstr(slurp(err), "0x58") != 0, "names the status byte");
	is_int(reply_one("", 0, out, err), 111, "empty payload: 111");
	slurp(err);

	/* exchange over a socketpair: the replies are queued beforehand. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	serve(sp[1], KK_REPLY_MORE, "a\n");
	serve(sp[1], KK_REPLY_MORE, "b\n");
	serve(sp[1], KK_REPLY_OK, "c\n");
	is_int(run_exchange(sp[0], 5000, out, err), 0, "stream then ok: exit 0");
	is_str(slurp(out), "a\nb\nc\n", "stream printed in order");
	{
		kk_str in = KK_STR_ZERO;

		ok(kk_frame_read(sp[1], &in, 100, 1000) && in.len == 7 &&
		    !memcmp(in.s, "status", 7), "request frame sent");
		kk_str_free(&in);
	}
	serve(sp[1], KK_REPLY_ERROR, "no\n");
	is_int(run_exchange(sp[0], 5000, out, err), 1, "refusal: exit 1");
	is_str(slurp(err), "kakehi-ctl: no\n", "refusal message");
	is_int(run_exchange(sp[0], 200, out, err), 111, "no answer: 111");
	ok(strstr(slurp(err), "did not answer in time") != 0, "timeout explained");
	serve(sp[1], KK_REPLY_MORE, "x");
	close(sp[1]);
	is_int(run_exchange(sp[0], 5000, out, err), 111, "EOF after a more frame: 111");
	ok(strstr(slurp(err), "closed the connection") != 0, "EOF explained");
	slurp(out);
	close(sp[0]);

	/* events: after the first frame a quiet spell past -t is no timeout;
	 * for any other verb it is. */
	serve_late(sp);
	is_int(run_follow(sp[0], 200, 1, out, err), 0, "follow: a quiet spell past -t waited out");
	is_str(slurp(out), "e1\nend\n", "follow: both frames printed");
	wait(0);
	close(sp[0]);
	close(sp[1]);
	serve_late(sp);
	is_int(run_follow(sp[0], 200, 0, out, err), 111, "not following: the same spell times out");
	slurp(out);
	slurp(err);
	wait(0);
	close(sp[0]);
	close(sp[1]);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	if (write(sp[1], "\0\0\0\3O", 5) != 5)
		perror("write");
	close(sp[1]);
	is_int(run_exchange(sp[0], 5000, out, err), 111, "truncated frame: 111");
	ok(strstr(slurp(err), "middle of a reply") != 0, "truncation explained");
	close(sp[0]);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	if (write(sp[1], "\x7f\0\0\0", 4) != 4)
		perror("write");
	is_int(run_exchange(sp[0], 5000, out, err), 111, "oversized frame: 111");
	ok(strstr(slurp(err), "frame limit") != 0, "oversize explained");
	close(sp[0]);
	close(sp[1]);

	/* Whole runs against a fake supervisor on a unix socket. */
	{
		char dir[] = "/tmp/kakehi-ctl-test.XXXXXX", path[128], reqf[128], want[4200];
		char cwd[4096];
		struct sockaddr_un sun;
		int lfd, st;
		pid_t pid;

		if (!mkdtemp(dir))
			return 1;
		snprintf(path, sizeof path, "%s/control", dir);
		snprintf(reqf, sizeof reqf, "%s/request", dir);
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		strcpy(sun.sun_path, path);
		lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		ok(bind(lfd, (struct sockaddr *)&sun, sizeof sun) == 0 && listen(lfd, 4) == 0,
		    "fake supervisor listens");

		{
			const char *argv[] = { "kakehi-ctl", "-s", path, "--json", "backend", "add",
			    "app", "b3", "127.0.0.1:9003", "--weight", "5", 0 };

			pid = fake_supervisor(lfd, reqf, KK_REPLY_OK, "{\"ok\":true}");
			r = run_ctl(11, argv, out, err);
			waitpid(pid, &st, 0);
			is_int(r, 0, "backend add: exit 0");
			is_str(file_text(reqf), "--json\nbackend\nadd\napp\nb3\n127.0.0.1:9003\n"
			    "--weight\n5\n", "request words, --json first");
			is_str(slurp(out), "line 1\n{\"ok\":true}\n", "stream and final body printed");
		}
		{
			const char *argv[] = { "kakehi-ctl", "-t", "5000", "-s", path, "state", "save",
			    "saved.conf", 0 };

			pid = fake_supervisor(lfd, reqf, KK_REPLY_ERROR, "state save: disk full");
			r = run_ctl(8, argv, out, err);
			waitpid(pid, &st, 0);
			is_int(r, 1, "refused: exit 1");
			if (!getcwd(cwd, sizeof cwd))
				cwd[0] = 0;
			snprintf(want, sizeof want, "state\nsave\n%s/saved.conf\n", cwd);
			is_str(file_text(reqf), want, "relative file made absolute");
			is_str(slurp(err), "kakehi-ctl: state save: disk full\n", "refusal on stderr");
			slurp(out);
		}
		{
			const char *argv[] = { "kakehi-ctl", "-s", path, "upgrade", "--binary",
			    "new/kakehi-supervisor", 0 };

			pid = fake_supervisor(lfd, reqf, KK_REPLY_OK, "upgraded");
			r = run_ctl(6, argv, out, err);
			waitpid(pid, &st, 0);
			snprintf(want, sizeof want, "upgrade\n--binary\n%s/new/kakehi-supervisor\n",
			    cwd);
			is_str(file_text(reqf), want, "upgrade --binary: relative path made absolute");
			slurp(out);
		}
		{
			const char *argv[] = { "kakehi-ctl", "-s", path, "upgrade",
			    "--binary=new/kakehi-supervisor", "--no-workers", 0 };

			pid = fake_supervisor(lfd, reqf, KK_REPLY_OK, "upgraded");
			r = run_ctl(6, argv, out, err);
			waitpid(pid, &st, 0);
			snprintf(want, sizeof want, "upgrade\n--binary=%s/new/kakehi-supervisor\n"
			    "--no-workers\n", cwd);
			is_str(file_text(reqf), want, "upgrade --binary=: relative path made absolute");
			slurp(out);
		}
		unlink(path);
		unlink(reqf);
		rmdir(dir);
		close(lfd);
	}
	return done();
}
