/* ISC license. */
/* Router snapshots: built whole from a state, or from the previous
 * snapshot and the journal of a change; matched without allocation. Not
 * here: balancing (lb.c) and the backends' connections (bend.c).
 *
 * Hosts, wildcard suffixes and clusters sit in persistent hash tries:
 * 16-way nodes over a 64-bit hash, refcounted, never changed once shared.
 * An update copies the path to what it changes (at most 16 nodes of 16
 * slots) and shares every other node, so a change costs O(log N) whatever
 * the number of sites, and the previous snapshot stays whole for the
 * streams that hold it. A copy-on-write hash table would copy O(N) slots
 * per change, and a tree needs ordered keys and rebalancing; the trie
 * needs neither. Lookups cost one probe per 4 bits of hash that tell
 * keys apart: 5 nodes at 100 000 hosts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <kakehi/index.h>
#include "answer.h"
#include "auth.h"
#include "edit.h"
#include "lb.h"
#include "log.h"
#include "router.h"
#include "status.h"
#include "tlsclient.h"

#define TBITS 4
#define TFAN (1u << TBITS)

enum { T_NODE, T_LEAF, T_BUCKET };
enum { V_HOST, V_CLUSTER };

/* The header of every trie item; refs count parents and snapshots. */
typedef struct thdr thdr;
struct thdr {
	unsigned refs;
	unsigned char kind, vkind;
};

typedef struct tnode tnode;
struct tnode {
	thdr h;
	thdr *s[TFAN];
};

/* One key and its value (a kk_rhost or kk_rcluster block, freed with the
 * leaf; the key points into it). */
typedef struct tleaf tleaf;
struct tleaf {
	thdr h;
	uint64_t hash;
	const char *key;
	size_t klen;
	void *val;
};

/* Keys whose whole 64-bit hashes collide. */
typedef struct tbucket tbucket;
struct tbucket {
	thdr h;
	uint64_t hash;
	unsigned n;
	tleaf *e[];
};


static unsigned
nib(uint64_t h, unsigned d)
{
	return (unsigned)(h >> (d * TBITS)) & (TFAN - 1);
}

static uint64_t
ihash(const thdr *n)
{
	return n->kind == T_LEAF ? ((const tleaf *)n)->hash : ((const tbucket *)n)->hash;
}

/* The regexes a host group's routes compiled. */
static void
host_free_regexes(kk_rhost *h)
{
	unsigned i, k;
	for (i = 0; i < h->nroutes; i++) {
		kk_regex_free(h->routes[i].re);
		kk_edit_release(h->routes[i].actions);
		kk_auth_release(h->routes[i].actions);
		for (k = 0; k < h->routes[i].nm; k++)
			kk_regex_free(h->routes[i].m[k].re);
	}
}

static void
val_free(tleaf *lf)
{
	if (lf->h.vkind == V_HOST)
		host_free_regexes(lf->val);
	if (lf->h.vkind == V_CLUSTER) {
		kk_rcluster *c = lf->val;
		unsigned i;
		for (i = 0; i < c->nb; i++)
			kk_bend_put(c->b[i].bend);
		if (c->tls)
			kk_tlsclient_unref(c->tls);
		kk_ranswers_unref(c->answers);
		kk_lb_release(c);
	}
	free(lf->val);
}

static void
t_unref(thdr *n)
{
	unsigned i;
	if (!n || --n->refs)
		return;
	if (n->kind == T_NODE) {
		for (i = 0; i < TFAN; i++)
			t_unref(((tnode *)n)->s[i]);
	} else if (n->kind == T_BUCKET) {
		for (i = 0; i < ((tbucket *)n)->n; i++)
			t_unref(&((tbucket *)n)->e[i]->h);
	} else
		val_free((tleaf *)n);
	free(n);
}

static int
same_key(const tleaf *lf, uint64_t h, const char *key, size_t klen)
{
	return lf->hash == h && lf->klen == klen && !memcmp(lf->key, key, klen);
}

static tleaf *
t_find(const thdr *n, uint64_t h, const char *key, size_t klen)
{
	unsigned d, i;
	for (d = 0; n; d++) {
		if (n->kind == T_NODE) {
			n = ((const tnode *)n)->s[nib(h, d)];
			continue;
		}
		if (n->kind == T_LEAF)
			return same_key((const tleaf *)n, h, key, klen) ? (tleaf *)n : NULL;
		for (i = 0; i < ((const tbucket *)n)->n; i++)
			if (same_key(((const tbucket *)n)->e[i], h, key, klen))
				return ((const tbucket *)n)->e[i];
		return NULL;
	}
	return NULL;
}

static tnode *
node_new(void)
{
	tnode *c = calloc(1, sizeof *c);
	if (c) {
		c->h.refs = 1;
		c->h.kind = T_NODE;
	}
	return c;
}

/* A subtree holding items a and b, whose hashes differ, from depth d;
 * takes their references on success. */
static thdr *
pair(thdr *a, thdr *b, unsigned d)
{
	tnode *c = node_new();
	unsigned ia = nib(ihash(a), d), ib = nib(ihash(b), d);
	if (!c)
		return NULL;
	if (ia != ib) {
		c->s[ia] = a;
		c->s[ib] = b;
	} else if (!(c->s[ia] = pair(a, b, d + 1))) {
		free(c);
		return NULL;
	}
	return &c->h;
}

/* Item n (a leaf or bucket of lf's hash) with lf put in, as a new item;
 * n is left as it was. */
