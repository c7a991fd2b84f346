/* ISC license. */
/* Telling the service manager how the proxy is doing. s6: once every
 * wanted worker is ready, a newline on the -d fd, which is then closed
 * (notification-fd); nothing more, s6 has no other states. systemd
 * (sd_notify(3), when $NOTIFY_SOCKET is set): READY=1 at the same
 * moment, RELOADING=1 with MONOTONIC_USEC= when a reload or an upgrade
 * starts and READY=1 when it ends, STOPPING=1, STATUS= lines for
 * `systemctl status`, and WATCHDOG=1 at half of $WATCHDOG_USEC. One
 * non-blocking datagram socket, opened at startup: a manager that does
 * not read makes messages wait in a short queue, retried from the loop,
 * never a stalled loop. Workers get none of these variables. */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <kakehi/verb.h>

#include "sv.h"

#define NOTIFY_ENV "NOTIFY_SOCKET"
#define WATCHDOG_USEC_ENV "WATCHDOG_USEC"
#define WATCHDOG_PID_ENV "WATCHDOG_PID"

/* A few messages wait when the manager's queue is full (EAGAIN): a
 * reload and its end, a status and a ping. More means it is not reading
 * at all; the oldest go first, so the latest state is what arrives. */
#define QUEUE_LEN 8
#define MSG_MAX 512
#define RETRY_MS 100
/* STATUS= carries one change's verb line, cut to stay readable. */
#define CHANGE_MAX 120

typedef struct msg msg;
struct msg {
	size_t len;
	char text[MSG_MAX];
};

static struct {
	int fd;			/* -1: no $NOTIFY_SOCKET */
	struct sockaddr_un sa;
	socklen_t salen;
	msg queue[QUEUE_LEN];
	unsigned qhead, qlen;
	tain retry_at;		/* zero when the queue is empty */
	sv_ratelimit failed;	/* warnings about sends that fail */
	long long watchdog_ms;	/* ping interval; 0 none */
	tain ping_at;
	int reloading;		/* RELOADING=1 sent, READY=1 not yet */
	char status[MSG_MAX];	/* the STATUS= text last queued */
	char change[CHANGE_MAX + 64];	/* "HH:MM:SS UTC: verb: result" */
} note = { .fd = -1 };

static void
warn_send(const char *what)
{
	/* The first line names the message: RELOADING=1 has two. */
	sv_warn_limited(&note.failed, "unable to send %.*s to %s=%s: %s; systemd does"
	    " not see this state (check the service's NotifyAccess= and the socket)",
	    (int)strcspn(what, "\n"), what, NOTIFY_ENV, getenv(NOTIFY_ENV), strerror(errno));
}

/* 1 sent, 0 would block, -1 failed (warned, dropped). */
static int
try_send(const msg *m)
{
	if (sendto(note.fd, m->text, m->len, MSG_NOSIGNAL | MSG_DONTWAIT,
	    (struct sockaddr *)&note.sa, note.salen) >= 0)
		return 1;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS
	    || errno == EINTR)
		return 0;
	warn_send(m->text);
	return -1;
}

static void
flush(void)
{
	while (note.qlen) {
		if (!try_send(&note.queue[note.qhead]))
			break;
		note.qhead = (note.qhead + 1) % QUEUE_LEN;
		note.qlen--;
	}
	if (note.qlen)
		sv_deadline_in(&note.retry_at, RETRY_MS);
	else
		note.retry_at = tain_zero;
}

/* The field a message starts with, when a newer message of that kind
 * makes a waiting one useless (a status, a ping); 0 for states, which
 * all must arrive, in order. */
static size_t
superseded_kind(const char *text)
{
	if (!strncmp(text, "STATUS=", 7))
		return 7;
	if (!strcmp(text, "WATCHDOG=1"))
		return 10;
	return 0;
}

/* Queues text (lines separated by '\n', as sd_notify wants them) behind
 * what waits already, so the manager sees the states in order. A status
 * or a ping replaces one of its kind still waiting: a manager that reads
 * slowly gets the latest, and READY=1 is never pushed out by pings. */
