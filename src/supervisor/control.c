/* ISC license. */
/* The control socket: a unix stream socket, mode 0600, whose clients are
 * checked by SO_PEERCRED and send one verb line per frame. Every request
 * is parsed again here (a client is never trusted) and dispatched through
 * one table indexed by verb. Mutations wait for the transaction in
 * flight; a bad frame closes only its own connection. The client slots are
 * bounded, so a client that holds one without using it is closed after a
 * deadline, and makes room when a new client finds every slot taken. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <skalibs/types.h>

#include <kakehi/cert.h>
#include <kakehi/frame.h>
#include <kakehi/metrics.h>
#include <kakehi/handoff.h>
#include <kakehi/statejournal.h>

#include "sv.h"

/* kakehi-ctl sends its whole request as soon as it is connected, and a
 * script keeping a connection between verbs is not held up by 10 s; a
 * slot kept longer without a request is one that `kakehi-ctl status`
 * may need. */
#define CLIENT_IDLE_MS 10000
/* A verb line is a few hundred bytes, sent in one write: a frame still
 * incomplete after 5 s is a client that stopped mid-frame, not a slow
 * link (a local socket has none). */
#define CLIENT_FRAME_MS 5000
/* A client connected this recently without a request is most likely a
 * kakehi-ctl whose request is on its way: it is not closed to make room.
 * With every slot taken, new clients wait in the listen backlog until a
 * slot frees or an idle client gets this old (1000 clients at once would
 * otherwise close each other before sending a byte). */
#define CLIENT_EVICT_MIN_MS 1000
/* Events (kakehi-ctl events): few followers, each a slot kept for as long
 * as it reads; one that lets more than EVENTS_BACKLOG bytes wait is
 * dropped with a notice rather than let grow without bound. An empty
 * frame every EVENTS_BEAT_MS of silence finds followers that went away
 * without a hangup the poll would see. */
#define EVENTS_MAX_FOLLOWERS 8
#define EVENTS_BACKLOG 65536
#define EVENTS_BEAT_MS 10000

typedef struct client client;
struct client {
	int fd;			/* -1: free slot */
	unsigned serial;	/* bumped per connection, so stale replies drop */
	uid_t uid;
	sv_origin origin;
	kk_str in, out;
	kk_str req;		/* the request being handled or held */
	int busy;		/* a reply is owed: stop reading */
	unsigned long long held;	/* nonzero: queue position of a held mutation */
	int closing;		/* close once out is written */
	/* Follows events (kakehi-ctl events): 1 as text, 2 as JSON. It
	 * stays busy: nothing more is read from it but the hangup. */
	unsigned char follows;
	tain beat_at;		/* the last event frame queued */
	tain since;		/* connected, last reply queued or written */
	tain frame_at;		/* the first byte of the frame in `in` */
	/* An answer to metrics still being made: a part a loop turn
	 * (metrics_part), so a large one never holds the loop. */
	kk_metrics_printer *printer;
};

static client clients[SV_MAX_CLIENTS];
static int listen_fd = -1;
static unsigned next_serial = 1;
static unsigned long long next_hold = 1;
static int socket_ours;
/* Peers provoke these at will: one line per kind and interval. */
static sv_ratelimit rl_slots, rl_deadline, rl_frame, rl_uid;

/* Parent directory of the socket, created when missing (the default
 * lives under /run, which is empty after boot). */
static void
make_parent(const char *path)
{
	char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
	char *p;

	snprintf(dir, sizeof dir, "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return;
	*p = 0;
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			strerr_diefusys(111, "create directory ", dir,
			    " for the control socket");
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		strerr_diefusys(111, "create directory ", dir, " for the control socket");
}

/* An existing socket file is either live (another supervisor: refuse,
 * never steal it) or stale (left by a crash: remove it). */
static void
check_existing(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return;
		strerr_diefusys(111, "check control socket ", path);
	}
	if (!S_ISSOCK(st.st_mode))
		strerr_dief(111, "control socket path ", path, " exists and is not a socket;"
		    " remove it or choose another path with -s");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		strerr_diefusys(111, "create a socket");
	r = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
	close(fd);
	if (!r)
		strerr_dief(111, "control socket ", path, " is in use by a running supervisor;"
		    " stop it first, or give this one another socket with -s");
	if (errno != ECONNREFUSED)
		strerr_diefusys(111, "check control socket ", path);
	if (unlink(path) < 0)
		strerr_diefusys(111, "remove stale control socket ", path);
	sv_warn("removed stale control socket %s", path);
}

void
sv_control_open(const char *path)
{
	struct sockaddr_un sa;
	mode_t old;
	unsigned i;

	for (i = 0; i < SV_MAX_CLIENTS; i++)
		clients[i].fd = -1;
	if (strlen(path) >= sizeof sa.sun_path) {
		char max[SIZE_FMT];
		max[size_fmt(max, sizeof sa.sun_path - 1)] = 0;
		strerr_dief(100, "control socket path ", path, " is too long (at most ", max,
		    " bytes)");
	}
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	make_parent(path);
	check_existing(path, &sa);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		strerr_diefusys(111, "create the control socket");
	/* The umask makes the socket 0600 from its first instant. */
	old = umask(0177);
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		umask(old);
		errno = e;
		strerr_diefusys(111, "bind control socket ", path);
	}
	umask(old);
	socket_ours = 1;
	if (chmod(path, 0600) < 0 || listen(listen_fd, 64) < 0)
		sv_diefusys(111, "set up control socket ", path);
	sv_info("control socket %s", path);
}

static int dispatch(client *);

