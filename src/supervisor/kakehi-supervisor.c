/* ISC license. */
/* kakehi-supervisor: loads the config, adopts or binds the listeners,
 * owns the control socket and the authoritative state, spawns and
 * restarts the workers, and fans every change out to them. This file
 * holds startup, signals and the loop; the rest lives in control.c
 * (clients, verbs), txn.c (generations, acks), workers.c (lifecycle),
 * status.c, listeners.c and readiness.c. It never daemonizes. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <kakehi/config.h>
#include <kakehi/proto.h>

#include "sv.h"

#define USAGE "kakehi-supervisor [ -d notif-fd ] [ -s socket ] [ -W worker-binary ] config" \
	"  or  kakehi-supervisor -V" \
	"  or  kakehi-supervisor --check-handoff fd" \
	"  or  kakehi-supervisor --handoff fd [ --rollback reason ]"

const char *PROG = "kakehi-supervisor";
sv_main sv;

/* The -d fd must not be one of the inherited listeners (fds 3..): a
 * readiness write would go to a socket and the close would drop it. */
static void
check_notif_fd(void)
{
	const char *n = getenv(KK_ENV_LISTEN_FDS);
	const char *pid = getenv(KK_ENV_LISTEN_PID);
	unsigned count, p;

	if (sv.notif_fd < 0 || !n || !uint0_scan(n, &count))
		return;
	if (pid && (!uint0_scan(pid, &p) || p != (unsigned)getpid()))
		return;
	if (sv.notif_fd < KK_LISTEN_FDS_START + (int)count) {
		char fd[UINT_FMT], n[UINT_FMT], first[UINT_FMT], last[UINT_FMT];
		char next[UINT_FMT];
		fd[uint_fmt(fd, (unsigned)sv.notif_fd)] = 0;
		n[uint_fmt(n, count)] = 0;
		first[uint_fmt(first, KK_LISTEN_FDS_START)] = 0;
		last[uint_fmt(last, KK_LISTEN_FDS_START + count - 1)] = 0;
		next[uint_fmt(next, KK_LISTEN_FDS_START + count)] = 0;
		strerr_dief(100, "-d ", fd, " is also inherited listener fd ", fd,
		    " (LISTEN_FDS=", n, " takes fds ", first, " to ", last, "); give the"
		    " notification fd a number of ", next, " or more, in -d and in the"
		    " service's notification-fd");
	}
}

/* Whatever the parent left open without close-on-exec (a shell's
 * `exec 7>file`, a leaked descriptor of a service manager) would reach
 * every worker. Marking every inherited fd above stderr close-on-exec
 * is safe: the ones the supervisor uses (listeners, -d) are its own
 * copies, and a worker gets dups made for it in exec_worker. */
static void
cloexec_inherited(void)
{
	DIR *d;
	struct dirent *e;

	if (!close_range(3, ~0U, CLOSE_RANGE_CLOEXEC))
		return;
	/* Before Linux 5.11: one by one, from what the kernel lists. */
	d = opendir("/proc/self/fd");
	if (!d) {
		sv_warn("unable to mark inherited fds close-on-exec: %s; workers may"
		    " inherit fds the supervisor was started with", strerror(errno));
		return;
	}
	while ((e = readdir(d))) {
		unsigned fd;
		if (uint0_scan(e->d_name, &fd) && fd > 2 && (int)fd != dirfd(d))
			fcntl((int)fd, F_SETFD, fcntl((int)fd, F_GETFD) | FD_CLOEXEC);
	}
	closedir(d);
}

#define dieusage() strerr_dieusage(100, USAGE)

static int
executable(const char *path)
{
	return access(path, X_OK) == 0;
}

/* The worker binary: -W, else the kakehi-worker installed beside this
 * supervisor (so one binary set runs together), else PATH. Resolved
 * once, at startup (and again by the next supervisor of an upgrade), so
 * a missing worker is a startup error. */
const char *
sv_find_worker(const char *given, char *err, size_t errlen)
{
	static char buf[PATH_MAX];
	const char *path;
	ssize_t r;

	if (given && strchr(given, '/')) {
		if (!executable(given)) {
			snprintf(err, errlen, "worker binary %s is not executable: %s", given,
			    strerror(errno));
			return 0;
		}
		return given;
	}
	if (!given) {
		r = readlink("/proc/self/exe", buf, sizeof buf - 1);
		if (r > 0) {
			char *slash;
			buf[r] = 0;
			slash = strrchr(buf, '/');
			if (slash && (size_t)(slash - buf) + 16 < sizeof buf) {
				strcpy(slash + 1, "kakehi-worker");
				if (executable(buf))
					return buf;
			}
		}
		given = "kakehi-worker";
	}
	path = getenv("PATH");
	while (path && *path) {
		size_t len = strcspn(path, ":");
		if (len && len + strlen(given) + 2 < sizeof buf) {
			memcpy(buf, path, len);
			buf[len] = '/';
			strcpy(buf + len + 1, given);
			if (executable(buf))
				return buf;
		}
		path += len + (path[len] == ':');
	}
	snprintf(err, errlen, "unable to find the worker binary %s next to kakehi-supervisor"
	    " or in PATH; give its path with -W", given);
	return 0;
}

