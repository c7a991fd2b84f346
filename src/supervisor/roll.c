/* ISC license. */
/* upgrade workers: every worker is replaced, one at a time, by one exec'd
 * from the worker binary opened again. A replacement starts on the same
 * shared listeners with the state as it is; once it is ready the worker it
 * replaces drains (workers.c), and the next replacement starts only when
 * that one has exited, so at most one worker beyond `set workers` runs.
 * The binary opened here becomes the one every later start uses once a
 * worker exec'd from it has said ready. The lifecycle itself (spawn,
 * ready, drain) stays in workers.c; this file only orders it. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <kakehi/frame.h>

#include "sv.h"

/* While it waits for a start or a drain, the roll tells its client how
 * far it is this often: an operator sees it move, and kakehi-ctl's reply
 * deadline (renewed by each frame) does not cut a roll whose drains wait
 * for long-lived connections. */
#define ROLL_NOTE_MS 10000

enum phase {
	R_NEXT,		/* choose the next worker to replace */
	R_STARTING,	/* its replacement was started, not ready yet */
	R_DRAINING	/* the replacement serves; the old one drains */
};

static const char *const phase_names[] = { "next", "starting", "draining" };

typedef struct roll roll;
struct roll {
	int active;
	sv_origin origin;
	int bin_fd;		/* the binary rolled out, until it is sv.worker_fd */
	unsigned serial;	/* its serial */
	enum phase phase;
	unsigned old_id, new_id;
	pid_t old_pid;
	unsigned done, total;
	tain since;		/* the current phase began */
	tain note_at;		/* the next progress note */
};

static roll r = { .bin_fd = -1 };

int
sv_roll_busy(void)
{
	return r.active;
}

int
sv_roll_exec_fd(const sv_worker *w, unsigned *serial)
{
	if (r.active && w->rolled && r.bin_fd >= 0) {
		*serial = r.serial;
		return r.bin_fd;
	}
	*serial = sv.worker_serial;
	return sv.worker_fd;
}

static void
note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A progress line for the client ("more follows"), and the log. */
static void
note(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	sv_info("upgrade workers: %s", line);
	line[n] = '\n';
	line[n + 1] = 0;
	if (r.origin.slot >= 0)
		sv_control_reply(&r.origin, KK_REPLY_MORE, line, (size_t)n + 1);
	sv_deadline_in(&r.note_at, ROLL_NOTE_MS);
}

/* From now on every start execs the binary rolled out. */
static void
adopt(void)
{
	if (r.bin_fd < 0)
		return;
	if (sv.worker_fd >= 0)
		close(sv.worker_fd);
	sv.worker_fd = r.bin_fd;
	sv.worker_serial = r.serial;
	r.bin_fd = -1;
}

static void
roll_event(const char *what, const char *why)
{
	sv_event e;

	if (!sv_event_begin(&e, "upgrade-workers"))
		return;
	sv_event_str(&e, "result", what);
	sv_event_num(&e, "replaced", r.done);
	sv_event_num(&e, "of", r.total);
	sv_event_str(&e, "binary", sv.worker_bin);
	if (why && *why)
		sv_event_str(&e, "why", why);
	sv_event_end(&e);
}

