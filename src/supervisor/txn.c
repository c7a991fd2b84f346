/* ISC license. */
/* Transactions: one change of the state in flight at a time. A change
 * gets the next generation, is sent whole to every live worker, and
 * commits when each has acknowledged it. A refusal rolls every worker
 * back to the committed state under a new generation; silence past
 * worker-timeout is reported, and the silent workers are replaced. The
 * validation against the state happened before (control.c). */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sv.h"

typedef struct txn txn;
struct txn {
	int active;
	uint64_t gen;
	kk_state to;
	sv_origin origin;
	char *verbline;
	char *okbody;
	char waiting[SV_MAX_SLOTS];
	unsigned nwaiting;
	kk_str refusals;	/* "worker N: reason" lines */
	long long deadline;
};

static txn t;

int
sv_txn_busy(void)
{
	return t.active;
}

long long
sv_txn_deadline(void)
{
	return t.active ? t.deadline : 0;
}

static void
end(void)
{
	kk_state_free(&t.to);
	free(t.verbline);
	free(t.okbody);
	kk_str_free(&t.refusals);
	memset(&t, 0, sizeof t);
}

static void
reply(int ok, const char *body)
{
	sv_audit(&t.origin, t.verbline, ok, body);
	sv_control_reply(&t.origin, ok ? 'O' : 'E', body, strlen(body));
}

/* A worker we could not write to cannot follow the state: it goes (a
 * failed flush may already have reported it). */
static void
lost(sv_worker *w)
{
	if (w->chan.fd >= 0)
		sv_workers_event(w, SV_WE_BROKEN);
}

/* Workers that were started during the transaction got the old state:
 * bring them to the committed one (not waited for: their acks only
 * update acked_gen). */
static void
catch_up(uint64_t gen, int with_new_listeners)
{
	unsigned i;

	for (i = 0; i < SV_MAX_SLOTS; i++) {
		sv_worker *w = &sv.workers[i];
		if (!sv_worker_live(w) || w->sent_gen >= gen)
			continue;
		if ((with_new_listeners && !sv_listeners_send_new(w, t.gen))
		    || !sv_worker_send_state(w, gen, &sv.state))
			lost(w);
	}
}

static void
commit(const char *late)
{
	kk_state old = sv.state;
	unsigned old_workers = old.set.workers;

	sv.state = t.to;
	memset(&t.to, 0, sizeof t.to);
	kk_state_free(&old);
	sv.gen = t.gen;
	catch_up(t.gen, 1);
	sv_listeners_settle(t.gen, 1, &sv.state);
	if (sv.state.set.workers != old_workers) {
		sv.want = sv.state.set.workers;
		sv_workers_scale();
	}
	if (late) {
		reply(0, late);
	} else
		reply(1, t.okbody);
	sv_info("generation %llu committed", (unsigned long long)sv.gen);
}

static void
rollback(void)
{
	kk_str msg = KK_STR_ZERO;
	unsigned i;

	/* Every worker that saw t.gen goes back to the committed state,
	 * under a generation no earlier message used. */
	sv.gen = t.gen + 1;
	for (i = 0; i < SV_MAX_SLOTS; i++) {
		sv_worker *w = &sv.workers[i];
		if (sv_worker_live(w) && !sv_worker_send_state(w, sv.gen, &sv.state))
			lost(w);
	}
	sv_listeners_settle(t.gen, 0, 0);
	kk_str_cats(&msg, "refused by ");
	kk_str_catb(&msg, t.refusals.s, t.refusals.len);
	kk_str_cats(&msg, "; the running state is unchanged");
	reply(0, msg.s ? msg.s : "refused");
	kk_str_free(&msg);
	sv_warn("generation %llu refused; rolled back as generation %llu",
	    (unsigned long long)t.gen, (unsigned long long)sv.gen);
}

static void
finish(void)
{
	if (t.refusals.len)
		rollback();
	else
		commit(0);
	end();
}