static void
send_text(const char *text)
{
	msg *m = 0;
	size_t len = strlen(text), kind = superseded_kind(text);
	unsigned i;

	if (note.fd < 0)
		return;
	if (len >= MSG_MAX)
		len = MSG_MAX - 1;
	for (i = 0; kind && i < note.qlen && !m; i++) {
		msg *q = &note.queue[(note.qhead + i) % QUEUE_LEN];
		if (!strncmp(q->text, text, kind))
			m = q;
	}
	if (!m) {
		if (note.qlen == QUEUE_LEN) {
			errno = EAGAIN;
			warn_send(note.queue[note.qhead].text);
			note.qhead = (note.qhead + 1) % QUEUE_LEN;
			note.qlen--;
		}
		m = &note.queue[(note.qhead + note.qlen) % QUEUE_LEN];
		note.qlen++;
	}
	memcpy(m->text, text, len);
	m->text[len] = 0;
	m->len = len;
	flush();
}

static unsigned
ready_workers(void)
{
	unsigned i, k = 0;

	for (i = 0; i < SV_MAX_SLOTS; i++)
		if (sv.workers[i].wanted && sv.workers[i].state == SV_W_READY)
			k++;
	return k;
}

static unsigned
live_workers(void)
{
	unsigned i, k = 0;

	for (i = 0; i < SV_MAX_SLOTS; i++)
		if (sv.workers[i].pid)
			k++;
	return k;
}

/* The one line `systemctl status` shows: what the proxy does, its
 * workers, its generation and the last change. */
static void
status_text(char *out, size_t len)
{
	const char *phase = sv.stopping ? "stopping" : note.reloading ? "reloading"
	    : sv.ready_sent ? "serving" : "starting";
	int k;

	if (sv.stopping)
		k = snprintf(out, len, "STATUS=%s: %u worker%s left, generation %llu", phase,
		    live_workers(), live_workers() == 1 ? "" : "s",
		    (unsigned long long)sv.gen);
	else
		k = snprintf(out, len, "STATUS=%s: %u of %u workers ready, generation %llu",
		    phase, ready_workers(), sv.want, (unsigned long long)sv.gen);
	if (k > 0 && (size_t)k < len && note.change[0])
		snprintf(out + k, len - (size_t)k, "; last change %s", note.change);
}

/* Queues STATUS= when the text differs from the last one queued. */
static void
status_update(void)
{
	char text[MSG_MAX];

	if (note.fd < 0)
		return;
	status_text(text, sizeof text);
	if (!strcmp(text, note.status))
		return;
	memcpy(note.status, text, sizeof text);
	send_text(text);
}

static int
scan_env_u64(const char *name, uint64_t *v)
{
	const char *s = getenv(name);
	unsigned long x;

	if (!s || !*s)
		return 0;
	if (!kk_scan_uint(s, 0, ~0UL, &x)) {
		sv_warn("%s=%s is not a number; ignored", name, s);
		return 0;
	}
	*v = x;
	return 1;
}

void
sv_notify_init(void)
{
	const char *path = getenv(NOTIFY_ENV);
	uint64_t usec = 0, pid = 0;
	size_t len;

	if (scan_env_u64(WATCHDOG_USEC_ENV, &usec) && usec) {
		/* systemd sets WATCHDOG_PID to the pid it watches: pings from
		 * another process (a child that kept the variables) are not
		 * wanted. */
		if (scan_env_u64(WATCHDOG_PID_ENV, &pid) && pid != (uint64_t)getpid())
			sv_info("%s=%llu is not this process (pid %d); no watchdog pings",
			    WATCHDOG_PID_ENV, (unsigned long long)pid, (int)getpid());
		else {
			note.watchdog_ms = (long long)(usec / 2000);
			if (!note.watchdog_ms)
				note.watchdog_ms = 1;
		}
	}
	if (!path || !*path) {
		note.watchdog_ms = 0;
		return;
	}
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof note.sa.sun_path || len < 2) {
		sv_warn("%s=%s is not a socket path (/path, or @name for an abstract socket);"
		    " systemd will not hear from kakehi", NOTIFY_ENV, path);
		note.watchdog_ms = 0;
		return;
	}
	note.sa.sun_family = AF_UNIX;
	memcpy(note.sa.sun_path, path, len);
	/* '@' names a socket in the abstract namespace: a leading NUL, and
	 * the length says where the name ends. */
	if (path[0] == '@')
		note.sa.sun_path[0] = 0;
	note.salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	note.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (note.fd < 0) {
		sv_warn("unable to create a socket for %s=%s: %s; systemd will not hear from"
		    " kakehi", NOTIFY_ENV, path, strerror(errno));
		note.watchdog_ms = 0;
		return;
	}
	if (note.watchdog_ms) {
		sv_deadline_in(&note.ping_at, (unsigned long)note.watchdog_ms);
		sv_info("watchdog: pinging every %lld ms (%s=%llu)", note.watchdog_ms,
		    WATCHDOG_USEC_ENV, (unsigned long long)usec);
	}
	status_update();
}

