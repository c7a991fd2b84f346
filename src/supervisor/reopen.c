/* ISC license. */
/* log reopen and SIGUSR1: every live worker is asked to open its
 * access-log file again, and the answer waits until each has said how it
 * went (or a deadline passed), so that logrotate's postrotate may compress
 * the old file once `kakehi-ctl log reopen` returns, and a worker that
 * could not open the new one is named. Each request has a number that the
 * workers' answers repeat: a late answer (after the deadline, or after an
 * in-place upgrade, which drops the requests) matches none. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kakehi/frame.h>
#include <kakehi/proto.h>
#include <kakehi/str.h>

#include "sv.h"

#define REOPEN_MAX_PENDING 8

typedef struct reopen_req reopen_req;
struct reopen_req {
	int active;
	sv_origin origin;	/* slot -1: a signal's, answered in the log */
	unsigned long long seq;
	tain deadline;
	char waiting[SV_MAX_SLOTS];
	unsigned nwaiting, asked, silent, nfailed;
	kk_str failures;	/* "; worker N (pid P): why" each */
};

static reopen_req reqs[REOPEN_MAX_PENDING];
static unsigned long long next_seq = 1;

void
sv_reopen_deadline(tain *earliest)
{
	unsigned i;

	for (i = 0; i < REOPEN_MAX_PENDING; i++)
		if (reqs[i].active)
			sv_deadline_earliest(earliest, &reqs[i].deadline);
}

/* Whether the state's access log is a file: stderr or off have nothing
 * to reopen. */
static int
log_is_file(void)
{
	const char *where = sv.state.set.access_log;

	return where && strcmp(where, "stderr");
}

static void
finish(reopen_req *r)
{
	kk_str msg = KK_STR_ZERO;
	int good = !r->failures.len && !r->silent;

	if (!log_is_file())
		kk_str_cats(&msg, "the access log is not a file (set access-log FILE): "
		    "nothing to reopen");
	else if (good)
		kk_str_catf(&msg, "reopened the access log in %u worker%s", r->asked,
		    r->asked == 1 ? "" : "s");
	else
		kk_str_catf(&msg, "the access log was reopened in %u of %u worker%s",
		    r->asked - r->silent - r->nfailed, r->asked, r->asked == 1 ? "" : "s");
	if (r->silent)
		kk_str_catf(&msg, "; %u did not answer within %lu ms", r->silent,
		    sv.state.set.worker_timeout_ms);
	if (r->failures.len)
		kk_str_catb(&msg, r->failures.s, r->failures.len);
	kk_str_cats(&msg, "\n");
	if (msg.s)
		sv_control_reply(&r->origin, good ? KK_REPLY_OK : KK_REPLY_ERROR, msg.s,
		    msg.len);
	kk_str_free(&msg);
	kk_str_free(&r->failures);
	memset(r, 0, sizeof *r);
}

/* o: the client that asked, or NULL for SIGUSR1, whose answer goes to
 * the log. */
void
sv_reopen_begin(const sv_origin *o)
{
	char seq[24];
	const char *argv[2] = { KK_MSG_LOG_REOPEN, seq };
	reopen_req *r = 0;
	unsigned i;

	for (i = 0; i < REOPEN_MAX_PENDING; i++)
		if (!reqs[i].active) {
			r = &reqs[i];
			break;
		}
	if (!r) {
		static const char busy[] = "too many log reopens at once; retry in a moment\n";
		if (o)
			sv_control_reply(o, KK_REPLY_ERROR, busy, sizeof busy - 1);
		else
			sv_warn("signal USR1: %s", busy);
		return;
	}
	r->active = 1;
	if (o)
		r->origin = *o;
	else {
		r->origin.slot = -1;
		snprintf(r->origin.actor, sizeof r->origin.actor, "signal USR1");
	}
	r->seq = next_seq++;
	snprintf(seq, sizeof seq, "%llu", r->seq);
	sv_deadline_in(&r->deadline, sv.state.set.worker_timeout_ms);
	for (i = 0; i < SV_MAX_SLOTS; i++) {
		sv_worker *w = &sv.workers[i];
		if (!sv_worker_live(w) || !sv_worker_send(w, 2, argv))
			continue;
		r->waiting[i] = 1;
		r->nwaiting++;
		r->asked++;
	}
	if (!r->nwaiting)
		finish(r);
}

/* The request numbered seq, if still waiting for worker i. */
static reopen_req *
waiting_for(unsigned i, const char *seq)
{
	unsigned k;
	char *end;
	unsigned long long n = strtoull(seq, &end, 10);

	if (*end)
		return 0;
	for (k = 0; k < REOPEN_MAX_PENDING; k++)
		if (reqs[k].active && reqs[k].seq == n && reqs[k].waiting[i])
			return &reqs[k];
	return 0;
}

static void
answered(reopen_req *r, unsigned i)
{
	r->waiting[i] = 0;
	if (!--r->nwaiting)
		finish(r);
}

void
sv_reopen_answer(sv_worker *w, const char *seq, const char *why)
{
	reopen_req *r = waiting_for(w->id, seq);
	char clean[512];

	if (!r)
		return;
	if (why && *why) {
		sv_scrub(clean, sizeof clean, why);
		kk_str_catf(&r->failures, "; worker %u (pid %d): %s", w->id, (int)w->pid, clean);
		r->nfailed++;
	}
	answered(r, w->id);
}

void
sv_reopen_gone(sv_worker *w)
{
	unsigned k;

	for (k = 0; k < REOPEN_MAX_PENDING; k++)
		if (reqs[k].active && reqs[k].waiting[w->id]) {
			/* Gone, it writes no more lines to the old file either. */
			reqs[k].asked--;
			answered(&reqs[k], w->id);
		}
}

void
sv_reopen_timers(void)
{
	unsigned k, i;

	for (k = 0; k < REOPEN_MAX_PENDING; k++) {
		reopen_req *r = &reqs[k];
		if (!r->active || !sv_deadline_due(&r->deadline))
			continue;
		for (i = 0; i < SV_MAX_SLOTS; i++)
			if (r->waiting[i]) {
				r->waiting[i] = 0;
				r->silent++;
			}
		r->nwaiting = 0;
		finish(r);
	}
}
