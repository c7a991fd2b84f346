/* ISC license. */
/* The in-place upgrade, the supervisor's side: starting one (checks,
 * the handoff written into a memfd, the exec of kakehi-upgrade), the
 * trial check of a handoff (--check-handoff) and its adoption (--handoff),
 * which is also how the previous binary comes back when the next one
 * cannot take over. The envelope and fd checks are libkakehi's
 * (kakehi/handoff.h); the rolling upgrade of workers starts from one
 * place here, roll_workers. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <skalibs/iopause.h>

#include <kakehi/board.h>
#include <kakehi/metrics.h>
#include <kakehi/config.h>
#include <kakehi/frame.h>
#include <kakehi/handoff.h>

#include "sv.h"

extern char **environ;

/* Queued channel messages must reach their workers before the exec:
 * a loaded machine gets this long to take them. */
#define FLUSH_MS 2000

/* What the handoff says beyond the state and the sockets. */
typedef struct adoption adoption;
struct adoption {
	int fd;			/* the handoff memfd */
	int self;		/* O_PATH fd of the previous binary, -1 none */
	const char *rollback;	/* why the next binary did not take over */
	int no_workers;
	int client;		/* a control client waits for the answer */
	sv_origin origin;
	kk_str verbline;
	kk_str body;
	kk_str worker_bin;	/* the worker binary the previous one ran */
};

static adoption ad = { -1, -1, 0, 0, 0, { -1, 0, "", 0 }, KK_STR_ZERO, KK_STR_ZERO,
    KK_STR_ZERO };

/* The running binary as a path: the kernel adds " (deleted)" when the
 * file was replaced on disk since, and the path then holds the new one. */
static int
current_exe(char *buf, size_t len)
{
	static const char gone[] = " (deleted)";
	ssize_t r = readlink("/proc/self/exe", buf, len - 1);
	size_t n;

	if (r <= 0)
		return 0;
	buf[r] = 0;
	n = (size_t)r;
	if (n > sizeof gone - 1 && !strcmp(buf + n - (sizeof gone - 1), gone))
		buf[n - (sizeof gone - 1)] = 0;
	return 1;
}

/* kakehi-upgrade of the running binary set: beside this binary, else
 * PATH. The running set wrote the handoff, so its kakehi-upgrade reads
 * it. */
static int
find_upgrade(char *buf, size_t len)
{
	const char *path = getenv("PATH");
	char *slash;

	if (current_exe(buf, len) && (slash = strrchr(buf, '/'))
	    && (size_t)(slash - buf) + 16 < len) {
		strcpy(slash + 1, "kakehi-upgrade");
		if (!access(buf, X_OK))
			return 1;
	}
	while (path && *path) {
		size_t n = strcspn(path, ":");
		if (n && n + 16 < len) {
			memcpy(buf, path, n);
			strcpy(buf + n, "/kakehi-upgrade");
			if (!access(buf, X_OK))
				return 1;
		}
		path += n + (path[n] == ':');
	}
	return 0;
}

/* A binary worth trying: a regular file this user may execute. */
static int
check_binary(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (path[0] != '/') {
		snprintf(err, errlen, "upgrade: --binary %.300s: give an absolute path (kakehi-ctl"
		    " makes a relative one absolute); nothing changed", path);
		return 0;
	}
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "upgrade: --binary %.300s: %s; give the path of an installed"
		    " kakehi-supervisor; nothing changed", path, strerror(errno));
		return 0;
	}
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0) {
		snprintf(err, errlen, "upgrade: --binary %.300s: not an executable file; give the"
		    " path of an installed kakehi-supervisor; nothing changed", path);
		return 0;
	}
	return 1;
}

