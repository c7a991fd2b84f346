/* ISC license. */
/* Transactions: one change of the state in flight at a time. A change is
 * applied to the live state under an undo journal (validated there by
 * control.c, no copy of the state), gets the next generation, and travels
 * to every live worker as a delta: the verb lines that made it, tagged
 * with the generation they apply to. It commits when each worker has
 * acknowledged it. A refusal undoes the journal and sends every worker the
 * committed state whole, under a new generation. Workers silent past
 * worker-timeout are named in the reply and replaced one at a time
 * (workers.c); the change stands. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sv.h"

typedef struct txn txn;
struct txn {
	int active;
	uint64_t gen;
	kk_journal journal;	/* undoes the change in sv.state */
	kk_str delta;		/* its verb lines, as sent */
	sv_origin origin;
	char *verbline;
	char *okbody;
	char waiting[SV_MAX_SLOTS];
	unsigned nwaiting;
	kk_str refusals;	/* "worker N: reason" lines */
	tain deadline;
};

static txn t;

int
sv_txn_busy(void)
{
	return t.active;
}

uint64_t
sv_txn_state_gen(void)
{
	return t.active ? t.gen : sv.gen;
}

void
sv_txn_deadline(tain *earliest)
{
	if (t.active)
		sv_deadline_earliest(earliest, &t.deadline);
}

static void
end(void)
{
	kk_str_free(&t.delta);
	if (t.verbline)
		explicit_bzero(t.verbline, strlen(t.verbline));
	free(t.verbline);
	free(t.okbody);
	kk_str_free(&t.refusals);
	memset(&t, 0, sizeof t);
}

/* The change's outcome for the events stream: the generation it made
 * (applied) or the one the workers went back to (refused). */
static void
change_event(int ok, const char *body)
{
	sv_event e;

	if (!sv_event_begin(&e, "change"))
		return;
	sv_event_num(&e, "generation", ok ? t.gen : sv.gen);
	sv_event_str(&e, "result", ok ? "applied" : "refused");
	sv_event_str(&e, "actor", t.origin.actor);
	sv_event_verb(&e, "verb", t.verbline);
	if (!ok)
		sv_event_str(&e, "why", body);
	sv_event_end(&e);
}