static void
drop_client(client *c)
{
	kk_metrics_printer_free(c->printer);
	close(c->fd);
	kk_str_free(&c->in);
	kk_str_free(&c->out);
	kk_str_free(&c->req);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

/* Stops accepting: closes the listening socket and removes its path, if
 * this supervisor created it. */
static void
close_listener(void)
{
	if (listen_fd >= 0) {
		close(listen_fd);
		listen_fd = -1;
	}
	if (socket_ours && sv.socket_path) {
		unlink(sv.socket_path);
		socket_ours = 0;
	}
}

void
sv_control_close(void)
{
	unsigned i;

	close_listener();
	/* sv.stopping is set: each held mutation is refused, and audited. */
	for (i = 0; i < SV_MAX_CLIENTS; i++)
		if (clients[i].fd >= 0 && clients[i].held)
			dispatch(&clients[i]);
}

static int
uid_allowed(uid_t uid)
{
	unsigned i;

	if (uid == 0 || uid == geteuid())
		return 1;
	for (i = 0; i < sv.state.set.nuids; i++)
		if (sv.state.set.uids[i] == uid)
			return 1;
	return 0;
}

/* What a client is waiting for, for the deadlines and the choice of
 * whom to close when the slots run out. */
enum cwait {
	CW_REPLY,	/* owed a reply (busy or held): never closed for time */
	CW_IDLE,	/* nothing sent, nothing to write */
	CW_FRAME,	/* part of a frame received */
	CW_WRITE	/* its reply, or a refusal, is still being written */
};

static enum cwait
client_wait(const client *c)
{
	if (c->busy || c->held)
		return CW_REPLY;
	if (c->out.len)
		return CW_WRITE;
	if (c->in.len)
		return CW_FRAME;
	return c->closing ? CW_WRITE : CW_IDLE;
}

/* tain_zero when none. A client slow to read its reply gets the idle
 * bound from its last progress. */
static void
client_deadline(const client *c, tain *d)
{
	switch (client_wait(c)) {
	case CW_REPLY:
		*d = tain_zero;
		break;
	case CW_FRAME:
		sv_tain_after(d, &c->frame_at, CLIENT_FRAME_MS);
		break;
	default:
		sv_tain_after(d, &c->since, CLIENT_IDLE_MS);
	}
}

/* Every slot is taken: the oldest idle client goes; failing that, the
 * oldest one stuck mid-frame or mid-write. A client owed a reply is never
 * chosen: its request is being served; nor one younger than
 * CLIENT_EVICT_MIN_MS. NULL when there is none to close. */
static client *
evictable(void)
{
	client *best = 0;
	enum cwait best_w = CW_REPLY;
	unsigned i;

	for (i = 0; i < SV_MAX_CLIENTS; i++) {
		client *c = &clients[i];
		enum cwait w = client_wait(c);
		if (c->fd < 0 || w == CW_REPLY || sv_ms_since(&c->since) < CLIENT_EVICT_MIN_MS)
			continue;
		if (w != CW_IDLE)
			w = CW_FRAME;	/* one rank for both */
		if (!best || (w == CW_IDLE && best_w != CW_IDLE)
		    || (w == best_w && tain_less(&c->since, &best->since))) {
			best = c;
			best_w = w;
		}
	}
	return best;
}

static client *
free_slot(pid_t pid)
{
	client *c;
	unsigned i;

	for (i = 0; i < SV_MAX_CLIENTS; i++)
		if (clients[i].fd < 0)
			return &clients[i];
	c = evictable();
	if (!c) {
		sv_warn_limited(&rl_slots, "refusing control client pid %d: all %d slots"
		    " are serving requests; retry when one is answered", (int)pid,
		    SV_MAX_CLIENTS);
		return 0;
	}
	sv_warn_limited(&rl_slots, "closing control client %s: all %d slots taken and"
	    " it was the oldest without a request in progress; a new client needs its"
	    " slot", c->origin.actor, SV_MAX_CLIENTS);
	drop_client(c);
	return c;
}

static int
slot_available(void)
{
	unsigned i;

	for (i = 0; i < SV_MAX_CLIENTS; i++)
		if (clients[i].fd < 0)
			return 1;
	return evictable() != 0;
}

/* Accepts while a slot can take the client: the others stay in the
 * listen backlog, where kakehi-ctl waits for its turn. */
static void
on_accept(void)
{
	while (slot_available()) {
		struct ucred cred;
		socklen_t len = sizeof cred;
		client *c;
		int fd = accept4(listen_fd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
			    && errno != ECONNABORTED)
				sv_warn("unable to accept on the control socket: %s",
				    strerror(errno));
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			sv_warn("unable to read the credentials of a control client: %s",
			    strerror(errno));
			close(fd);
			continue;
		}
		c = free_slot(cred.pid);
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		/* A request may carry a certificate's key (--key-data). */
		c->in.wipe = c->out.wipe = c->req.wipe = 1;
		c->serial = next_serial++;
		c->uid = cred.uid;
		sv_now(&c->since);
		c->origin.slot = (int)(c - clients);
		c->origin.serial = c->serial;
		sv_actor_of_peer(&c->origin, cred.pid, cred.uid);
		if (!uid_allowed(cred.uid)) {
			char msg[256];
			snprintf(msg, sizeof msg, "permission denied: uid %u may not use this"
			    " control socket; allow it with: set allowed-uids %u",
			    (unsigned)cred.uid, (unsigned)cred.uid);
			sv_warn_limited(&rl_uid, "refused control client %s: uid not allowed",
			    c->origin.actor);
			kk_reply_frame(&c->out, KK_REPLY_ERROR, msg, strlen(msg));
			c->closing = 1;
		}
	}
}

/* A text answer as JSON, for --json on a verb that answers text: the
 * generation now and the answer's lines. */
static int
json_answer(kk_str *j, const char *body, size_t len)
{
	const char *p = body, *end = body + len;
	int ok = kk_str_catf(j, "{\"ok\":true,\"generation\":%llu,\"lines\":[",
	    (unsigned long long)sv.gen);

	while (ok && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((eol ? eol : end) - p);
		kk_str line = KK_STR_ZERO;
		ok = kk_str_catb(&line, p, n)
		    && kk_str_cats(j, p == body ? "" : ",") && kk_str_catjson(j, line.s ? line.s : "");
		kk_str_free(&line);
		p = eol ? eol + 1 : end;
	}
	return ok && kk_str_cats(j, "]}\n");
}

/* The verbs whose answer has a JSON form of its own. */
static int
own_json(enum kk_verb_id id)
{
	switch (id) {
	case KK_V_LISTENER_LIST: case KK_V_CLUSTER_LIST: case KK_V_FRONTEND_LIST:
	case KK_V_BACKEND_LIST: case KK_V_CERTIFICATE_LIST: case KK_V_STATUS:
	case KK_V_STATE_DUMP: case KK_V_EVENTS: case KK_V_METRICS:
		return 1;
	default:
		return 0;
	}
}

void
sv_control_reply(const sv_origin *o, char status, const char *body, size_t len)
{
	client *c;

	if (o->slot < 0) {
		/* A signal asked: the log is the only reader, one line each. */
		const char *p = body, *end = body + len;
		if (!len && status == KK_REPLY_OK)
			return;
		do {
			const char *eol = memchr(p, '\n', (size_t)(end - p));
			int n = (int)((eol ? eol : end) - p);
			if (status == KK_REPLY_OK || status == KK_REPLY_MORE)
				sv_info("%s: applied: %.*s", o->actor, n, p);
			else
				sv_warn("%s: %.*s", o->actor, n, p);
			p = eol ? eol + 1 : end;
		} while (p < end);
		return;
	}
	c = &clients[o->slot];
	if (c->fd < 0 || c->serial != o->serial)
		return;
	if (status == KK_REPLY_OK && o->json_wrap) {
		kk_str j = KK_STR_ZERO;
		int ok = json_answer(&j, body, len)
		    && kk_reply_frame(&c->out, status, j.s, j.len);
		kk_str_free(&j);
		if (!ok) {
			sv_warn("out of memory replying to %s; closing it", c->origin.actor);
			c->closing = 1;
		}
	} else if (!kk_reply_frame(&c->out, status, body, len)) {
		sv_warn("out of memory replying to %s; closing it", c->origin.actor);
		c->closing = 1;
	}
	/* More follows: the request is still being served. */
	if (status == KK_REPLY_MORE)
		return;
	c->busy = 0;
	c->held = 0;
	sv_now(&c->since);
	c->frame_at = c->since;
	kk_str_reset(&c->req);
}

static void
reply_str(client *c, char status, const char *body)
{
	sv_control_reply(&c->origin, status, body, strlen(body));
}

