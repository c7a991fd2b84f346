/* ISC license. */
/* kk_state_diff: the verb lines that turn one state into another, for
 * reload. Objects have no "modify" verb, so a changed object is removed
 * and added again, and so is everything that depends on it. Order is part
 * of the state, and the diff must reach the target's printed order byte
 * for byte. Listeners, clusters and frontends print in state order, so
 * for them the diff keeps the longest run of unchanged objects that is a
 * prefix of the target, in order, and re-adds the rest. Backends print
 * grouped by cluster (their order only matters within a cluster: it is
 * the round-robin order), so the diff keeps that prefix per cluster: a
 * change to an early site re-adds that site's backends, not every later
 * one. Objects of the target are found in the source by a guess checked
 * in place, else by its indexes, so the diff is linear. */

#include <stdlib.h>
#include <string.h>
#include <kakehi/cert.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include "setting.h"
#include "clustertls.h"
#include "stateprint.h"

struct diff {
	const kk_state *from, *to;
	/* Per slot of `from`: 1 when its object survives unchanged. */
	unsigned char *lkeep, *ckeep, *fkeep, *bkeep;
	/* Every listener (cluster) of `from` survives: then any one a kept
	 * frontend or backend names does, with no lookup. */
	int all_lkept, all_ckept;
};

