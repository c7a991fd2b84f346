/* ISC license. */
/* kakehi-worker: the data plane. Started by kakehi-supervisor with a
 * channel, or on its own after kakehi-listen with a config file. Sets up
 * the listeners and the first router snapshot, then runs the event loop
 * until a drain empties it or a stop ends it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <kakehi/board.h>
#include <kakehi/config.h>
#include <kakehi/listen.h>
#include <kakehi/listenfds.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>
#include "accesslog.h"
#include "back.h"
#include "buf.h"
#include "channel.h"
#include "front.h"
#include "lb.h"
#include "log.h"
#include "loop.h"
#include "lsock.h"
#include "reqid.h"
#include "router.h"
#include "status.h"
#include "wmetrics.h"
#include "timer.h"
#include "tlsstate.h"
#include "worker.h"

#define PROG "kakehi-worker"
#define USAGE "usage: " PROG " [-V] CONFIG | " PROG " -c CHANNEL_FD -s STATE_FD -g GENERATION" \
	" -i ID [-b BOARD_FD] [-m METRICS_FD]"

static kk_router *router;
static kk_state *state;
static uint64_t generation;
static const char *worker_id = "0";
static const char *config_path;
static int standalone, drain_asked, draining, exiting = -1;
static kk_timer drain_timer, sweep_timer;
static kk_io sigio;

kk_router *
kk_worker_router(void)
{
	return router;
}

uint64_t
kk_worker_generation(void)
{
	return generation;
}

const char *
kk_worker_id(void)
{
	return worker_id;
}

int
kk_worker_draining(void)
{
	return draining;
}

kk_state *
kk_worker_state(void)
{
	return state;
}

static void
dieusage(void)
{
	fprintf(stderr, "%s\n", USAGE);
	exit(100);
}

static void
diesys(const char *what)
{
	fprintf(stderr, PROG ": fatal: %s: %s\n", what, strerror(errno));
	exit(111);
}

/* journal: the open journal of a change to the current state, so the
 * router follows it from the current snapshot; NULL: built from the whole
 * st. */
static int
apply(kk_state *st, const kk_journal *journal, uint64_t gen, char *err, size_t errlen)
{
	kk_lsock *bound[KK_LISTENFDS_MAX];
	unsigned nbound = 0, i;
	kk_router *r;
	kk_link *x, *next;
	size_t j;

	/* Every listener needs a socket before anything changes. */
	for (j = 0; j < st->nlisteners; j++) {
		const kk_listener *l = &st->listeners[j];
		int fd;
		if (kk_lsock_find(l->addr_text))
			continue;
		if (!standalone) {
			snprintf(err, errlen, "listener %s: no socket was passed for it; the "
			    "supervisor sends one with a listener message before the update",
			    l->addr_text);
			goto fail;
		}
		if (nbound == KK_LISTENFDS_MAX) {
			snprintf(err, errlen, "too many listeners (at most %d)", KK_LISTENFDS_MAX);
			goto fail;
		}
		fd = kk_listen_bind(&l->addr, st->set.backlog, err, errlen);
		if (fd < 0)
			goto fail;
		bound[nbound] = kk_lsock_adopt(fd, l->addr_text);
		if (!bound[nbound]) {
			snprintf(err, errlen, "listener %s: %s", l->addr_text, strerror(errno));
			goto fail;
		}
		nbound++;
	}
	r = journal ? kk_router_update(router, st, journal, gen) : kk_router_build(st, gen);
	if (!r) {
		snprintf(err, errlen, "unable to build the router: out of memory");
		goto fail;
	}
	if (!kk_accesslog_prepare(&st->set, err, errlen)) {
		kk_router_unref(r);
		goto fail;
	}
	/* The TLS contexts last: their undo is their own. */
	if (!kk_tlsstate_apply(st, journal, err, errlen)) {
		kk_accesslog_abandon();
		kk_router_unref(r);
		goto fail;
	}
	/* Commit: from here nothing fails. */
	for (x = kk_lsock_all()->next; x != kk_lsock_all(); x = next) {
		kk_lsock *l = KK_CONTAINER(x, kk_lsock, link);
		next = x->next;
		if (!kk_state_listener(st, l->addr))
			kk_lsock_close(l);
	}
	if (router)
		kk_router_unref(router);
	router = r;
	kk_lsock_attach(r);
	kk_buf_setup(st->set.buffer_size, (size_t)st->set.max_connections * 4 + 64);
	kk_lsock_setmax(st->set.max_connections);
	kk_accesslog_commit();
	kk_log_configure(&st->set);
	if (state && state != st) {
		kk_state_free(state);
		free(state);
	}
	state = st;
	generation = gen;
	return 1;
fail:
	for (i = 0; i < nbound; i++)
		kk_lsock_close(bound[i]);
	return 0;
}

