/* ISC license. */
/* kk_state_diff: the verb lines that turn one state into another, for
 * reload. Objects have no "modify" verb, so a changed object is removed
 * and added again, and so is everything that depends on it. Order is part
 * of the state (it is the round-robin order of backends), so the diff
 * keeps only the longest run of unchanged objects that is a prefix of the
 * target, in order, and re-adds the rest: applying the diff yields the
 * target exactly, byte for byte when printed. */

#include <stdlib.h>
#include <string.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include "setting.h"
#include "stateprint.h"

struct diff {
	const kk_state *from, *to;
	/* Per object of `from`: 1 when it survives unchanged. */
	unsigned char *lkeep, *ckeep, *fkeep, *bkeep;
};

static int
same_str(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

static int
kept_listener(const struct diff *d, const char *addr)
{
	for (size_t j = 0; j < d->from->nlisteners; j++)
		if (!strcmp(d->from->listeners[j].addr_text, addr))
			return d->lkeep[j];
	return 0;
}

static int
kept_cluster(const struct diff *d, const char *id)
{
	for (size_t j = 0; j < d->from->nclusters; j++)
		if (!strcmp(d->from->clusters[j].id, id))
			return d->ckeep[j];
	return 0;
}

static int
same_listener(const struct diff *d, size_t j, size_t i)
{
	const kk_listener *a = &d->from->listeners[j], *b = &d->to->listeners[i];
	return !strcmp(a->addr_text, b->addr_text) && a->proto == b->proto
	    && same_str(a->public_address, b->public_address)
	    && a->front_timeout_ms == b->front_timeout_ms
	    && a->request_timeout_ms == b->request_timeout_ms
	    && a->back_timeout_ms == b->back_timeout_ms
	    && a->connect_timeout_ms == b->connect_timeout_ms;
}

static int
same_cluster(const struct diff *d, size_t j, size_t i)
{
	const kk_cluster *a = &d->from->clusters[j], *b = &d->to->clusters[i];
	return !strcmp(a->id, b->id) && a->lb == b->lb;
}

static int
same_frontend(const struct diff *d, size_t j, size_t i)
{
	const kk_frontend *a = &d->from->frontends[j], *b = &d->to->frontends[i];
	return !strcmp(a->cluster, b->cluster) && !strcmp(a->listener, b->listener)
	    && same_str(a->host, b->host) && a->path_kind == b->path_kind
	    && same_str(a->path, b->path) && same_str(a->method, b->method)
	    && kept_cluster(d, a->cluster) && kept_listener(d, a->listener);
}

static int
same_backend(const struct diff *d, size_t j, size_t i)
{
	const kk_backend *a = &d->from->backends[j], *b = &d->to->backends[i];
	return !strcmp(a->cluster, b->cluster) && !strcmp(a->id, b->id)
	    && !strcmp(a->addr_text, b->addr_text) && a->weight == b->weight
	    && a->backup == b->backup && kept_cluster(d, a->cluster);
}

/* Marks in keep the objects of `from` matching, in order, the longest
 * possible prefix of `to`; returns the length of that prefix. Each scan
 * resumes where the last match was found, so this is linear unless
 * objects move. */
static size_t
keep_prefix(const struct diff *d, size_t nfrom, size_t nto, unsigned char *keep,
    int (*same)(const struct diff *, size_t, size_t))
{
	size_t i, j = 0;
	for (i = 0; i < nto; i++) {
		size_t k;
		for (k = j; k < nfrom && !same(d, k, i); k++)
			;
		if (k == nfrom) break;
		keep[k] = 1;
		j = k + 1;
	}
	return i;
}

int
kk_state_diff(const kk_state *from, const kk_state *to, kk_str *out)
{
	struct diff d = { from, to, 0, 0, 0, 0 };
	size_t lp, cp, fp, bp, i;
	int ok = 0;
	d.lkeep = calloc(from->nlisteners + 1, 1);
	d.ckeep = calloc(from->nclusters + 1, 1);
	d.fkeep = calloc(from->nfrontends + 1, 1);
	d.bkeep = calloc(from->nbackends + 1, 1);
	if (!d.lkeep || !d.ckeep || !d.fkeep || !d.bkeep) goto end;
	/* Listeners and clusters first: frontends and backends survive only
	 * if what they depend on does. */
	lp = keep_prefix(&d, from->nlisteners, to->nlisteners, d.lkeep, same_listener);
	cp = keep_prefix(&d, from->nclusters, to->nclusters, d.ckeep, same_cluster);
	fp = keep_prefix(&d, from->nfrontends, to->nfrontends, d.fkeep, same_frontend);
	bp = keep_prefix(&d, from->nbackends, to->nbackends, d.bkeep, same_backend);

	/* Removals in dependency order: users before what they use. */
	for (i = 0; i < from->nfrontends; i++)
		if (!d.fkeep[i] && (!kk_stateprint_frontend(out, &from->frontends[i], "remove")
		    || !kk_str_cats(out, "\n")))
			goto end;
	for (i = 0; i < from->nbackends; i++)
		if (!d.bkeep[i] && (!kk_stateprint_backend(out, &from->backends[i], "remove")
		    || !kk_str_cats(out, "\n")))
			goto end;
	for (i = 0; i < from->nclusters; i++)
		if (!d.ckeep[i] && (!kk_stateprint_cluster(out, &from->clusters[i], "remove")
		    || !kk_str_cats(out, "\n")))
			goto end;
	for (i = 0; i < from->nlisteners; i++)
		if (!d.lkeep[i] && (!kk_stateprint_listener(out, &from->listeners[i], "remove")
		    || !kk_str_cats(out, "\n")))
			goto end;

	if (!kk_setting_print(&to->set, &from->set, out)) goto end;

	/* Additions in the target's order, after the kept prefix. */
	for (i = lp; i < to->nlisteners; i++)
		if (!kk_stateprint_listener(out, &to->listeners[i], "add") || !kk_str_cats(out, "\n"))
			goto end;
	for (i = cp; i < to->nclusters; i++)
		if (!kk_stateprint_cluster(out, &to->clusters[i], "add") || !kk_str_cats(out, "\n"))
			goto end;
	for (i = fp; i < to->nfrontends; i++)
		if (!kk_stateprint_frontend(out, &to->frontends[i], "add") || !kk_str_cats(out, "\n"))
			goto end;
	for (i = bp; i < to->nbackends; i++)
		if (!kk_stateprint_backend(out, &to->backends[i], "add") || !kk_str_cats(out, "\n"))
			goto end;
	ok = 1;
end:
	free(d.lkeep);
	free(d.ckeep);
	free(d.fkeep);
	free(d.bkeep);
	return ok;
}