static thdr *
bucket_put(thdr *n, tleaf *lf)
{
	tleaf *one = (tleaf *)n, **old = &one;
	unsigned nold = 1, i, k = 0;
	tbucket *b;
	if (n->kind == T_BUCKET) {
		old = ((tbucket *)n)->e;
		nold = ((tbucket *)n)->n;
	}
	if (nold == 1 && same_key(old[0], lf->hash, lf->key, lf->klen))
		return &lf->h;
	b = malloc(sizeof *b + (nold + 1) * sizeof *b->e);
	if (!b)
		return NULL;
	b->h.refs = 1;
	b->h.kind = T_BUCKET;
	b->hash = lf->hash;
	for (i = 0; i < nold; i++) {
		if (same_key(old[i], lf->hash, lf->key, lf->klen))
			continue;
		old[i]->h.refs++;
		b->e[k++] = old[i];
	}
	b->e[k++] = lf;
	b->n = k;
	return &b->h;
}

/* The subtree n from depth d with leaf lf put in, replacing a leaf of the
 * same key. Takes lf's reference (dropped on failure). Shared (inplace
 * 0): n is left as it was and the result holds its own references.
 * Inplace (a full build owns every node): n is changed and given to the
 * result; on failure it is still the caller's, whole. NULL: ENOMEM. */
static thdr *
t_put(thdr *n, tleaf *lf, unsigned d, int inplace)
{
	tnode *c;
	thdr *x;
	unsigned i;
	if (!n)
		return &lf->h;
	if (n->kind != T_NODE) {
		if (ihash(n) != lf->hash) {
			if (!(x = pair(n, &lf->h, d))) {
				t_unref(&lf->h);
				return NULL;
			}
			if (!inplace)
				n->refs++;
			return x;
		}
		if (!(x = bucket_put(n, lf))) {
			t_unref(&lf->h);
			return NULL;
		}
		if (inplace)
			t_unref(n);
		return x;
	}
	i = nib(lf->hash, d);
	if (inplace) {
		if (!(x = t_put(((tnode *)n)->s[i], lf, d + 1, 1)))
			return NULL;
		((tnode *)n)->s[i] = x;
		return n;
	}
	if (!(c = node_new())) {
		t_unref(&lf->h);
		return NULL;
	}
	if (!(x = t_put(((tnode *)n)->s[i], lf, d + 1, 0))) {
		free(c);
		return NULL;
	}
	memcpy(c->s, ((tnode *)n)->s, sizeof c->s);
	for (i = 0; i < TFAN; i++)
		if (c->s[i])
			c->s[i]->refs++;
	i = nib(lf->hash, d);
	t_unref(c->s[i]);
	c->s[i] = x;
	return &c->h;
}

/* The subtree n from depth d without key, in *out (its own reference;
 * NULL when empty). n is left as it was. 1 ok, 0 ENOMEM. Nodes left
 * empty stay: they cost a probe, not a walk. */
static int
t_del(thdr *n, uint64_t h, const char *key, size_t klen, unsigned d, thdr **out)
{
	tnode *c;
	thdr *x;
	unsigned i;
	*out = NULL;
	if (!n)
		return 1;
	if (n->kind == T_LEAF) {
		if (!same_key((tleaf *)n, h, key, klen)) {
			n->refs++;
			*out = n;
		}
		return 1;
	}
	if (n->kind == T_BUCKET) {
		tbucket *b = (tbucket *)n, *nb;
		unsigned k = 0;
		if (!t_find(n, h, key, klen)) {
			n->refs++;
			*out = n;
			return 1;
		}
		if (b->n == 2) {
			x = &b->e[same_key(b->e[0], h, key, klen) ? 1 : 0]->h;
			x->refs++;
			*out = x;
			return 1;
		}
		if (!(nb = malloc(sizeof *nb + b->n * sizeof *nb->e)))
			return 0;
		nb->h = b->h;
		nb->h.refs = 1;
		nb->hash = b->hash;
		for (i = 0; i < b->n; i++)
			if (!same_key(b->e[i], h, key, klen)) {
				b->e[i]->h.refs++;
				nb->e[k++] = b->e[i];
			}
		nb->n = k;
		*out = &nb->h;
		return 1;
	}
	i = nib(h, d);
	if (!t_del(((tnode *)n)->s[i], h, key, klen, d + 1, &x))
		return 0;
	if (x == ((tnode *)n)->s[i]) {
		t_unref(x);
		n->refs++;
		*out = n;
		return 1;
	}
	if (!(c = node_new())) {
		t_unref(x);
		return 0;
	}
	memcpy(c->s, ((tnode *)n)->s, sizeof c->s);
	for (i = 0; i < TFAN; i++)
		if (c->s[i])
			c->s[i]->refs++;
	i = nib(h, d);
	t_unref(c->s[i]);
	c->s[i] = x;
	*out = &c->h;
	return 1;
}

/* A leaf for val (refs 1), keyed by key (inside val); frees val when it
 * cannot be made, so callers have one thing to check. */
static tleaf *
leaf_new(int vkind, void *val, const char *key, size_t klen)
{
	tleaf *lf = malloc(sizeof *lf);
	if (!lf) {
		tleaf tmp;
		tmp.h.vkind = (unsigned char)vkind;
		tmp.val = val;
		val_free(&tmp);
		return NULL;
	}
	lf->h.refs = 1;
	lf->h.kind = T_LEAF;
	lf->h.vkind = (unsigned char)vkind;
	lf->hash = kk_index_hash64(key, klen);
	lf->key = key;
	lf->klen = klen;
	lf->val = val;
	return lf;
}

/* Puts lf into *root, replacing it by the new root. 1 ok, 0 ENOMEM (lf
 * dropped, *root as it was). */
static int
root_put(void **root, tleaf *lf, int inplace)
{
	thdr *x = t_put(*root, lf, 0, inplace);
	if (!x)
		return 0;
	if (!inplace)
		t_unref(*root);
	*root = x;
	return 1;
}