/* Every worker channel empty, within FLUSH_MS. */
static int
flush_channels(char *err, size_t errlen)
{
	tain until;

	sv_deadline_in(&until, FLUSH_MS);
	for (;;) {
		iopause_fd p[SV_MAX_SLOTS];
		unsigned n = 0, i;

		for (i = 0; i < SV_MAX_SLOTS; i++) {
			sv_worker *w = &sv.workers[i];
			if (w->chan.fd < 0 || !kk_chan_pending(&w->chan))
				continue;
			if (kk_chan_flush(&w->chan) < 0) {
				sv_workers_event(w, SV_WE_BROKEN);
				continue;
			}
			if (w->chan.fd >= 0 && kk_chan_pending(&w->chan)) {
				p[n].fd = w->chan.fd;
				p[n++].events = POLLOUT;
			}
		}
		if (!n)
			return 1;
		if (!tain_future(&until)) {
			snprintf(err, errlen, "upgrade: %u worker channel%s did not take the"
			    " messages queued for them within %ds; retry when the workers catch"
			    " up; nothing changed", n, n == 1 ? "" : "s", FLUSH_MS / 1000);
			return 0;
		}
		if (iopause_g(p, n, &until) < 0 && errno != EINTR) {
			snprintf(err, errlen, "upgrade: unable to wait for the worker channels:"
			    " %s; nothing changed", strerror(errno));
			return 0;
		}
	}
}

static int
write_worker(kk_str *b, const sv_worker *w)
{
	long long left = sv_deadline_set(&w->deadline) ? sv_ms_left(&w->deadline) : 0;

	if (sv_deadline_set(&w->deadline) && left < 1)
		left = 1;
	if (w->chan.fd >= 0)
		kk_str_catf(b, "worker %u %d ", w->id, w->chan.fd);
	else
		kk_str_catf(b, "worker %u - ", w->id);
	return kk_str_catf(b, "%s %d %llu %llu %u %d %lu %lld %lld %u %d %d %u %u %d %u %llu"
	    " %d ", sv_wstate_name(w->state), (int)w->pid, (unsigned long long)w->sent_gen,
	    (unsigned long long)w->acked_gen, w->restarts, w->wanted, w->backoff_ms, left,
	    sv_ms_since(&w->started_at), w->status_discard + sv_status_owed(w->id), w->killed,
	    w->late, w->replaced_by, w->replaces, w->rolled, w->bin_serial, w->ping_seq,
	    w->ping_out)
	    && kk_handoff_cathex(b, w->chan.in.s ? w->chan.in.s + w->chan.in_off : 0,
	    w->chan.in.len - w->chan.in_off)
	    && kk_str_cats(b, " ") && kk_str_catword(b, w->exit_text)
	    && kk_str_cats(b, " ") && kk_str_catword(b, w->why)
	    && kk_str_cats(b, "\n");
}