static void
reply_kk(client *c, char status, kk_str *s)
{
	sv_control_reply(&c->origin, status, s->s ? s->s : "", s->len);
	kk_str_free(s);
}

/* The next part of a metrics answer (tens of MB for 100 000 sites): a
 * "more follows" frame of whole lines, about REPLY_PART bytes, which
 * kakehi-ctl writes out as it comes, or the last part as the reply. One
 * part a loop turn (sv_control_pump), and none while the client has not
 * read the last ones: the loop goes on between parts, and a slow reader
 * holds no more than a few parts. A frame holds KK_FRAME_MAX_CONTROL
 * bytes at most. */
#define REPLY_PART (1u << 20)
#define REPLY_QUEUED (4u << 20)

static void
metrics_part(client *c)
{
	kk_str part = KK_STR_ZERO;
	int r;

	if (!c->printer || c->out.len > REPLY_QUEUED)
		return;
	r = kk_metrics_printer_next(c->printer, &part, REPLY_PART);
	if (r > 0) {
		sv_control_reply(&c->origin, KK_REPLY_MORE, part.s, part.len);
		kk_str_free(&part);
		return;
	}
	kk_metrics_printer_free(c->printer);
	c->printer = NULL;
	if (r < 0) {
		kk_str_free(&part);
		reply_str(c, KK_REPLY_ERROR, "out of memory");
		return;
	}
	reply_kk(c, KK_REPLY_OK, &part);
}

/* Handlers: one per verb (or family). They reply, or start work that
 * replies later. */
typedef void handler(client *, const kk_verb *, int json, const char *verbline);

/* The options of the config verbs that name an operator's file, and the
 * data form kakehi-ctl sends instead. */
static const struct {
	enum kk_verb_id id;
	const char *opt, *data;
} client_files[] = {
	{ KK_V_LISTENER_ADD, "--client-ca", "--client-ca-data B64" },
	{ KK_V_LISTENER_ADD, "--answer", "--answer-data STATUS:B64" },
	{ KK_V_CLUSTER_ADD, "--answer", "--answer-data STATUS:B64" },
	{ KK_V_FRONTEND_ADD, "--htpasswd", "--htpasswd-data B64" },
};

/* A mutating verb is checked by applying it to the live state under a
 * journal: a refusal leaves the state untouched, an acceptance becomes a
 * transaction whose delta is the verb line itself. No copy of the state:
 * the cost follows the change, not the size of the state. */
static void
h_config(client *c, const kk_verb *v, int json, const char *verbline)
{
	char err[KK_ERRLEN];
	kk_journal j = KK_JOURNAL_ZERO;

	/* As for a certificate's files (file_opts below). */
	for (size_t i = 0; i < sizeof client_files / sizeof *client_files; i++)
		if (v->def->id == client_files[i].id && kk_verb_opt(v, client_files[i].opt)) {
			snprintf(err, sizeof err, "%s %s: %s names a file, which the supervisor does "
			    "not read for a client: send its bytes as %s (kakehi-ctl does so itself); "
			    "nothing changed", v->def->word1, v->def->word2, client_files[i].opt,
			    client_files[i].data);
			sv_audit(&c->origin, verbline, 0, err);
			reply_str(c, KK_REPLY_ERROR, err);
			return;
		}
	if (!kk_state_apply_journal(&sv.state, v, &j, err, sizeof err)) {
		/* Nothing to undo, but the journal may hold its first room. */
		kk_journal_undo(&sv.state, &j);
		sv_audit(&c->origin, verbline, 0, err);
		reply_str(c, KK_REPLY_ERROR, err);
		return;
	}
	sv_txn_begin(&j, verbline, strlen(verbline), &c->origin, verbline, "");
}

/* The options that name an operator's files: the supervisor reads none
 * on a client's behalf (it may not see them, and should not read files
 * for whoever holds the socket); kakehi-ctl sends their bytes. */
static const char *const file_opts[] = { "--cert", "--key", "--chain", "--ocsp" };

/* certificate add, replace, remove: a change like the others (its delta
 * is the verb line, which carries the one certificate it changes), with
 * the dates an operator's certificate must be valid at now. */
static void
h_certificate(client *c, const kk_verb *v, int json, const char *verbline)
{
	char err[KK_ERRLEN], what[32];
	kk_journal j = KK_JOURNAL_ZERO;
	kk_str body = KK_STR_ZERO;
	kk_change ch;
	size_t i;

	snprintf(what, sizeof what, "%s %s", v->def->word1, v->def->word2);
	for (i = 0; i < sizeof file_opts / sizeof *file_opts; i++)
		if (kk_verb_opt(v, file_opts[i])) {
			snprintf(err, sizeof err, "%s: %s names a file, which the supervisor "
			    "does not read for a client: send its bytes as %s-data B64 (kakehi-ctl "
			    "does so itself); nothing changed", what, file_opts[i], file_opts[i]);
			sv_audit(&c->origin, verbline, 0, err);
			reply_str(c, KK_REPLY_ERROR, err);
			return;
		}
	if (!kk_state_apply_journal(&sv.state, v, &j, err, sizeof err)
	    || !sv_certs_check_journal(&sv.state, &j, 0, what, err, sizeof err)) {
		kk_journal_undo(&sv.state, &j);
		sv_audit(&c->origin, verbline, 0, err);
		reply_str(c, KK_REPLY_ERROR, err);
		return;
	}
	kk_journal_change(&sv.state, &j, 0, &ch);
	if (v->def->id == KK_V_CERTIFICATE_REMOVE)
		kk_str_catf(&body, "removed certificate %s from %s\n", ch.x->fingerprint,
		    ch.x->listener);
	else {
		kk_str_catf(&body, "%s certificate %s to %s, names", v->def->id ==
		    KK_V_CERTIFICATE_ADD ? "added" : "replaced by", ch.x->fingerprint,
		    ch.x->listener);
		for (i = 0; i < ch.x->nnames; i++)
			kk_str_catf(&body, " %s", ch.x->names[i]);
		kk_str_cats(&body, "\n");
	}
	sv_txn_begin(&j, verbline, strlen(verbline), &c->origin, verbline,
	    body.s ? body.s : "");
	kk_str_free(&body);
}

static void
h_list(client *c, const kk_verb *v, int json, const char *verbline)
{
	char err[KK_ERRLEN];
	kk_str out = KK_STR_ZERO;

	if (!kk_state_list(&sv.state, v, json, &out, err, sizeof err)) {
		kk_str_free(&out);
		reply_str(c, KK_REPLY_ERROR, err);
		return;
	}
	reply_kk(c, KK_REPLY_OK, &out);
}

static void
h_status(client *c, const kk_verb *v, int json, const char *verbline)
{
	sv_status_begin(&c->origin, json, kk_verb_opt(v, "--workers") != 0);
}

unsigned
sv_control_followers(void)
{
	unsigned n = 0, i;

	for (i = 0; i < SV_MAX_CLIENTS; i++)
		n += clients[i].fd >= 0 && clients[i].follows;
	return n;
}

/* Queues one "more follows" frame for follower c: dropped, told why,
 * once its backlog passes the bound. */
