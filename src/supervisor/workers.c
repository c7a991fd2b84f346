/* ISC license. */
/* Worker lifecycle: each slot moves through gone, backoff, spawned,
 * ready and draining, driven by a table of state x event whose cells are
 * small actions (the shape of s6-supervise). The loop only decodes events:
 * a reaped pid, a message on a channel, a deadline. What a worker is told
 * about the state (updates, acks) belongs to txn.c. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <skalibs/types.h>

#include <kakehi/frame.h>
#include <kakehi/listenfds.h>
#include <kakehi/proto.h>

#include "sv.h"

/* Crash-loop brake: the first restart is immediate, the next ones wait
 * 100 ms, doubling up to 5 s; a worker that stayed up 10 s earns a fresh
 * start. */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define BACKOFF_STABLE_MS 10000
/* Bounds that do not depend on the state. */
#define READY_MIN_MS 10000	/* a loaded machine may need a while to start */
#define STOP_GRACE_MS 2000	/* after "stop" or the drain deadline: SIGKILL */
/* A serving worker is pinged this long after its last pong: one frame a
 * second per worker costs nothing, and a stopped worker is found within
 * a second plus ping-timeout. */
#define PING_EVERY_MS 1000

extern char **environ;

typedef void action(sv_worker *);

static const char *const state_names[SV_W_NSTATES] = {
	"gone", "backoff", "spawned", "ready", "draining"
};

const char *
sv_wstate_name(enum sv_wstate s)
{
	return state_names[s];
}

int
sv_worker_live(const sv_worker *w)
{
	return w->pid > 0 && w->chan.fd >= 0
	    && (w->state == SV_W_SPAWNED || w->state == SV_W_READY);
}

int
sv_worker_follows(const sv_worker *w)
{
	return sv_worker_live(w)
	    || (w->pid > 0 && w->chan.fd >= 0 && w->state == SV_W_DRAINING && !w->killed);
}

static void
set_why(sv_worker *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->why, sizeof w->why, fmt, ap);
	va_end(ap);
}

void
sv_workers_init(void)
{
	unsigned i;

	for (i = 0; i < SV_MAX_SLOTS; i++) {
		memset(&sv.workers[i], 0, sizeof sv.workers[i]);
		sv.workers[i].id = i;
		sv.workers[i].chan.fd = -1;
	}
	sv.worker_fd = -1;
}

/* Opens sv.worker_bin, at the first start of a worker (after startup
 * or the adoption of an in-place upgrade, whichever resolved the path);
 * its fd is what every worker is exec'd from until `upgrade workers`
 * opens the path again. 1 ok, 0 with a warning. */