static int
write_body(kk_str *b, int self, const sv_origin *o, int no_workers, const char *verbline)
{
	char actor[sizeof o->actor], line[1024];
	size_t i;

	kk_str_catf(b, "self %d\n", self);
	kk_str_cats(b, "option config ");
	kk_str_catword(b, sv.config);
	kk_str_cats(b, "\n");
	if (sv.worker_opt) {
		kk_str_cats(b, "option worker ");
		kk_str_catword(b, sv.worker_opt);
		kk_str_cats(b, "\n");
	}
	/* What -W resolved to here: the way back uses it as it is, since the
	 * environment it inherits is the one the next binary was given. */
	kk_str_cats(b, "worker-bin ");
	kk_str_catword(b, sv.worker_bin);
	/* The next supervisor opens the worker binary again at its first
	 * start of a worker; the openings go on counting from here. */
	kk_str_catf(b, "\nworker-serial %u\n", sv.worker_serial);
	kk_str_catf(b, "generation %llu\nuptime-ms %lld\nupgrades %u\nhup-pending %d\n"
	    "ready-sent %d\n", (unsigned long long)sv.gen, sv_ms_since(&sv.started_at),
	    sv.upgrades,
	    sv.hup_pending, sv.ready_sent);
	if (sv.notif_fd >= 0)
		kk_str_catf(b, "notify %d\n", sv.notif_fd);
	if (sv.board_fd >= 0)
		kk_str_catf(b, "board %d\n", sv.board_fd);
	if (sv.metrics_fd >= 0)
		kk_str_catf(b, "metrics %d\n", sv.metrics_fd);
	/* Lines are lines: the request's text, for the answer and the audit,
	 * travels with its control characters already scrubbed. */
	sv_scrub(actor, sizeof actor, o->actor);
	sv_scrub(line, sizeof line, verbline);
	kk_str_catf(b, "request %d ", no_workers);
	kk_str_catword(b, actor);
	kk_str_cats(b, " ");
	kk_str_catword(b, line);
	kk_str_cats(b, "\n");
	if (!sv_control_handoff(b, o))
		return 0;
	for (i = 0; i < genalloc_len(sv_listenfd, &sv.lfds); i++) {
		const sv_listenfd *l = genalloc_s(sv_listenfd, &sv.lfds) + i;
		kk_str_cats(b, "listener ");
		kk_str_catword(b, l->addr);
		kk_str_catf(b, " %d %d\n", l->fd, l->spare);
	}
	for (i = 0; i < SV_MAX_SLOTS; i++)
		if (sv.workers[i].state != SV_W_GONE && !write_worker(b, &sv.workers[i]))
			return 0;
	if (!sv_tlskeys_handoff(b) || !kk_str_cats(b, "config\n")
	    || !kk_state_print(&sv.state, b))
		return 0;
	return kk_str_ready(b, 1);
}

static int
write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t r = write(fd, s, len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		s += r;
		len -= (size_t)r;
	}
	return 1;
}

/* A body holds the session-ticket keys: wiped before it is freed. */
static void
wipe(kk_str *s)
{
	if (s->s)
		explicit_bzero(s->s, s->cap);
	kk_str_free(s);
}

static int
has_break(const char *s)
{
	return s && strpbrk(s, "\n\r");
}

static void
refuse(const sv_origin *o, const char *verbline, const char *err)
{
	sv_warn("%s", err);
	sv_audit(o, verbline, 0, err);
	sv_control_reply(o, KK_REPLY_ERROR, err, strlen(err));
}