static int
root_del(void **root, const char *key, size_t klen)
{
	thdr *x;
	if (!t_del(*root, kk_index_hash64(key, klen), key, klen, 0, &x))
		return 0;
	t_unref(*root);
	*root = x;
	return 1;
}

/* Clusters: one block, the backends then the strings. */
static kk_rcluster *
cluster_new(const kk_rcluster *like, const char *id, unsigned nb, size_t sbytes, char **str)
{
	size_t idl = strlen(id) + 1;
	kk_rcluster *c = malloc(sizeof *c + nb * sizeof *c->b + idl + sbytes);
	if (!c)
		return NULL;
	if (like)
		*c = *like;
	if (like && c->tls)	/* a copy of a cluster: one more holder */
		kk_tlsclient_ref(c->tls);
	if (like)
		kk_ranswers_ref(c->answers);
	c->lbx = NULL;		/* kk_lb_prepare makes the copy's own */
	kk_queue_init(&c->queue);
	c->b = (kk_rbackend *)(c + 1);
	c->nb = 0;
	c->id = memcpy((char *)(c->b + nb), id, idl);
	*str = (char *)c->id + idl;
	c->m = kk_wmetrics_of(KK_METRICS_CLUSTER, c->id, NULL);
	return c;
}

/* Appends a backend; the caller took bend's reference. */
static void
cluster_push(kk_rcluster *c, char **str, const char *id, const kk_rbackend *like, kk_bend *bend)
{
	kk_rbackend *b = &c->b[c->nb++];
	size_t n = strlen(id) + 1;
	*b = *like;
	b->bend = bend;
	b->id = memcpy(*str, id, n);
	*str += n;
	b->m = kk_wmetrics_of(KK_METRICS_BACKEND, c->id, b->id);
}

/* Frees a cluster no leaf holds yet. */
static void
cluster_drop(kk_rcluster *c)
{
	tleaf tmp;
	tmp.h.vkind = V_CLUSTER;
	tmp.val = c;
	val_free(&tmp);
}

static tleaf *
cluster_leaf(kk_rcluster *c)
{
	return leaf_new(V_CLUSTER, c, c->id, strlen(c->id));
}

static const kk_rcluster *
cluster_find(const void *clusters, const char *id)
{
	size_t n = strlen(id);
	tleaf *lf = t_find(clusters, kk_index_hash64(id, n), id, n);
	return lf ? lf->val : NULL;
}

kk_rcluster *
kk_router_cluster(const kk_router *r, const char *id)
{
	return (kk_rcluster *)cluster_find(r->clusters, id);
}

/* A route as given to host_new. */
typedef struct rsrc rsrc;
struct rsrc {
	enum kk_path_kind kind;
	const char *path;	/* NULL or "" for none */
	const char *method;	/* NULL: any */
	const char *extra;	/* NULL: none */
	const char *cluster;
	unsigned long order;
	unsigned long hsts;
	const char *actions;	/* NULL: none */
};

/* The order of router.h. Regexes keep the order they were added in: a
 * pattern's length says nothing of what it matches. */