static int
open_binary(void)
{
	struct stat st;
	int fd = open(sv.worker_bin, O_PATH | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		sv_warn("unable to open the worker binary %s: %s; retrying (install"
		    " kakehi-worker there, or give its path with -W)", sv.worker_bin,
		    fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return 0;
	}
	sv.worker_fd = fd;
	sv.worker_serial++;
	return 1;
}

/* Closes the channel; pending answers from it are lost, so the
 * transaction, status and log reopen gatherers stop waiting for this
 * worker. */
static void
close_chan(sv_worker *w)
{
	if (w->chan.fd >= 0)
		kk_chan_free(&w->chan);
	memset(&w->chan, 0, sizeof w->chan);
	w->chan.fd = -1;
	w->status_discard = 0;
	sv_txn_gone(w);
	sv_status_gone(w);
	sv_reopen_gone(w);
}

static void
kill_worker(sv_worker *w)
{
	if (w->pid > 0 && !w->killed) {
		kill(w->pid, SIGKILL);
		w->killed = 1;
	}
}

static unsigned long
ready_bound(void)
{
	unsigned long t = sv.state.set.worker_timeout_ms;

	return t > READY_MIN_MS ? t : READY_MIN_MS;
}

/* The child's side of a spawn: listeners on 3.., then the channel and
 * the state memfd, everything else close-on-exec; exec'd from bin_fd.
 * Never returns. */
static void
exec_worker(sv_worker *w, int chan_fd, int state_fd, int bin_fd)
{
	char chanbuf[16], statebuf[16], genbuf[32], idbuf[16], nbuf[16], pidbuf[16], boardbuf[16];
	char metricsbuf[16];
	kk_str names = KK_STR_ZERO;
	sigset_t none;
	unsigned n = (unsigned)sv.state.nlisteners, nfds, i;
	int base = KK_LISTEN_FDS_START;
	int *src = calloc(n + 4, sizeof *src);
	const char *argv[14];
	unsigned a;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, 0);
	signal(SIGPIPE, SIG_DFL);
	sv_notify_child_env();
	if (!src)
		_exit(111);
	for (i = 0; i < n; i++) {
		src[i] = sv_listener_fd(sv.state.listeners[i].addr_text);
		if (i && !kk_str_cats(&names, ":"))
			_exit(111);
		if (!kk_str_cats(&names, sv.state.listeners[i].addr_text))
			_exit(111);
	}
	src[n] = chan_fd;
	src[n + 1] = state_fd;
	nfds = n + 2;
	if (sv.board_fd >= 0)
		src[nfds++] = sv.board_fd;
	if (sv.metrics_fd >= 0)
		src[nfds++] = sv.metrics_fd;
	/* Above the placed range, where no dup2 of the placement lands. */
	bin_fd = fcntl(bin_fd, F_DUPFD_CLOEXEC, base + (int)nfds);
	if (bin_fd < 0 || !kk_listenfds_place(src, nfds, base))
		_exit(111);
	snprintf(nbuf, sizeof nbuf, "%u", n);
	snprintf(pidbuf, sizeof pidbuf, "%d", (int)getpid());
	if (n) {
		setenv(KK_ENV_LISTEN_FDS, nbuf, 1);
		setenv(KK_ENV_LISTEN_FDNAMES, names.s, 1);
		setenv(KK_ENV_LISTEN_PID, pidbuf, 1);
	}
	snprintf(chanbuf, sizeof chanbuf, "%d", base + (int)n);
	snprintf(statebuf, sizeof statebuf, "%d", base + (int)n + 1);
	snprintf(genbuf, sizeof genbuf, "%llu", (unsigned long long)sv_txn_state_gen());
	snprintf(idbuf, sizeof idbuf, "%u", w->id);
	argv[0] = sv.worker_bin;
	argv[1] = "-c"; argv[2] = chanbuf;
	argv[3] = "-s"; argv[4] = statebuf;
	argv[5] = "-g"; argv[6] = genbuf;
	argv[7] = "-i"; argv[8] = idbuf;
	a = 9;
	nfds = n + 2;
	if (sv.board_fd >= 0) {
		snprintf(boardbuf, sizeof boardbuf, "%d", base + (int)nfds++);
		argv[a++] = "-b"; argv[a++] = boardbuf;
	}
	if (sv.metrics_fd >= 0) {
		snprintf(metricsbuf, sizeof metricsbuf, "%d", base + (int)nfds++);
		argv[a++] = "-m"; argv[a++] = metricsbuf;
	}
	argv[a] = 0;
	fexecve(bin_fd, (char *const *)argv, environ);
	/* A script (#!) is read by its interpreter through /dev/fd/N, which
	 * a close-on-exec fd no longer names: the kernel says ENOENT. Such a
	 * worker (a test stand-in) keeps the fd. */
	if (errno == ENOENT && fcntl(bin_fd, F_SETFD, 0) == 0)
		fexecve(bin_fd, (char *const *)argv, environ);
	{
		char msg[512];
		int len = snprintf(msg, sizeof msg, "kakehi-supervisor: fatal: unable to exec"
		    " worker %s: %s\n", sv.worker_bin, strerror(errno));
		(void)!write(2, msg, (size_t)len);
	}
	_exit(errno == ENOENT ? 127 : 126);
}

/* The whole state travels in a memfd, at a worker's start and on a
 * resync: it can be larger than a socket buffer, it is written once
 * without waiting for the worker, and the worker reads it at its own
 * pace. sv.state as it is now (see sv_txn_state_gen). */
