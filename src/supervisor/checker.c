/* ISC license. */
/* kakehi-check, the active health checks, supervised like a worker: one
 * process per proxy, started when the state has a cluster health-check
 * and stopped when none is left, restarted with a backoff when it dies.
 * It gets the whole state in a memfd at its start, then each committed
 * change as a delta (a resync gets the whole state again), and reports
 * transitions that health.c turns into held verdicts. It is not carried
 * through an in-place upgrade: its channel closes with the exec, it
 * exits, and the new supervisor starts another (so the handoff format is
 * unchanged). */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <kakehi/frame.h>
#include <kakehi/proto.h>
#include "sv.h"

/* Its respawn delay doubles from the first to the last; one that ran
 * this long before it died starts from the first again. */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 10000
#define STABLE_MS 10000

static struct {
	pid_t pid;		/* 0: none running */
	kk_chan chan;		/* fd -1: closed */
	unsigned restarts;
	unsigned long backoff_ms;
	tain started_at, respawn;	/* respawn zero: none due */
	uint64_t gen;		/* the generation its state is on */
	int init;
} ck;

static void
init(void)
{
	if (ck.init)
		return;
	ck.chan.fd = -1;
	ck.init = 1;
}

static int
wanted(void)
{
	size_t i;
	if (sv.stopping)
		return 0;
	for (i = 0; i < sv.state.nclusters; i++)
		if (sv.state.clusters[i].id && sv.state.clusters[i].hc.path)
			return 1;
	return 0;
}

/* kakehi-check beside this binary, else in PATH (execvp's search). */
static const char *
binary(char *buf, size_t max)
{
	ssize_t r = readlink("/proc/self/exe", buf, max - 1);
	char *slash;
	if (r > 0) {
		buf[r] = 0;
		if ((slash = strrchr(buf, '/')) && (size_t)(slash - buf) + 16 < max) {
			strcpy(slash + 1, "kakehi-check");
			if (!access(buf, X_OK))
				return buf;
		}
	}
	return "kakehi-check";
}

static void
exec_checker(int chan_fd, int state_fd)
{
	char path[PATH_MAX], genbuf[32];
	const char *argv[8];
	sigset_t none;
	const char *bin = binary(path, sizeof path);
	/* Fixed fds 3 and 4, as the worker finds its channel after its
	 * listeners: dup2 first to fds above, then down. */
	int c = fcntl(chan_fd, F_DUPFD_CLOEXEC, 10), s = fcntl(state_fd, F_DUPFD_CLOEXEC, 10);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, 0);
	signal(SIGPIPE, SIG_DFL);
	sv_notify_child_env();
	if (c < 0 || s < 0 || dup2(c, 3) < 0 || dup2(s, 4) < 0)
		_exit(111);
	snprintf(genbuf, sizeof genbuf, "%llu", (unsigned long long)sv_txn_state_gen());
	argv[0] = bin;
	argv[1] = "-c"; argv[2] = "3";
	argv[3] = "-s"; argv[4] = "4";
	argv[5] = "-g"; argv[6] = genbuf;
	argv[7] = 0;
	execvp(bin, (char *const *)argv);
	{
		char msg[512];
		int len = snprintf(msg, sizeof msg, "kakehi-supervisor: fatal: unable to exec"
		    " %s: %s\n", bin, strerror(errno));
		(void)!write(2, msg, (size_t)len);
	}
	_exit(errno == ENOENT ? 127 : 126);
}

static void
schedule_respawn(void)
{
	if (sv_ms_since(&ck.started_at) >= STABLE_MS || !ck.backoff_ms)
		ck.backoff_ms = BACKOFF_FIRST_MS;
	else if ((ck.backoff_ms *= 2) > BACKOFF_MAX_MS)
		ck.backoff_ms = BACKOFF_MAX_MS;
	sv_deadline_in(&ck.respawn, ck.backoff_ms);
}

static void
spawn(void)
{
	int sp[2], state_fd;
	pid_t pid;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		sv_warn("unable to create the channel for kakehi-check: %s; retrying",
		    strerror(errno));
		schedule_respawn();
		return;
	}
	if ((state_fd = sv_state_memfd()) < 0) {
		sv_warn("unable to prepare the state for kakehi-check: %s; retrying",
		    strerror(errno));
		close(sp[0]);
		close(sp[1]);
		schedule_respawn();
		return;
	}
	if ((pid = fork()) < 0) {
		sv_warn("unable to fork kakehi-check: %s; retrying", strerror(errno));
		close(sp[0]);
		close(sp[1]);
		close(state_fd);
		schedule_respawn();
		return;
	}
	if (!pid)
		exec_checker(sp[1], state_fd);
	close(sp[1]);
	close(state_fd);
	fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK);
	kk_chan_init(&ck.chan, sp[0]);
	ck.pid = pid;
	ck.gen = sv_txn_state_gen();
	sv_now(&ck.started_at);
	ck.respawn = tain_zero;
	sv_info("kakehi-check started (pid %d)%s", (int)pid,
	    ck.restarts ? ", after its last process ended" : "");
}