static void
reply(int ok, const char *body)
{
	change_event(ok, body);
	sv_audit(&t.origin, t.verbline, ok, body);
	sv_notify_change(t.verbline, ok);
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

/* Workers started during the transaction were given the state as it was
 * then, the change included (sv_txn_state_gen); one that is still behind
 * the committed generation gets it whole. */
static void
catch_up(uint64_t gen)
{
	unsigned i;

	for (i = 0; i < SV_MAX_SLOTS; i++) {
		sv_worker *w = &sv.workers[i];
		if (!sv_worker_follows(w) || w->sent_gen >= gen)
			continue;
		if (!sv_listeners_send_new(w, t.gen) || !sv_worker_send_state(w, gen))
			lost(w);
	}
}

static void
commit(const char *late)
{
	uint64_t base = sv.gen;
	sv_metrics_commit_journal(&sv.state, &t.journal);
	kk_journal_commit(&sv.state, &t.journal);
	sv.gen = t.gen;
	sv_health_sweep();
	sv_checker_change(base, t.gen, t.delta.s);
	catch_up(t.gen);
	sv_listeners_settle(t.gen, 1, &sv.state);
	if (sv.state.set.workers != sv.want && !sv.stopping) {
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

	kk_journal_undo(&sv.state, &t.journal);
	sv_metrics_prune(&sv.state);
	/* Every worker goes back to the committed state, whole, under a
	 * generation no earlier message used: a delta that undoes the change
	 * is not worth a second code path for what should be rare. */
	sv.gen = t.gen + 1;
	for (i = 0; i < SV_MAX_SLOTS; i++) {
		sv_worker *w = &sv.workers[i];
		if (sv_worker_follows(w) && !sv_worker_send_state(w, sv.gen))
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

/* Sends the change to w: the delta when w is on the committed
 * generation, else (it was behind) the whole state. */
static int
send_change(sv_worker *w)
{
	if (!sv_listeners_send_new(w, t.gen))
		return 0;
	if (w->sent_gen == sv.gen)
		return sv_worker_send_delta(w, sv.gen, t.gen, t.delta.s);
	return sv_worker_send_state(w, t.gen);
}

void
sv_txn_begin(kk_journal *j, const char *delta, size_t len, const sv_origin *o,
    const char *verbline, const char *okbody)
{
	char err[KK_ERRLEN];
	unsigned i;

	memset(&t, 0, sizeof t);
	t.active = 1;
	t.gen = sv.gen + 1;
	t.journal = *j;
	memset(j, 0, sizeof *j);
	t.origin = *o;
	/* The change may carry a certificate's key. */
	t.delta.wipe = 1;
	t.verbline = strdup(verbline);
	t.okbody = strdup(okbody);
	if (!t.verbline || !t.okbody || !kk_str_catb(&t.delta, delta, len)
	    || !kk_str_ready(&t.delta, 1)) {
		kk_journal_undo(&sv.state, &t.journal);
		reply(0, "out of memory; nothing changed");
		end();
		return;
	}
	/* The slots of what the change adds, before a worker builds on it. */
	sv_metrics_sync_journal(&sv.state, &t.journal);
	if (!sv_listeners_prepare(&sv.state, t.gen, err, sizeof err)) {
		kk_journal_undo(&sv.state, &t.journal);
		reply(0, err);
		end();
		return;
	}
	for (i = 0; i < SV_MAX_SLOTS; i++) {
		sv_worker *w = &sv.workers[i];
		if (!sv_worker_follows(w))
			continue;
		if (!send_change(w)) {
			lost(w);
			continue;
		}
		/* A late worker follows the changes until its replacement
		 * serves, and a draining one while it still answers on its
		 * connections (a worker being replaced by upgrade workers),
		 * but no change waits for either. */
		if (w->late || w->state == SV_W_DRAINING)
			continue;
		t.waiting[i] = 1;
		t.nwaiting++;
	}
	sv_deadline_in(&t.deadline, sv.state.set.worker_timeout_ms);
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
sv_txn_timers(void)
{
	kk_str late = KK_STR_ZERO;
	char secs[KK_DURATION_FMTLEN];
	unsigned i, n = 0;

	if (!t.active || !sv_deadline_due(&t.deadline))
		return;
	kk_fmt_duration_ms(secs, sv.state.set.worker_timeout_ms);
	for (i = 0; i < SV_MAX_SLOTS; i++) {
		sv_worker *w = &sv.workers[i];
		if (!t.waiting[i])
			continue;
		kk_str_catf(&late, "%s%u (pid %d)", n++ ? ", " : "", w->id, (int)w->pid);
		t.waiting[i] = 0;
		sv_warn("worker %u (pid %d) did not answer generation %llu within %s;"
		    " replacing it", w->id, (int)w->pid, (unsigned long long)t.gen, secs);
		w->late = 1;
	}
	t.nwaiting = 0;
	if (t.refusals.len) {
		finish();
	} else {
		/* Every answer was an ack: the change is valid and in force; the
		 * late workers are replaced by workers started from it. */
		kk_str msg = KK_STR_ZERO;
		kk_str_catf(&msg, "applied, but worker%s %s did not answer within %s (raise"
		    " it with: set worker-timeout); %s replaced one at a time, each drained"
		    " once its replacement serves", n > 1 ? "s" : "", late.s ? late.s : "?",
		    secs, n > 1 ? "they are" : "it is");
		commit(msg.s ? msg.s : "applied; some workers did not answer in time");
		kk_str_free(&msg);
		end();
	}
	kk_str_free(&late);
	/* After the commit: replacements start from the committed state. */
	sv_workers_replace_late();
}

void
sv_txn_abort(const char *why)
{
	if (!t.active)
		return;
	kk_journal_undo(&sv.state, &t.journal);
	sv_listeners_settle(t.gen, 0, 0);
	reply(0, why);
	end();
}
