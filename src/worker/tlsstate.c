/* ISC license. */
/* The worker's TLS contexts by listener, following the state. A listener
 * that is new, or whose policy changed, gets a fresh context with all of
 * its certificates (one walk of the state's certificates for all such
 * listeners). Every other context follows the journal certificate by
 * certificate: an added one is prepared and linked, a removed one
 * unlinked, each step noted so that a failure puts the contexts back as
 * they were before the batch. A context or certificate that connections
 * still use lives on through their references (tlsctx.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "list.h"
#include "tlsstate.h"

typedef struct entry entry;
struct entry {
	kk_link link;
	char *addr;
	kk_tlsctx *x;
	kk_tlsctx *fresh;	/* during an apply: the context replacing x */
	int seen;		/* during an apply: still an https listener */
};
static kk_link entries = { &entries, &entries };

/* One step of a journal applied to a context, for the undo. */
typedef struct step step;
struct step {
	kk_tlsctx *x;
	kk_tlscert *c;
	kk_tlscert *after;	/* removed: the one that followed it */
	int added;
};

static entry *
find(const char *addr)
{
	kk_link *l;
	for (l = entries.next; l != &entries; l = l->next) {
		entry *e = KK_CONTAINER(l, entry, link);
		if (!strcmp(e->addr, addr))
			return e;
	}
	return NULL;
}

kk_tlsctx *
kk_tlsstate_find(const char *addr)
{
	entry *e = find(addr);
	return e ? e->x : NULL;
}

static void
entry_free(entry *e)
{
	kk_list_unlink(&e->link);
	if (e->x)
		kk_tlsctx_unref(e->x);
	free(e->addr);
	free(e);
}

/* Drops what an apply made and never committed: fresh contexts, and the
 * entries made for new listeners. */
static void
drop_fresh(void)
{
	kk_link *l, *next;
	for (l = entries.next; l != &entries; l = next) {
		entry *e = KK_CONTAINER(l, entry, link);
		next = l->next;
		if (e->fresh)
			kk_tlsctx_unref(e->fresh);
		e->fresh = NULL;
		e->seen = 0;
		if (!e->x)
			entry_free(e);
	}
}

/* Marks the https listeners of st, with a fresh context for those that
 * have none or another policy (every one when all). 1 ok, 0 with err. */
static int
mark_listeners(const kk_state *st, int all, char *err, size_t errlen)
{
	size_t i;
	for (i = 0; i < st->nlisteners; i++) {
		const kk_listener *l = &st->listeners[i];
		entry *e;
		char sub[200];
		if (!l->addr_text || !l->tls)
			continue;
		if (!(e = find(l->addr_text))) {
			if (!(e = calloc(1, sizeof *e)) || !(e->addr = strdup(l->addr_text))) {
				free(e);
				snprintf(err, errlen, "listener %s: out of memory", l->addr_text);
				return 0;
			}
			kk_list_push(&entries, &e->link);
		}
		e->seen = 1;
		if (!all && e->x && kk_tlsctx_same_policy(e->x, l->tls))
			continue;
		if (!(e->fresh = kk_tlsctx_new(l->tls, sub, sizeof sub))) {
			snprintf(err, errlen, "listener %s: %s", l->addr_text, sub);
			return 0;
		}
	}
	return 1;
}

/* Fills the fresh contexts with their listeners' certificates. */
static int
fill_fresh(const kk_state *st, char *err, size_t errlen)
{
	size_t i;
	for (i = 0; i < st->ncertificates; i++) {
		const kk_certificate *src = &st->certificates[i];
		entry *e;
		kk_tlscert *c;
		if (!src->listener || !(e = find(src->listener)) || !e->fresh)
			continue;
		if (!(c = kk_tlsctx_prepare(e->fresh, src, err, errlen)))
			return 0;
		kk_tlsctx_link(e->fresh, c, NULL);
	}
	return 1;
}

/* In reverse, so that each step finds the order as it left it: a
 * removed certificate goes back where it was. */
static void
undo_steps(step *s, size_t n)
{
	kk_tlscert *after;
	while (n--) {
		if (s[n].added) {
			kk_tlsctx_unlink(s[n].x, kk_tlscert_fingerprint(s[n].c), &after);
			kk_tlscert_unref(s[n].c);
		} else
			kk_tlsctx_link(s[n].x, s[n].c, s[n].after);
	}
}

/* Room for one more step. */
static int
step_room(step **s, size_t n, size_t *a)
{
	step *ns;
	if (n < *a)
		return 1;
	if (!(ns = realloc(*s, (*a ? 2 * *a : 16) * sizeof **s)))
		return 0;
	*s = ns;
	*a = *a ? 2 * *a : 16;
	return 1;
}