static void
close_chan(void)
{
	if (ck.chan.fd >= 0)
		kk_chan_free(&ck.chan);
	ck.chan.fd = -1;
}

/* Stops it (no check left, or the supervisor stops): its channel closed,
 * it leaves; TERM makes sure. */
static void
stop(void)
{
	close_chan();
	if (ck.pid > 0)
		kill(ck.pid, SIGTERM);
	ck.respawn = tain_zero;
}

void
sv_checker_sync(void)
{
	init();
	if (!wanted()) {
		if (ck.pid > 0 && ck.chan.fd >= 0)
			sv_info("no health check left: stopping kakehi-check (pid %d)",
			    (int)ck.pid);
		if (ck.pid > 0)
			stop();
		ck.respawn = tain_zero;
		return;
	}
	if (!ck.pid && !sv_deadline_set(&ck.respawn))
		spawn();
}

void
sv_checker_change(uint64_t base, uint64_t gen, const char *delta)
{
	char b[24], g[24];
	const char *argv[4] = { KK_MSG_DELTA, b, g, delta ? delta : "" };
	init();
	sv_checker_sync();
	if (ck.chan.fd < 0 || ck.gen != base)
		return;
	snprintf(b, sizeof b, "%llu", (unsigned long long)base);
	snprintf(g, sizeof g, "%llu", (unsigned long long)gen);
	if (!kk_chan_put(&ck.chan, 4, argv) || kk_chan_flush(&ck.chan) < 0) {
		sv_warn("unable to send a change to kakehi-check; stopping it");
		stop();
		return;
	}
	ck.gen = gen;
}

int
sv_checker_reaped(pid_t pid, int status)
{
	init();
	if (!ck.pid || pid != ck.pid)
		return 0;
	close_chan();
	ck.pid = 0;
	if (!wanted())
		return 1;
	ck.restarts++;
	schedule_respawn();
	if (WIFSIGNALED(status))
		sv_warn("kakehi-check died on signal %d; restarting it in %lu ms",
		    WTERMSIG(status), ck.backoff_ms);
	else
		sv_warn("kakehi-check exited with status %d; restarting it in %lu ms",
		    WEXITSTATUS(status), ck.backoff_ms);
	return 1;
}

static void
resync(void)
{
	int fd = sv_state_memfd();
	char g[24];
	const char *argv[2] = { KK_MSG_STATE, g };
	uint64_t now = sv_txn_state_gen();
	snprintf(g, sizeof g, "%llu", (unsigned long long)now);
	if (fd < 0 || !kk_chan_put_fd(&ck.chan, 2, argv, fd)) {
		sv_warn("unable to send the whole state to kakehi-check; stopping it");
		if (fd >= 0)
			close(fd);
		stop();
		return;
	}
	close(fd);
	ck.gen = now;
	kk_chan_flush(&ck.chan);
}

void
sv_checker_io(short revents)
{
	if (revents & POLLOUT && kk_chan_flush(&ck.chan) < 0) {
		close_chan();
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	for (;;) {
		char *argv[KK_FRAME_MAXWORDS];
		unsigned argc;
		int r = kk_chan_fill(&ck.chan), m;
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			/* It is gone or going: the reaper restarts it. */
			close_chan();
			return;
		}
		while ((m = kk_chan_next(&ck.chan, argv, KK_FRAME_MAXWORDS, &argc)) > 0) {
			if (!argc)
				continue;
			if (!strcmp(argv[0], KK_MSG_HEALTH))
				sv_health_report("kakehi-check", 1, argc, argv);
			else if (!strcmp(argv[0], KK_MSG_RESYNC))
				resync();
			if (ck.chan.fd < 0)
				return;
		}
		if (m < 0) {
			sv_warn("kakehi-check sent a malformed frame; stopping it");
			stop();
			return;
		}
		if (r < 0)
			return;
	}
}

int
sv_checker_pollfd(struct pollfd *p)
{
	if (!ck.init || ck.chan.fd < 0)
		return 0;
	p->fd = ck.chan.fd;
	p->events = POLLIN | (kk_chan_pending(&ck.chan) ? POLLOUT : 0);
	return 1;
}

void
sv_checker_timers(void)
{
	if (ck.init && sv_deadline_due(&ck.respawn)) {
		ck.respawn = tain_zero;
		if (wanted() && !ck.pid)
			spawn();
	}
}

void
sv_checker_deadline(tain *earliest)
{
	if (ck.init)
		sv_deadline_earliest(earliest, &ck.respawn);
}

void
sv_checker_stop(void)
{
	if (ck.init && ck.pid > 0)
		stop();
}

void
sv_checker_status(kk_str *out, int json)
{
	if (!ck.init || (!ck.pid && !sv_deadline_set(&ck.respawn)))
		return;
	if (json)
		kk_str_catf(out, ",\"checker\":{\"pid\":%d,\"restarts\":%u}", (int)ck.pid,
		    ck.restarts);
	else
		kk_str_catf(out, "checker pid %d restarts %u%s\n", (int)ck.pid, ck.restarts,
		    ck.pid ? "" : " (waiting to restart)");
}