void
sv_upgrade_start(const sv_origin *o, const char *binary, int no_workers,
    const char *verbline)
{
	char err[KK_ERRLEN], self[PATH_MAX], up[PATH_MAX], fdbuf[16];
	kk_str body = KK_STR_ZERO, sealed = KK_STR_ZERO;
	const char *argv[5];
	int selffd = -1, memfd = -1, e;
	sv_event ev;

	if (!binary) {
		if (!current_exe(self, sizeof self)) {
			snprintf(err, sizeof err, "upgrade: unable to read /proc/self/exe: %s;"
			    " give the binary with --binary; nothing changed", strerror(errno));
			refuse(o, verbline, err);
			return;
		}
		binary = self;
	}
	if (!check_binary(binary, err, sizeof err)) {
		refuse(o, verbline, err);
		return;
	}
	if (sv_roll_busy()) {
		refuse(o, verbline, "upgrade: a rolling worker upgrade is in progress; retry"
		    " when it has answered; nothing changed");
		return;
	}
	if (!find_upgrade(up, sizeof up)) {
		refuse(o, verbline, "upgrade: kakehi-upgrade is neither beside this"
		    " kakehi-supervisor nor in PATH; install it with the binaries; nothing"
		    " changed");
		return;
	}
	if (has_break(sv.config) || has_break(sv.worker_opt) || has_break(sv.worker_bin)
	    || has_break(sv.socket_path)) {
		refuse(o, verbline, "upgrade: the config, worker or control socket path of this"
		    " supervisor has a line break, which the handoff cannot carry; restart the"
		    " supervisor instead; nothing changed");
		return;
	}
	if (!flush_channels(err, sizeof err)) {
		refuse(o, verbline, err);
		return;
	}
	/* The inode that runs now, whatever the path holds later: the way
	 * back when the next binary cannot take over. */
	selffd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	memfd = memfd_create("kakehi-handoff", MFD_CLOEXEC);
	if (selffd < 0 || memfd < 0 || !write_body(&body, selffd, o, no_workers, verbline)
	    || !kk_handoff_seal(&sealed, body.s, body.len)
	    || !write_all(memfd, sealed.s, sealed.len)) {
		snprintf(err, sizeof err, "upgrade: unable to write the handoff: %s; nothing"
		    " changed", strerror(errno));
		goto fail;
	}
	snprintf(fdbuf, sizeof fdbuf, "%d", memfd);
	argv[0] = up;
	argv[1] = "-h";
	argv[2] = fdbuf;
	argv[3] = binary;
	argv[4] = 0;
	sv_info("%s: upgrading in place to %s through %s, generation %llu", o->actor, binary,
	    up, (unsigned long long)sv.gen);
	if (sv_event_begin(&ev, "upgrade")) {
		sv_event_str(&ev, "result", "handing-over");
		sv_event_str(&ev, "actor", o->actor);
		sv_event_str(&ev, "binary", binary);
		sv_event_num(&ev, "generation", sv.gen);
		sv_event_end(&ev);
	}
	/* Followers of events get this too, after the event above. */
	sv_control_release(o, "the supervisor is being upgraded in place; this request"
	    " did not run: retry it");
	kk_handoff_cloexec(body.s, body.len, 0);
	fcntl(memfd, F_SETFD, 0);
	/* To systemd an upgrade is a reload: READY=1 comes from the
	 * supervisor that comes out of it. */
	sv_notify_reloading();
	execv(up, (char *const *)argv);
	e = errno;
	kk_handoff_cloexec(body.s, body.len, 1);
	sv_notify_ready_again();
	errno = e;
	snprintf(err, sizeof err, "upgrade: unable to exec %.300s: %s; nothing changed", up,
	    strerror(errno));
fail:
	if (selffd >= 0)
		close(selffd);
	if (memfd >= 0)
		close(memfd);
	wipe(&body);
	wipe(&sealed);
	refuse(o, verbline, err);
}

/* Adoption. Everything before sv_handoff_done changes only this
 * process's memory, so any failure can still give the whole handoff,
 * untouched, back to the previous binary. */

static void
adopt_failed(const char *why)
{
	char fdbuf[16], reason[KK_ERRLEN];

	if (ad.rollback || ad.self < 0)
		strerr_dief(111, "unable to adopt the handoff: ", why, "; the service is"
		    " down: restart the supervisor");
	sv_warn("unable to adopt the handoff: %s; the previous binary takes over again", why);
	snprintf(reason, sizeof reason, "the new supervisor could not adopt the handoff: %s",
	    why);
	snprintf(fdbuf, sizeof fdbuf, "%d", ad.fd);
	kk_handoff_cloexec(ad.body.s, ad.body.len, 0);
	fcntl(ad.fd, F_SETFD, 0);
	kk_handoff_exec_previous(ad.self, fdbuf, reason);
	strerr_diefusys(111, "exec the previous supervisor binary again; the service is"
	    " down: restart the supervisor");
}

static int
scan_u64(const char *s, unsigned long long *v)
{
	char *end;

	if (!*s || *s == '-')
		return 0;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !*end && !errno;
}

static int
scan_ll(const char *s, long long *v)
{
	char *end;

	if (!*s)
		return 0;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return !*end && !errno;
}

static int
scan_fd(const char *s, int *fd)
{
	unsigned long v;

	if (!kk_scan_uint(s, 0, INT_MAX, &v))
		return 0;
	*fd = (int)v;
	return 1;
}