static void
follow_frame(client *c, const char *body, size_t len)
{
	static const char why[] = "events: this reader fell more than 64 KiB behind and "
	    "was dropped; run kakehi-ctl events again";

	if (c->out.len + len > EVENTS_BACKLOG) {
		sv_warn("events: dropped %s: it fell more than %d bytes behind", c->origin.actor,
		    EVENTS_BACKLOG);
		c->follows = 0;
		sv_control_reply(&c->origin, KK_REPLY_ERROR, why, sizeof why - 1);
		c->closing = 1;
		return;
	}
	sv_control_reply(&c->origin, KK_REPLY_MORE, body, len);
	sv_now(&c->beat_at);
}

void
sv_control_event(const char *text, size_t tlen, const char *json, size_t jlen)
{
	unsigned i;

	for (i = 0; i < SV_MAX_CLIENTS; i++) {
		client *c = &clients[i];
		if (c->fd >= 0 && c->follows && !c->closing)
			follow_frame(c, c->follows == 2 ? json : text, c->follows == 2 ? jlen : tlen);
	}
}

/* events: the client follows from now on, until it goes or falls behind. */
static void
h_events(client *c, const kk_verb *v, int json, const char *verbline)
{
	char hello[128];
	int n;

	if (sv_control_followers() >= EVENTS_MAX_FOLLOWERS) {
		snprintf(hello, sizeof hello, "events: %d clients follow already, the most "
		    "allowed; stop one first", EVENTS_MAX_FOLLOWERS);
		reply_str(c, KK_REPLY_ERROR, hello);
		return;
	}
	c->follows = json ? 2 : 1;
	/* Its backlog is counted here (EVENTS_BACKLOG), not hidden in a
	 * kernel buffer of 200 KiB: a reader that stops is seen stopping. */
	{
		int sndbuf = 16384;
		setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	}
	/* The first frame says where the stream starts. */
	n = json ? snprintf(hello, sizeof hello, "{\"event\":\"following\",\"generation\":%llu}\n",
	    (unsigned long long)sv.gen) : snprintf(hello, sizeof hello,
	    "following events from generation %llu\n", (unsigned long long)sv.gen);
	follow_frame(c, hello, (size_t)n);
}

static void
h_state_save(client *c, const kk_verb *v, int json, const char *verbline)
{
	char err[KK_ERRLEN];

	if (!kk_state_save_file(&sv.state, v->pos[0], err, sizeof err)) {
		sv_audit(&c->origin, verbline, 0, err);
		reply_str(c, KK_REPLY_ERROR, err);
		return;
	}
	sv_audit(&c->origin, verbline, 1, 0);
	reply_str(c, KK_REPLY_OK, "");
}

static void
h_state_dump(client *c, const kk_verb *v, int json, const char *verbline)
{
	kk_str out = KK_STR_ZERO;

	/* Certificates as comments: a dump shows no key byte. */
	if (!(json ? kk_state_print_json(&sv.state, &out)
	    : kk_state_print_form(&sv.state, KK_CERT_HIDDEN, 0, &out))) {
		kk_str_free(&out);
		reply_str(c, KK_REPLY_ERROR, "out of memory");
		return;
	}
	reply_kk(c, KK_REPLY_OK, &out);
}

/* Whether the state has a backend id (in cluster, or in any when NULL:
 * a walk, for an operator's question, not per request). */
static int
backend_named(const char *cluster, const char *id)
{
	size_t i;

	if (cluster)
		return kk_state_backend(&sv.state, cluster, id) != 0;
	for (i = 0; i < sv.state.nbackends; i++)
		if (sv.state.backends[i].cluster && !strcmp(sv.state.backends[i].id, id))
			return 1;
	return 0;
}

/* The sums of the metrics segment, read in place: no worker is asked,
 * so the answer never waits for (or stalls) the data plane. */
static void
h_metrics(client *c, const kk_verb *v, int json, const char *verbline)
{
	kk_metrics_filter f;
	kk_str out = KK_STR_ZERO;
	enum kk_metrics_format fmt = kk_verb_opt(v, "--prometheus") ? KK_METRICS_PROMETHEUS :
	    json ? KK_METRICS_JSON : KK_METRICS_TEXT;

	(void)verbline;
	f.cluster = kk_verb_opt(v, "--cluster");
	f.backend = kk_verb_opt(v, "--backend");
	if (!sv.metrics) {
		reply_str(c, KK_REPLY_ERROR, "metrics: no metrics segment (see the supervisor's"
		    " log for why it could not be made)");
		return;
	}
	if (f.cluster && !kk_state_cluster(&sv.state, f.cluster)) {
		kk_str_catf(&out, "metrics: no cluster %s (see: kakehi-ctl cluster list)",
		    f.cluster);
		reply_kk(c, KK_REPLY_ERROR, &out);
		return;
	}
	if (f.backend && !backend_named(f.cluster, f.backend)) {
		kk_str_catf(&out, "metrics: no backend %s%s%s (see: kakehi-ctl backend list)",
		    f.backend, f.cluster ? " in cluster " : "", f.cluster ? f.cluster : "");
		reply_kk(c, KK_REPLY_ERROR, &out);
		return;
	}
	if (!(c->printer = kk_metrics_printer_new(sv.metrics, &f, fmt, sv_metrics_now_ms()))) {
		reply_str(c, KK_REPLY_ERROR, "out of memory");
		return;
	}
	metrics_part(c);
}

/* The reply to a reload lists the lines applied, up to this many bytes:
 * a difference of every object of a large state would not fit in a reply
 * frame (KK_FRAME_MAX_CONTROL), and kakehi-ctl would report a failure for
 * a change that was made. */
#define RELOAD_LISTING_MAX (256u << 10)

/* The lines of diff that fit in RELOAD_LISTING_MAX, then a count of the
 * rest. 1 ok, 0 ENOMEM. */
static int
reply_listing(kk_str *out, const char *diff, size_t len)
{
	size_t cut = len, more = 0, i;

	if (len > RELOAD_LISTING_MAX) {
		cut = RELOAD_LISTING_MAX;
		while (cut && diff[cut - 1] != '\n')
			cut--;
		for (i = cut; i < len; i++)
			more += diff[i] == '\n';
	}
	if (!kk_str_catb(out, diff, cut))
		return 0;
	if (more && !kk_str_catf(out, "... and %zu more lines (see: state dump)\n", more))
		return 0;
	return kk_str_ready(out, 1);
}

/* The identity of the object a diff line adds or removes, so that a
 * remove and an add of one identity count as one change: for a remove,
 * every word after the verb (kk_state_diff prints only the identity);
 * for an add, the words that name the object (listener: its address;
 * cluster: its id; backend: cluster and id; frontend: all, every word of
 * which is its identity). 0 for a line that is neither. */
typedef struct diffkey diffkey;
struct diffkey {
	const char *s;
	size_t len;
};