int
sv_state_memfd(void)
{
	kk_str text = KK_STR_SECRET;	/* the certificates' keys */
	size_t off = 0;
	int fd = memfd_create("kakehi-state", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (!kk_state_print(&sv.state, &text))
		goto fail;
	while (off < text.len) {
		ssize_t r = write(fd, text.s + off, text.len - off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)r;
	}
	kk_str_free(&text);
	if (lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
fail:
	kk_str_free(&text);
	close(fd);
	return -1;
}

/* Workers started in one pass (the first ones, `set workers` growing,
 * the timers: restarts, a roll's replacements) all get sv.state as it was then,
 * which nothing changes within the pass: printed once (at 100 000 sites
 * a print takes longer than the fork), each worker reading its own open
 * of the one memfd, so their offsets stay apart. */
static int batch_open, batch_fd = -1;

static int
batch_state_fd(void)
{
	char path[32];
	int fd;

	if (!batch_open)
		return sv_state_memfd();
	if (batch_fd < 0 && (batch_fd = sv_state_memfd()) < 0)
		return -1;
	snprintf(path, sizeof path, "/proc/self/fd/%d", batch_fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	/* Without /proc, a print of its own. */
	return fd >= 0 ? fd : sv_state_memfd();
}

static void
batch_end(void)
{
	batch_open = 0;
	if (batch_fd >= 0)
		close(batch_fd);
	batch_fd = -1;
}

static void backoff(sv_worker *);

static void
spawn(sv_worker *w)
{
	unsigned serial;
	int sp[2], state_fd, bin_fd;
	pid_t pid;

	if (sv.worker_fd < 0 && !open_binary()) {
		backoff(w);
		return;
	}
	bin_fd = sv_roll_exec_fd(w, &serial);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		sv_warn("unable to create the channel for worker %u: %s; retrying",
		    w->id, strerror(errno));
		backoff(w);
		return;
	}
	state_fd = batch_state_fd();
	if (state_fd < 0) {
		sv_warn("unable to prepare the state for worker %u: %s; retrying",
		    w->id, strerror(errno));
		close(sp[0]);
		close(sp[1]);
		backoff(w);
		return;
	}
	if (sv.board)
		kk_board_clear(sv.board, w->id);
	sv_metrics_spawned(w);
	pid = fork();
	if (pid < 0) {
		sv_warn("unable to fork worker %u: %s; retrying", w->id, strerror(errno));
		close(sp[0]);
		close(sp[1]);
		close(state_fd);
		backoff(w);
		return;
	}
	if (!pid)
		exec_worker(w, sp[1], state_fd, bin_fd);
	close(sp[1]);
	close(state_fd);
	fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK);
	kk_chan_init(&w->chan, sp[0]);
	/* First on the channel: the worker reads the keys with its first
	 * channel event, before any other message. */
	sv_tlskeys_send(w);
	sv_health_send(w);
	w->pid = pid;
	w->killed = 0;
	w->late = 0;
	w->replaced_by = 0;
	w->ping_out = 0;
	w->bin_serial = serial;
	w->sent_gen = sv_txn_state_gen();
	w->acked_gen = 0;
	sv_now(&w->started_at);
	sv_tain_after(&w->deadline, &w->started_at, ready_bound());
	w->state = SV_W_SPAWNED;
	if (w->replaces)
		set_why(w, "replacing worker %u%s", w->replaces - 1,
		    w->rolled ? " (upgrade workers)" : " (late)");
	else if (w->restarts)
		set_why(w, "restart %u, after its last process %s", w->restarts, w->exit_text);
	else
		set_why(w, "starting");
	sv_info("started worker %u (pid %d, generation %llu)", w->id, (int)pid,
	    (unsigned long long)w->sent_gen);
}

/* Schedules a respawn, or starts at once when the delay is zero. */
static void
backoff(sv_worker *w)
{
	unsigned long delay = w->backoff_ms;

	w->backoff_ms = w->backoff_ms ? 2 * w->backoff_ms : BACKOFF_FIRST_MS;
	if (w->backoff_ms > BACKOFF_MAX_MS)
		w->backoff_ms = BACKOFF_MAX_MS;
	w->state = SV_W_BACKOFF;
	sv_deadline_in(&w->deadline, delay);
	if (!delay) {
		spawn(w);
		return;
	}
	/* A crash loop: each restart waits longer, and says so. */
	set_why(w, "its last process %s; restart %u in %lums", w->exit_text,
	    w->restarts + 1, delay);
	sv_warn("worker %u restarts in %lums (restart %u; its last process %s)", w->id,
	    delay, w->restarts + 1, w->exit_text);
}

static void
nop(sv_worker *w)
{
	(void)w;
}

static void
on_ready(sv_worker *w)
{
	int rolled = w->rolled;

	w->state = SV_W_READY;
	sv_deadline_in(&w->deadline, PING_EVERY_MS);
	w->ping_out = 0;
	w->rolled = 0;
	set_why(w, "serving");
	sv_info("worker %u (pid %d) ready", w->id, (int)w->pid);
	if (w->replaces) {
		sv_worker *old = &sv.workers[w->replaces - 1];
		w->replaces = 0;
		/* The replacement serves: only now does the old one stop
		 * accepting, so some worker always accepts. */
		if (old->replaced_by == w->id + 1 && (old->state == SV_W_READY
		    || old->state == SV_W_SPAWNED)) {
			sv_info("draining %sworker %u (pid %d): worker %u (pid %d) replaces"
			    " it", rolled ? "" : "late ", old->id, (int)old->pid, w->id,
			    (int)w->pid);
			set_why(old, "replaced by worker %u%s", w->id,
			    rolled ? " (upgrade workers)" : " (late)");
			sv_workers_event(old, SV_WE_DRAIN);
		}
		sv_workers_replace_late();
	}
	/* The roll's replacement, or a worker the roll waits for. */
	sv_roll_ready(w);
	sv_readiness_check();
}

/* A replacement started by upgrade workers died before it was ready:
 * the worker it was to replace keeps its place, and the roll stops (the
 * binary would most likely fail the same way for every worker). */
static void
roll_failed(sv_worker *w, long long up)
{
	sv_worker *old = &sv.workers[w->replaces - 1];
	char why[256];

	snprintf(why, sizeof why, "worker %u (pid %d), started to replace worker %u (pid %d),"
	    " %s %lldms after its start, before it was ready", w->id, (int)w->pid,
	    old->id, (int)old->pid, w->exit_text, up);
	w->replaces = 0;
	w->rolled = 0;
	if (old->replaced_by == w->id + 1 && sv_worker_live(old)) {
		old->replaced_by = 0;
		old->wanted = w->wanted;
		w->wanted = 0;
	}
	sv_roll_failed(w, why);
}

/* A process that was supposed to serve has exited. */
static void
on_crash(sv_worker *w)
{
	long long up = sv_ms_since(&w->started_at);

	close_chan(w);
	if (w->rolled && w->replaces && w->state == SV_W_SPAWNED)
		roll_failed(w, up);
	w->pid = 0;
	w->deadline = tain_zero;
	if (!w->wanted || sv.stopping) {
		w->state = SV_W_GONE;
		set_why(w, "its last process %s", w->exit_text);
		return;
	}
	if (up >= BACKOFF_STABLE_MS)
		w->backoff_ms = 0;
	w->restarts++;
	backoff(w);
}

static void
on_gone(sv_worker *w)
{
	close_chan(w);
	w->pid = 0;
	w->deadline = tain_zero;
	w->state = SV_W_GONE;
	if (w->wanted && !sv.stopping)
		spawn(w);
}

static void
ready_late(sv_worker *w)
{
	sv_warn("worker %u (pid %d) did not report ready within %lus; killing it",
	    w->id, (int)w->pid, ready_bound() / 1000);
	kill_worker(w);
	w->deadline = tain_zero;
}

/* A serving worker's clock: ping it, or, when the last ping went
 * unanswered for ping-timeout, kill it (it is stopped, or its loop is
 * stuck); the crash path then replaces it from the current state. */
static void
ping_tick(sv_worker *w)
{
	char seq[32], secs[KK_DURATION_FMTLEN];
	const char *argv[2];

	if (w->ping_out) {
		kk_fmt_duration_ms(secs, sv.state.set.ping_timeout_ms);
		sv_warn("worker %u (pid %d) did not answer a ping within %s (stopped, or its"
		    " loop is stuck); killing it: it is replaced from the current state",
		    w->id, (int)w->pid, secs);
		set_why(w, "killed: no answer to a ping within %s", secs);
		kill_worker(w);
		w->deadline = tain_zero;
		return;
	}
	snprintf(seq, sizeof seq, "%llu", ++w->ping_seq);
	argv[0] = KK_MSG_PING;
	argv[1] = seq;
	/* A failed send has already dealt with the channel (and may have
	 * reaped the worker and started the next one in this slot). */
	if (!sv_worker_send(w, 2, argv) || w->state != SV_W_READY) {
		if (w->state == SV_W_READY && w->chan.fd >= 0)
			sv_deadline_in(&w->deadline, PING_EVERY_MS);
		else if (w->state == SV_W_READY)
			w->deadline = tain_zero;
		return;
	}
	w->ping_out = 1;
	sv_deadline_in(&w->deadline, sv.state.set.ping_timeout_ms);
}

static void
kill_late(sv_worker *w)
{
	sv_warn("worker %u (pid %d) did not exit in time; killing it", w->id, (int)w->pid);
	kill_worker(w);
	w->deadline = tain_zero;
}

static void
send_word(sv_worker *w, const char *word)
{
	if (w->chan.fd >= 0) {
		kk_chan_put(&w->chan, 1, &word);
		kk_chan_flush(&w->chan);
	}
}

/* A replacement taken away before it served (a lower `set workers`, a
 * stop): the worker it was to replace gave it its place in `set workers`,
 * so that one goes the same way (ev), and a roll waiting for it ends. */
static void
abandon(sv_worker *w, enum sv_wevent ev)
{
	sv_worker *old;
	char why[192];

	if (!w->replaces)
		return;
	old = &sv.workers[w->replaces - 1];
	w->replaces = 0;
	if (w->rolled) {
		w->rolled = 0;
		snprintf(why, sizeof why, "worker %u, started to replace worker %u (pid %d), was"
		    " stopped before it was ready (workers set lower, or a stop)", w->id,
		    old->id, (int)old->pid);
		sv_roll_failed(w, why);
	}
	if (old->replaced_by != w->id + 1)
		return;
	old->replaced_by = 0;
	if (!old->wanted && sv_worker_live(old)) {
		set_why(old, "its replacement, worker %u, was taken away", w->id);
		sv_workers_event(old, ev);
	}
}

static void
forget(sv_worker *w)
{
	abandon(w, SV_WE_DRAIN);
	w->state = SV_W_GONE;
	w->deadline = tain_zero;
}

static void
drain(sv_worker *w)
{
	abandon(w, SV_WE_DRAIN);
	if (w->chan.fd < 0) {
		kill_worker(w);
		w->state = SV_W_DRAINING;
		return;
	}
	send_word(w, KK_MSG_DRAIN);
	w->state = SV_W_DRAINING;
	sv_deadline_in(&w->deadline, sv.state.set.drain_timeout_ms + STOP_GRACE_MS);
	sv_txn_gone(w);
	sv_status_gone(w);
}

static void
stop(sv_worker *w)
{
	abandon(w, SV_WE_STOP);
	if (w->chan.fd < 0)
		kill_worker(w);
	else
		send_word(w, KK_MSG_STOP);
	w->state = SV_W_DRAINING;
	sv_deadline_in(&w->deadline, STOP_GRACE_MS);
	sv_txn_gone(w);
	sv_status_gone(w);
}

static void exited(sv_worker *, int);

/* Channel lost: usually the worker died and its exit is already there to
 * reap; if it still lives it can no longer be told anything, so it
 * cannot stay. */
static void
broken(sv_worker *w)
{
	int status;

	close_chan(w);
	if (waitpid(w->pid, &status, WNOHANG) == w->pid) {
		exited(w, status);
		return;
	}
	sv_warn("lost the channel of worker %u (pid %d); killing it", w->id, (int)w->pid);
	kill_worker(w);
}

/* A draining worker closes its channel on its way out: wait for the exit. */
static void
chan_closed(sv_worker *w)
{
	close_chan(w);
}

static action *const table[SV_W_NSTATES][SV_WE_NEVENTS] = {
	/*		  START	 READY	    EXIT      TIMER	  DRAIN	  STOP	  BROKEN */
	[SV_W_GONE]	= { spawn, nop,	    nop,      nop,	  nop,	  nop,	  nop },
	[SV_W_BACKOFF]	= { nop,   nop,	    nop,      spawn,	  forget, forget, nop },
	[SV_W_SPAWNED]	= { nop,   on_ready, on_crash, ready_late, drain,  stop,	  broken },
	[SV_W_READY]	= { nop,   nop,	    on_crash, ping_tick,  drain,  stop,	  broken },
	[SV_W_DRAINING] = { nop,   nop,	    on_gone,  kill_late,  nop,	  stop,	  chan_closed },
};

/* A worker as an event: its state (or "exited", with how, for the
 * process that ended) and the one before. */
static void
worker_event(const sv_worker *w, pid_t pid, const char *state, const char *was,
    const char *why)
{
	sv_event e;

	if (!sv_event_begin(&e, "worker"))
		return;
	sv_event_num(&e, "id", w->id);
	sv_event_num(&e, "pid", (unsigned long long)pid);
	sv_event_str(&e, "state", state);
	sv_event_str(&e, "was", was);
	sv_event_num(&e, "generation", w->acked_gen);
	sv_event_str(&e, "why", why);
	sv_event_end(&e);
}

void
sv_workers_event(sv_worker *w, enum sv_wevent ev)
{
	enum sv_wstate was = w->state;
	pid_t pid = w->pid;

	/* A dead worker's figures would skew the others' shares. */
	if (ev == SV_WE_EXIT && sv.board)
		kk_board_clear(sv.board, w->id);
	/* Its connections and requests are gone with it. */
	if (ev == SV_WE_EXIT)
		sv_metrics_exited(w);
	if (ev == SV_WE_EXIT)
		worker_event(w, pid, "exited", sv_wstate_name(was), w->exit_text);
	table[w->state][ev](w);
	/* Started (spawned), ready, draining, backoff or gone; after an
	 * exit, the move is from the process that ended. */
	if (w->state != was || ev == SV_WE_EXIT)
		worker_event(w, w->pid > 0 ? w->pid : pid, sv_wstate_name(w->state),
		    ev == SV_WE_EXIT ? "exited" : sv_wstate_name(was),
		    w->state == SV_W_GONE || w->state == SV_W_BACKOFF ? w->exit_text : w->why);
}

void
sv_workers_scale(void)
{
	unsigned have = 0, i;

	if (sv.stopping)
		return;
	for (i = 0; i < SV_MAX_SLOTS; i++)
		if (sv.workers[i].wanted)
			have++;
	/* Grow into the lowest free slots, shrink from the highest. */
	batch_open = 1;
	for (i = 0; i < SV_MAX_SLOTS && have < sv.want; i++) {
		sv_worker *w = &sv.workers[i];
		if (w->wanted || w->state != SV_W_GONE)
			continue;
		w->wanted = 1;
		w->backoff_ms = 0;
		have++;
		sv_workers_event(w, SV_WE_START);
	}
	batch_end();
	for (i = SV_MAX_SLOTS; i-- > 0 && have > sv.want;) {
		sv_worker *w = &sv.workers[i];
		if (!w->wanted)
			continue;
		w->wanted = 0;
		have--;
		sv_info("draining worker %u (pid %d): workers set to %u", w->id,
		    (int)w->pid, sv.want);
		set_why(w, "workers set to %u", sv.want);
		sv_workers_event(w, SV_WE_DRAIN);
	}
	sv_readiness_check();
}

void
sv_workers_stop(int hard)
{
	unsigned i;

	sv_roll_abort("the supervisor is shutting down");

	for (i = 0; i < SV_MAX_SLOTS; i++) {
		sv_worker *w = &sv.workers[i];
		w->wanted = 0;
		if (w->state != SV_W_GONE)
			set_why(w, "the supervisor is stopping");
		sv_workers_event(w, hard ? SV_WE_STOP : SV_WE_DRAIN);
	}
}

int
sv_workers_all_gone(void)
{
	unsigned i;

	for (i = 0; i < SV_MAX_SLOTS; i++)
		if (sv.workers[i].state != SV_W_GONE)
			return 0;
	return 1;
}

/* Logs how the process ended and keeps it in w->exit_text. */
static void
log_exit(sv_worker *w, int status)
{
	const char *how = w->state == SV_W_DRAINING ? "exited" : "died";
	void (*say)(const char *, ...) = w->state == SV_W_DRAINING ? sv_info : sv_warn;

	if (WIFSIGNALED(status))
		snprintf(w->exit_text, sizeof w->exit_text, "%s on signal %d (%s)", how,
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(w->exit_text, sizeof w->exit_text, "%s with status %d", how,
		    WEXITSTATUS(status));
	say("worker %u (pid %d) %s", w->id, (int)w->pid, w->exit_text);
}

/* The exit event, then the roll, which may wait for this very exit. */
static void
exited(sv_worker *w, int status)
{
	pid_t pid = w->pid;

	log_exit(w, status);
	sv_workers_event(w, SV_WE_EXIT);
	sv_roll_exited(w->id, pid);
}

/* Reaps every child: workers, and anything else when we are PID 1. */
void
sv_workers_reap(void)
{
	for (;;) {
		int status;
		unsigned i;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid <= 0)
			return;
		for (i = 0; i < SV_MAX_SLOTS; i++)
			if (sv.workers[i].pid == pid)
				break;
		if (i == SV_MAX_SLOTS) {
			sv_checker_reaped(pid, status);
			continue;
		}
		exited(&sv.workers[i], status);
	}
}

/* A serving worker always has its ping clock, adopted ones too (an
 * in-place upgrade carries deadlines, not pings). */
static int
wants_ping_clock(const sv_worker *w)
{
	return w->state == SV_W_READY && !sv_deadline_set(&w->deadline) && w->chan.fd >= 0
	    && !w->killed;
}

void
sv_workers_timers(void)
{
	unsigned i;

	batch_open = 1;
	for (i = 0; i < SV_MAX_SLOTS; i++) {
		sv_worker *w = &sv.workers[i];
		if (wants_ping_clock(w))
			sv_tain_after(&w->deadline, &STAMP, PING_EVERY_MS);
		if (sv_deadline_due(&w->deadline))
			sv_workers_event(w, SV_WE_TIMER);
	}
	sv_roll_timers();
	batch_end();
}

void
sv_workers_deadline(tain *earliest)
{
	unsigned i;

	sv_roll_deadline(earliest);
	for (i = 0; i < SV_MAX_SLOTS; i++) {
		const sv_worker *w = &sv.workers[i];
		/* One without its ping clock gets it at the next round. */
		if (wants_ping_clock(w)) {
			tain_now_g();
			sv_deadline_earliest(earliest, &STAMP);
		} else
			sv_deadline_earliest(earliest, &w->deadline);
	}
}

int
sv_worker_send(sv_worker *w, unsigned argc, const char *const *argv)
{
	if (w->chan.fd < 0)
		return 0;
	if (!kk_chan_put(&w->chan, argc, argv))
		return 0;
	if (kk_chan_flush(&w->chan) < 0) {
		sv_workers_event(w, SV_WE_BROKEN);
		return 0;
	}
	return 1;
}

int
sv_worker_send_delta(sv_worker *w, uint64_t base, uint64_t gen, const char *text)
{
	char basebuf[32], genbuf[32];
	const char *argv[4];

	snprintf(basebuf, sizeof basebuf, "%llu", (unsigned long long)base);
	snprintf(genbuf, sizeof genbuf, "%llu", (unsigned long long)gen);
	argv[0] = KK_MSG_DELTA;
	argv[1] = basebuf;
	argv[2] = genbuf;
	argv[3] = text ? text : "";
	if (!sv_worker_send(w, 4, argv))
		return 0;
	w->sent_gen = gen;
	return 1;
}

int
sv_worker_send_state(sv_worker *w, uint64_t gen)
{
	char genbuf[32];
	const char *argv[2];
	int fd, ok;

	if (w->chan.fd < 0)
		return 0;
	fd = sv_state_memfd();
	if (fd < 0) {
		sv_warn("unable to prepare the state for worker %u: %s", w->id,
		    strerror(errno));
		return 0;
	}
	snprintf(genbuf, sizeof genbuf, "%llu", (unsigned long long)gen);
	argv[0] = KK_MSG_STATE;
	argv[1] = genbuf;
	ok = kk_chan_put_fd(&w->chan, 2, argv, fd);
	close(fd);
	if (!ok)
		return 0;
	if (kk_chan_flush(&w->chan) < 0) {
		sv_workers_event(w, SV_WE_BROKEN);
		return 0;
	}
	w->sent_gen = gen;
	return 1;
}

/* A free slot for a replacement: no process, not wanted. */
static sv_worker *
free_worker_slot(void)
{
	unsigned i;

	for (i = 0; i < SV_MAX_SLOTS; i++)
		if (sv.workers[i].state == SV_W_GONE && !sv.workers[i].wanted)
			return &sv.workers[i];
	return 0;
}

sv_worker *
sv_workers_replace(sv_worker *old, int rolled)
{
	sv_worker *w = free_worker_slot();

	if (!w)
		return 0;
	/* The slot's count of `set workers` moves to the replacement. */
	w->wanted = old->wanted;
	old->wanted = 0;
	w->replaces = old->id + 1;
	w->rolled = rolled;
	w->restarts = rolled ? 0 : old->restarts + 1;
	w->backoff_ms = 0;
	w->exit_text[0] = 0;
	old->replaced_by = w->id + 1;
	set_why(old, "being replaced by worker %u%s", w->id,
	    rolled ? " (upgrade workers)" : " (late)");
	sv_info("starting worker %u to replace %sworker %u (pid %d)%s", w->id,
	    rolled ? "" : "late ", old->id, (int)old->pid, rolled ? " (upgrade workers)" : "");
	sv_workers_event(w, SV_WE_START);
	return w;
}

void
sv_workers_replace_late(void)
{
	sv_worker *old = 0, *w;
	unsigned i;

	if (sv.stopping)
		return;
	for (i = 0; i < SV_MAX_SLOTS; i++) {
		w = &sv.workers[i];
		if (w->replaces && w->state != SV_W_GONE)
			return;		/* one replacement at a time */
		if (!old && w->late && !w->replaced_by
		    && (w->state == SV_W_READY || w->state == SV_W_SPAWNED))
			old = w;
	}
	if (!old)
		return;
	if (!sv_workers_replace(old, 0)) {
		sv_warn("no free slot to replace late worker %u (pid %d); killing it",
		    old->id, (int)old->pid);
		kill_worker(old);
	}
}

/* One message from a worker. */
static void
on_message(sv_worker *w, unsigned argc, char **argv)
{
	uint64_t gen = 0;

	/* A word that is not a number leaves 0, which no generation is. */
	if (argc >= 2 && !uint640_scan(argv[1], &gen))
		gen = 0;
	if (!strcmp(argv[0], KK_MSG_READY) && argc == 2) {
		w->acked_gen = gen;
		sv_workers_event(w, SV_WE_READY);
	} else if (!strcmp(argv[0], KK_MSG_ACK) && argc == 2) {
		w->acked_gen = gen;
		sv_txn_ack(w, gen);
	} else if (!strcmp(argv[0], KK_MSG_NACK) && argc >= 2) {
		sv_txn_nack(w, gen, argc >= 3 ? argv[2] : "no reason given");
	} else if (!strcmp(argv[0], KK_MSG_RESYNC) && argc == 2) {
		/* It missed a change: the whole state as it is now, which it
		 * acknowledges under that generation (a change in flight
		 * included, so that ack counts for it). */
		uint64_t now = sv_txn_state_gen();
		sv_warn("worker %u (pid %d) is on generation %llu, not on the one a change"
		    " applied to; sending it the whole state (generation %llu)", w->id,
		    (int)w->pid, (unsigned long long)gen, (unsigned long long)now);
		if ((!sv_listeners_send_new(w, now) || !sv_worker_send_state(w, now))
		    && w->chan.fd >= 0)
			sv_workers_event(w, SV_WE_BROKEN);
	} else if (!strcmp(argv[0], KK_MSG_PONG) && argc == 2) {
		if (w->state == SV_W_READY && w->ping_out && gen == w->ping_seq) {
			w->ping_out = 0;
			sv_deadline_in(&w->deadline, PING_EVERY_MS);
		}
	} else if (!strcmp(argv[0], KK_MSG_LOG_REOPENED) && argc >= 2) {
		sv_reopen_answer(w, argv[1], argc >= 3 ? argv[2] : 0);
	} else if (!strcmp(argv[0], KK_MSG_HEALTH)) {
		char by[32];
		snprintf(by, sizeof by, "worker %u", w->id);
		sv_health_report(by, 0, argc, argv);
	} else if (!strcmp(argv[0], KK_MSG_STATUS)) {
		if (w->status_discard)
			w->status_discard--;
		else
			sv_status_reply(w, argc >= 2 ? argv[1] : "");
	} else {
		char word[64];
		sv_scrub(word, sizeof word, argv[0]);
		sv_warn("worker %u (pid %d) sent an unknown message \"%s\"; ignored",
		    w->id, (int)w->pid, word);
	}
}

void
sv_workers_io(sv_worker *w, short revents)
{
	if (revents & POLLOUT && kk_chan_flush(&w->chan) < 0) {
		sv_workers_event(w, SV_WE_BROKEN);
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	for (;;) {
		char *argv[KK_FRAME_MAXWORDS];
		unsigned argc;
		int r = kk_chan_fill(&w->chan);

		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			sv_workers_event(w, SV_WE_BROKEN);
			return;
		}
		for (;;) {
			int m = kk_chan_next(&w->chan, argv, KK_FRAME_MAXWORDS, &argc);
			if (m < 0) {
				sv_warn("worker %u (pid %d) sent a malformed frame", w->id,
				    (int)w->pid);
				sv_workers_event(w, SV_WE_BROKEN);
				return;
			}
			if (!m)
				break;
			if (argc)
				on_message(w, argc, argv);
			if (w->chan.fd < 0)
				return;
		}
		if (r < 0)
			return;
	}
}