static int
state_of(const char *name, enum sv_wstate *st)
{
	int i;

	for (i = 0; i < SV_W_NSTATES; i++)
		if (!strcmp(name, sv_wstate_name((enum sv_wstate)i))) {
			*st = (enum sv_wstate)i;
			return 1;
		}
	return 0;
}

static int
take_worker(unsigned argc, char **argv, int apply, char *err, size_t errlen)
{
	unsigned long long n[20];
	long long left, age;
	unsigned long id;
	enum sv_wstate st;
	kk_str in = KK_STR_ZERO;
	sv_worker *w;
	int fd = -1, i;

	/* worker ID FD STATE PID SENT ACKED RESTARTS WANTED BACKOFF-MS
	 * DEADLINE-LEFT-MS AGE-MS STATUS-DISCARD KILLED LATE REPLACED-BY
	 * REPLACES ROLLED BIN-SERIAL PING-SEQ PING-OUT INPUT-HEX EXIT-TEXT WHY */
	if (argc != 24 || !kk_scan_uint(argv[1], 0, SV_MAX_SLOTS - 1, &id)
	    || (strcmp(argv[2], "-") && !scan_fd(argv[2], &fd)) || !state_of(argv[3], &st)
	    || !scan_ll(argv[10], &left) || !scan_ll(argv[11], &age)) {
		snprintf(err, errlen, "malformed worker line (worker %s)", argc > 1 ? argv[1]
		    : "?");
		return 0;
	}
	for (i = 4; i <= 20; i++) {
		if (i == 10 || i == 11)
			continue;
		if (!scan_u64(argv[i], &n[i - 4])) {
			snprintf(err, errlen, "malformed worker line (worker %s, word %d)",
			    argv[1], i + 1);
			return 0;
		}
	}
	if (!kk_handoff_unhex(&in, argv[21])) {
		snprintf(err, errlen, "malformed channel input of worker %s", argv[1]);
		return 0;
	}
	if (!apply) {
		kk_str_free(&in);
		return 1;
	}
	w = &sv.workers[id];
	w->state = st;
	w->pid = (pid_t)n[0];
	w->sent_gen = n[1];
	w->acked_gen = n[2];
	w->restarts = (unsigned)n[3];
	w->wanted = (int)n[4];
	w->backoff_ms = (unsigned long)n[5];
	if (left > 0)
		sv_deadline_in(&w->deadline, (unsigned long)left);
	else
		w->deadline = tain_zero;
	sv_tain_ago(&w->started_at, age > 0 ? (unsigned long long)age : 0);
	w->status_discard = (unsigned)n[8];
	w->killed = (int)n[9];
	w->late = (int)n[10];
	w->replaced_by = (unsigned)n[11];
	w->replaces = (unsigned)n[12];
	w->rolled = (int)n[13];
	w->bin_serial = (unsigned)n[14];
	w->ping_seq = n[15];
	w->ping_out = (int)n[16];
	snprintf(w->exit_text, sizeof w->exit_text, "%s", argv[22]);
	snprintf(w->why, sizeof w->why, "%s", argv[23]);
	if (fd >= 0) {
		kk_chan_init(&w->chan, fd);
		w->chan.in = in;
	} else
		kk_str_free(&in);
	return 1;
}

static int
take_flag(const char *s, int *v)
{
	if (strcmp(s, "0") && strcmp(s, "1"))
		return 0;
	*v = s[0] == '1';
	return 1;
}