static int
line_key(const char *line, size_t len, int *add, diffkey *k)
{
	static const struct { const char *kind; unsigned skip, words; } ids[] = {
		{ "listener", 1, 1 }, { "cluster", 0, 1 }, { "backend", 0, 2 },
		{ "frontend", 0, ~0u },
	};
	const char *p = memchr(line, ' ', len), *end = line + len;
	size_t i, kl;
	unsigned w;

	if (!p)
		return 0;
	kl = (size_t)(p - line);
	for (i = 0; i < sizeof ids / sizeof ids[0]; i++)
		if (strlen(ids[i].kind) == kl && !memcmp(line, ids[i].kind, kl))
			break;
	if (i == sizeof ids / sizeof ids[0])
		return 0;
	p++;
	if ((size_t)(end - p) > 4 && !memcmp(p, "add ", 4))
		*add = 1, p += 4;
	else if ((size_t)(end - p) > 7 && !memcmp(p, "remove ", 7)) {
		*add = 0, p += 7;
		k->s = p;
		k->len = (size_t)(end - p);
		return 1;
	} else
		return 0;
	for (w = 0; w < ids[i].skip && p < end; w++) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		p = sp ? sp + 1 : end;
	}
	k->s = p;
	for (w = 0; w < ids[i].words && p < end; w++) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		p = sp ? sp + (w + 1 < ids[i].words) : end;
	}
	k->len = (size_t)(p - k->s);
	return k->len > 0;
}

static int
key_cmp(const void *a, const void *b)
{
	const diffkey *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* "N added, N removed, N changed, N settings" for a diff, the nonzero
 * counts only. A changed object is removed and added again, and so is
 * each object that depends on it (kk_state_diff): those count as
 * changed too. Removes are sorted by identity and each add looked up,
 * so a reload of a large state stays O(n log n). 1 ok, 0 ENOMEM. */
static int
diff_summary(kk_str *out, const char *diff, size_t len)
{
	diffkey *rm = 0, k;
	size_t nrm = 0, cap = 0, added = 0, changed = 0, settings = 0, other = 0;
	size_t xadded = 0, xremoved = 0;
	const char *p, *end = diff + len;
	int add, ok = 0, any = 0;

	for (p = diff; p < end; ) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((eol ? eol : end) - p);
		if (line_key(p, n, &add, &k) && !add) {
			if (nrm == cap) {
				diffkey *m = realloc(rm, (cap = cap ? 2 * cap : 64) * sizeof *rm);
				if (!m)
					goto end;
				rm = m;
			}
			rm[nrm++] = k;
		}
		p += n + 1;
	}
	if (nrm)
		qsort(rm, nrm, sizeof *rm, key_cmp);
	for (p = diff; p < end; ) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((eol ? eol : end) - p);
		if (line_key(p, n, &add, &k)) {
			if (add) {
				if (nrm && bsearch(&k, rm, nrm, sizeof *rm, key_cmp))
					changed++;
				else
					added++;
			}
		} else if (n > 4 && !memcmp(p, "set ", 4))
			settings++;
		/* A certificate's add line names no fingerprint (its identity):
		 * adds and removes are counted apart. */
		else if (n > 16 && !memcmp(p, "certificate add ", 16))
			xadded++;
		else if (n > 19 && !memcmp(p, "certificate remove ", 19))
			xremoved++;
		else if (n)
			other++;
		p += n + 1;
	}
#define PART(count, what) \
	if ((count) && !kk_str_catf(out, "%s%zu %s", any++ ? ", " : "", (size_t)(count), what)) \
		goto end
	PART(added, "added");
	PART(nrm - changed, "removed");
	PART(changed, "changed");
	PART(settings, settings == 1 ? "setting" : "settings");
	PART(xadded, xadded == 1 ? "certificate added" : "certificates added");
	PART(xremoved, xremoved == 1 ? "certificate removed" : "certificates removed");
	PART(other, other == 1 ? "other line" : "other lines");
#undef PART
	ok = kk_str_ready(out, 1);
end:
	free(rm);
	return ok;
}

/* The state of the file a reload diffs against. It is only read by the
 * diff, so it is a scratch state (no allocation per string), and it is
 * kept from one reload to the next: its memory, not its content, serves
 * again, already faulted in. */
static kk_state next;
static int next_ready;

/* Loads the config into the reload scratch once at start, while the
 * workers load their first state: the memory is then faulted in before
 * the first reload, which paid for it (with 100 000 sites, zeroing its
 * fresh pages was two thirds of a 300 ms first reload, against 160 ms
 * for the next ones). Not with certificates: a reload reads each of
 * their files again anyway, which outweighs the faults, and at start it
 * would read them all a second time beside the workers. Best effort: a
 * failure leaves the faults to the first reload. */
void
sv_reload_warm(const char *file)
{
	char err[KK_ERRLEN];

	if (sv.state.ncertificates)
		return;
	if (!next_ready) {
		kk_state_init(&next);
		next_ready = 1;
	}
	kk_state_reuse_file_scratch(&next, file, err, sizeof err);
}

/* A whole new state, from a file, applied as the difference: the diff is
 * what the workers receive, and what is applied to the live state under
 * the transaction's journal. */
static void
load_batch(const sv_origin *o, const char *file, const char *verbline)
{
	static const char nomem[] = "out of memory; nothing changed";
	char err[KK_ERRLEN];
	kk_str diff = KK_STR_ZERO;
	kk_journal j = KK_JOURNAL_ZERO;

	if (!next_ready) {
		kk_state_init(&next);
		next_ready = 1;
	}
	if (!kk_state_reuse_file_scratch(&next, file, err, sizeof err)) {
		sv_audit(o, verbline, 0, err);
		sv_control_reply(o, KK_REPLY_ERROR, err, strlen(err));
		return;
	}
	if (!kk_state_diff(&sv.state, &next, &diff) || !kk_str_ready(&diff, 1)) {
		kk_str_free(&diff);
		sv_control_reply(o, KK_REPLY_ERROR, nomem, strlen(nomem));
		return;
	}
	if (!diff.len) {
		kk_str_free(&diff);
		sv_audit(o, verbline, 1, 0);
		sv_control_reply(o, KK_REPLY_OK, "no change\n", 10);
		return;
	}
	if (!kk_state_apply_text_journal(&sv.state, diff.s, diff.len, file, &j, err,
	    sizeof err)) {
		kk_str_free(&diff);
		sv_audit(o, verbline, 0, err);
		sv_control_reply(o, KK_REPLY_ERROR, err, strlen(err));
		return;
	}
	/* A file that state save wrote loads whatever the date, with a
	 * warning; an operator's config must hold valid certificates. */
	if (!sv_certs_check_journal(&sv.state, &j, sv_certs_saved_state(file), file, err,
	    sizeof err)) {
		kk_journal_undo(&sv.state, &j);
		kk_str_free(&diff);
		sv_audit(o, verbline, 0, err);
		sv_control_reply(o, KK_REPLY_ERROR, err, strlen(err));
		return;
	}
	{
		/* The reply opens with what changed, counted; a signal's
		 * reply is the log already, a client's gets a log line too. */
		kk_str body = KK_STR_ZERO, sum = KK_STR_ZERO, shown = KK_STR_ZERO;
		/* The listing shows no certificate's bytes (no key in a reply). */
		if (!diff_summary(&sum, diff.s, diff.len)
		    || !kk_str_catf(&body, "changes: %s\n", sum.s)
		    || !kk_cert_redact(&shown, diff.s, diff.len)
		    || !reply_listing(&body, shown.s, shown.len)) {
			kk_journal_undo(&sv.state, &j);
			kk_str_free(&diff);
			kk_str_free(&sum);
			kk_str_free(&body);
			kk_str_free(&shown);
			sv_control_reply(o, KK_REPLY_ERROR, nomem, strlen(nomem));
			return;
		}
		if (o->slot >= 0) {
			char verb[256], path[512];
			sv_scrub(verb, sizeof verb, verbline);
			sv_scrub(path, sizeof path, file);
			sv_info("%s: %s of %s: %s", o->actor, verb, path, sum.s);
		}
		sv_txn_begin(&j, diff.s, diff.len, o, verbline, body.s);
		kk_str_free(&sum);
		kk_str_free(&body);
		kk_str_free(&shown);
	}
	kk_str_free(&diff);
}