void
sv_txn_begin(kk_state *to, const sv_origin *o, const char *verbline, const char *okbody)
{
	char err[KK_ERRLEN];
	unsigned i;

	memset(&t, 0, sizeof t);
	t.active = 1;
	t.gen = sv.gen + 1;
	t.to = *to;
	memset(to, 0, sizeof *to);
	t.origin = *o;
	t.verbline = strdup(verbline);
	t.okbody = strdup(okbody);
	if (!t.verbline || !t.okbody) {
		reply(0, "out of memory; nothing changed");
		end();
		return;
	}
	if (!sv_listeners_prepare(&t.to, t.gen, err, sizeof err)) {
		reply(0, err);
		end();
		return;
	}
	for (i = 0; i < SV_MAX_SLOTS; i++) {
		sv_worker *w = &sv.workers[i];
		if (!sv_worker_live(w))
			continue;
		if (!sv_listeners_send_new(w, t.gen) || !sv_worker_send_state(w, t.gen, &t.to)) {
			lost(w);
			continue;
		}
		t.waiting[i] = 1;
		t.nwaiting++;
	}
	t.deadline = sv_now() + (long long)sv.state.set.worker_timeout_ms;
	if (!t.nwaiting)
		finish();
}

void
sv_txn_ack(sv_worker *w, uint64_t gen)
{
	if (!t.active || gen != t.gen || !t.waiting[w->id])
		return;
	t.waiting[w->id] = 0;
	if (!--t.nwaiting)
		finish();
}

void
sv_txn_nack(sv_worker *w, uint64_t gen, const char *reason)
{
	char clean[512];

	if (!t.active || gen != t.gen || !t.waiting[w->id]) {
		sv_scrub(clean, sizeof clean, reason);
		sv_warn("worker %u refused generation %llu: %s", w->id,
		    (unsigned long long)gen, clean);
		return;
	}
	sv_scrub(clean, sizeof clean, reason);
	if (t.refusals.len)
		kk_str_cats(&t.refusals, ", ");
	kk_str_catf(&t.refusals, "worker %u: %s", w->id, clean);
	t.waiting[w->id] = 0;
	if (!--t.nwaiting)
		finish();
}

/* A worker stopped counting (exited, drained, channel lost): it will be
 * restarted from the committed state, so it no longer holds us up. */
void
sv_txn_gone(sv_worker *w)
{
	if (!t.active || !t.waiting[w->id])
		return;
	t.waiting[w->id] = 0;
	if (!--t.nwaiting)
		finish();
}

void
sv_txn_timers(long long now)
{
	kk_str late = KK_STR_ZERO;
	char secs[KK_DURATION_FMTLEN];
	unsigned i, n = 0;

	if (!t.active || now < t.deadline)
		return;
	kk_fmt_duration_ms(secs, sv.state.set.worker_timeout_ms);
	for (i = 0; i < SV_MAX_SLOTS; i++) {
		sv_worker *w = &sv.workers[i];
		if (!t.waiting[i])
			continue;
		kk_str_catf(&late, "%s%u (pid %d)", n++ ? ", " : "", w->id, (int)w->pid);
		t.waiting[i] = 0;
		sv_warn("worker %u (pid %d) did not answer generation %llu within %s;"
		    " killing it", w->id, (int)w->pid, (unsigned long long)t.gen, secs);
		kill(w->pid, SIGKILL);
		w->killed = 1;
	}
	t.nwaiting = 0;
	if (t.refusals.len) {
		finish();
	} else {
		/* Every answer was an ack: the change is valid and in force; the
		 * silent workers restart from it. */
		kk_str msg = KK_STR_ZERO;
		kk_str_catf(&msg, "applied, but worker%s %s did not answer within %s (raise"
		    " it with: set worker-timeout); they were killed and restart with the"
		    " new state", n > 1 ? "s" : "", late.s ? late.s : "?", secs);
		commit(msg.s ? msg.s : "applied; some workers did not answer in time");
		kk_str_free(&msg);
		end();
	}
	kk_str_free(&late);
}

void
sv_txn_abort(const char *why)
{
	if (!t.active)
		return;
	sv_listeners_settle(t.gen, 0, 0);
	reply(0, why);
	end();
}