/* One line of the handoff; apply 0 only checks it. 1 ok, 0 with err. */
static int
take_line(unsigned argc, char **argv, int apply, char *err, size_t errlen)
{
	const char *w = argv[0];
	unsigned long long u;
	long long ll;
	int fd, flag;

#define WANT(n) do { if (argc != (n)) goto bad; } while (0)
	if (!strcmp(w, "self")) {
		WANT(2);
		if (!scan_fd(argv[1], &fd))
			goto bad;
		ad.self = fd;
	} else if (!strcmp(w, "option")) {
		WANT(3);
		if (!strcmp(argv[1], "config")) {
			if (apply && !(sv.config = strdup(argv[2])))
				goto nomem;
		} else if (!strcmp(argv[1], "worker")) {
			free((char *)sv.worker_opt);
			if (!(sv.worker_opt = strdup(argv[2])))
				goto nomem;
		} else
			goto bad;
	} else if (!strcmp(w, "worker-bin")) {
		WANT(2);
		kk_str_reset(&ad.worker_bin);
		if (!kk_str_cats(&ad.worker_bin, argv[1]))
			goto nomem;
	} else if (!strcmp(w, "worker-serial")) {
		WANT(2);
		if (!scan_u64(argv[1], &u))
			goto bad;
		sv.worker_serial = (unsigned)u;
	} else if (!strcmp(w, "generation")) {
		WANT(2);
		if (!scan_u64(argv[1], &u) || !u)
			goto bad;
		sv.gen = u;
	} else if (!strcmp(w, "uptime-ms")) {
		WANT(2);
		if (!scan_ll(argv[1], &ll))
			goto bad;
		sv_tain_ago(&sv.started_at, ll > 0 ? (unsigned long long)ll : 0);
	} else if (!strcmp(w, "upgrades")) {
		WANT(2);
		if (!scan_u64(argv[1], &u))
			goto bad;
		sv.upgrades = (unsigned)u;
	} else if (!strcmp(w, "hup-pending")) {
		WANT(2);
		if (!take_flag(argv[1], &sv.hup_pending))
			goto bad;
	} else if (!strcmp(w, "ready-sent")) {
		WANT(2);
		if (!take_flag(argv[1], &sv.ready_sent))
			goto bad;
	} else if (!strcmp(w, "notify")) {
		WANT(2);
		if (!scan_fd(argv[1], &fd))
			goto bad;
		sv.notif_fd = fd;
	} else if (!strcmp(w, "board")) {
		WANT(2);
		if (!scan_fd(argv[1], &fd))
			goto bad;
		/* The same segment the running workers map: their figures stay. */
		if (apply) {
			if (!(sv.board = kk_board_map(fd))) {
				snprintf(err, errlen, "unable to map the workers' board: %s",
				    strerror(errno));
				return 0;
			}
			sv.board_fd = fd;
		}
	} else if (!strcmp(w, "metrics")) {
		WANT(2);
		if (!scan_fd(argv[1], &fd))
			goto bad;
		/* The segment the running workers write: the sums go on. One
		 * of another layout (an older build's) is left to its workers,
		 * and a new one started: counting starts again, nothing else
		 * is lost over it. */
		if (apply) {
			if ((sv.metrics = kk_metrics_map(fd)))
				sv.metrics_fd = fd;
			else if (errno == EINVAL) {
				sv_warn("the metrics segment handed over has another layout;"
				    " starting a new one (counts start from zero)");
				close(fd);
			} else {
				snprintf(err, errlen, "unable to map the metrics segment: %s",
				    strerror(errno));
				return 0;
			}
		}
	} else if (!strcmp(w, "request")) {
		WANT(4);
		if (!take_flag(argv[1], &flag))
			goto bad;
		ad.no_workers = flag;
		snprintf(ad.origin.actor, sizeof ad.origin.actor, "%s", argv[2]);
		kk_str_reset(&ad.verbline);
		if (!kk_str_cats(&ad.verbline, argv[3]))
			goto nomem;
	} else if (!strcmp(w, "control")) {
		unsigned long ours, next;
		WANT(5);
		if (!scan_fd(argv[1], &fd) || !kk_scan_uint(argv[3], 0, 1, &ours)
		    || !kk_scan_uint(argv[4], 0, ~0U, &next))
			goto bad;
		if (apply) {
			if (!(sv.socket_path = strdup(argv[2])))
				goto nomem;
			sv_control_adopt(fd, sv.socket_path, (int)ours, (unsigned)next);
		}
	} else if (!strcmp(w, "client")) {
		unsigned long serial, uid;
		kk_str in = KK_STR_ZERO, out = KK_STR_ZERO;
		int ok;
		WANT(6);
		if (!scan_fd(argv[1], &fd) || !kk_scan_uint(argv[2], 0, ~0U, &serial)
		    || !kk_scan_uint(argv[3], 0, ~0U, &uid))
			goto bad;
		ok = kk_handoff_unhex(&in, argv[4]) && kk_handoff_unhex(&out, argv[5]);
		if (ok && apply) {
			ok = sv_control_adopt_client(fd, (unsigned)serial, (unsigned)uid,
			    ad.origin.actor, in.s, in.len, out.s, out.len, &ad.origin);
			ad.client = 1;
		}
		kk_str_free(&in);
		kk_str_free(&out);
		if (!ok)
			goto bad;
	} else if (!strcmp(w, "listener")) {
		kk_addr a;
		WANT(4);
		if (!scan_fd(argv[2], &fd) || !kk_addr_parse(&a, argv[1])
		    || !take_flag(argv[3], &flag))
			goto bad;
		if (apply && !sv_listeners_adopt(argv[1], fd, flag))
			goto nomem;
	} else if (!strcmp(w, "worker")) {
		return take_worker(argc, argv, apply, err, errlen);
	} else if (!strcmp(w, "tls-keys")) {
		return sv_tlskeys_adopt(argc, argv, apply, err, errlen);
	} else {
		snprintf(err, errlen, "unknown handoff line \"%.60s\"", w);
		return 0;
	}
	return 1;
#undef WANT
bad:
	snprintf(err, errlen, "malformed handoff line \"%.60s\" (%u words)", w, argc);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory taking the handoff line \"%.60s\"", w);
	return 0;
}