void
sv_reload(const sv_origin *o, const char *file, const char *verbline)
{
	sv_notify_reloading();
	load_batch(o, file ? file : sv.config, verbline);
}

static void
h_state_load(client *c, const kk_verb *v, int json, const char *verbline)
{
	load_batch(&c->origin, v->pos[0], verbline);
}

static void
h_reload(client *c, const kk_verb *v, int json, const char *verbline)
{
	sv_reload(&c->origin, v->npos ? v->pos[0] : 0, verbline);
}

static void
h_upgrade_workers(client *c, const kk_verb *v, int json, const char *verbline)
{
	sv_roll_start(&c->origin);
}

static void
h_log_reopen(client *c, const kk_verb *v, int json, const char *verbline)
{
	sv_audit(&c->origin, verbline, 1, 0);
	sv_reopen_begin(&c->origin);
}

/* log level [LEVEL]: the level; or a change to it, made as the line
 * `set log-level LEVEL`, which is what the workers receive, the audit
 * line shows and a state save keeps. */
static void
h_log_level(client *c, const kk_verb *v, int json, const char *verbline)
{
	const char *level = sv.state.set.log_level == KK_LOG_WARNING ? "warning" : "info";
	const char *argv[3] = { "set", "log-level", 0 };
	char err[KK_ERRLEN];
	kk_str line = KK_STR_ZERO;
	kk_verb set;

	if (!v->npos) {
		char msg[32];
		snprintf(msg, sizeof msg, "%s\n", level);
		reply_str(c, KK_REPLY_OK, msg);
		return;
	}
	argv[2] = v->pos[0];
	if (!kk_verb_parse(&set, 3, argv, err, sizeof err)) {
		/* The setting's words, named for this verb. */
		snprintf(err, sizeof err, "log level: \"%.64s\" is not a level: give info or "
		    "warning; nothing changed", v->pos[0]);
		sv_audit(&c->origin, verbline, 0, err);
		reply_str(c, KK_REPLY_ERROR, err);
		return;
	}
	if (!kk_str_cats(&line, "set log-level ") || !kk_str_catword(&line, v->pos[0]))
		reply_str(c, KK_REPLY_ERROR, "out of memory; nothing changed");
	else
		h_config(c, &set, json, line.s);
	kk_str_free(&line);
}

static void
h_shutdown(client *c, const kk_verb *v, int json, const char *verbline)
{
	int hard = kk_verb_opt(v, "--hard") != 0;

	sv_audit(&c->origin, verbline, 1, 0);
	reply_str(c, KK_REPLY_OK, hard ? "stopping now\n" : "draining workers, then stopping\n");
	sv_stop(hard, c->origin.actor);
}

/* Replies itself on a refusal; on success the exec means the reply comes
 * from the next supervisor (or from this binary again, with the reason,
 * when the next one cannot take over). */
static void
h_upgrade(client *c, const kk_verb *v, int json, const char *verbline)
{
	sv_upgrade_start(&c->origin, kk_verb_opt(v, "--binary"),
	    kk_verb_opt(v, "--no-workers") != 0, verbline);
}

/* The dispatch table. `waits`: the verb changes the state, so it runs
 * only when no transaction is in flight. `reads`: it reads the state,
 * which holds the change in flight until it commits, so it also waits
 * for the transaction (but is still served while stopping). `audits`: it
 * changes something (the state, a file, the process), so every request
 * for it, refused or not, gets an audit line. */
static const struct {
	handler *run;
	int waits, reads, audits;
} verbs[KK_V_COUNT] = {
	[KK_V_SET] = { h_config, 1, 0, 1 },
	[KK_V_LISTENER_ADD] = { h_config, 1, 0, 1 },
	[KK_V_LISTENER_REMOVE] = { h_config, 1, 0, 1 },
	[KK_V_LISTENER_LIST] = { h_list, 0, 1, 0 },
	[KK_V_CLUSTER_ADD] = { h_config, 1, 0, 1 },
	[KK_V_CLUSTER_REMOVE] = { h_config, 1, 0, 1 },
	[KK_V_CLUSTER_LIST] = { h_list, 0, 1, 0 },
	[KK_V_FRONTEND_ADD] = { h_config, 1, 0, 1 },
	[KK_V_FRONTEND_REMOVE] = { h_config, 1, 0, 1 },
	[KK_V_FRONTEND_LIST] = { h_list, 0, 1, 0 },
	[KK_V_BACKEND_ADD] = { h_config, 1, 0, 1 },
	[KK_V_BACKEND_REMOVE] = { h_config, 1, 0, 1 },
	[KK_V_BACKEND_LIST] = { h_list, 0, 1, 0 },
	[KK_V_CERTIFICATE_ADD] = { h_certificate, 1, 0, 1 },
	[KK_V_CERTIFICATE_REPLACE] = { h_certificate, 1, 0, 1 },
	[KK_V_CERTIFICATE_REMOVE] = { h_certificate, 1, 0, 1 },
	[KK_V_CERTIFICATE_LIST] = { h_list, 0, 1, 0 },
	[KK_V_STATUS] = { h_status, 0, 0, 0 },
	[KK_V_EVENTS] = { h_events, 0, 0, 0 },
	[KK_V_STATE_SAVE] = { h_state_save, 0, 1, 1 },
	[KK_V_STATE_LOAD] = { h_state_load, 1, 0, 1 },
	[KK_V_STATE_DUMP] = { h_state_dump, 0, 1, 0 },
	[KK_V_RELOAD] = { h_reload, 1, 0, 1 },
	[KK_V_SHUTDOWN] = { h_shutdown, 1, 0, 1 },
	[KK_V_UPGRADE] = { h_upgrade, 1, 0, 1 },
	[KK_V_UPGRADE_WORKERS] = { h_upgrade_workers, 1, 0, 1 },
	[KK_V_LOG_REOPEN] = { h_log_reopen, 0, 0, 1 },
	[KK_V_LOG_LEVEL] = { h_log_level, 1, 0, 1 },
	[KK_V_CLUSTER_HEALTH_CHECK] = { h_config, 1, 0, 1 },
	[KK_V_METRICS] = { h_metrics, 0, 1, 0 },
};

/* Whether argv names an audited verb by its words, whatever follows:
 * for a request the parser refused. */