static int
route_cmp(const void *a, const void *b)
{
	const kk_route *x = a, *y = b;
	static const int rank[] = { [KK_PATH_EXACT] = 0, [KK_PATH_REGEX] = 1,
	    [KK_PATH_PREFIX] = 2, [KK_PATH_ANY] = 3 };
	if (rank[x->kind] != rank[y->kind])
		return rank[x->kind] - rank[y->kind];
	if (x->kind != KK_PATH_REGEX && x->plen != y->plen)
		return x->plen > y->plen ? -1 : 1;
	if (!x->extra != !y->extra)
		return x->extra ? -1 : 1;
	if (!x->method != !y->method)
		return x->method ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The items of a canonical extra text (fmatch.h). */
static unsigned
count_matches(const char *extra)
{
	unsigned n = 0;
	size_t pos = 0;
	kk_fmatch m;
	while (extra && kk_fmatch_next(extra, &pos, &m))
		n++;
	return n;
}

/* Compiles a pattern held in s[0, n), which need not end with a NUL. */
static kk_regex *
compile_span(const char *s, size_t n)
{
	char pat[KK_FMATCH_VALUEMAX + 1];
	if (n >= sizeof pat)
		return NULL;
	memcpy(pat, s, n);
	pat[n] = 0;
	return kk_regex_new(pat);
}

/* Fills rt's matches from its extra text, m having room for them all,
 * and compiles its regexes. 1 ok; 0 ENOMEM (what was compiled stays in
 * rt, for host_free_regexes). */
static int
route_compile(kk_route *rt, kk_rmatch *m)
{
	size_t pos = 0;
	rt->m = m;
	rt->nm = 0;
	if (rt->kind == KK_PATH_REGEX && !(rt->re = kk_regex_new(rt->path)))
		return 0;
	if (!kk_edit_compile(rt->actions) || !kk_auth_compile(rt->actions))
		return 0;
	while (rt->extra && kk_fmatch_next(rt->extra, &pos, &m->m)) {
		m->re = NULL;
		rt->nm++;
		if (m->m.op == KK_FMATCH_REGEX && !(m->re = compile_span(m->m.value, m->m.vlen)))
			return 0;
		m++;
	}
	return 1;
}

static char *
put_str(char **p, const char *s, size_t n)
{
	char *r = memcpy(*p, s, n);
	r[n] = 0;
	*p += n + 1;
	return r;
}

/* A host group of n routes in one block, sorted (router.h), as a leaf. */
static tleaf *
host_new(const char *key, int wild, const rsrc *src, unsigned n)
{
	size_t klen = strlen(key), sb = klen + 1;
	kk_rhost *h;
	kk_rmatch *m;
	char *p;
	unsigned i, nm = 0;
	for (i = 0; i < n; i++) {
		sb += (src[i].path ? strlen(src[i].path) : 0) + 1 +
		    (src[i].method ? strlen(src[i].method) + 1 : 0) + strlen(src[i].cluster) + 1 +
		    (src[i].extra ? strlen(src[i].extra) + 1 : 0) +
		    (src[i].actions ? strlen(src[i].actions) + 1 : 0);
		nm += count_matches(src[i].extra);
	}
	if (!(h = malloc(sizeof *h + n * sizeof *h->routes + nm * sizeof *m + sb)))
		return NULL;
	h->routes = (kk_route *)(h + 1);
	h->nroutes = 0;
	h->wild = (unsigned char)wild;
	m = (kk_rmatch *)(h->routes + n);
	p = (char *)(m + nm);
	h->key = put_str(&p, key, klen);
	h->klen = klen;
	for (i = 0; i < n; i++) {
		kk_route *rt = &h->routes[i];
		const char *path = src[i].path ? src[i].path : "";
		rt->kind = src[i].kind;
		rt->plen = strlen(path);
		rt->path = put_str(&p, path, rt->plen);
		rt->mlen = src[i].method ? strlen(src[i].method) : 0;
		rt->method = src[i].method ? put_str(&p, src[i].method, rt->mlen) : NULL;
		rt->clen = strlen(src[i].cluster);
		rt->cluster = put_str(&p, src[i].cluster, rt->clen);
		rt->chash = kk_index_hash64(rt->cluster, rt->clen);
		rt->order = src[i].order;
		rt->hsts = src[i].hsts;
		rt->extra = src[i].extra ? put_str(&p, src[i].extra, strlen(src[i].extra)) : NULL;
		rt->actions = src[i].actions ? put_str(&p, src[i].actions,
		    strlen(src[i].actions)) : NULL;
		rt->re = NULL;
		rt->nm = 0;
		h->nroutes++;
		if (!route_compile(rt, m)) {
			host_free_regexes(h);
			free(h);
			return NULL;
		}
		m += rt->nm;
	}
	if (n > 1)
		qsort(h->routes, n, sizeof *h->routes, route_cmp);
	return leaf_new(V_HOST, h, h->key, klen);
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

/* The table slot a frontend's group lives in. */
static void **
host_root(kk_rlistener *rl, const kk_frontend *f, const char **key)
{
	int wild;
	*key = host_key(f, &wild);
	if (!**key)
		return &rl->any;
	return wild ? &rl->wild : &rl->exact;
}

static rsrc
frontend_src(const kk_frontend *f, unsigned long order)
{
	rsrc s;
	s.kind = f->path_kind;
	s.path = f->path;
	s.method = f->method;
	s.extra = f->extra;
	s.cluster = f->cluster;
	s.order = order;
	s.hsts = f->hsts_max_age;
	s.actions = f->actions;
	return s;
}

static void
listener_fill(kk_rlistener *rl, const kk_listener *sl)
{
	const char *colon = strrchr(sl->addr_text, ':');
	if (colon && strlen(colon + 1) < sizeof rl->port)
		strcpy(rl->port, colon + 1);
	rl->front_ms = sl->front_timeout_ms;
	rl->request_ms = sl->request_timeout_ms;
	rl->back_ms = sl->back_timeout_ms;
	rl->connect_ms = sl->connect_timeout_ms;
	rl->proto = sl->proto;
	rl->expect_proxy = sl->expect_proxy;
	rl->h2 = sl->h2;
	rl->limits = sl->limits;
	rl->fwd_fields = sl->forward.fields;
	rl->reqidlen = (uint32_t)strlen(sl->forward.request_id);
	for (uint32_t i = 0; i < rl->reqidlen; i++) {
		char c = sl->forward.request_id[i];
		rl->reqid[i] = c;
		rl->reqid_lower[i] = c >= 'A' && c <= 'Z' ? (char)(c + 'a' - 'A') : c;
	}
	memcpy(rl->reqid + rl->reqidlen, ": ", 3);
	rl->reqid_lower[rl->reqidlen] = 0;
	rl->tunnel_ms = sl->proto == KK_PROTO_TCP ? sl->front_timeout_ms : sl->tunnel_timeout_ms;
	rl->m = kk_wmetrics_of(KK_METRICS_LISTENER, sl->addr_text, NULL);
	rl->service = sl->service;
}

/* Groups of one listener, found by key while grouping: the wildcard flag
 * byte, then the host key (".example.com" and "example.com" stay apart). */
static int
group_of(kk_index *groups, const char *key, int wild, size_t *n, size_t *g)
{
	char buf[258];
	size_t klen = strlen(key), *slot;
	if (klen > sizeof buf - 2)	/* the state keeps hosts under 256 bytes */
		return 0;
	buf[0] = (char)('0' + wild);
	memcpy(buf + 1, key, klen);
	if ((slot = kk_index_get(groups, buf, klen + 1))) {
		*g = *slot;
		return 1;
	}
	if (!kk_index_put(groups, buf, klen + 1, *n))
		return 0;
	*g = (*n)++;
	return 1;
}

/* A listener's groups from the whole state: frontends grouped by key
 * (group 0 is the one without a host), sorted by group in state order,
 * then each group built at once. */
static int
build_listener(kk_rlistener *rl, const kk_state *st, const kk_listener *sl)
{
	size_t i, g, ngroups = 1, *group = NULL, *start = NULL, *rep = NULL;
	kk_index groups = KK_INDEX_ZERO;
	rsrc *src = NULL;
	int ok = 0;

	listener_fill(rl, sl);
	if (sl->answers && !(rl->answers = kk_ranswers_new(sl->answers)))
		return 0;
	if (!sl->nfrontends)
		return 1;
	group = malloc(st->nfrontends * sizeof *group);
	start = calloc(sl->nfrontends + 2, sizeof *start);
	rep = malloc((sl->nfrontends + 1) * sizeof *rep);
	src = malloc(sl->nfrontends * sizeof *src);
	if (!group || !start || !rep || !src)
		goto out;
	for (i = 0; i < st->nfrontends; i++) {
		const kk_frontend *f = &st->frontends[i];
		const char *key;
		int wild;
		if (!f->cluster || strcmp(f->listener, sl->addr_text))
			continue;
		key = host_key(f, &wild);
		if (!*key)
			group[i] = 0;
		else if (!group_of(&groups, key, wild, &ngroups, &group[i]))
			goto out;
		if (!start[group[i] + 1]++)
			rep[group[i]] = i;
	}
	for (g = 1; g <= ngroups; g++)
		start[g] += start[g - 1];
	for (i = 0; i < st->nfrontends; i++) {
		const kk_frontend *f = &st->frontends[i];
		if (!f->cluster || strcmp(f->listener, sl->addr_text))
			continue;
		src[start[group[i]]++] = frontend_src(f, i);
	}
	/* start[g] is now the end of group g, so the start of group g + 1. */
	for (g = 0; g < ngroups; g++) {
		size_t from = g ? start[g - 1] : 0;
		const char *key;
		void **root;
		tleaf *lf;
		if (start[g] == from)	/* no frontend without a host */
			continue;
		root = host_root(rl, &st->frontends[rep[g]], &key);
		lf = host_new(key, root == &rl->wild, &src[from], (unsigned)(start[g] - from));
		if (!lf)
			goto out;
		if (root == &rl->any)
			rl->any = lf;
		else if (!root_put(root, lf, 1))
			goto out;
	}
	ok = 1;
out:
	kk_index_free(&groups);
	free(group);
	free(start);
	free(rep);
	free(src);
	return ok;
}

/* The TLS context of a --tls cluster's backends; NULL when the library
 * cannot make one (no memory), which fails the snapshot. */
static struct kk_tlsclient *
tls_context(const kk_cluster_tls *t)
{
	char err[256];
	struct kk_tlsclient *x = kk_tlsclient_get(t, err, sizeof err);
	if (!x)
		kk_log_warning("%s", err);
	return x;
}

/* The clusters and their backends, each cluster in one block sized from
 * the state's counts; one pass over the backends fills them in state
 * order, which is the round-robin order. */
static int
build_clusters(kk_router *r, const kk_state *st)
{
	kk_rcluster **rc_of = calloc(st->nclusters + 1, sizeof *rc_of);
	size_t *sbytes = calloc(st->nclusters + 1, sizeof *sbytes);
	char **str = calloc(st->nclusters + 1, sizeof *str);
	static const kk_rbackend zero_b;
	kk_rcluster zero_c;
	size_t i;
	int ok = 0;
	if (!rc_of || !sbytes || !str)
		goto out;
	for (i = 0; i < st->nbackends; i++) {
		const kk_backend *sb = &st->backends[i];
		const kk_cluster *c;
		if (sb->cluster && (c = kk_state_cluster(st, sb->cluster)))
			sbytes[c - st->clusters] += strlen(sb->id) + 1;
	}
	memset(&zero_c, 0, sizeof zero_c);
	for (i = 0; i < st->nclusters; i++) {
		const kk_cluster *sc = &st->clusters[i];
		if (!sc->id)
			continue;
		zero_c.lb = sc->lb;
		zero_c.hash_key = sc->hash_key;
		zero_c.sticky = sc->sticky;
		zero_c.send_proxy = sc->send_proxy;
		zero_c.https_redirect = sc->https_redirect;
		zero_c.https_port = sc->https_port;
		zero_c.h2 = sc->h2;
		zero_c.queue_max = sc->queue;
		zero_c.queue_ms = sc->queue_timeout_ms;
		zero_c.max_fails = sc->max_fails;
		zero_c.fail_5xx = sc->fail_5xx;
		if (!(rc_of[i] = cluster_new(&zero_c, sc->id, (unsigned)sc->nbackends, sbytes[i],
		    &str[i])))
			goto out;
		if (sc->tls && !(rc_of[i]->tls = tls_context(sc->tls)))
			goto out;
		if (sc->answers && !(rc_of[i]->answers = kk_ranswers_new(sc->answers)))
			goto out;
	}
	for (i = 0; i < st->nbackends; i++) {
		const kk_backend *sb = &st->backends[i];
		const kk_cluster *sc;
		kk_rbackend like = zero_b;
		kk_bend *bend;
		size_t k;
		if (!sb->cluster)
			continue;
		if (!(sc = kk_state_cluster(st, sb->cluster)))	/* the state has it */
			goto out;
		k = (size_t)(sc - st->clusters);
		if (!(bend = kk_bend_get(sb->addr_text, &sb->addr, rc_of[k]->tls,
		    rc_of[k]->h2)))
			goto out;
		like.weight = sb->weight;
		like.backup = sb->backup;
		like.max_conns = sb->max_conns;
		like.slow_ms = sb->slow_start_ms;
		cluster_push(rc_of[k], &str[k], sb->id, &like, bend);
	}
	for (i = 0; i < st->nclusters; i++) {
		const kk_cluster *sc = &st->clusters[i];
		tleaf *lf;
		if (!rc_of[i])
			continue;
		if (!kk_lb_prepare(rc_of[i], sc->hash_name, sc->sticky_cookie))
			goto out;
		lf = cluster_leaf(rc_of[i]);
		rc_of[i] = NULL;
		if (!lf || !root_put(&r->clusters, lf, 1))
			goto out;
		r->nc++;
	}
	ok = 1;
out:
	for (i = 0; rc_of && i < st->nclusters; i++)
		if (rc_of[i])
			cluster_drop(rc_of[i]);
	free(rc_of);
	free(sbytes);
	free(str);
	return ok;
}

static void
listeners_link(kk_router *r)
{
	unsigned i;
	for (i = 0; i < r->nl; i++)
		r->l[i].clusters = r->clusters;
}

/* The settings a snapshot carries: what a request reads per stream,
 * swapped in with the routes. */
static void
trusted_copy(kk_router *r, const kk_state *st)
{
	r->ntrusted = st->set.ntrusted;
	memcpy(r->trusted, st->set.trusted, st->set.ntrusted * sizeof *r->trusted);
}

kk_router *
kk_router_build(const kk_state *st, uint64_t generation)
{
	kk_router *r = calloc(1, sizeof *r);
	size_t i;
	if (!r)
		return NULL;
	r->refs = 1;
	r->generation = generation;
	r->seq = st->nfrontends;
	trusted_copy(r, st);
	if (!build_clusters(r, st))
		goto fail;
	if (!(r->l = calloc(st->nlisteners + 1, sizeof *r->l)))
		goto fail;
	for (i = 0; i < st->nlisteners; i++) {
		if (!(r->l[i].addr = strdup(st->listeners[i].addr_text)))
			goto fail;
		r->nl++;
		if (!build_listener(&r->l[i], st, &st->listeners[i]))
			goto fail;
	}
	listeners_link(r);
	return r;
fail:
	kk_router_unref(r);
	return NULL;
}

/* A change to one cluster's backends: a new block with the others kept
 * as they were, their round-robin weights included, and id added (from
 * add) or left out. */
static int
update_backends(kk_router *r, const kk_backend *add, const kk_backend *remove)
{
	const kk_backend *sb = add ? add : remove;
	const kk_rcluster *old = cluster_find(r->clusters, sb->cluster);
	kk_rcluster *c;
	size_t sbytes = strlen(sb->id) + 1;
	unsigned i;
	char *str;
	tleaf *lf;
	if (!old)	/* the state checked it exists */
		return 0;
	for (i = 0; i < old->nb; i++)
		sbytes += strlen(old->b[i].id) + 1;
	if (!(c = cluster_new(old, old->id, old->nb + 1, sbytes, &str)))
		return 0;
	for (i = 0; i < old->nb; i++) {
		if (remove && !strcmp(old->b[i].id, remove->id))
			continue;
		/* The same bend named by one more snapshot: no registry lookup. */
		old->b[i].bend->refs++;
		cluster_push(c, &str, old->b[i].id, &old->b[i], old->b[i].bend);
	}
	if (add) {
		kk_rbackend like;
		kk_bend *bend = kk_bend_get(add->addr_text, &add->addr, c->tls, c->h2);
		memset(&like, 0, sizeof like);
		like.weight = add->weight;
		like.backup = add->backup;
		like.max_conns = add->max_conns;
		like.slow_ms = add->slow_start_ms;
		like.since = KK_LB_SINCE_FIRST;	/* a running cluster's newcomer */
		if (!bend) {
			cluster_drop(c);
			return 0;
		}
		cluster_push(c, &str, add->id, &like, bend);
	}
	if (!kk_lb_prepare(c, old->hash_name, old->cookie_name)) {
		cluster_drop(c);
		return 0;
	}
	return (lf = cluster_leaf(c)) && root_put(&r->clusters, lf, 0);
}

static int
update_cluster(kk_router *r, const kk_cluster *sc, int add)
{
	kk_rcluster like, *c;
	tleaf *lf;
	char *str;
	if (!add) {
		if (!root_del(&r->clusters, sc->id, strlen(sc->id)))
			return 0;
		r->nc--;
		return 1;
	}
	memset(&like, 0, sizeof like);
	like.lb = sc->lb;
	like.hash_key = sc->hash_key;
	like.sticky = sc->sticky;
	like.send_proxy = sc->send_proxy;
	like.https_redirect = sc->https_redirect;
	like.https_port = sc->https_port;
	like.h2 = sc->h2;
	like.queue_max = sc->queue;
	like.queue_ms = sc->queue_timeout_ms;
	like.max_fails = sc->max_fails;
	like.fail_5xx = sc->fail_5xx;
	if (!(c = cluster_new(&like, sc->id, 0, 0, &str)))
		return 0;
	if (sc->tls && !(c->tls = tls_context(sc->tls))) {
		free(c);
		return 0;
	}
	if (sc->answers && !(c->answers = kk_ranswers_new(sc->answers))) {
		if (c->tls)
			kk_tlsclient_unref(c->tls);
		free(c);
		return 0;
	}
	if (!kk_lb_prepare(c, sc->hash_name, sc->sticky_cookie)) {
		if (c->tls)
			kk_tlsclient_unref(c->tls);
		kk_ranswers_unref(c->answers);
		free(c);
		return 0;
	}
	if (!(lf = cluster_leaf(c)) || !root_put(&r->clusters, lf, 0))
		return 0;
	r->nc++;
	return 1;
}

static int
same_opt(const char *a, const char *b)
{
	return !a || !*a ? !b || !*b : b && !strcmp(a, b);
}

/* A change to one host group: a new group with f's route added or left
 * out, the group dropped when it has none left. */
static int
update_frontend(kk_router *r, const kk_frontend *f, int add)
{
	kk_rlistener *rl = kk_router_listener(r, f->listener);
	const kk_rhost *old = NULL;
	const char *key;
	void **root;
	tleaf *lf = NULL;
	rsrc *src;
	unsigned i, n = 0;
	int ok;
	if (!rl)	/* the state checked it exists */
		return 0;
	root = host_root(rl, f, &key);
	if (root == &rl->any)
		lf = rl->any;
	else if (*root)
		lf = t_find(*root, kk_index_hash64(key, strlen(key)), key, strlen(key));
	if (lf)
		old = lf->val;
	if (!(src = malloc(((old ? old->nroutes : 0) + 1) * sizeof *src)))
		return 0;
	for (i = 0; old && i < old->nroutes; i++) {
		const kk_route *rt = &old->routes[i];
		if (!add && rt->kind == f->path_kind && same_opt(rt->path, f->path)
		    && same_opt(rt->method, f->method) && same_opt(rt->extra, f->extra)
		    && !strcmp(rt->cluster, f->cluster))
			continue;
		src[n].kind = rt->kind;
		src[n].path = rt->path;
		src[n].method = rt->method;
		src[n].extra = rt->extra;
		src[n].cluster = rt->cluster;
		src[n].hsts = rt->hsts;
		src[n].actions = rt->actions;
		src[n++].order = rt->order;
	}
	if (add)
		src[n++] = frontend_src(f, r->seq++);
	if (!n) {
		free(src);
		if (root == &rl->any) {
			t_unref(rl->any);
			rl->any = NULL;
			return 1;
		}
		return root_del(root, key, strlen(key));
	}
	lf = host_new(key, root == &rl->wild, src, n);
	free(src);
	if (!lf)
		return 0;
	if (root == &rl->any) {
		t_unref(rl->any);
		rl->any = lf;
		return 1;
	}
	ok = root_put(root, lf, 0);
	return ok;
}

/* Whether the incremental path can follow change i: listeners come and
 * go whole (the full build handles them: they are few and rare), and an
 * object added then removed within one batch is gone from both. */
static int
followable(const kk_change *ch)
{
	switch (ch->id) {
	case KK_V_LISTENER_ADD:
	case KK_V_LISTENER_REMOVE:
		return 0;
	case KK_V_CLUSTER_ADD:
		return ch->c->id != NULL;
	case KK_V_FRONTEND_ADD:
		return ch->f->cluster != NULL;
	case KK_V_BACKEND_ADD:
		return ch->b->cluster != NULL;
	default:
		return 1;
	}
}

kk_router *
kk_router_update(const kk_router *base, const kk_state *st, const kk_journal *j,
    uint64_t generation)
{
	kk_router *r;
	kk_change ch;
	size_t i;
	unsigned k;
	if (!base)
		return kk_router_build(st, generation);
	for (i = 0; i < j->n; i++) {
		kk_journal_change(st, j, i, &ch);
		if (!followable(&ch))
			return kk_router_build(st, generation);
	}
	if (!(r = calloc(1, sizeof *r)))
		return NULL;
	r->refs = 1;
	r->generation = generation;
	r->seq = base->seq;
	trusted_copy(r, st);
	r->nc = base->nc;
	r->clusters = base->clusters;
	if (r->clusters)
		((thdr *)r->clusters)->refs++;
	if (!(r->l = calloc(base->nl + 1, sizeof *r->l)))
		goto fail;
	for (k = 0; k < base->nl; k++) {
		kk_rlistener *rl = &r->l[k];
		*rl = base->l[k];
		kk_ranswers_ref(rl->answers);
		if (!(rl->addr = strdup(base->l[k].addr))) {
			rl->exact = rl->wild = rl->any = NULL;
			r->nl++;
			goto fail;
		}
		if (rl->exact)
			((thdr *)rl->exact)->refs++;
		if (rl->wild)
			((thdr *)rl->wild)->refs++;
		if (rl->any)
			((thdr *)rl->any)->refs++;
		r->nl++;
	}
	for (i = 0; i < j->n; i++) {
		int ok = 1;
		kk_journal_change(st, j, i, &ch);
		switch (ch.id) {
		case KK_V_CLUSTER_ADD:
		case KK_V_CLUSTER_REMOVE:
			ok = update_cluster(r, ch.c, ch.id == KK_V_CLUSTER_ADD);
			break;
		case KK_V_FRONTEND_ADD:
		case KK_V_FRONTEND_REMOVE:
			ok = update_frontend(r, ch.f, ch.id == KK_V_FRONTEND_ADD);
			break;
		case KK_V_BACKEND_ADD:
			ok = update_backends(r, ch.b, NULL);
			break;
		case KK_V_BACKEND_REMOVE:
			ok = update_backends(r, NULL, ch.b);
			break;
		default:	/* settings: trusted_copy took the one it holds */
			break;
		}
		if (!ok)
			goto fail;
	}
	listeners_link(r);
	return r;
fail:
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
	unsigned i;
	if (--r->refs)
		return;
	for (i = 0; i < r->nl; i++) {
		free((char *)r->l[i].addr);
		t_unref(r->l[i].exact);
		t_unref(r->l[i].wild);
		t_unref(r->l[i].any);
		kk_ranswers_unref(r->l[i].answers);
	}
	free(r->l);
	t_unref(r->clusters);
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

/* A regex on a request's bytes; a match the bound stopped is none, and
 * counted in status. */
static int
regex_holds(const kk_regex *re, const char *s, size_t n)
{
	int rc = kk_regex_match(re, s ? s : "", s ? n : 0);
	if (rc < 0)
		kk_stats.regex_stopped++;
	return rc > 0;
}

/* Whether a value (of a field, cookie or parameter) satisfies m. */
static int
value_holds(const kk_rmatch *m, const char *v, size_t n)
{
	switch (m->m.op) {
	case KK_FMATCH_EQUAL:
		return n == m->m.vlen && !memcmp(v, m->m.value, n);
	case KK_FMATCH_REGEX:
		return regex_holds(m->re, v, n);
	default:
		return 1;
	}
}

/* Whether the pairs "name[=value]" of list s[0, n), split by sep (and
 * blanks around them for cookies, RFC 6265 §5.4), hold one named as m
 * whose value satisfies it. */
static int
pairs_hold(const kk_rmatch *m, const char *s, size_t n, char sep)
{
	const char *end = s + n;
	while (s < end) {
		const char *e = memchr(s, sep, (size_t)(end - s)), *eq;
		if (!e)
			e = end;
		if (sep == ';')
			while (s < e && (*s == ' ' || *s == '\t'))
				s++;
		eq = memchr(s, '=', (size_t)(e - s));
		if ((size_t)((eq ? eq : e) - s) == m->m.nlen && !memcmp(s, m->m.name, m->m.nlen)) {
			const char *v = eq ? eq + 1 : e, *ve = e;
			if (sep == ';')
				while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
					ve--;
			if (value_holds(m, v, (size_t)(ve - v)))
				return 1;
		}
		s = e + 1;
	}
	return 0;
}

/* Whether the request satisfies m: some field, cookie or parameter of
 * its name does. */
static int
match_holds(const kk_rmatch *m, const kk_rreq *r)
{
	unsigned i;
	if (m->m.where == KK_FMATCH_QUERY)
		return r->query && pairs_hold(m, r->query, r->qlen, '&');
	for (i = 0; r->fl && i < r->fl->n; i++) {
		const kk_field *f = &r->fl->f[i];
		const char *v = r->fl->base + f->value.off;
		if (m->m.where == KK_FMATCH_COOKIE) {
			if (kk_span_is(r->fl->base, f->name, "cookie")
			    && pairs_hold(m, v, f->value.len, ';'))
				return 1;
		} else if (f->name.len == m->m.nlen
		    && !strncasecmp(r->fl->base + f->name.off, m->m.name, m->m.nlen)
		    && value_holds(m, v, f->value.len))
			return 1;
	}
	return 0;
}

static int
route_holds(const kk_route *rt, const kk_rreq *r)
{
	unsigned k;
	switch (rt->kind) {
	case KK_PATH_EXACT:
		if (r->plen != rt->plen || memcmp(r->path, rt->path, r->plen))
			return 0;
		break;
	case KK_PATH_PREFIX:
		if (r->plen < rt->plen || memcmp(r->path, rt->path, rt->plen))
			return 0;
		break;
	case KK_PATH_REGEX:
		if (!regex_holds(rt->re, r->path, r->plen))
			return 0;
		break;
	case KK_PATH_ANY:
		break;
	}
	if (rt->method && (rt->mlen != r->mlen || memcmp(rt->method, r->method, r->mlen)))
		return 0;
	for (k = 0; k < rt->nm; k++)
		if (!match_holds(&rt->m[k], r))
			return 0;
	return 1;
}

static kk_rcluster *
match_routes(const kk_rlistener *l, const tleaf *lf, const kk_rreq *r, const kk_route **hit)
{
	const kk_rhost *h;
	unsigned i;
	if (!lf)
		return NULL;
	h = lf->val;
	for (i = 0; i < h->nroutes; i++) {
		const kk_route *rt = &h->routes[i];
		tleaf *c;
		if (!route_holds(rt, r))
			continue;
		c = t_find(l->clusters, rt->chash, rt->cluster, rt->clen);
		*hit = rt;
		return c ? c->val : NULL;	/* the state keeps a used cluster */
	}
	return NULL;
}

/* The precedence of router.h, for both kinds of listener. */
static kk_rcluster *
lookup(const kk_rlistener *l, const kk_rreq *r, const kk_route **hit)
{
	const char *host = r->host;
	size_t i, hlen = r->hlen;
	kk_rcluster *c;
	/* A table that was never given a name is NULL: no hash is computed
	 * for it, which is every request of a listener without host routes,
	 * and every wildcard try of one without wildcards. */
	if (hlen && l->exact && (c = match_routes(l, t_find(l->exact,
	    kk_index_hash64(host, hlen), host, hlen), r, hit)))
		return c;
	/* Wildcards: the suffix from each dot, leftmost (longest) first. */
	for (i = 0; l->wild && i < hlen; i++) {
		if (host[i] != '.')
			continue;
		if ((c = match_routes(l, t_find(l->wild, kk_index_hash64(host + i, hlen - i),
		    host + i, hlen - i), r, hit)))
			return c;
	}
	return match_routes(l, l->any, r, hit);
}

kk_rcluster *
kk_router_match(const kk_rlistener *l, const kk_rreq *r, unsigned long *hsts,
    const char **actions)
{
	const kk_route *hit = NULL;
	kk_rcluster *c;
	*hsts = 0;
	*actions = NULL;
	if (l->proto != KK_PROTO_HTTP)
		return NULL;
	if ((c = lookup(l, r, &hit))) {
		*hsts = hit->hsts;
		*actions = hit->actions;
	}
	return c;
}

/* Whether a subtree holds a leaf: emptied nodes stay (see t_del), so a
 * table may be a node and still hold no name. */
static int
t_any(const thdr *n)
{
	unsigned i;
	if (!n)
		return 0;
	if (n->kind != T_NODE)
		return 1;
	for (i = 0; i < TFAN; i++)
		if (t_any(((const tnode *)n)->s[i]))
			return 1;
	return 0;
}

int
kk_router_has_names(const kk_rlistener *l)
{
	return l && (t_any(l->exact) || t_any(l->wild));
}

kk_rcluster *
kk_router_match_sni(const kk_rlistener *l, const char *name, size_t len)
{
	const kk_route *hit;
	kk_rreq r;
	if (l->proto != KK_PROTO_TCP)
		return NULL;
	/* tcp routes match any path and method: the empty ones do. */
	memset(&r, 0, sizeof r);
	r.host = name ? name : "";
	r.hlen = name ? len : 0;
	r.path = r.method = "";
	return lookup(l, &r, &hit);
}