/* Unlinks from e's context every certificate the state no longer holds:
 * what a replace took out (the journal names only the new one). A walk
 * of that listener's certificates, where an add or a remove costs one.
 * *pos: where the last one was, for its successor. */
static int
drop_stale(const kk_state *st, entry *e, step **s, size_t *n, size_t *a, kk_tlscert **pos)
{
	kk_tlscert *c;
	while ((c = kk_tlsctx_stale(e->x, st, e->addr))) {
		if (!step_room(s, *n, a))
			return 0;
		kk_tlsctx_unlink(e->x, kk_tlscert_fingerprint(c), pos);
		(*s)[*n].x = e->x;
		(*s)[*n].c = c;
		(*s)[*n].after = *pos;
		(*s)[(*n)++].added = 0;
	}
	return 1;
}

/* The journal's certificate changes, for the contexts kept (a fresh one
 * already has the state's certificates): an added one is linked unless
 * it is already (a later replace in the batch put it in the slot the add
 * names), a removed one unlinked, a replaced one unlinked and its
 * successor linked. A certificate added and removed again in the batch
 * has no listener any more: nothing to do, but for a replace whose new
 * certificate went, every context drops what the state lost. *steps gets
 * what was done, for the undo. */
static int
follow(const kk_state *st, const kk_journal *j, step **steps, size_t *nsteps, char *err,
    size_t errlen)
{
	size_t i, a = 0;
	step *s = NULL;
	kk_link *l;
	*nsteps = 0;
	for (i = 0; i < j->n; i++) {
		kk_change ch;
		entry *e;
		kk_tlscert *c, *pos = NULL;
		kk_journal_change(st, j, i, &ch);
		if (!ch.x)
			continue;
		if (!ch.x->listener) {
			if (ch.id != KK_V_CERTIFICATE_REPLACE)
				continue;
			for (l = entries.next; l != &entries; l = l->next) {
				e = KK_CONTAINER(l, entry, link);
				if (e->x && !e->fresh && !drop_stale(st, e, &s, nsteps, &a, &pos))
					goto nomem;
			}
			continue;
		}
		if (!(e = find(ch.x->listener)) || e->fresh || !e->x)
			continue;
		/* A replacement takes its predecessor's place in the order
		 * (the default is the first), as in the state. */
		if (ch.id == KK_V_CERTIFICATE_REPLACE &&
		    !drop_stale(st, e, &s, nsteps, &a, &pos))
			goto nomem;
		if (!step_room(&s, *nsteps, &a))
			goto nomem;
		if (ch.id == KK_V_CERTIFICATE_REMOVE) {
			if (!(c = kk_tlsctx_unlink(e->x, ch.x->fingerprint, &pos)))
				continue;
		} else {
			if (kk_tlsctx_has(e->x, ch.x->fingerprint))
				continue;
			if (!(c = kk_tlsctx_prepare(e->x, ch.x, err, errlen)))
				goto fail;
			kk_tlsctx_link(e->x, c, pos);
		}
		s[*nsteps].x = e->x;
		s[*nsteps].c = c;
		s[*nsteps].after = pos;
		s[(*nsteps)++].added = ch.id != KK_V_CERTIFICATE_REMOVE;
	}
	*steps = s;
	return 1;
nomem:
	snprintf(err, errlen, "unable to follow a certificate change: out of memory");
fail:
	undo_steps(s, *nsteps);
	free(s);
	*nsteps = 0;
	return 0;
}

int
kk_tlsstate_apply(const kk_state *st, const kk_journal *j, char *err, size_t errlen)
{
	step *steps = NULL;
	size_t nsteps = 0, i;
	kk_link *l, *next;
	if (!mark_listeners(st, j == NULL, err, errlen) || !fill_fresh(st, err, errlen) ||
	    (j && !follow(st, j, &steps, &nsteps, err, errlen))) {
		drop_fresh();
		return 0;
	}
	/* Commit: from here nothing fails. */
	for (i = 0; i < nsteps; i++)
		if (!steps[i].added)
			kk_tlscert_unref(steps[i].c);
	free(steps);
	for (l = entries.next; l != &entries; l = next) {
		entry *e = KK_CONTAINER(l, entry, link);
		next = l->next;
		if (!e->seen) {
			entry_free(e);
			continue;
		}
		if (e->fresh) {
			if (e->x)
				kk_tlsctx_unref(e->x);
			e->x = e->fresh;
			e->fresh = NULL;
		}
		e->seen = 0;
	}
	return 1;
}