static int
same_str(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

static int
kept_listener(const struct diff *d, const char *addr)
{
	const kk_listener *l;
	if (d->all_lkept) return 1;
	l = kk_state_listener(d->from, addr);
	return l && d->lkeep[l - d->from->listeners];
}

static int
kept_cluster(const struct diff *d, const char *id)
{
	const kk_cluster *c;
	if (d->all_ckept) return 1;
	c = kk_state_cluster(d->from, id);
	return c && d->ckeep[c - d->from->clusters];
}

/* The guesses. A reload's file is mostly the running state in the same
 * order, so the object of `to` after a kept one is most often the object
 * of `from` after its match: compared in place, it is found without a
 * lookup, and both arrays are walked in order instead of at random (with
 * 100 000 sites, the lookups were 20 cache misses a site). A guess is
 * taken only when its whole identity is equal, so it is the object the
 * index would find; else the index decides. Each returns the first live
 * slot from `hint` on, or NULL. */
static const kk_cluster *
cluster_from(const kk_state *st, size_t hint)
{
	for (; hint < st->nclusters; hint++)
		if (st->clusters[hint].id) return &st->clusters[hint];
	return 0;
}

static const kk_frontend *
frontend_from(const kk_state *st, size_t hint)
{
	for (; hint < st->nfrontends; hint++)
		if (st->frontends[hint].cluster) return &st->frontends[hint];
	return 0;
}

static const kk_backend *
backend_from(const kk_state *st, size_t hint)
{
	for (; hint < st->nbackends; hint++)
		if (st->backends[hint].cluster) return &st->backends[hint];
	return 0;
}

/* Every match field equal: the same identity whatever the kind. */
static int
same_match(const kk_frontend *a, const kk_frontend *b)
{
	return a->proto == b->proto && a->path_kind == b->path_kind
	    && !strcmp(a->cluster, b->cluster) && !strcmp(a->listener, b->listener)
	    && same_str(a->host, b->host) && same_str(a->path, b->path)
	    && same_str(a->method, b->method) && same_str(a->extra, b->extra)
	    && same_str(a->sni, b->sni);
}

/* Two https listeners' policies, or two plain listeners'. */
static int
same_tls(const kk_tls_policy *a, const kk_tls_policy *b)
{
	if (!a || !b) return a == b;
	return a->versions == b->versions && same_str(a->ciphers, b->ciphers)
	    && same_str(a->groups, b->groups) && same_str(a->alpn, b->alpn)
	    && a->handshake_timeout_ms == b->handshake_timeout_ms
	    && a->hsts_max_age == b->hsts_max_age && a->hsts_flags == b->hsts_flags
	    && a->strict_sni == b->strict_sni && same_str(a->default_cert, b->default_cert)
	    && a->client_auth == b->client_auth && a->client_ca.len == b->client_ca.len
	    && (!a->client_ca.len || !memcmp(a->client_ca.p, b->client_ca.p, a->client_ca.len));
}

/* Each finder returns the slot in `from` of the object with the identity
 * of slot i of `to` when it is unchanged (and so is what it depends on),
 * or -1; hint is where its guess starts (see above). A removed slot of
 * `to` is -2: it is skipped. */
static long
find_listener(const struct diff *d, size_t i, size_t hint)
{
	const kk_listener *b = &d->to->listeners[i];
	/* Listeners are few: the lookup is cheap. */
	const kk_listener *a = kk_state_listener(d->from, b->addr_text);
	(void)hint;
	if (!a || a->proto != b->proto || !same_str(a->public_address, b->public_address)
	    || a->front_timeout_ms != b->front_timeout_ms
	    || a->request_timeout_ms != b->request_timeout_ms
	    || a->back_timeout_ms != b->back_timeout_ms
	    || a->connect_timeout_ms != b->connect_timeout_ms
	    || a->tunnel_timeout_ms != b->tunnel_timeout_ms || a->expect_proxy != b->expect_proxy
	    || a->service != b->service
	    || !same_tls(a->tls, b->tls) || memcmp(&a->h2, &b->h2, sizeof a->h2)
	    || memcmp(&a->limits, &b->limits, sizeof a->limits)
	    || a->forward.fields != b->forward.fields
	    || strcmp(a->forward.request_id, b->forward.request_id)
	    || !same_str(a->answers, b->answers))
		return -1;
	return a - d->from->listeners;
}

static long
find_cluster(const struct diff *d, size_t i, size_t hint)
{
	const kk_cluster *b = &d->to->clusters[i], *a;
	if (!b->id) return -2;
	if (!(a = cluster_from(d->from, hint)) || strcmp(a->id, b->id))
		a = kk_state_cluster(d->from, b->id);
	if (!a || a->lb != b->lb || a->send_proxy != b->send_proxy
	    || a->https_redirect != b->https_redirect || a->https_port != b->https_port
	    || a->h2 != b->h2 || !kk_clustertls_same(a->tls, b->tls)
	    || a->hash_key != b->hash_key
	    || !same_str(a->hash_name, b->hash_name) || a->sticky != b->sticky
	    || !same_str(a->sticky_cookie, b->sticky_cookie) || a->queue != b->queue
	    || a->queue_timeout_ms != b->queue_timeout_ms || !same_str(a->answers, b->answers)
	    || a->max_fails != b->max_fails || a->fail_5xx != b->fail_5xx
	    || !same_str(a->hc.path, b->hc.path) || !same_str(a->hc.host, b->hc.host)
	    || a->hc.interval_ms != b->hc.interval_ms || a->hc.timeout_ms != b->hc.timeout_ms
	    || a->hc.rise != b->hc.rise || a->hc.fall != b->hc.fall
	    || a->hc.expect_lo != b->hc.expect_lo || a->hc.expect_hi != b->hc.expect_hi)
		return -1;
	return a - d->from->clusters;
}

static long
find_frontend(const struct diff *d, size_t i, size_t hint)
{
	const kk_frontend *b = &d->to->frontends[i], *a;
	if (!b->cluster) return -2;
	if (!(a = frontend_from(d->from, hint)) || !same_match(a, b))
		a = kk_state_frontend(d->from, b);
	/* Its identity is all of an http frontend, so one found is unchanged;
	 * a tcp frontend's leaves out its cluster (state.h). */
	if (!a || strcmp(a->cluster, b->cluster) || !kept_cluster(d, a->cluster)
	    || !kept_listener(d, a->listener) || a->hsts_max_age != b->hsts_max_age
	    || !same_str(a->actions, b->actions))
		return -1;
	return a - d->from->frontends;
}

static long
find_backend(const struct diff *d, size_t i, size_t hint)
{
	const kk_backend *b = &d->to->backends[i], *a;
	if (!b->cluster) return -2;
	if (!(a = backend_from(d->from, hint)) || strcmp(a->id, b->id)
	    || strcmp(a->cluster, b->cluster))
		a = kk_state_backend(d->from, b->cluster, b->id);
	if (!a || strcmp(a->addr_text, b->addr_text) || a->weight != b->weight
	    || a->backup != b->backup || a->max_conns != b->max_conns
	    || a->slow_start_ms != b->slow_start_ms
	    || !kept_cluster(d, a->cluster))
		return -1;
	return a - d->from->backends;
}

/* A certificate is unchanged when its files' bytes are: the rest is
 * parsed from them. */
static long
find_certificate(const struct diff *d, size_t i, size_t hint)
{
	const kk_certificate *b = &d->to->certificates[i], *a;
	(void)hint;
	if (!b->listener) return -2;
	a = kk_state_certificate(d->from, b->listener, b->fingerprint);
	if (!a || !kk_cert_same_blobs(a, b) || !kept_listener(d, a->listener))
		return -1;
	return a - d->from->certificates;
}

/* Marks in keep the objects of `from` matching, in order, the longest
 * possible prefix of `to`; returns the length of that prefix in slots of
 * `to`, and in *nkept how many were kept. One lookup at most per object
 * of `to`: identities are unique, so the only candidate is the one the
 * index finds, and it must come after the last kept one. */
static size_t
keep_prefix(const struct diff *d, size_t nto, unsigned char *keep, size_t *nkept,
    long (*find)(const struct diff *, size_t, size_t))
{
	size_t i;
	long last = -1;
	*nkept = 0;
	for (i = 0; i < nto; i++) {
		long k = find(d, i, (size_t)(last + 1));
		if (k == -2) continue;
		if (k <= last) break;
		keep[k] = 1;
		last = k;
		++*nkept;
	}
	return i;
}

/* Marks the backends of `to` (in tokeep, by slot) and of `from` (in
 * d->bkeep) that stay: per cluster of order (kk_stateprint_backend_order),
 * the longest prefix found unchanged in `from` in the same order. The
 * guess is the backend after the last one kept, whatever its cluster:
 * both states list most backends in the same order. */
static void
keep_backends(const struct diff *d, const size_t *order, size_t n, unsigned char *tokeep)
{
	const char *cluster = 0;
	long last = -1, prev = -1;
	int broken = 0;
	size_t i;
	for (i = 0; i < n; i++) {
		const kk_backend *b = &d->to->backends[order[i]];
		long k;
		if (!cluster || strcmp(cluster, b->cluster)) {
			cluster = b->cluster;
			last = -1;
			broken = 0;
		}
		if (broken) continue;
		if ((k = find_backend(d, order[i], (size_t)(prev + 1))) <= last) {
			broken = 1;
			continue;
		}
		d->bkeep[k] = 1;
		tokeep[order[i]] = 1;
		last = prev = k;
	}
}

int
kk_state_diff(const kk_state *from, const kk_state *to, kk_str *out)
{
	struct diff d = { from, to, 0, 0, 0, 0, 0, 0 };
	size_t lp, cp, fp, nb = 0, i, *border = 0, nkept, xp;
	unsigned char *tokeep = 0, *xkeep = calloc(from->ncertificates + 1, 1);
	int ok = 0;
	d.lkeep = calloc(from->nlisteners + 1, 1);
	d.ckeep = calloc(from->nclusters + 1, 1);
	d.fkeep = calloc(from->nfrontends + 1, 1);
	d.bkeep = calloc(from->nbackends + 1, 1);
	if (!d.lkeep || !d.ckeep || !d.fkeep || !d.bkeep || !xkeep) goto end;
	/* Listeners and clusters first: frontends and backends survive only
	 * if what they depend on does. */
	lp = keep_prefix(&d, to->nlisteners, d.lkeep, &nkept, find_listener);
	d.all_lkept = nkept == from->nlisteners;
	xp = keep_prefix(&d, to->ncertificates, xkeep, &nkept, find_certificate);
	cp = keep_prefix(&d, to->nclusters, d.ckeep, &nkept, find_cluster);
	d.all_ckept = nkept == from->nclusters - from->dclusters;
	fp = keep_prefix(&d, to->nfrontends, d.fkeep, &nkept, find_frontend);
	if (!(border = kk_stateprint_backend_order(to, &nb))) goto end;
	if (!(tokeep = calloc(to->nbackends + 1, 1))) goto end;
	keep_backends(&d, border, nb, tokeep);

	/* Removals in dependency order: users before what they use. Removed
	 * slots of `from` are neither kept nor printed. */
	for (i = 0; i < from->nfrontends; i++)
		if (!d.fkeep[i] && from->frontends[i].cluster
		    && (!kk_stateprint_frontend(out, &from->frontends[i], "remove")
		    || !kk_str_cats(out, "\n")))
			goto end;
	for (i = 0; i < from->nbackends; i++)
		if (!d.bkeep[i] && from->backends[i].cluster
		    && (!kk_stateprint_backend(out, &from->backends[i], "remove")
		    || !kk_str_cats(out, "\n")))
			goto end;
	for (i = 0; i < from->nclusters; i++)
		if (!d.ckeep[i] && from->clusters[i].id
		    && (!kk_stateprint_cluster(out, &from->clusters[i], "remove")
		    || !kk_str_cats(out, "\n")))
			goto end;
	for (i = 0; i < from->ncertificates; i++)
		if (!xkeep[i] && from->certificates[i].listener
		    && (!kk_stateprint_certificate(out, &from->certificates[i], "remove")
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
	for (i = xp; i < to->ncertificates; i++)
		if (to->certificates[i].listener && (!kk_stateprint_certificate(out,
		    &to->certificates[i], "add") || !kk_str_cats(out, "\n")))
			goto end;
	for (i = cp; i < to->nclusters; i++)
		if (to->clusters[i].id && (!kk_stateprint_cluster(out, &to->clusters[i], "add")
		    || !kk_str_cats(out, "\n")))
			goto end;
	for (i = fp; i < to->nfrontends; i++)
		if (to->frontends[i].cluster && (!kk_stateprint_frontend(out, &to->frontends[i],
		    "add") || !kk_str_cats(out, "\n")))
			goto end;
	for (i = 0; i < nb; i++)
		if (!tokeep[border[i]] && (!kk_stateprint_backend(out, &to->backends[border[i]],
		    "add") || !kk_str_cats(out, "\n")))
			goto end;
	ok = 1;
end:
	free(border);
	free(tokeep);
	free(d.lkeep);
	free(d.ckeep);
	free(d.fkeep);
	free(d.bkeep);
	free(xkeep);
	return ok;
}