void
sv_notify_child_env(void)
{
	unsetenv(NOTIFY_ENV);
	unsetenv(WATCHDOG_USEC_ENV);
	unsetenv(WATCHDOG_PID_ENV);
}

void
sv_readiness_check(void)
{
	unsigned i;

	if (sv.ready_sent || sv.stopping)
		return;
	for (i = 0; i < SV_MAX_SLOTS; i++)
		if (sv.workers[i].wanted && sv.workers[i].state != SV_W_READY)
			return;
	sv.ready_sent = 1;
	if (sv.notif_fd >= 0) {
		if (write(sv.notif_fd, "\n", 1) < 0)
			sv_warn("unable to write readiness to fd %d: %s", sv.notif_fd,
			    strerror(errno));
		close(sv.notif_fd);
		sv.notif_fd = -1;
	}
	send_text("READY=1");
	status_update();
	sv_info("ready: %u worker%s serving, generation %llu", sv.want,
	    sv.want == 1 ? "" : "s", (unsigned long long)sv.gen);
}

void
sv_notify_reloading(void)
{
	char text[96];
	struct timespec ts;

	/* Before the first READY=1 systemd still counts the start: a reload
	 * then is part of it, and READY=1 comes when the workers are. */
	if (!sv.ready_sent || sv.stopping || note.reloading)
		return;
	/* systemd matches MONOTONIC_USEC against its own CLOCK_MONOTONIC
	 * reading to tell this reload from an older one (sd_notify(3)). */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(text, sizeof text, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL
	    + (unsigned long long)ts.tv_nsec / 1000);
	note.reloading = 1;
	send_text(text);
	status_update();
}

void
sv_notify_ready_again(void)
{
	if (sv.stopping)
		return;
	note.reloading = 0;
	if (!sv.ready_sent)
		return;
	send_text("READY=1");
	status_update();
}

void
sv_notify_stopping(void)
{
	note.reloading = 0;
	send_text("STOPPING=1");
	status_update();
}

void
sv_notify_change(const char *verbline, int ok)
{
	char clean[CHANGE_MAX + 1];
	time_t now = time(0);
	struct tm tm;

	sv_scrub(clean, sizeof clean, verbline ? verbline : "?");
	if (!gmtime_r(&now, &tm))
		memset(&tm, 0, sizeof tm);
	snprintf(note.change, sizeof note.change, "%02d:%02d:%02d UTC: %s: %s", tm.tm_hour,
	    tm.tm_min, tm.tm_sec, clean, ok ? "applied" : "refused");
}

void
sv_notify_pump(void)
{
	if (note.fd < 0)
		return;
	/* A reload ends when its transaction does, applied or not (one
	 * refused still leaves the proxy serving what it had); upgrade
	 * workers when its roll does. */
	if (note.reloading && !sv_txn_busy() && !sv_roll_busy())
		sv_notify_ready_again();
	status_update();
}

void
sv_notify_deadline(tain *earliest)
{
	if (note.watchdog_ms)
		sv_deadline_earliest(earliest, &note.ping_at);
	sv_deadline_earliest(earliest, &note.retry_at);
}

void
sv_notify_timers(void)
{
	if (sv_deadline_due(&note.retry_at))
		flush();
	if (note.watchdog_ms && sv_deadline_due(&note.ping_at)) {
		send_text("WATCHDOG=1");
		sv_tain_after(&note.ping_at, &STAMP, (unsigned long)note.watchdog_ms);
	}
}