int
kk_worker_apply(kk_state *st, uint64_t gen, char *err, size_t errlen)
{
	return apply(st, NULL, gen, err, errlen);
}

int
kk_worker_apply_journal(kk_state *st, const kk_journal *j, uint64_t gen, char *err,
    size_t errlen)
{
	return apply(st, j, gen, err, errlen);
}

void
kk_worker_listener_fd(const char *addr, int fd)
{
	kk_lsock *old = kk_lsock_find(addr), *l;
	if (old)
		kk_lsock_close(old);
	l = kk_lsock_adopt(fd, addr);
	if (!l) {
		kk_log_warning("unable to use the listener socket for %s: %s",
		    addr, strerror(errno));
		return;
	}
	if (router)
		kk_lsock_attach(router);
}

static void
check_drained(void)
{
	if (draining && !kk_front_count())
		kk_worker_stop(0);
}

static void
drain_expired(kk_timer *t)
{
	(void)t;
	kk_log_warning("drain timeout reached with %u connections open; "
	    "closing them", kk_front_count());
	kk_worker_stop(0);
}

/* A keep-alive client sends its next request the moment it has read a
 * response, so a connection idle when the drain starts (or when a
 * response promised before it ends) is usually about to carry one:
 * closed then, that request is lost (a reset, or an end of file where
 * the response should be) unless the client retries. For a grace period
 * such a connection is served once more, with Connection: close; what is
 * still idle after it is closed, as at an idle timeout (front.c). Two
 * seconds cover any client in the middle of its work, on a loaded host
 * too, and keep a drain of idle clients short. */
#define DRAIN_IDLE_GRACE_MS 2000

/* Runs between two loop turns, never from inside one: a stream ended
 * earlier in the turn has its connection queued to look for the next
 * request, and the drain's bookkeeping (front.c) is simplest when every
 * connection is either busy or waiting. */
static void
start_drain(void)
{
	unsigned long limit = state ? state->set.drain_timeout_ms : 30000;

	draining = 1;
	kk_lsock_stop();
	/* From now on every response says Connection: close (front.c). */
	kk_front_drain_all(limit < DRAIN_IDLE_GRACE_MS ? limit : DRAIN_IDLE_GRACE_MS);
	kk_back_close_idle();
	drain_timer.cb = drain_expired;
	kk_timer_arm(&drain_timer, kk_now_ms + limit);
	check_drained();
}

void
kk_worker_drain(void)
{
	drain_asked = 1;
}

void
kk_worker_stop(int code)
{
	if (exiting < 0)
		exiting = code;
}

void
kk_worker_conn_closed(void)
{
	kk_lsock_check();
	check_drained();
}

static void
sweep(kk_timer *t)
{
	kk_buf_sweep();
	kk_timer_arm(t, kk_now_ms + 1000);
}

