/* ISC license. */
/* The supervisor's private model, shared by its files: the authoritative
 * state and generation, the listener sockets it owns, the worker slots,
 * and the entry points each file offers the others. One process, one
 * instance: the files share the global `sv`. */
#ifndef KAKEHI_SV_H
#define KAKEHI_SV_H

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/types.h>
#include <skalibs/genalloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <kakehi/addr.h>
#include <kakehi/board.h>
#include <kakehi/chan.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>

/* Draining workers keep their slot until they exit, so a live change of
 * `set workers` can need up to twice the maximum at once. */
#define SV_MAX_SLOTS (2 * KK_MAX_WORKERS)
#define SV_MAX_CLIENTS 64

/* Worker lifecycle (workers.c drives it from a state x event table). */
enum sv_wstate {
	SV_W_GONE,	/* no process, not wanted */
	SV_W_BACKOFF,	/* wanted, crashed, waiting to respawn */
	SV_W_SPAWNED,	/* started, has not said ready */
	SV_W_READY,	/* serving */
	SV_W_DRAINING,	/* told to drain or stop, waiting for its exit */
	SV_W_NSTATES
};

enum sv_wevent {
	SV_WE_START,	/* the slot became wanted */
	SV_WE_READY,	/* "ready GEN" arrived */
	SV_WE_EXIT,	/* reaped */
	SV_WE_TIMER,	/* its deadline passed */
	SV_WE_DRAIN,	/* graceful stop of this worker */
	SV_WE_STOP,	/* immediate stop of this worker */
	SV_WE_BROKEN,	/* its channel failed or reached end of file */
	SV_WE_NEVENTS
};

typedef struct sv_worker sv_worker;
struct sv_worker {
	unsigned id;			/* slot index, given as -i */
	enum sv_wstate state;
	int wanted;			/* counts toward `set workers` */
	pid_t pid;			/* 0 when no process */
	kk_chan chan;			/* chan.fd < 0 when closed */
	uint64_t sent_gen;		/* last generation it was given */
	uint64_t acked_gen;		/* last generation it applied */
	unsigned restarts;
	tain started_at;
	tain deadline;			/* zero: none; ready, backoff, ping or kill bound */
	unsigned long backoff_ms;	/* delay before the next respawn */
	unsigned status_discard;	/* late status answers to drop */
	int killed;			/* SIGKILL sent */
	int late;			/* missed an ack deadline: to be replaced */
	unsigned replaced_by;		/* 1 + slot of its replacement; 0 none */
	unsigned replaces;		/* 1 + slot of the worker it replaces */
	int rolled;			/* started by upgrade workers (roll.c) */
	unsigned bin_serial;		/* the worker binary it was exec'd from */
	unsigned long long ping_seq;	/* last ping sent */
	int ping_out;			/* that ping is unanswered */
	char exit_text[96];		/* how its last process ended */
	char why[160];			/* why it is in its state, for status */
};

/* A listening socket the supervisor owns, by canonical address. A spare
 * is one inherited for an address no listener names: the parent (systemd,
 * s6-fdholder) may hold it too, so binding that address again would fail;
 * it waits, never sent to a worker, for a `listener add` of its address. */
typedef struct sv_listenfd sv_listenfd;
struct sv_listenfd {
	char addr[KK_ADDR_FMTLEN];
	int fd;
	uint64_t txn_gen;	/* nonzero: bound for that transaction, not committed */
	int spare;		/* inherited, no listener uses it */
	int from_spare;		/* taken from the spares by txn_gen: back if it aborts */
};

/* Who asked: a control client (slot and serial, so a reply to a client
 * that went away is dropped), or nobody (a signal). */
typedef struct sv_origin sv_origin;
struct sv_origin {
	int slot;		/* -1: not a client */
	unsigned serial;
	char actor[160];	/* "uid=U pid=P comm=C", or "signal HUP" */
	/* --json on a verb whose answer is text: its final answer goes as
	 * {"ok":true,"generation":G,"lines":[...]} (refusals stay text). */
	int json_wrap;
};