/* Reads, checks and (apply) takes the handoff on fd. 1 ok, 0 with err;
 * *res is the refusal for an exit code. */
static int
take_handoff(int fd, int apply, int *res, char *err, size_t errlen)
{
	char buf[4096];
	char *argv[KK_LINE_MAXWORDS];
	unsigned argc;
	size_t pos = 0;
	int r;

	ad.fd = fd;
	*res = kk_handoff_read(fd, &ad.body, err, errlen);
	if (*res != KK_HANDOFF_OK)
		return 0;
	*res = kk_handoff_check_fds(ad.body.s, ad.body.len, err, errlen);
	if (*res != KK_HANDOFF_OK)
		return 0;
	*res = KK_HANDOFF_EFORMAT;
	while ((r = kk_handoff_next(ad.body.s, ad.body.len, &pos, buf, sizeof buf, argv,
	    KK_LINE_MAXWORDS, &argc, err, errlen)) > 0)
		if (!take_line(argc, argv, apply, err, errlen))
			return 0;
	if (r < 0)
		return 0;
	if (!ad.verbline.s) {
		snprintf(err, errlen, "the handoff has no request line");
		return 0;
	}
	/* This build's grammar must take the whole state as it is. */
	kk_state_init(&sv.state);
	if (!kk_state_load_text(&sv.state, ad.body.s + pos, ad.body.len - pos, "handoff",
	    err, errlen))
		return 0;
	*res = KK_HANDOFF_OK;
	return 1;
}

int
sv_handoff_check(int fd)
{
	char err[KK_ERRLEN];
	const char *worker;
	int res;

	if (!take_handoff(fd, 0, &res, err, sizeof err)) {
		strerr_warn(PROG, ": fatal: handoff check failed: ", err);
		return res;
	}
	worker = sv_find_worker(sv.worker_opt, err, sizeof err);
	kk_state_free(&sv.state);
	kk_str_free(&ad.body);
	kk_str_free(&ad.verbline);
	kk_str_free(&ad.worker_bin);
	free((char *)sv.worker_opt);
	if (!worker) {
		strerr_warn(PROG, ": fatal: handoff check failed: ", err);
		return 111;
	}
	return 0;
}