static int
audited_words(unsigned argc, char **argv)
{
	const kk_verb_def *d;

	for (d = kk_verb_table; d->word1; d++) {
		if (!argc || strcmp(argv[0], d->word1))
			continue;
		if (d->word2 && (argc < 2 || strcmp(argv[1], d->word2)))
			continue;
		return verbs[d->id].audits;
	}
	return 0;
}

/* The verb line as text for the audit log (quoted like the config). */
static void
join_words(kk_str *out, unsigned argc, char **argv)
{
	unsigned i;

	for (i = 0; i < argc; i++) {
		if (i)
			kk_str_cats(out, " ");
		kk_str_catword(out, argv[i]);
	}
	kk_str_ready(out, 1);
}

/* Handles the request in c->req. Returns 0 when it must wait for the
 * transaction in flight (it stays in c->req). */
static int
dispatch(client *c)
{
	char *argv[KK_FRAME_MAXWORDS];
	char err[KK_ERRLEN];
	char *payload;
	kk_str line = KK_STR_ZERO;
	kk_verb v;
	unsigned argc, skip = 0;
	int json = 0;

	/* Split a copy: a held request is split again when it runs. */
	payload = malloc(c->req.len + 1);
	if (!payload) {
		reply_str(c, KK_REPLY_ERROR, "out of memory");
		return 1;
	}
	memcpy(payload, c->req.s, c->req.len);
	if (!kk_words_split(payload, c->req.len, argv, KK_FRAME_MAXWORDS, &argc)) {
		free(payload);
		sv_warn_limited(&rl_frame, "closing control client %s: malformed request"
		    " frame", c->origin.actor);
		drop_client(c);
		return 1;
	}
	if (argc && !strcmp(argv[0], "--json")) {
		json = 1;
		skip = 1;
	}
	join_words(&line, argc - skip, argv + skip);
	if (!kk_verb_parse(&v, argc - skip, (const char *const *)argv + skip, err,
	    sizeof err)) {
		if (audited_words(argc - skip, argv + skip))
			sv_audit_refused(&c->origin, line.s ? line.s : "", err);
		reply_str(c, KK_REPLY_ERROR, err);
		goto done;
	}
	if ((verbs[v.def->id].waits && (sv_txn_busy() || sv.stopping))
	    || (verbs[v.def->id].reads && sv_txn_busy())) {
		if (sv.stopping && verbs[v.def->id].waits) {
			const char *m = "the supervisor is shutting down; nothing changed";
			sv_audit_refused(&c->origin, line.s ? line.s : "", m);
			reply_str(c, KK_REPLY_ERROR, m);
			goto done;
		}
		if (!c->held)
			c->held = next_hold++;
		kk_str_free(&line);
		free(payload);
		return 0;
	}
	c->held = 0;
	c->origin.json_wrap = json && !own_json(v.def->id);
	verbs[v.def->id].run(c, &v, json, line.s ? line.s : "");
done:
	kk_str_free(&line);
	free(payload);
	return 1;
}

/* Takes the next complete frame from c->in into c->req. 1 got one, 0 not
 * yet, -1 the client broke the framing (closed). */
static int
next_frame(client *c)
{
	uint32_t n;
	int r;

	if (!c->in.len)
		return 0;
	r = kk_frame_parse(c->in.s, c->in.len, KK_FRAME_MAX_CONTROL, &n);
	if (r < 0) {
		sv_warn_limited(&rl_frame, "closing control client %s: frame larger than"
		    " %u bytes", c->origin.actor, KK_FRAME_MAX_CONTROL);
		drop_client(c);
		return -1;
	}
	if (!r)
		return 0;
	kk_str_reset(&c->req);
	if (!kk_str_catb(&c->req, c->in.s + KK_FRAME_HDRLEN, n)) {
		drop_client(c);
		return -1;
	}
	memmove(c->in.s, c->in.s + KK_FRAME_HDRLEN + n, c->in.len - KK_FRAME_HDRLEN - n);
	c->in.len -= KK_FRAME_HDRLEN + n;
	sv_now(&c->frame_at);
	return 1;
}

static client *
oldest_held(void)
{
	client *best = 0;
	unsigned i;

	for (i = 0; i < SV_MAX_CLIENTS; i++)
		if (clients[i].fd >= 0 && clients[i].held
		    && (!best || clients[i].held < best->held))
			best = &clients[i];
	return best;
}

void
sv_control_pump(void)
{
	unsigned i;

	for (i = 0; i < SV_MAX_CLIENTS; i++)
		if (clients[i].fd >= 0 && clients[i].printer)
			metrics_part(&clients[i]);

	/* Held mutations first, in arrival order: they were there before any
	 * request still unread. */
	while (!sv_txn_busy()) {
		client *c = oldest_held();
		if (!c)
			break;
		c->busy = 1;
		if (!dispatch(c))
			break;
	}
	if (!sv_txn_busy() && sv.hup_pending && !oldest_held()) {
		sv_origin o;
		memset(&o, 0, sizeof o);
		o.slot = -1;
		snprintf(o.actor, sizeof o.actor, "signal HUP");
		sv.hup_pending = 0;
		sv_reload(&o, 0, "reload");
	}
	if (!sv_txn_busy() && sv.usr2_pending && !oldest_held()) {
		sv_origin o;
		memset(&o, 0, sizeof o);
		o.slot = -1;
		snprintf(o.actor, sizeof o.actor, "signal USR2");
		sv.usr2_pending = 0;
		sv_upgrade_start(&o, 0, 0, "upgrade");
	}
	for (i = 0; i < SV_MAX_CLIENTS; i++) {
		client *c = &clients[i];
		while (c->fd >= 0 && !c->busy && !c->held && !c->closing) {
			if (next_frame(c) <= 0)
				break;
			c->busy = 1;
			dispatch(c);
		}
	}
}

unsigned
sv_control_pollfds(struct pollfd *p, unsigned max, int *ids)
{
	unsigned n = 0, i;

	for (i = 0; i < SV_MAX_CLIENTS && n < max; i++) {
		client *c = &clients[i];
		if (c->fd < 0)
			continue;
		if (c->closing && !c->out.len) {
			drop_client(c);
			continue;
		}
		p[n].fd = c->fd;
		p[n].events = 0;
		/* A client owed a reply is not read: one request at a time. */
		if (!c->busy && !c->held && !c->closing)
			p[n].events |= POLLIN;
		if (c->out.len)
			p[n].events |= POLLOUT;
		ids[n++] = (int)i;
	}
	/* The listener last: accepting may close an idle client to make
	 * room and give its slot to the new one, and the events polled for
	 * the old connection must not then be applied to the new one. When
	 * every slot is owed a reply, new clients wait in the listen backlog
	 * (kakehi-ctl retries a full one) instead of being refused. */
	if (listen_fd >= 0 && n < max && slot_available()) {
		p[n].fd = listen_fd;
		p[n].events = POLLIN;
		ids[n++] = -1;
	}
	return n;
}

static void
on_write(client *c)
{
	while (c->out.len) {
		ssize_t r = write(c->fd, c->out.s, c->out.len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				drop_client(c);
			return;
		}
		memmove(c->out.s, c->out.s + r, c->out.len - (size_t)r);
		c->out.len -= (size_t)r;
		sv_now(&c->since);
	}
}