typedef struct sv_main sv_main;
struct sv_main {
	const char *config;		/* CONFIG as given */
	const char *worker_bin;
	const char *worker_opt;		/* -W as given, NULL when absent */
	/* The worker binary, opened O_PATH at the first start of a worker
	 * and exec'd from this fd, so an upgrade on disk changes nothing
	 * until `upgrade workers` re-opens it (DESIGN.md section 6); -1
	 * before. Each opening gets a serial, from 1. */
	int worker_fd;
	unsigned worker_serial;
	const char *socket_path;
	kk_state state;			/* committed, plus the change in flight */
	uint64_t gen;			/* generation of the committed state */
	tain started_at;
	genalloc lfds;			/* sv_listenfd, by address */
	sv_worker workers[SV_MAX_SLOTS];
	unsigned want;			/* workers wanted */
	int notif_fd;			/* -d, -1 when done or absent */
	int ready_sent;
	int stopping;			/* 0, 1 graceful, 2 hard */
	int hup_pending;
	int usr2_pending;
	unsigned upgrades;		/* in-place upgrades this pid went through */
	/* The board the workers share connections by (kakehi/board.h):
	 * created at start, given to every worker; -1 and NULL without. */
	int board_fd;
	kk_board *board;
	/* The metrics segment (kakehi/metrics.h, metrics.c): the same,
	 * -1 and NULL without. */
	int metrics_fd;
	struct kk_metrics *metrics;
};

extern sv_main sv;

/* log.c: the clock, and one line per call on stderr, "kakehi-supervisor:
 * LEVEL: ...". Times are tain values of STAMP on the stopwatch; a zero
 * tain (tain_zero) is no deadline. sv_now: t = now (STAMP refreshed);
 * sv_tain_ago: t = now - ms (a start time carried by an upgrade, as an
 * age); sv_tain_after: d = t + ms;
 * sv_deadline_in: d = now + ms (STAMP refreshed); sv_deadline_due: set
 * and not after STAMP as the loop last read it; sv_deadline_earliest:
 * lowers *earliest to d when d is set and earlier; sv_ms_since and
 * sv_ms_left: milliseconds from t to now, from now to d (negative when
 * past), STAMP refreshed. Each module's _timers acts on what is due at
 * STAMP, and its _deadline lowers *earliest to its next deadline: the
 * loop waits in iopause_g until the earliest. */
void sv_now(tain *t);
void sv_tain_ago(tain *t, unsigned long long ms);
void sv_tain_after(tain *d, const tain *t, unsigned long ms);
void sv_deadline_in(tain *d, unsigned long ms);
int sv_deadline_set(const tain *d);
int sv_deadline_due(const tain *d);
void sv_deadline_earliest(tain *earliest, const tain *d);
long long sv_ms_since(const tain *t);
long long sv_ms_left(const tain *d);
void sv_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sv_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Fatal errors use strerr ("kakehi-supervisor: fatal: ..."); sv_dief is
 * strerr_dief for errors after the control socket exists, which must not
 * outlive the process: sv_control_finish removes it first. */
#define sv_dief(e, ...) (sv_control_finish(), strerr_dief(e, __VA_ARGS__))
#define sv_diefusys(e, ...) \
	do { int sv_e_ = errno; sv_control_finish(); errno = sv_e_; \
		strerr_diefusys(e, __VA_ARGS__); } while (0)
/* A warning a peer can provoke at will (a connect, a bad frame): at most
 * one line per SV_WARN_EVERY_MS for each limiter, and the next line says
 * how many were left out, so a flood of connections cannot fill the log. */