void
sv_stop(int hard, const char *why)
{
	if (sv.stopping) {
		if (hard && sv.stopping == 1) {
			sv_info("stopping now (%s)", why);
			sv.stopping = 2;
			sv_workers_stop(1);
		}
		return;
	}
	sv.stopping = hard ? 2 : 1;
	sv_notify_stopping();
	sv_info("stopping %s (%s)", hard ? "now" : "gracefully: workers drain", why);
	sv_txn_abort("the supervisor is shutting down; the change was not applied");
	sv_control_close();
	sv.want = 0;
	sv_workers_stop(hard);
	sv_checker_stop();
}

static void
on_signals(void)
{
	for (;;) {
		int sig = selfpipe_read();
		switch (sig) {
		case -1:
			sv_diefusys(111, "read signals");
		case 0:
			return;
		case SIGTERM:
			sv_stop(0, "signal TERM");
			break;
		case SIGINT:
			sv_stop(0, "signal INT");
			break;
		case SIGQUIT:
			sv_stop(1, "signal QUIT");
			break;
		case SIGHUP:
			if (!sv.stopping) {
				sv_info("signal HUP: reloading %s", sv.config);
				sv.hup_pending = 1;
			}
			break;
		case SIGUSR1:
			sv_reopen_begin(0);
			break;
		case SIGUSR2:
			if (!sv.stopping) {
				sv_info("signal USR2: upgrading in place");
				sv.usr2_pending = 1;
			}
			break;
		case SIGCHLD:
			sv_workers_reap();
			break;
		default:
			break;
		}
	}
}

static void
loop(int sigfd)
{
	enum { MAXP = 3 + SV_MAX_CLIENTS + SV_MAX_SLOTS };
	iopause_fd p[MAXP];
	int ids[MAXP];

	for (;;) {
		unsigned n = 0, nctl, i, ck;
		tain deadline;

		sv_control_pump();
		sv_notify_pump();
		if (sv.stopping && sv_workers_all_gone())
			return;
		p[n].fd = sigfd;
		p[n].events = POLLIN;
		ids[n++] = 0;
		nctl = sv_control_pollfds(p + n, MAXP - n - SV_MAX_SLOTS, ids + n);
		n += nctl;
		for (i = 0; i < SV_MAX_SLOTS; i++) {
			sv_worker *w = &sv.workers[i];
			if (w->chan.fd < 0)
				continue;
			p[n].fd = w->chan.fd;
			p[n].events = POLLIN | (kk_chan_pending(&w->chan) ? POLLOUT : 0);
			ids[n++] = (int)i;
		}
		ck = sv_checker_pollfd(&p[n]) ? n++ : 0;
		tain_add_g(&deadline, &tain_infinite_relative);
		sv_checker_deadline(&deadline);
		sv_workers_deadline(&deadline);
		sv_txn_deadline(&deadline);
		sv_status_deadline(&deadline);
		sv_control_deadline(&deadline);
		sv_notify_deadline(&deadline);
		sv_tlskeys_deadline(&deadline);
		sv_reopen_deadline(&deadline);
		sv_statsd_deadline(&deadline);
		if (iopause_g(p, n, &deadline) < 0) {
			if (errno == EINTR)
				continue;
			sv_diefusys(111, "iopause");
		}
		for (i = 0; i < n; i++) {
			if (!p[i].revents)
				continue;
			if (i == 0)
				on_signals();
			else if (i <= nctl)
				sv_control_io(ids[i], p[i].revents);
			else if (ck && i == ck)
				sv_checker_io(p[i].revents);
			else if (sv.workers[ids[i]].chan.fd == p[i].fd)
				sv_workers_io(&sv.workers[ids[i]], p[i].revents);
		}
		tain_now_g();
		sv_workers_timers();
		sv_txn_timers();
		sv_status_timers();
		sv_control_timers();
		sv_notify_timers();
		sv_tlskeys_timers();
		sv_reopen_timers();
		sv_checker_timers();
		sv_statsd_timers();
	}
}

/* The board is sized for every slot a worker can have, so `set workers`
 * never has to grow it under running workers. Without it workers serve
 * all the same, only without keeping to their share of a burst. */
static void
board_start(void)
{
	sv.board = 0;
	sv.board_fd = kk_board_create(SV_MAX_SLOTS);
	if (sv.board_fd >= 0 && !(sv.board = kk_board_map(sv.board_fd))) {
		close(sv.board_fd);
		sv.board_fd = -1;
	}
	if (sv.board_fd < 0)
		sv_warn("unable to create the workers' board: %s; workers will accept without"
		    " regard to each other", strerror(errno));
}

int
sv_signals_init(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	fd = selfpipe_init();
	if (fd < 0)
		sv_diefusys(111, "set up signal handling");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGCHLD);
	if (!selfpipe_trapset(&set))
		sv_diefusys(111, "trap signals");
	return fd;
}

static int
handoff_fd(const char *s)
{
	unsigned fd;

	if (!s || !uint0_scan(s, &fd) || fd > INT_MAX)
		strerr_dief(100, "give the fd of the handoff after --handoff or"
		    " --check-handoff (kakehi-upgrade does)");
	return (int)fd;
}