static void
reload(void)
{
	char err[KK_ERRLEN];
	kk_state *st = malloc(sizeof *st);
	if (!st) {
		kk_log_warning("reload of %s failed: out of memory; the running "
		    "configuration is unchanged", config_path);
		return;
	}
	kk_state_init(st);
	if (!kk_state_load_file(st, config_path, err, sizeof err) ||
	    !kk_worker_apply(st, generation + 1, err, sizeof err)) {
		kk_log_warning("reload of %s failed: %s; the running "
		    "configuration is unchanged", config_path, err);
		kk_state_free(st);
		free(st);
		return;
	}
	kk_log_info("reloaded %s: generation %llu", config_path,
	    (unsigned long long)generation);
}

static void
on_signal(kk_io *io, uint32_t ev)
{
	struct signalfd_siginfo si;
	(void)ev;
	while (read(io->fd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			kk_worker_drain();
			break;
		case SIGQUIT:
			kk_worker_stop(0);
			break;
		case SIGHUP:
			if (standalone)
				reload();
			break;
		case SIGUSR1: {
			kk_str s = KK_STR_ZERO;
			if (kk_status_print(&s, worker_id, generation))
				fputs(s.s, stderr);
			kk_str_free(&s);
			break;
		}
		}
	}
}

static void
print_version(void)
{
	/* Asked of the library, not the headers: this names what is really
	 * linked (BoringSSL answers "BoringSSL"). */
	const char *tls = OpenSSL_version(OPENSSL_VERSION);

#ifdef BORINGSSL_API_VERSION
	printf(PROG " %s (TLS: %s, API %d)\n", KAKEHI_VERSION, tls, BORINGSSL_API_VERSION);
#else
	printf(PROG " %s (TLS: %s)\n", KAKEHI_VERSION, tls);
#endif
}

kk_state *
kk_worker_load_fd(int fd, char *err, size_t errlen)
{
	kk_state *st = malloc(sizeof *st);

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	kk_state_init(st);
	if (!kk_state_load_fd_checked(st, fd, "state", err, errlen)) {
		kk_state_free(st);
		free(st);
		st = NULL;
	}
	return st;
}

static int
scan_fd(const char *s)
{
	unsigned long v;
	if (!kk_scan_uint(s, 0, 1u << 20, &v))
		dieusage();
	return (int)v;
}