static void
on_read(client *c)
{
	char buf[65536];
	ssize_t r = read(c->fd, buf, sizeof buf);

	if (r < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			drop_client(c);
		return;
	}
	if (!r) {
		/* Gone: a reply still owed to it will be dropped (serial). */
		drop_client(c);
		return;
	}
	if (!c->in.len) {
		sv_now(&c->frame_at);
	}
	if (!kk_str_catb(&c->in, buf, (size_t)r)) {
		drop_client(c);
		return;
	}
	/* Refuse an oversized frame as soon as its header says so. */
	if (c->in.len >= KK_FRAME_HDRLEN) {
		uint32_t n;
		if (kk_frame_parse(c->in.s, c->in.len, KK_FRAME_MAX_CONTROL, &n) < 0) {
			sv_warn_limited(&rl_frame, "closing control client %s: frame larger"
			    " than %u bytes", c->origin.actor, KK_FRAME_MAX_CONTROL);
			drop_client(c);
		}
	}
}

void
sv_control_timers(void)
{
	unsigned i;

	for (i = 0; i < SV_MAX_CLIENTS; i++) {
		client *c = &clients[i];
		tain d;
		if (c->fd < 0)
			continue;
		if (c->follows && !c->closing) {
			sv_tain_after(&d, &c->beat_at, EVENTS_BEAT_MS);
			if (sv_deadline_due(&d))
				follow_frame(c, "", 0);
			continue;
		}
		client_deadline(c, &d);
		if (!sv_deadline_due(&d))
			continue;
		if (client_wait(c) == CW_FRAME)
			sv_warn_limited(&rl_deadline, "closing control client %s: its request"
			    " frame was not complete within %ds", c->origin.actor,
			    CLIENT_FRAME_MS / 1000);
		else
			sv_warn_limited(&rl_deadline, "closing control client %s: no request"
			    " or no reading for %ds", c->origin.actor, CLIENT_IDLE_MS / 1000);
		drop_client(c);
	}
}

void
sv_control_deadline(tain *earliest)
{
	int full = 1;
	unsigned i;

	tain_now_g();
	for (i = 0; i < SV_MAX_CLIENTS; i++)
		if (clients[i].fd < 0)
			full = 0;
	for (i = 0; i < SV_MAX_CLIENTS; i++) {
		const client *c = &clients[i];
		tain x, evict;
		if (c->fd < 0)
			continue;
		/* A part to make once the last ones are read: now, or when
		 * the client's POLLOUT says they went. */
		if (c->printer && c->out.len <= REPLY_QUEUED)
			sv_deadline_earliest(earliest, &STAMP);
		if (c->follows && !c->closing) {
			sv_tain_after(&x, &c->beat_at, EVENTS_BEAT_MS);
			sv_deadline_earliest(earliest, &x);
			continue;
		}
		client_deadline(c, &x);
		if (!sv_deadline_set(&x))
			continue;
		/* Slots full: the backlog is looked at again when this one
		 * may make room (once it may, the listener is polled). */
		sv_tain_after(&evict, &c->since, CLIENT_EVICT_MIN_MS);
		if (full && tain_future(&evict) && tain_less(&evict, &x))
			x = evict;
		sv_deadline_earliest(earliest, &x);
	}
}

void
sv_control_io(int id, short revents)
{
	client *c;

	if (id < 0) {
		on_accept();
		return;
	}
	c = &clients[id];
	if (c->fd < 0)
		return;
	if (revents & POLLOUT)
		on_write(c);
	if (c->fd >= 0 && revents & (POLLIN | POLLHUP | POLLERR)) {
		if (c->closing || c->busy || c->held) {
			/* Only the hangup matters now. */
			if (revents & (POLLHUP | POLLERR))
				drop_client(c);
			return;
		}
		on_read(c);
	}
}

void
sv_control_finish(void)
{
	unsigned i;

	close_listener();
	for (i = 0; i < SV_MAX_CLIENTS; i++) {
		client *c = &clients[i];
		if (c->fd < 0)
			continue;
		if (c->out.len)
			kk_frame_write(c->fd, c->out.s, c->out.len, 1000);
		drop_client(c);
	}
}

/* In-place upgrade (handoff.c). The control socket and the client that
 * asked travel in the handoff; every other client is answered that the
 * request did not run, and closed, since a reply owed to it could not be
 * carried over. Clients still in the listen backlog wait there for the
 * next supervisor. */

static client *
client_of(const sv_origin *o)
{
	client *c;

	if (!o || o->slot < 0)
		return 0;
	c = &clients[o->slot];
	return c->fd >= 0 && c->serial == o->serial ? c : 0;
}

int
sv_control_handoff(kk_str *out, const sv_origin *keep)
{
	client *c = client_of(keep);
	int ok;

	if (listen_fd < 0)
		return 0;
	ok = kk_str_catf(out, "control %d ", listen_fd) && kk_str_catword(out, sv.socket_path)
	    && kk_str_catf(out, " %d %u\n", socket_ours, next_serial);
	if (!ok || !c)
		return ok;
	return kk_str_catf(out, "client %d %u %u ", c->fd, c->serial, (unsigned)c->uid)
	    && kk_handoff_cathex(out, c->in.s, c->in.len) && kk_str_cats(out, " ")
	    && kk_handoff_cathex(out, c->out.s, c->out.len) && kk_str_cats(out, "\n");
}

void
sv_control_release(const sv_origin *keep, const char *why)
{
	client *k = client_of(keep);
	unsigned i;

	for (i = 0; i < SV_MAX_CLIENTS; i++) {
		client *c = &clients[i];
		if (c->fd < 0 || c == k)
			continue;
		/* One that has sent nothing yet is most likely a kakehi-ctl whose
		 * request is on its way: it reads this as the answer to it. */
		if (!c->closing && (c->busy || c->held || c->in.len || !c->out.len))
			kk_reply_frame(&c->out, KK_REPLY_ERROR, why, strlen(why));
		if (c->out.len)
			kk_frame_write(c->fd, c->out.s, c->out.len, 200);
		drop_client(c);
	}
}

void
sv_control_adopt(int fd, const char *path, int ours, unsigned serial)
{
	unsigned i;

	for (i = 0; i < SV_MAX_CLIENTS; i++)
		clients[i].fd = -1;
	listen_fd = fd;
	socket_ours = ours;
	next_serial = serial;
}

int
sv_control_adopt_client(int fd, unsigned serial, unsigned uid, const char *actor,
    const char *in, size_t inlen, const char *out, size_t outlen, sv_origin *o)
{
	client *c = &clients[0];

	c->fd = fd;
	c->serial = serial;
	c->uid = (uid_t)uid;
	c->busy = 1;
	sv_now(&c->since);
	c->frame_at = c->since;
	c->origin.slot = 0;
	c->origin.serial = serial;
	snprintf(c->origin.actor, sizeof c->origin.actor, "%s", actor);
	if (!kk_str_catb(&c->in, in, inlen) || !kk_str_catb(&c->out, out, outlen))
		return 0;
	if (serial >= next_serial)
		next_serial = serial + 1;
	*o = c->origin;
	return 1;
}