#define SV_WARN_EVERY_MS 10000
typedef struct sv_ratelimit sv_ratelimit;
struct sv_ratelimit {
	tain last;		/* when the last line was written */
	unsigned skipped;	/* warnings left out since */
	int used;		/* a line was written: last is valid */
};
void sv_warn_limited(sv_ratelimit *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Copies src to dst (size n), control characters replaced by '?'. */
void sv_scrub(char *dst, size_t n, const char *src);
/* One audit line: result=ok, or "error: result" (the verb ran and
 * failed); sv_audit_refused writes "refused: why" for a request that never
 * reached its verb (it did not parse, or the supervisor is stopping). */
void sv_audit(const sv_origin *, const char *verbline, int ok, const char *result);
void sv_audit_refused(const sv_origin *, const char *verbline, const char *why);
/* Fills o->actor from a peer's credentials (comm from /proc). */
void sv_actor_of_peer(sv_origin *o, pid_t pid, uid_t uid);

/* listeners.c */
void sv_listeners_start(const kk_state *);
int sv_listener_fd(const char *addr);
/* Binds what `to` needs and the supervisor lacks, tagged with gen. 1 ok;
 * 0 with err, nothing kept. */
int sv_listeners_prepare(const kk_state *to, uint64_t gen, char *err, size_t errlen);
/* Commit (keep gen's sockets) or abort (close them); then close every
 * socket the state `keep` does not name. */
void sv_listeners_settle(uint64_t gen, int commit, const kk_state *keep);
/* Sends the sockets bound for gen to a worker, before the update. */
int sv_listeners_send_new(sv_worker *, uint64_t gen);
void sv_listeners_close_all(void);

/* workers.c */
void sv_workers_init(void);
void sv_workers_event(sv_worker *, enum sv_wevent);
void sv_workers_scale(void);		/* match sv.want */
void sv_workers_reap(void);
void sv_workers_timers(void);
void sv_workers_deadline(tain *earliest);
void sv_workers_io(sv_worker *, short revents);
int sv_worker_live(const sv_worker *);	/* has a process and a channel */
int sv_worker_send(sv_worker *, unsigned argc, const char *const *argv);
/* Queues "delta BASE GEN TEXT" (text NUL-terminated: it travels as one
 * word); 1 ok, 0 the channel failed. */
int sv_worker_send_delta(sv_worker *, uint64_t base, uint64_t gen, const char *text);
/* Queues "state GEN" with a memfd of sv.state as it is now. 1 ok, 0 failed. */
int sv_worker_send_state(sv_worker *, uint64_t gen);
/* Starts the replacement of the next late worker, unless one is already
 * on its way: one at a time, so the others keep accepting. */
void sv_workers_replace_late(void);
/* Starts a worker in a free slot that takes over old's place in `set
 * workers` and drains old once it is ready. rolled: for roll.c. The new
 * slot, or NULL when none is free. */
sv_worker *sv_workers_replace(sv_worker *old, int rolled);
/* A worker that will serve the changes to come: a process and a channel,
 * starting, serving or draining (a draining worker still answers on
 * the connections it holds). */
int sv_worker_follows(const sv_worker *);
void sv_workers_stop(int hard);
int sv_workers_all_gone(void);
const char *sv_wstate_name(enum sv_wstate);

/* certs.c: certificate dates, checked for operators, warned about in
 * saved states. */
/* Whether path starts as a file written by state save. */
int sv_certs_saved_state(const char *path);
/* Every certificate of st (after a load at start), or those a journal
 * adds or replaces: when saved, a warning for each not valid now; else
 * 1 when all are valid, 0 with "SOURCE: certificate FP of listener L:
 * why; nothing changed". */
int sv_certs_check_state(const kk_state *, int saved, const char *source, char *err,
    size_t errlen);
int sv_certs_check_journal(const kk_state *, const kk_journal *, int saved,
    const char *source, char *err, size_t errlen);

/* txn.c: one change in flight at a time. */
int sv_txn_busy(void);
/* The generation sv.state holds now: the transaction's while one is in
 * flight (the change is applied under its journal), else sv.gen. */
uint64_t sv_txn_state_gen(void);
/* Starts fanning out a change already applied to sv.state under j (takes
 * the journal): delta is its verb lines, sent to the workers; okbody is
 * the reply text on success. The reply goes to origin when done. */
void sv_txn_begin(kk_journal *j, const char *delta, size_t len, const sv_origin *,
    const char *verbline, const char *okbody);
void sv_txn_ack(sv_worker *, uint64_t gen);
void sv_txn_nack(sv_worker *, uint64_t gen, const char *reason);
void sv_txn_gone(sv_worker *);
void sv_txn_timers(void);
void sv_txn_deadline(tain *earliest);
void sv_txn_abort(const char *why);

/* roll.c: `upgrade workers`, one worker at a time. */
/* Re-opens the worker binary and replaces every worker by one started
 * from it; progress lines ("more follows") and the final reply go to
 * origin, which must still be owed its reply (or be a signal's: the log),
 * when all are replaced or one fails. Also the step after an in-place
 * supervisor upgrade. */
void sv_roll_start(const sv_origin *);
int sv_roll_busy(void);
/* The fd to exec for w (the binary being rolled out to a replacement the
 * roll started, else sv.worker_fd) and its serial. */
int sv_roll_exec_fd(const sv_worker *w, unsigned *serial);
/* Events of the roll's workers, from workers.c. */
void sv_roll_ready(sv_worker *);
void sv_roll_failed(sv_worker *, const char *why);
void sv_roll_exited(unsigned id, pid_t pid);
void sv_roll_abort(const char *why);
void sv_roll_timers(void);
void sv_roll_deadline(tain *earliest);
/* A line (text) or a member (json, with its leading comma) for status. */
void sv_roll_status(kk_str *out, int json);

/* status.c: gathering worker counters for the status verb. */
void sv_status_begin(const sv_origin *, int json, int workers);
void sv_status_reply(sv_worker *, const char *text);
void sv_status_gone(sv_worker *);
void sv_status_timers(void);
void sv_status_deadline(tain *earliest);

/* control.c */
/* In-place upgrade hooks: the control socket and the client `keep` as
 * handoff lines (1 ok, 0 ENOMEM); answering every other client with why
 * and closing it; and, in the next supervisor, taking them back. */
int sv_control_handoff(kk_str *out, const sv_origin *keep);
void sv_control_release(const sv_origin *keep, const char *why);
void sv_control_adopt(int fd, const char *path, int ours, unsigned next_serial);
int sv_control_adopt_client(int fd, unsigned serial, unsigned uid, const char *actor,
    const char *in, size_t inlen, const char *out, size_t outlen, sv_origin *o);
void sv_control_open(const char *path);
/* Stops accepting and removes the socket file; clients stay until their
 * replies are written. */
void sv_control_close(void);
/* Last words before exit: writes pending replies (briefly), closes all,
 * and removes the socket file if still there (also on a fatal error). */
void sv_control_finish(void);
/* Replies to origin (a client, or the log for a signal). */
void sv_control_reply(const sv_origin *, char status, const char *body, size_t len);
/* The clients following events (kakehi-ctl events), and one event for
 * each of them in the form it asked for (events.c builds it). */
unsigned sv_control_followers(void);
void sv_control_event(const char *text, size_t tlen, const char *json, size_t jlen);

/* One event (events.c): sv_event_begin returns 0 when nobody follows,
 * and the rest may then be skipped; sv_event_end sends it and frees it. */
typedef struct sv_event sv_event;
struct sv_event {
	kk_str text, json;
	int ok;
};
int sv_event_begin(sv_event *, const char *kind);
void sv_event_str(sv_event *, const char *key, const char *value);
void sv_event_num(sv_event *, const char *key, unsigned long long value);
/* A verb line as a value, without a certificate's key bytes. */
void sv_event_verb(sv_event *, const char *key, const char *verbline);
void sv_event_end(sv_event *);
/* Runs what can run now: requests held behind a finished transaction
 * (and a pending SIGHUP reload), then complete frames of idle clients.
 * Called by the loop, never from inside a handler. */
void sv_control_pump(void);
/* Reload CONFIG (file NULL) or file as one transaction. */
void sv_reload(const sv_origin *, const char *file, const char *verbline);
/* Readies the reload scratch with file's state (control.c says why). */
void sv_reload_warm(const char *file);
/* Poll entries: ids[i] is -1 for the listening socket, else a client. */
unsigned sv_control_pollfds(struct pollfd *, unsigned max, int *ids);
void sv_control_io(int id, short revents);
/* Closes the clients past their idle or partial-frame deadline; lowers
 * *earliest to the next such deadline. */
void sv_control_timers(void);
void sv_control_deadline(tain *earliest);

/* reopen.c: log reopen and SIGUSR1. sv_reopen_begin asks every live
 * worker to reopen its access-log file and answers o (NULL: the log)
 * once each has said how it went or worker-timeout passed;
 * sv_reopen_answer takes a worker's log-reopened SEQ [WHY];
 * sv_reopen_gone: w's channel closed, it is waited for no more. */
void sv_reopen_begin(const sv_origin *o);
void sv_reopen_answer(sv_worker *w, const char *seq, const char *why);
void sv_reopen_gone(sv_worker *w);
void sv_reopen_timers(void);
void sv_reopen_deadline(tain *earliest);

/* kakehi-supervisor.c */
void sv_stop(int hard, const char *why);
/* The worker binary for -W given (NULL: beside this binary, else PATH);
 * NULL with err when there is none. */
const char *sv_find_worker(const char *given, char *err, size_t errlen);
/* Traps the signals the loop reads; the selfpipe fd, or dies. */
int sv_signals_init(void);

/* handoff.c: the in-place upgrade. sv_upgrade_start checks the request
 * (binary, kakehi-upgrade, worker channels), writes the handoff and execs
 * kakehi-upgrade; it returns only when it refused, having replied to o.
 * sv_handoff_check is --check-handoff: reads and validates a handoff,
 * acting on nothing, and returns the exit code. sv_handoff_adopt is
 * --handoff: takes the state, sockets, workers and client over into sv,
 * or execs the previous binary when it cannot; sv_handoff_done then
 * answers the client and starts what follows an upgrade. */
void sv_upgrade_start(const sv_origin *o, const char *binary, int no_workers,
    const char *verbline);
int sv_handoff_check(int fd);
void sv_handoff_adopt(int fd, const char *rollback);
void sv_handoff_done(void);

/* listeners.c, for the handoff: takes over a listening socket, a spare
 * or not. */
int sv_listeners_adopt(const char *addr, int fd, int spare);

/* status.c, for the handoff: status answers worker slot still owes. */
unsigned sv_status_owed(unsigned slot);

/* tlskeys.c: the session-ticket key ring (proto.h, tls-keys). start
 * makes the first ring unless the handoff brought one; send queues it on
 * a worker's channel (1 ok or no ring, 0 the channel failed); the timers
 * rotate it every tls-ticket-rotation and send it to every worker. The
 * handoff line carries it through an in-place upgrade (adopt with apply
 * 0 only checks the line). status appends its serial and the public name
 * of the encrypting key, text lines or JSON members (leading comma). */
void sv_tlskeys_start(void);
int sv_tlskeys_send(sv_worker *);
void sv_tlskeys_deadline(tain *earliest);
void sv_tlskeys_timers(void);
int sv_tlskeys_status(kk_str *out, int json);
int sv_tlskeys_handoff(kk_str *out);
int sv_tlskeys_adopt(unsigned argc, char **argv, int apply, char *err, size_t errlen);

/* checker.c: kakehi-check, the active health checks (doc/kakehi-check.html).
 * sync starts or stops it as the state has health checks or not; change
 * sends it a committed change; reaped takes a child's exit (1 it was
 * kakehi-check); io, pollfd, timers, deadline and stop as for workers;
 * status appends its line (text) or member (JSON, leading comma). */
void sv_checker_sync(void);
void sv_checker_change(uint64_t base, uint64_t gen, const char *delta);
int sv_checker_reaped(pid_t pid, int status);
void sv_checker_io(short revents);
int sv_checker_pollfd(struct pollfd *);
void sv_checker_timers(void);
void sv_checker_deadline(tain *earliest);
void sv_checker_stop(void);
void sv_checker_status(kk_str *out, int json);
/* workers.c: a memfd holding sv.state as it is now, read from its start;
 * -1 with errno. */
int sv_state_memfd(void);

/* health.c: the health verdicts (kakehi/proto.h, health). report takes
 * "health CLUSTER BACKEND down|up" from a worker (by names it for the
 * log and the event); send queues the verdicts in force on a starting
 * worker's channel (1 ok, 0 the channel failed); status appends the
 * counts and the backends out, text lines or a JSON member (leading
 * comma). */
void sv_health_report(const char *by, int held, unsigned argc, char **argv);
/* Drops the verdicts on backends the state no longer has, and the held
 * ones of clusters whose health check is gone (putting those back). */
void sv_health_sweep(void);
int sv_health_send(sv_worker *);
void sv_health_status(kk_str *out, int json);

/* readiness.c: what the service manager is told (s6 -d fd, systemd's
 * $NOTIFY_SOCKET). Every call is cheap and never blocks; without
 * $NOTIFY_SOCKET only the -d fd is used. */
/* Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID; at startup. */
void sv_notify_init(void);
/* In a child before it execs: the variables are the supervisor's only. */
void sv_notify_child_env(void);
/* Signals readiness once, when every wanted worker is ready. */
void sv_readiness_check(void);
/* A reload or an upgrade starts: RELOADING=1 with MONOTONIC_USEC=. The
 * end of a reload is seen by sv_notify_pump; an upgrade says it ends
 * with sv_notify_ready_again (READY=1), from whichever binary serves
 * after it, once the handoff restored sv.ready_sent. */
void sv_notify_reloading(void);
void sv_notify_ready_again(void);
void sv_notify_stopping(void);
/* A change ended (its verb line, applied or refused): STATUS= names it. */
void sv_notify_change(const char *verbline, int ok);
/* From the loop, each turn: the end of a reload, a STATUS= that changed. */
void sv_notify_pump(void);
void sv_notify_deadline(tain *earliest);
void sv_notify_timers(void);

/* metrics.c: the metrics segment. sv_metrics_start creates it and gives
 * the state's objects their slots; sv_metrics_sync gives slots to the
 * objects of st that have none (before a change goes out);
 * sv_metrics_commit_journal frees those of the objects a journal removed
 * (st the state with it applied, before it is committed: O(changes)),
 * sv_metrics_prune those of every object st no longer has (a walk of
 * the slots, after an undo); a worker's stripe is marked when it is
 * spawned and its gauges settled when it exits. */
void sv_metrics_start(void);
void sv_metrics_sync(const kk_state *st);
/* The same for the objects journal j added: O(changes), for a change. */
void sv_metrics_sync_journal(const kk_state *st, const kk_journal *j);
void sv_metrics_commit_journal(const kk_state *st, const kk_journal *j);
void sv_metrics_prune(const kk_state *st);
void sv_metrics_spawned(const sv_worker *w);
void sv_metrics_exited(const sv_worker *w);
uint64_t sv_metrics_now_ms(void);

/* statsd.c: the statsd push (set statsd), driven by the loop's timers. */
void sv_statsd_timers(void);
void sv_statsd_deadline(tain *earliest);

#endif