/* The two modes of an in-place upgrade, run by kakehi-upgrade. */
static int
handoff_main(int argc, const char *const *argv)
{
	const char *rollback = 0;
	int fd, sigfd;

	if (!strcmp(argv[1], "--check-handoff")) {
		if (argc != 3)
			dieusage();
		return sv_handoff_check(handoff_fd(argv[2]));
	}
	if (argc == 5 && !strcmp(argv[3], "--rollback"))
		rollback = argv[4];
	else if (argc != 3)
		dieusage();
	fd = handoff_fd(argv[2]);
	tain_now_set_stopwatch_g();
	sv.notif_fd = -1;
	sv.board_fd = -1;
	sv.metrics_fd = -1;
	/* The fds the handoff names are this process's own again: workers
	 * get dups of them. */
	cloexec_inherited();
	sv_handoff_adopt(fd, rollback);
	/* A handoff from a build before the segment names none. */
	if (sv.metrics_fd < 0)
		sv_metrics_start();
	sigfd = sv_signals_init();
	/* The environment came through the exec: the watchdog pings and the
	 * notifications go on from this binary. */
	sv_notify_init();
	sv_handoff_done();
	loop(sigfd);
	sv_control_finish();
	sv_listeners_close_all();
	sv_info("stopped");
	return 0;
}

int
main(int argc, const char *const *argv)
{
	char err[KK_ERRLEN];
	subgetopt l = SUBGETOPT_ZERO;
	const char *socket_opt = 0, *worker_opt = 0;
	int sigfd;

	if (argc >= 2 && (!strcmp(argv[1], "--handoff") || !strcmp(argv[1], "--check-handoff")))
		return handoff_main(argc, argv);
	sv.notif_fd = -1;
	tain_now_set_stopwatch_g();
	cloexec_inherited();
	for (;;) {
		int opt = subgetopt_r(argc, argv, "Vd:s:W:", &l);
		if (opt == -1)
			break;
		switch (opt) {
		case 'V':
			if (argc != 2)
				dieusage();
			printf("kakehi-supervisor %s\n", KAKEHI_VERSION);
			return fflush(stdout) ? 111 : 0;
		case 'd': {
			unsigned fd;
			if (!uint0_scan(l.arg, &fd) || fd < 3 || fd > INT_MAX)
				strerr_dief(100, "-d ", l.arg, ": give a file descriptor number"
				    " of 3 or more");
			sv.notif_fd = (int)fd;
			break;
		}
		case 's':
			socket_opt = l.arg;
			break;
		case 'W':
			worker_opt = l.arg;
			break;
		default:
			dieusage();
		}
	}
	argc -= l.ind;
	argv += l.ind;
	if (argc != 1)
		dieusage();
	sv.config = argv[0];
	sv_now(&sv.started_at);

	check_notif_fd();
	if (sv.notif_fd >= 0 && fcntl(sv.notif_fd, F_SETFD, FD_CLOEXEC) < 0) {
		char fd[UINT_FMT];
		fd[uint_fmt(fd, (unsigned)sv.notif_fd)] = 0;
		strerr_dief(100, "-d ", fd, ": that fd is not open: ", strerror(errno),
		    "; open it (s6: notification-fd) or drop -d");
	}

	kk_state_init(&sv.state);
	/* A line the grammar refuses is 100; a file that cannot be read,
	 * 111 (the loader says "unable to" only for those). */
	if (!kk_state_load_file(&sv.state, sv.config, err, sizeof err))
		strerr_dief(strncmp(err, "unable to ", 10) ? 100 : 111, err);
	if (!sv_certs_check_state(&sv.state, sv_certs_saved_state(sv.config), sv.config, err,
	    sizeof err))
		strerr_dief(100, err, " (a state written by state save loads with a warning "
		    "instead)");
	sv.worker_opt = worker_opt;
	sv.worker_bin = sv_find_worker(worker_opt, err, sizeof err);
	if (!sv.worker_bin)
		strerr_dief(111, err);
	sv.socket_path = socket_opt ? socket_opt
	    : sv.state.set.command_socket ? sv.state.set.command_socket
	    : KK_DEFAULT_CONTROL_SOCKET;

	sigfd = sv_signals_init();

	/* The control socket first: a second supervisor on the same socket
	 * must stop here, before it touches any listener. */
	sv_control_open(sv.socket_path);
	sv_listeners_start(&sv.state);
	board_start();
	sv_metrics_start();
	sv_workers_init();
	sv.gen = 1;
	sv.want = sv.state.set.workers;
	sv_info("starting %u worker%s (%s), config %s", sv.want, sv.want == 1 ? "" : "s",
	    sv.worker_bin, sv.config);
	sv_notify_init();
	sv_tlskeys_start();
	sv_workers_scale();
	sv_health_sweep();
	sv_checker_sync();
	sv_reload_warm(sv.config);

	loop(sigfd);

	sv_control_finish();
	sv_listeners_close_all();
	sv_info("stopped");
	return 0;
}
