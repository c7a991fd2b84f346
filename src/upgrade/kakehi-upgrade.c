/* ISC license. */
/* kakehi-upgrade: the step between two supervisor binaries.
 * Handoff mode (-h): a supervisor that upgrades in place execs this with
 * its handoff on an fd. It checks the handoff (envelope, and every fd it
 * names open and of its kind), runs the new supervisor once as a trial
 * (--check-handoff, which reads everything and acts on nothing), and only
 * then execs it in place with the handoff. Should the trial or that exec
 * fail, it execs the previous binary again (the O_PATH fd the handoff
 * names) with the reason, so the service goes on and the client hears
 * why. Check mode (-c) reads a saved state with this build's grammar. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <skalibs/iopause.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <kakehi/handoff.h>
#include <kakehi/state.h>
#include <kakehi/verb.h>

#define USAGE "kakehi-upgrade -h fd [ -t trial-ms ] supervisor" \
	"  or  kakehi-upgrade -c state-file"
#define dieusage() strerr_dieusage(100, USAGE)
/* A trial reads the state and checks fds: seconds even for a large
 * state on a loaded machine. */
#define TRIAL_MS 10000

const char *PROG = "kakehi-upgrade";
extern char **environ;

static int
check_mode(const char *file)
{
	char err[KK_ERRLEN];
	kk_state st;

	kk_state_init(&st);
	/* The loader gives "FILE:LINE: message"; a file it cannot read is a
	 * system problem (111), a line it cannot take a refusal (100). */
	if (!kk_state_load_file(&st, file, err, sizeof err))
		strerr_dief(strncmp(err, "unable to ", 10) ? 100 : 111, err);
	kk_state_free(&st);
	return 0;
}

/* The O_PATH fd of the previous binary, from the self line; -1 none. */
static int
self_fd(const kk_str *body)
{
	char buf[4096], err[KK_ERRLEN];
	char *argv[KK_LINE_MAXWORDS];
	unsigned argc;
	unsigned long fd;
	size_t pos = 0;

	while (kk_handoff_next(body->s, body->len, &pos, buf, sizeof buf, argv,
	    KK_LINE_MAXWORDS, &argc, err, sizeof err) > 0)
		if (argc == 2 && !strcmp(argv[0], "self")
		    && kk_scan_uint(argv[1], 0, 1 << 30, &fd))
			return (int)fd;
	return -1;
}

/* Back to the previous binary with the handoff and why; never returns. */
static void
rollback(int self, const char *fdtext, const char *reason)
{
	strerr_warnw2x("the previous supervisor takes over again: ", reason);
	if (self < 0)
		strerr_dief(111, "the handoff names no previous binary to go back to; the"
		    " service is down: restart the supervisor");
	kk_handoff_exec_previous(self, fdtext, reason);
	strerr_diefusys(111, "exec the previous supervisor binary again; the service is"
	    " down: restart the supervisor");
}

/* Runs `sup --check-handoff FD`, its stderr passed on to ours, and says
 * how it ended: 1 passed; 0 with why. */
