/* ISC license. */
/* Router snapshots: built in one arena, matched without allocation. Host
 * (or, on tcp listeners, server name) lookup is a hash probe plus one
 * probe per dot for wildcards, so its cost does not grow with the number
 * of frontends. Building is linear in the state: clusters, and host groups
 * while grouping, are found by hash. */
#include <stdlib.h>
#include <string.h>
#include <kakehi/index.h>
#include "router.h"

/* The arena: chunks freed together with the snapshot. */
typedef struct chunk chunk;
struct chunk {
	chunk *next;
	size_t used, cap;
	char *data;
};

static void *
arena_alloc(kk_router *r, size_t n)
{
	chunk *c = r->arena;
	n = (n + 15) & ~(size_t)15;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		chunk *nc = malloc(sizeof *nc + cap + 16);
		if (!nc)
			return NULL;
		nc->data = (char *)(((uintptr_t)(nc + 1) + 15) & ~(uintptr_t)15);
		nc->used = 0;
		nc->cap = cap;
		nc->next = c;
		r->arena = c = nc;
	}
	c->used += n;
	return memset(c->data + c->used - n, 0, n);
}

static const char *
arena_str(kk_router *r, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = arena_alloc(r, n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static uint32_t
hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	while (n--) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

static kk_rhost *
table_find(kk_rhost **t, unsigned mask, const char *key, size_t klen)
{
	uint32_t i;
	if (!t)
		return NULL;
	for (i = hash(key, klen) & mask; t[i]; i = (i + 1) & mask)
		if (t[i]->klen == klen && !memcmp(t[i]->key, key, klen))
			return t[i];
	return NULL;
}

static void
table_put(kk_rhost **t, unsigned mask, kk_rhost *h)
{
	uint32_t i;
	for (i = hash(h->key, h->klen) & mask; t[i]; i = (i + 1) & mask)
		;
	t[i] = h;
}

static int
route_cmp(const void *a, const void *b)
{
	const kk_route *x = a, *y = b;
	static const int rank[] = { [KK_PATH_EXACT] = 0, [KK_PATH_PREFIX] = 1, [KK_PATH_ANY] = 2 };
	if (rank[x->kind] != rank[y->kind])
		return rank[x->kind] - rank[y->kind];
	if (x->plen != y->plen)
		return x->plen > y->plen ? -1 : 1;
	if (!x->method != !y->method)
		return x->method ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The snapshot's cluster for a state cluster id: the state's index gives
 * its slot, and rc_of maps state slots to snapshot clusters. */
static kk_rcluster *
find_cluster(const kk_state *st, kk_rcluster **rc_of, const char *id)
{
	const kk_cluster *c = kk_state_cluster(st, id);
	return c ? rc_of[c - st->clusters] : NULL;
}

/* The host group key of a frontend: "" for any host (or, on a tcp
 * listener, the default route), ".suffix" for a wildcard, the host or
 * server name itself otherwise. A frontend has one or the other, as its
 * listener's kind says. */
static const char *
host_key(const kk_frontend *f, int *wild)
{
	const char *name = f->host ? f->host : f->sni;
	*wild = 0;
	if (!name)
		return "";
	if (name[0] == '*' && name[1] == '.') {
		*wild = 1;
		return name + 1;
	}
	return name;
}

static unsigned
table_size(unsigned n)
{
	unsigned s = 4;
	while (s < 2 * n)
		s <<= 1;
	return s;
}

/* Groups of one listener, found by key while grouping: the wildcard flag
 * byte, then the host key (".example.com" and "example.com" stay apart). */
static kk_rhost *
group_of(kk_index *groups, kk_rhost *hosts, unsigned *nhosts, const char *key, int wild)
{
	char buf[258];
	size_t klen = strlen(key), *slot;
	kk_rhost *h;
	if (klen > sizeof buf - 2)	/* the state keeps hosts under 256 bytes */
		return NULL;
	buf[0] = (char)('0' + wild);
	memcpy(buf + 1, key, klen);
	if ((slot = kk_index_get(groups, buf, klen + 1)))
		return &hosts[*slot];
	if (!kk_index_put(groups, buf, klen + 1, *nhosts))
		return NULL;
	h = &hosts[(*nhosts)++];
	h->key = key;	/* state string until copied */
	h->klen = klen;
	h->wild = (unsigned char)wild;
	return h;
}

static int
build_listener(kk_router *r, kk_rlistener *rl, const kk_state *st, const kk_listener *sl,
    kk_rcluster **rc_of)
{
	size_t i, j;
	unsigned nexact = 0, nwild = 0, nhosts = 0;
	kk_rhost *hosts, **group;
	kk_index groups = KK_INDEX_ZERO;
	const char *colon;

	rl->addr = arena_str(r, sl->addr_text);
	if (!rl->addr)
		return 0;
	colon = strrchr(sl->addr_text, ':');
	if (colon && strlen(colon + 1) < sizeof rl->port)
		strcpy(rl->port, colon + 1);
	rl->front_ms = sl->front_timeout_ms;
	rl->request_ms = sl->request_timeout_ms;
	rl->back_ms = sl->back_timeout_ms;
	rl->connect_ms = sl->connect_timeout_ms;
	rl->proto = sl->proto;
	rl->expect_proxy = sl->expect_proxy;
	rl->tunnel_ms = sl->proto == KK_PROTO_TCP ? sl->front_timeout_ms : sl->tunnel_timeout_ms;

	/* Group frontends by host key: count distinct keys first. */
	hosts = arena_alloc(r, (st->nfrontends + 1) * sizeof *hosts);
	/* The group of each frontend, found once here and used to fill. */
	group = arena_alloc(r, (st->nfrontends + 1) * sizeof *group);
	if (!hosts || !group)
		return 0;
	for (i = 0; i < st->nfrontends; i++) {
		const kk_frontend *f = &st->frontends[i];
		int wild;
		const char *key;
		kk_rhost *h;
		if (!f->cluster || strcmp(f->listener, sl->addr_text))
			continue;
		key = host_key(f, &wild);
		if (!*key)
			h = &rl->any;
		else {
			unsigned before = nhosts;
			if (!(h = group_of(&groups, hosts, &nhosts, key, wild))) {
				kk_index_free(&groups);
				return 0;
			}
			if (nhosts != before) {
				if (wild)
					nwild++;
				else
					nexact++;
			}
		}
		h->nroutes++;
		group[i] = h;
	}
	kk_index_free(&groups);
	/* Allocate routes per group, then fill them in state order; nroutes
	 * counts again as the routes are filled. */
	for (j = 0; j <= nhosts; j++) {
		kk_rhost *h = j < nhosts ? &hosts[j] : &rl->any;
		if (h->nroutes && !(h->routes = arena_alloc(r, h->nroutes * sizeof *h->routes)))
			return 0;
		h->nroutes = 0;
		if (h->key && !(h->key = arena_str(r, h->key)))
			return 0;
	}
	for (i = 0; i < st->nfrontends; i++) {
		const kk_frontend *f = &st->frontends[i];
		kk_route *rt;
		if (!f->cluster || strcmp(f->listener, sl->addr_text))
			continue;
		rt = &group[i]->routes[group[i]->nroutes++];
		rt->kind = f->path_kind;
		rt->path = f->path ? arena_str(r, f->path) : "";
		rt->plen = f->path ? strlen(f->path) : 0;
		rt->method = f->method ? arena_str(r, f->method) : NULL;
		rt->cluster = find_cluster(st, rc_of, f->cluster);
		rt->order = (unsigned)i;
		if (!rt->path || (f->method && !rt->method))
			return 0;
		if (!rt->cluster)	/* the state guarantees it exists */
			return 0;
	}
	rl->any.key = "";
	rl->exact_mask = table_size(nexact) - 1;
	rl->wild_mask = table_size(nwild) - 1;
	rl->exact = arena_alloc(r, (rl->exact_mask + 1) * sizeof *rl->exact);
	rl->wild = arena_alloc(r, (rl->wild_mask + 1) * sizeof *rl->wild);
	if (!rl->exact || !rl->wild)
		return 0;
	for (j = 0; j <= nhosts; j++) {
		kk_rhost *h = j < nhosts ? &hosts[j] : &rl->any;
		if (h->nroutes > 1)
			qsort(h->routes, h->nroutes, sizeof *h->routes, route_cmp);
		if (h == &rl->any)
			continue;
		table_put(h->wild ? rl->wild : rl->exact, h->wild ? rl->wild_mask : rl->exact_mask, h);
	}
	return 1;
}

/* The clusters and their backends. Each cluster's backends are counted
 * by the state (nbackends), so one pass over the backends fills them, in
 * state order, which is the round-robin order. */
static int
build_clusters(kk_router *r, const kk_state *st, kk_rcluster **rc_of)
{
	size_t i;
	r->c = arena_alloc(r, (st->nclusters - st->dclusters + 1) * sizeof *r->c);
	if (!r->c)
		return 0;
	for (i = 0; i < st->nclusters; i++) {
		const kk_cluster *sc = &st->clusters[i];
		kk_rcluster *c = &r->c[r->nc];
		if (!sc->id)
			continue;
		rc_of[i] = c;
		c->id = arena_str(r, sc->id);
		c->lb = sc->lb;
		c->send_proxy = sc->send_proxy;
		c->b = arena_alloc(r, (sc->nbackends + 1) * sizeof *c->b);
		if (!c->id || !c->b)
			return 0;
		r->nc++;
	}
	for (i = 0; i < st->nbackends; i++) {
		const kk_backend *sb = &st->backends[i];
		kk_rcluster *c;
		kk_rbackend *b;
		if (!sb->cluster)
			continue;
		if (!(c = find_cluster(st, rc_of, sb->cluster)))	/* the state has it */
			return 0;
		b = &c->b[c->nb];
		b->id = arena_str(r, sb->id);
		b->weight = sb->weight;
		b->backup = sb->backup;
		b->bend = kk_bend_get(sb->addr_text, &sb->addr);
		if (!b->id || !b->bend)
			return 0;
		c->nb++;
	}
	return 1;
}

kk_router *
kk_router_build(const kk_state *st, uint64_t generation)
{
	kk_router *r = calloc(1, sizeof *r);
	kk_rcluster **rc_of = calloc(st->nclusters + 1, sizeof *rc_of);
	size_t i;
	if (!r || !rc_of)
		goto fail;
	r->refs = 1;
	r->generation = generation;
	if (!build_clusters(r, st, rc_of))
		goto fail;
	r->l = arena_alloc(r, (st->nlisteners + 1) * sizeof *r->l);
	if (!r->l)
		goto fail;
	for (i = 0; i < st->nlisteners; i++) {
		if (!build_listener(r, &r->l[i], st, &st->listeners[i], rc_of))
			goto fail;
		r->nl++;
	}
	free(rc_of);
	return r;
fail:
	free(rc_of);
	if (r)
		kk_router_unref(r);
	return NULL;
}

void
kk_router_ref(kk_router *r)
{
	r->refs++;
}

void
kk_router_unref(kk_router *r)
{
	unsigned i, j;
	chunk *c;
	if (--r->refs)
		return;
	for (i = 0; r->c && i < r->nc; i++)
		for (j = 0; j < r->c[i].nb; j++)
			kk_bend_put(r->c[i].b[j].bend);
	c = r->arena;
	while (c) {
		chunk *next = c->next;
		free(c);
		c = next;
	}
	free(r);
}

kk_rlistener *
kk_router_listener(const kk_router *r, const char *addr)
{
	unsigned i;
	for (i = 0; i < r->nl; i++)
		if (!strcmp(r->l[i].addr, addr))
			return &r->l[i];
	return NULL;
}

static kk_rcluster *
match_routes(const kk_rhost *h, const char *path, size_t plen, const char *method, size_t mlen)
{
	unsigned i;
	for (i = 0; i < h->nroutes; i++) {
		const kk_route *rt = &h->routes[i];
		if (rt->kind == KK_PATH_EXACT &&
		    (plen != rt->plen || memcmp(path, rt->path, plen)))
			continue;
		if (rt->kind == KK_PATH_PREFIX &&
		    (plen < rt->plen || memcmp(path, rt->path, rt->plen)))
			continue;
		if (rt->method && (strlen(rt->method) != mlen || memcmp(rt->method, method, mlen)))
			continue;
		return rt->cluster;
	}
	return NULL;
}

/* The precedence of router.h, for both kinds of listener. */
static kk_rcluster *
lookup(const kk_rlistener *l, const char *host, size_t hlen,
    const char *path, size_t plen, const char *method, size_t mlen)
{
	kk_rhost *h;
	kk_rcluster *c;
	size_t i;
	if (hlen && (h = table_find(l->exact, l->exact_mask, host, hlen)) &&
	    (c = match_routes(h, path, plen, method, mlen)))
		return c;
	/* Wildcards: the suffix from each dot, leftmost (longest) first. */
	for (i = 0; i < hlen; i++) {
		if (host[i] != '.')
			continue;
		if ((h = table_find(l->wild, l->wild_mask, host + i, hlen - i)) &&
		    (c = match_routes(h, path, plen, method, mlen)))
			return c;
	}
	return match_routes(&l->any, path, plen, method, mlen);
}

kk_rcluster *
kk_router_match(const kk_rlistener *l, const char *host, size_t hlen,
    const char *path, size_t plen, const char *method, size_t mlen)
{
	if (l->proto != KK_PROTO_HTTP)
		return NULL;
	return lookup(l, host, hlen, path, plen, method, mlen);
}

kk_rcluster *
kk_router_match_sni(const kk_rlistener *l, const char *name, size_t len)
{
	if (l->proto != KK_PROTO_TCP)
		return NULL;
	/* tcp routes match any path and method: the empty ones do. */
	return lookup(l, name ? name : "", name ? len : 0, "", 0, "", 0);
}