static void
finish(int ok, const char *why, unsigned restarting)
{
	kk_str body = KK_STR_ZERO;

	if (ok) {
		kk_str_catf(&body, "%u worker%s replaced, one at a time; workers now start"
		    " from %s\n", r.done, r.done == 1 ? "" : "s", sv.worker_bin);
		if (restarting)
			kk_str_catf(&body, "%u worker%s waiting to restart after a crash (see"
			    " status) will start from it\n", restarting, restarting == 1 ? "" : "s");
	} else
		kk_str_catf(&body, "upgrade workers stopped: %s; %u of %u workers were"
		    " replaced, the others keep running the binary they had (fix %s and run"
		    " upgrade workers again)\n", why, r.done, r.total, sv.worker_bin);
	if (!body.s)
		kk_str_cats(&body, ok ? "" : "upgrade workers stopped: out of memory");
	sv_audit(&r.origin, "upgrade workers", ok, body.s);
	sv_notify_change("upgrade workers", ok);
	roll_event(ok ? "done" : "stopped", body.s);
	sv_control_reply(&r.origin, ok ? KK_REPLY_OK : KK_REPLY_ERROR, body.s ? body.s : "",
	    body.len);
	if (ok)
		sv_info("upgrade workers: done, %u worker%s replaced", r.done,
		    r.done == 1 ? "" : "s");
	else
		sv_warn("upgrade workers: stopped after %u of %u: %s", r.done, r.total, why);
	kk_str_free(&body);
	if (r.bin_fd >= 0)
		close(r.bin_fd);
	memset(&r, 0, sizeof r);
	r.bin_fd = -1;
}

/* Whether w still runs a binary older than the one rolled out. */
static int
behind(const sv_worker *w)
{
	return w->wanted && w->bin_serial != r.serial;
}

static void
step(void)
{
	sv_worker *old = 0, *w;
	unsigned i;

	if (!r.active || r.phase != R_NEXT)
		return;
	for (i = 0; i < SV_MAX_SLOTS; i++) {
		w = &sv.workers[i];
		/* One replacement at a time, a late worker's included. */
		if (w->replaces && w->state != SV_W_GONE)
			return;
		/* A worker on its way up is waited for: it may be the
		 * restart of one that crashed, from the old binary. */
		if (behind(w) && w->state == SV_W_SPAWNED)
			return;
		if (!old && behind(w) && w->state == SV_W_READY && !w->replaced_by
		    && !w->late)
			old = w;
	}
	if (!old) {
		unsigned restarting = 0;
		/* Workers in a crash loop get the new binary at their next
		 * start: the way out of a binary that could not start. */
		for (i = 0; i < SV_MAX_SLOTS; i++)
			if (behind(&sv.workers[i]) && sv.workers[i].state == SV_W_BACKOFF)
				restarting++;
		if (restarting)
			adopt();
		finish(1, 0, restarting);
		return;
	}
	r.phase = R_STARTING;
	r.old_id = old->id;
	r.old_pid = old->pid;
	sv_now(&r.since);
	w = sv_workers_replace(old, 1);
	if (!w) {
		r.phase = R_NEXT;
		finish(0, "no free worker slot for a replacement", 0);
		return;
	}
	r.new_id = w->id;
}

void
sv_roll_start(const sv_origin *o)
{
	char why[512];
	struct stat st;
	unsigned i;
	int fd;

	memset(&st, 0, sizeof st);
	if (r.active) {
		snprintf(why, sizeof why, "upgrade workers: a rolling upgrade is already"
		    " running (%u of %u workers replaced); wait for its reply", r.done, r.total);
		goto refuse;
	}
	if (sv.stopping) {
		snprintf(why, sizeof why, "the supervisor is shutting down; nothing changed");
		goto refuse;
	}
	/* Opened again from its path: that is how a new build installed
	 * there is picked up. Checked before any worker is touched. */
	fd = open(sv.worker_bin, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, sizeof why, "upgrade workers: unable to open the worker binary"
		    " %s: %s; nothing changed (install kakehi-worker there first)",
		    sv.worker_bin, strerror(errno));
		goto refuse;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)
	    || !(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))) {
		int e = errno;
		snprintf(why, sizeof why, "upgrade workers: the worker binary %s is %s;"
		    " nothing changed (install an executable kakehi-worker there)",
		    sv.worker_bin, !st.st_mode ? strerror(e) : !S_ISREG(st.st_mode)
		    ? "not a regular file" : "not executable");
		close(fd);
		goto refuse;
	}
	memset(&r, 0, sizeof r);
	r.active = 1;
	r.origin = *o;
	r.bin_fd = fd;
	r.serial = sv.worker_serial + 1;
	r.phase = R_NEXT;
	for (i = 0; i < SV_MAX_SLOTS; i++)
		if (sv.workers[i].wanted)
			r.total++;
	sv_now(&r.since);
	sv_tain_after(&r.note_at, &r.since, ROLL_NOTE_MS);
	sv_info("upgrade workers: replacing %u worker%s, one at a time, from %s", r.total,
	    r.total == 1 ? "" : "s", sv.worker_bin);
	roll_event("started", 0);
	/* An upgrade to systemd: READY=1 again once the roll has ended
	 * (sv_notify_pump). */
	sv_notify_reloading();
	step();
	return;