static int
trial(const char *sup, const char *fdtext, unsigned long ms, char *why, size_t len)
{
	char buf[4096], last[400] = "";
	const char *argv[4];
	tain until;
	int p[2], status, killed = 0;
	pid_t pid;

	/* ms is at most an hour (the -t scan): it fits tain_from_millisecs. */
	tain_now_set_stopwatch_g();
	tain_from_millisecs(&until, (int)ms);
	tain_add_g(&until, &until);

	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(why, len, "unable to create a pipe for the trial run: %s",
		    strerror(errno));
		return 0;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "unable to fork the trial run: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return 0;
	}
	if (!pid) {
		dup2(p[1], 2);
		argv[0] = sup;
		argv[1] = "--check-handoff";
		argv[2] = fdtext;
		argv[3] = 0;
		execv(sup, (char *const *)argv);
		{
			char msg[600];
			int n = snprintf(msg, sizeof msg, "kakehi-upgrade: fatal: unable to exec"
			    " %.400s: %s\n", sup, strerror(errno));
			(void)!write(2, msg, (size_t)n);
		}
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(p[1]);
	/* Its last line is the reason it gives; each line also goes to the log. */
	for (;;) {
		iopause_fd pf = { p[0], IOPAUSE_READ, 0 };
		ssize_t r;
		int n = iopause_g(&pf, 1, &until);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			kill(pid, SIGKILL);
			killed = 1;
			break;
		}
		r = read(p[0], buf, sizeof buf - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		(void)!write(2, buf, (size_t)r);
		buf[r] = 0;
		{
			char *s = buf, *nl;
			while ((nl = strchr(s, '\n'))) {
				*nl = 0;
				if (*s)
					snprintf(last, sizeof last, "%.399s", s);
				s = nl + 1;
			}
			if (*s)
				snprintf(last, sizeof last, "%.399s", s);
		}
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(why, len, "unable to wait for the trial run: %s",
			    strerror(errno));
			return 0;
		}
	if (killed) {
		snprintf(why, len, "the new supervisor %.300s did not finish its trial run"
		    " within %lums", sup, ms);
		return 0;
	}
	if (WIFSIGNALED(status)) {
		snprintf(why, len, "the new supervisor %.300s was killed by signal %d (%s) in"
		    " its trial run", sup, WTERMSIG(status), strsignal(WTERMSIG(status)));
		return 0;
	}
	if (WEXITSTATUS(status)) {
		snprintf(why, len, "the new supervisor %.300s failed its trial run (exit %d)%s"
		    "%s", sup, WEXITSTATUS(status), *last ? ": " : "", last);
		return 0;
	}
	return 1;
}

static int
handoff_mode(const char *fdtext, unsigned long ms, const char *sup)
{
	char err[KK_ERRLEN], why[KK_ERRLEN];
	kk_str body = KK_STR_ZERO;
	const char *argv[4];
	unsigned long fd;
	int res, self;

	if (!kk_scan_uint(fdtext, 0, 1 << 30, &fd))
		strerr_dief(100, "-h ", fdtext, ": give the number of the fd holding the"
		    " handoff");
	res = kk_handoff_read((int)fd, &body, err, sizeof err);
	if (res == KK_HANDOFF_OK)
		res = kk_handoff_check_fds(body.s, body.len, err, sizeof err);
	if (res != KK_HANDOFF_OK)
		strerr_dief(res, "handoff refused: ", err);
	self = self_fd(&body);
	kk_str_free(&body);
	if (access(sup, X_OK) < 0) {
		snprintf(why, sizeof why, "the new supervisor %.300s cannot be run: %s", sup,
		    strerror(errno));
		rollback(self, fdtext, why);
	}
	if (!trial(sup, fdtext, ms, why, sizeof why))
		rollback(self, fdtext, why);
	argv[0] = sup;
	argv[1] = "--handoff";
	argv[2] = fdtext;
	argv[3] = 0;
	execv(sup, (char *const *)argv);
	snprintf(why, sizeof why, "unable to exec the new supervisor %.300s: %s", sup,
	    strerror(errno));
	rollback(self, fdtext, why);
	return 111;
}

int
main(int argc, const char *const *argv)
{
	const char *check = 0, *fd = 0;
	unsigned long ms = TRIAL_MS;
	subgetopt l = SUBGETOPT_ZERO;

	for (;;) {
		int opt = subgetopt_r(argc, argv, "c:h:t:", &l);
		if (opt == -1)
			break;
		switch (opt) {
		case 'c':
			check = l.arg;
			break;
		case 'h':
			fd = l.arg;
			break;
		case 't':
			if (!kk_scan_uint(l.arg, 1, 3600000, &ms))
				strerr_dief(100, "-t ", l.arg, ": give the trial's time bound in"
				    " milliseconds, 1 to 3600000");
			break;
		default:
			dieusage();
		}
	}
	if (check && !fd && argc == l.ind)
		return check_mode(check);
	if (fd && !check && argc == l.ind + 1)
		return handoff_mode(fd, ms, argv[l.ind]);
	dieusage();
}