int
main(int argc, char **argv)
{
	kk_listenfd lfds[KK_LISTENFDS_MAX];
	char err[KK_ERRLEN];
	int chanfd = -1, statefd = -1, boardfd = -1, metricsfd = -1, opt, n, i;
	unsigned long long gen = 1;
	sigset_t set;
	kk_state *st;

	while ((opt = getopt(argc, argv, "Vc:s:g:i:b:m:")) != -1) {
		switch (opt) {
		case 'V':
			print_version();
			return 0;
		case 'c':
			chanfd = scan_fd(optarg);
			break;
		case 's':
			statefd = scan_fd(optarg);
			break;
		case 'g': {
			char *end;
			gen = strtoull(optarg, &end, 10);
			if (!*optarg || *end)
				dieusage();
			break;
		}
		case 'i':
			worker_id = optarg;
			break;
		case 'b':
			boardfd = scan_fd(optarg);
			break;
		case 'm':
			metricsfd = scan_fd(optarg);
			break;
		default:
			dieusage();
		}
	}
	argc -= optind;
	argv += optind;
	if (chanfd >= 0) {
		if (argc || statefd < 0)
			dieusage();
	} else {
		if (argc != 1 || statefd >= 0 || boardfd >= 0 || metricsfd >= 0)
			dieusage();
		standalone = 1;
		config_path = argv[0];
	}

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		diesys("unable to block signals");
	if (!kk_loop_init())
		diesys("unable to create the epoll instance");
	kk_lb_seed((uint64_t)getpid() ^ (uint64_t)time(NULL) ^ kk_now_ms);
	if (!kk_reqid_init())
		diesys("unable to draw the request id secret from the kernel");
	sigio.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigio.fd < 0)
		diesys("unable to create a signalfd");
	sigio.prio = KK_IO_OTHER;
	sigio.on_event = on_signal;
	if (!kk_loop_add(&sigio, EPOLLIN))
		diesys("unable to watch signals");

	n = kk_listenfds_get(lfds, KK_LISTENFDS_MAX, err, sizeof err);
	if (n < 0) {
		fprintf(stderr, PROG ": fatal: inherited listeners: %s\n", err);
		return 100;
	}
	for (i = 0; i < n; i++)
		if (!kk_lsock_adopt(lfds[i].fd, lfds[i].name))
			diesys("unable to use an inherited listener");

	st = malloc(sizeof *st);
	if (!st)
		diesys("unable to allocate the state");
	kk_state_init(st);
	if (standalone) {
		/* Unreadable is a system problem (111), unlike a bad line (100). */
		if (access(config_path, R_OK) < 0) {
			fprintf(stderr, PROG ": fatal: unable to read %s: %s\n", config_path,
			    strerror(errno));
			free(st);
			return 111;
		}
		if (!kk_state_load_file(st, config_path, err, sizeof err)) {
			fprintf(stderr, PROG ": fatal: %s\n", err);
			free(st);	/* left empty by the failed load */
			return 100;
		}
	} else {
		kk_state_free(st);
		free(st);
		st = kk_worker_load_fd(statefd, err, sizeof err);
		if (!st) {
			fprintf(stderr, PROG ": fatal: initial state: %s\n", err);
			return strncmp(err, "unable to ", 10) ? 100 : 111;
		}
		close(statefd);
	}
	/* Inherited listeners the configuration does not name are closed:
	 * say so, since it is most likely a typo in one of the two. */
	{
		kk_link *x, *next;
		for (x = kk_lsock_all()->next; x != kk_lsock_all(); x = next) {
			kk_lsock *l = KK_CONTAINER(x, kk_lsock, link);
			next = x->next;
			if (!kk_state_listener(st, l->addr))
				kk_log_warning("inherited listener %s is not in the "
				    "configuration; closing it (add: listener add http %s)",
				    l->addr, l->addr);
		}
	}
	/* Before the first snapshot: its objects find their slots there.
	 * Without it the worker serves all the same, uncounted per object. */
	if (metricsfd >= 0) {
		/* Kept open: the segment grows, and its new chunks are mapped
		 * from it. Not for a process the worker starts. */
		fcntl(metricsfd, F_SETFD, FD_CLOEXEC);
		if (!kk_wmetrics_init(metricsfd, (unsigned)strtoul(worker_id, NULL, 10))) {
			kk_log_warning("unable to map the metrics segment: %s; serving "
			    "without per-object counters", strerror(errno));
			close(metricsfd);
		}
	}
	if (!kk_worker_apply(st, gen, err, sizeof err)) {
		fprintf(stderr, PROG ": fatal: %s\n", err);
		return 100;
	}
	if (boardfd >= 0) {
		/* Without the board the worker serves all the same, only without
		 * keeping to its share of a burst of connections. */
		kk_board *b = kk_board_map(boardfd);
		if (b)
			kk_lsock_board(b, (unsigned)strtoul(worker_id, NULL, 10));
		else
			kk_log_warning("unable to map the board: %s; accepting "
			    "without regard to the other workers", strerror(errno));
		close(boardfd);
	}
	if (chanfd >= 0) {
		int fl = fcntl(chanfd, F_GETFL);
		if (fl < 0 || fcntl(chanfd, F_SETFL, fl | O_NONBLOCK) < 0 ||
		    fcntl(chanfd, F_SETFD, FD_CLOEXEC) < 0 || !kk_channel_init(chanfd))
			diesys("unable to use the supervisor channel");
		kk_channel_ready(generation);
	}
	sweep_timer.cb = sweep;
	kk_timer_arm(&sweep_timer, kk_now_ms + 1000);

	while (exiting < 0) {
		if (drain_asked && !draining)
			start_drain();
		if (exiting < 0 && !kk_loop_turn(-1))
			diesys("epoll_wait failed");
	}
	kk_front_stop_all();
	kk_back_close_idle();
	return exiting;
}