refuse:
	sv_audit(o, "upgrade workers", 0, why);
	sv_control_reply(o, KK_REPLY_ERROR, why, strlen(why));
}

void
sv_roll_ready(sv_worker *w)
{
	sv_worker *old;

	if (!r.active)
		return;
	if (r.phase != R_STARTING || w->id != r.new_id) {
		step();		/* one it was waiting for */
		return;
	}
	adopt();	/* proven: a worker exec'd from it serves */
	r.done++;
	note("worker %u (pid %d) replaced by worker %u (pid %d), %u of %u", r.old_id,
	    (int)r.old_pid, w->id, (int)w->pid, r.done, r.total);
	old = &sv.workers[r.old_id];
	sv_now(&r.since);
	if (old->pid == r.old_pid && old->state != SV_W_GONE) {
		r.phase = R_DRAINING;
		return;
	}
	r.phase = R_NEXT;
	step();
}

void
sv_roll_failed(sv_worker *w, const char *why)
{
	if (!r.active || r.phase != R_STARTING || w->id != r.new_id)
		return;
	r.phase = R_NEXT;
	finish(0, why, 0);
}

void
sv_roll_exited(unsigned id, pid_t pid)
{
	if (!r.active)
		return;
	if (r.phase == R_DRAINING && id == r.old_id && pid == r.old_pid) {
		r.phase = R_NEXT;
		sv_now(&r.since);
	}
	step();
}

void
sv_roll_abort(const char *why)
{
	if (r.active)
		finish(0, why, 0);
}

void
sv_roll_deadline(tain *earliest)
{
	if (r.active)
		sv_deadline_earliest(earliest, &r.note_at);
}

void
sv_roll_timers(void)
{
	if (!r.active || !sv_deadline_due(&r.note_at))
		return;
	if (r.phase == R_STARTING)
		note("waiting for worker %u to be ready, to replace worker %u (pid %d), %llds",
		    r.new_id, r.old_id, (int)r.old_pid, sv_ms_since(&r.since) / 1000);
	else if (r.phase == R_DRAINING)
		note("waiting for worker %u (pid %d) to drain, %llds (drain-timeout bounds it)",
		    r.old_id, (int)r.old_pid, sv_ms_since(&r.since) / 1000);
	else
		sv_tain_after(&r.note_at, &STAMP, ROLL_NOTE_MS);
}

void
sv_roll_status(kk_str *out, int json)
{
	if (!r.active)
		return;
	if (json) {
		kk_str_catf(out, ",\"upgrade_workers\":{\"phase\":\"%s\",\"done\":%u,"
		    "\"total\":%u", phase_names[r.phase], r.done, r.total);
		if (r.phase != R_NEXT)
			kk_str_catf(out, ",\"replacing\":%u,\"replacing_pid\":%d,\"by\":%u",
			    r.old_id, (int)r.old_pid, r.new_id);
		kk_str_cats(out, "}");
		return;
	}
	kk_str_catf(out, "upgrade-workers %u of %u replaced", r.done, r.total);
	if (r.phase != R_NEXT)
		kk_str_catf(out, ", worker %u (pid %d) by worker %u: %s", r.old_id,
		    (int)r.old_pid, r.new_id, phase_names[r.phase]);
	kk_str_cats(out, "\n");
}