void
sv_handoff_adopt(int fd, const char *rollback)
{
	char err[KK_ERRLEN];
	int res;

	ad.rollback = rollback;
	sv_workers_init();
	if (!take_handoff(fd, 1, &res, err, sizeof err))
		adopt_failed(err);
	/* A handoff of version 1 has no ticket keys: a new ring, and
	 * tickets issued before the upgrade get a full handshake. */
	sv_tlskeys_start();
	if (rollback && ad.worker_bin.len)
		sv.worker_bin = ad.worker_bin.s;
	else
		sv.worker_bin = sv_find_worker(sv.worker_opt, err, sizeof err);
	if (!sv.worker_bin)
		adopt_failed(err);
	if (!sv.config || !sv.socket_path)
		adopt_failed("the handoff names no config or no control socket");
	sv.want = sv.state.set.workers;
}

/* The one place the rolling upgrade of the workers starts, after the
 * supervisor took over: its final reply ends the client's answer. */
static void
roll_workers(void)
{
	sv_roll_start(&ad.origin);
}

void
sv_handoff_done(void)
{
	char exe[PATH_MAX];
	kk_str msg = KK_STR_ZERO, pids = KK_STR_ZERO;
	unsigned i, n = 0;

	close(ad.fd);
	if (ad.self >= 0)
		close(ad.self);
	if (!current_exe(exe, sizeof exe))
		snprintf(exe, sizeof exe, "?");
	for (i = 0; i < SV_MAX_SLOTS; i++)
		if (sv.workers[i].pid > 0) {
			kk_str_catf(&pids, "%s%d", n ? " " : "", (int)sv.workers[i].pid);
			n++;
		}
	if (ad.rollback) {
		kk_str_catf(&msg, "upgrade failed: %s; still running kakehi-supervisor %s (%s),"
		    " pid %d, generation %llu; nothing changed", ad.rollback, KAKEHI_VERSION,
		    exe, (int)getpid(), (unsigned long long)sv.gen);
		sv_warn("%s", msg.s);
	} else {
		sv.upgrades++;
		kk_str_catf(&msg, "upgraded in place: kakehi-supervisor %s (%s), pid %d,"
		    " generation %llu, %u worker%s kept (%s)\n", KAKEHI_VERSION, exe,
		    (int)getpid(), (unsigned long long)sv.gen, n, n == 1 ? "" : "s",
		    n ? pids.s : "none");
		sv_info("%.*s", (int)msg.len - 1, msg.s);
	}
	sv_audit(&ad.origin, ad.verbline.s, !ad.rollback, ad.rollback ? msg.s : 0);
	/* kakehi-check's channel closed with the exec: a new one starts;
	 * the verdicts' table starts empty (the workers keep theirs). */
	sv_health_sweep();
	sv_checker_sync();
	/* With the workers to roll, this is the first part of the answer. */
	if (ad.client)
		sv_control_reply(&ad.origin, ad.rollback ? KK_REPLY_ERROR : ad.no_workers
		    ? KK_REPLY_OK : KK_REPLY_MORE, msg.s, msg.len);
	kk_str_free(&msg);
	kk_str_free(&pids);
	wipe(&ad.body);
	kk_str_free(&ad.verbline);
	if (sv.worker_bin != ad.worker_bin.s)
		kk_str_free(&ad.worker_bin);
	/* Workers that exited while no supervisor ran are reaped now. */
	sv_workers_reap();
	sv_workers_scale();
	if (ad.rollback || ad.no_workers) {
		if (!ad.rollback)
			sv_info("--no-workers: workers keep running");
		sv_notify_ready_again();
	} else
		roll_workers();
}
