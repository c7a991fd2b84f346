/* ISC license. */
/* The state model: life cycle, the indexes and lookups by hash,
 * kk_state_apply for one verb (and its journaled form, which can be
 * undone), kk_state_load_text for a batch, and the invariant checker.
 * Printing is in stateprint.c, the diff in statediff.c, the hash table in
 * index.c. Every change is checked in full before anything is touched,
 * so a refused verb leaves the state as it was. */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <kakehi/addr.h>
#include <kakehi/action.h>
#include <kakehi/answer.h>
#include <kakehi/arena.h>
#include <kakehi/cert.h>
#include <kakehi/clientca.h>
#include <kakehi/fmatch.h>
#include <kakehi/htpasswd.h>
#include <kakehi/index.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include <kakehi/tlslists.h>
#include <kakehi/verb.h>
#include "lines.h"
#include "setting.h"
#include "statecert.h"
#include "clustertls.h"
#include "statekey.h"
#include "stateprint.h"

/* A config or state file larger than this is a mistake, not a config. */
#define LOAD_MAX (64UL << 20)
#define HOST_BUF 256
/* The index value of an object removed under an open journal: absent to
 * every lookup, but its key stays, so undoing the removal needs no
 * memory. See kk_state_apply_journal. */
#define GONE ((size_t)-1)

/* One change recorded by kk_state_apply_journal: what undoes it. */
struct kk_journal_entry {
	enum kk_verb_id id;	/* the verb applied */
	size_t slot;		/* of the object added or removed */
	int revived;		/* add: it took over a removed object's key */
	char *key;		/* the object's index key (owned) */
	size_t klen;
	union {			/* remove: the object; set: the old settings */
		kk_listener l;
		kk_cluster c;
		kk_frontend f;
		kk_backend b;
		kk_certificate x;	/* replace: the old one */
		kk_settings set;
	} u;
};

void
kk_state_init(kk_state *st)
{
	memset(st, 0, sizeof *st);
	kk_setting_defaults(&st->set);
}

/* The strings of a scratch state live in its arena: none is freed alone. */
static void
free_str(const kk_state *st, char *s)
{
	if (!st->arena) free(s);
}

/* A listener's TLS policy is on the heap even in a scratch state:
 * listeners are few. */
static void
free_tls(kk_tls_policy *t)
{
	if (!t) return;
	free(t->ciphers);
	free(t->groups);
	free(t->alpn);
	free(t->default_cert);
	kk_blob_free(&t->client_ca);
	free(t);
}

static void
free_listener(const kk_state *st, kk_listener *l)
{
	free_str(st, l->addr_text);
	free_str(st, l->public_address);
	free_str(st, l->answers);
	free_tls(l->tls);
	l->tls = 0;
}

static void
free_frontend(const kk_state *st, kk_frontend *f)
{
	if (st->arena) return;
	free(f->cluster);
	free(f->listener);
	free(f->host);
	free(f->path);
	free(f->method);
	free(f->extra);
	free(f->actions);
	free(f->sni);
}

static void
free_backend(const kk_state *st, kk_backend *b)
{
	if (st->arena) return;
	free(b->cluster);
	free(b->id);
	free(b->addr_text);
}

static void
free_cluster(const kk_state *st, kk_cluster *c)
{
	free_str(st, c->id);
	free_str(st, c->hash_name);
	free_str(st, c->sticky_cookie);
	free_str(st, c->answers);
	free_str(st, c->hc.path);
	free_str(st, c->hc.host);
	kk_clustertls_free(c->tls);
}

void
kk_state_free(kk_state *st)
{
	size_t i;
	/* A scratch state's strings go with its arena, at once. */
	for (i = 0; i < st->nlisteners; i++) free_listener(st, &st->listeners[i]);
	for (i = 0; i < st->nclusters; i++) free_cluster(st, &st->clusters[i]);
	for (i = 0; !st->arena && i < st->nfrontends; i++) free_frontend(st, &st->frontends[i]);
	for (i = 0; !st->arena && i < st->nbackends; i++) free_backend(st, &st->backends[i]);
	/* Removed slots are all zero: freeing them is a no-op. */
	for (i = 0; i < st->ncertificates; i++) kk_cert_free(&st->certificates[i]);
	free(st->certificates);
	kk_index_free(&st->xindex);
	free(st->listeners);
	free(st->clusters);
	free(st->frontends);
	free(st->backends);
	kk_index_free(&st->lindex);
	kk_index_free(&st->cindex);
	kk_index_free(&st->findex);
	kk_index_free(&st->bindex);
	kk_setting_free(&st->set);
	if (st->arena) {
		kk_arena_free(st->arena);
		free(st->arena);
	}
	free(st->loaded);
	kk_state_init(st);
}

/* Appends n bytes and the NUL that ends a part. */
static int
key_part(kk_statekey *k, const char *part, size_t n)
{
	if (k->len + n + 1 > sizeof k->buf && k->s == k->buf) {
		char *p = malloc(k->len + n + 1 + sizeof k->buf);
		if (!p) return 0;
		memcpy(p, k->buf, k->len);
		k->s = p;
	} else if (k->s != k->buf) {
		char *p = realloc(k->s, k->len + n + 1);
		if (!p) return 0;
		k->s = p;
	}
	memcpy(k->s + k->len, part, n);
	k->len += n;
	k->s[k->len++] = 0;
	return 1;
}

/* An absent part (NULL) is one byte 1, which no present string starts
 * with, so "no host" and "empty host" differ. */
static int
key_opt(kk_statekey *k, const char *part)
{
	return part ? key_part(k, part, strlen(part)) : key_part(k, "\1", 1);
}

/* A tcp frontend's key starts with a byte 2, which no cluster id (the
 * first part of an http frontend's key) starts with: see state.h for why
 * it leaves the cluster out. */
int
kk_statekey_frontend(kk_statekey *k, const kk_frontend *f)
{
	char kind = (char)('0' + f->path_kind);
	k->s = k->buf;
	k->len = 0;
	if (f->proto == KK_PROTO_TCP) {
		if (key_part(k, "\2", 1) && key_part(k, f->listener, strlen(f->listener))
		    && key_opt(k, f->sni))
			return 1;
	} else if (key_part(k, f->cluster, strlen(f->cluster))
	    && key_part(k, f->listener, strlen(f->listener)) && key_opt(k, f->host)
	    && key_part(k, &kind, 1) && key_opt(k, f->path) && key_opt(k, f->method)
	    && key_opt(k, f->extra))
		return 1;
	kk_statekey_done(k);
	errno = ENOMEM;
	return 0;
}

int
kk_statekey_backend(kk_statekey *k, const char *cluster, const char *id)
{
	k->s = k->buf;
	k->len = 0;
	if (key_part(k, cluster, strlen(cluster)) && key_part(k, id, strlen(id))) return 1;
	kk_statekey_done(k);
	errno = ENOMEM;
	return 0;
}

int
kk_statekey_certificate(kk_statekey *k, const char *listener, const char *fingerprint)
{
	k->s = k->buf;
	k->len = 0;
	if (key_part(k, listener, strlen(listener))
	    && key_part(k, fingerprint, strlen(fingerprint)))
		return 1;
	kk_statekey_done(k);
	errno = ENOMEM;
	return 0;
}

void
kk_statekey_done(kk_statekey *k)
{
	if (k->s != k->buf) free(k->s);
	k->s = k->buf;
	k->len = 0;
}

/* Squeezes the removed slots out of one array of n slots of `size`
 * bytes, where live(slot) tells a live one, and points the index at the
 * new slots. The new slot of each old one is computed first, so no key
 * has to be rebuilt (which could need memory half-way). 1 ok; 0 ENOMEM
 * with nothing changed: removed slots are only a cost, never an error. */
static int
squeeze(void *arr, size_t *n, size_t *dead, size_t size, kk_index *ix,
    int (*live)(const void *))
{
	char *base = arr;
	size_t i, j, cursor = 0, *to;
	kk_index_slot *s;
	if (!*dead) return 1;
	if (!(to = malloc((*n + 1) * sizeof *to))) {
		errno = ENOMEM;
		return 0;
	}
	for (i = j = 0; i < *n; i++)
		if (live(base + i * size)) to[i] = j++;
	while ((s = kk_index_next(ix, &cursor))) s->value = to[s->value];
	for (i = j = 0; i < *n; i++)
		if (live(base + i * size)) {
			if (i != j) memcpy(base + j * size, base + i * size, size);
			j++;
		}
	free(to);
	*n = j;
	*dead = 0;
	return 1;
}

static int
live_cluster(const void *p)
{
	return !!((const kk_cluster *)p)->id;
}

static int
live_frontend(const void *p)
{
	return !!((const kk_frontend *)p)->cluster;
}

static int
live_backend(const void *p)
{
	return !!((const kk_backend *)p)->cluster;
}

static int
live_certificate(const void *p)
{
	return !!((const kk_certificate *)p)->listener;
}

int
kk_state_compact(kk_state *st)
{
	if (st->journals) return 1;
	return squeeze(st->clusters, &st->nclusters, &st->dclusters, sizeof *st->clusters,
		&st->cindex, live_cluster)
	    && squeeze(st->frontends, &st->nfrontends, &st->dfrontends, sizeof *st->frontends,
		&st->findex, live_frontend)
	    && squeeze(st->backends, &st->nbackends, &st->dbackends, sizeof *st->backends,
		&st->bindex, live_backend)
	    && squeeze(st->certificates, &st->ncertificates, &st->dcertificates,
		sizeof *st->certificates, &st->xindex, live_certificate);
}

/* After a removal: squeeze once removed slots outnumber live ones. The
 * squeeze costs the slots' count, and at least half as many removals
 * paid for it since the last one, so removal stays amortised O(1). */
static void
after_remove(kk_state *st)
{
	/* An open journal undoes removals into their own slots. */
	if (st->journals) return;
	if (st->dclusters * 2 > st->nclusters)
		squeeze(st->clusters, &st->nclusters, &st->dclusters, sizeof *st->clusters,
		    &st->cindex, live_cluster);
	if (st->dfrontends * 2 > st->nfrontends)
		squeeze(st->frontends, &st->nfrontends, &st->dfrontends, sizeof *st->frontends,
		    &st->findex, live_frontend);
	if (st->dbackends * 2 > st->nbackends)
		squeeze(st->backends, &st->nbackends, &st->dbackends, sizeof *st->backends,
		    &st->bindex, live_backend);
	if (st->dcertificates * 2 > st->ncertificates)
		squeeze(st->certificates, &st->ncertificates, &st->dcertificates,
		    sizeof *st->certificates, &st->xindex, live_certificate);
}

/* A copy of s for st (in its arena, if it has one) that keeps NULL as
 * NULL; *ok turns 0 on allocation failure. */
static char *
dup_opt(const kk_state *st, const char *s, int *ok)
{
	char *d;
	if (!s) return 0;
	d = st->arena ? kk_arena_memdup(st->arena, s, strlen(s)) : strdup(s);
	if (!d) *ok = 0;
	return d;
}

/* Makes room for one more element in *arr. 1 ok, 0 ENOMEM. */
static int
grow(void *arr, size_t n, size_t *alloc, size_t size)
{
	void **p = arr;
	size_t a;
	void *q;
	if (n < *alloc) return 1;
	a = *alloc ? *alloc * 2 : 8;
	if (!(q = realloc(*p, a * size))) return 0;
	*p = q;
	*alloc = a;
	return 1;
}

/* Indexes key at slot; a key left by a journaled removal is taken over
 * (*revived set, so undo can give it back). One walk of the index: a key
 * is either new or marked gone, since the caller found no live object.
 * 1 ok, 0 ENOMEM. */
static int
claim(kk_index *ix, const char *key, size_t klen, size_t slot, int *revived)
{
	int added;
	size_t *v = kk_index_add(ix, key, klen, slot, &added);
	if (!v) return 0;
	if (!added) {
		*v = slot;
		if (revived) *revived = 1;
	}
	return 1;
}

/* Unindexes key, or under a journal (e) only marks it gone. */
static void
release(kk_index *ix, const char *key, size_t klen, const struct kk_journal_entry *e)
{
	if (e) *kk_index_get(ix, key, klen) = GONE;
	else kk_index_del(ix, key, klen);
}

/* Keeps a copy of key in the journal entry, if any. 1 ok, 0 ENOMEM. */
static int
entry_key(struct kk_journal_entry *e, const char *key, size_t klen)
{
	if (!e) return 1;
	if (!(e->key = malloc(klen + 1))) return 0;
	memcpy(e->key, key, klen);
	e->key[klen] = 0;
	e->klen = klen;
	return 1;
}

static int
index_str(kk_index *ix, const char *key, size_t slot)
{
	return claim(ix, key, strlen(key), slot, 0);
}

static int
index_frontend(kk_state *st, const kk_frontend *f, size_t slot)
{
	kk_statekey k;
	int r;
	if (!kk_statekey_frontend(&k, f)) return 0;
	r = claim(&st->findex, k.s, k.len, slot, 0);
	kk_statekey_done(&k);
	return r;
}

static int
index_backend(kk_state *st, const kk_backend *b, size_t slot)
{
	kk_statekey k;
	int r;
	if (!kk_statekey_backend(&k, b->cluster, b->id)) return 0;
	r = claim(&st->bindex, k.s, k.len, slot, 0);
	kk_statekey_done(&k);
	return r;
}

static char *
dup_heap(const char *s, int *ok)
{
	char *d;
	if (!s) return 0;
	if (!(d = strdup(s))) *ok = 0;
	return d;
}

/* A copy of t on the heap; NULL stays NULL. */
static kk_tls_policy *
copy_tls(const kk_tls_policy *t, int *ok)
{
	kk_tls_policy *d;
	if (!t) return 0;
	if (!(d = malloc(sizeof *d))) {
		*ok = 0;
		return 0;
	}
	*d = *t;
	d->ciphers = dup_heap(t->ciphers, ok);
	d->groups = dup_heap(t->groups, ok);
	d->alpn = dup_heap(t->alpn, ok);
	d->default_cert = dup_heap(t->default_cert, ok);
	d->client_ca.p = 0;
	d->client_ca.len = 0;
	if (t->client_ca.len) {
		if ((d->client_ca.p = malloc(t->client_ca.len))) {
			memcpy(d->client_ca.p, t->client_ca.p, t->client_ca.len);
			d->client_ca.len = t->client_ca.len;
		} else
			*ok = 0;
	}
	return d;
}

static int
index_certificate(kk_state *st, const kk_certificate *x, size_t slot)
{
	kk_statekey k;
	int r;
	if (!kk_statekey_certificate(&k, x->listener, x->fingerprint)) return 0;
	r = claim(&st->xindex, k.s, k.len, slot, 0);
	kk_statekey_done(&k);
	return r;
}

/* The live objects of src, appended densely to the empty st, each with
 * its index entry. 1 ok, 0 ENOMEM (st then holds what was copied). */
static int
copy_objects(kk_state *st, const kk_state *src)
{
	size_t i;
	int ok = 1;
	for (i = 0; i < src->nlisteners; i++, st->nlisteners++) {
		kk_listener *l = &st->listeners[st->nlisteners];
		*l = src->listeners[i];
		l->addr_text = dup_opt(st, l->addr_text, &ok);
		l->public_address = dup_opt(st, l->public_address, &ok);
		l->answers = dup_opt(st, l->answers, &ok);
		l->tls = copy_tls(l->tls, &ok);
		if (!ok || !index_str(&st->lindex, l->addr_text, st->nlisteners)) return 0;
	}
	for (i = 0; i < src->ncertificates; i++) {
		if (!src->certificates[i].listener) continue;
		if (!kk_cert_copy(&st->certificates[st->ncertificates], &src->certificates[i]))
			return 0;
		st->ncertificates++;
		if (!index_certificate(st, &st->certificates[st->ncertificates - 1],
		    st->ncertificates - 1))
			return 0;
	}
	for (i = 0; i < src->nclusters; i++) {
		kk_cluster *c = &st->clusters[st->nclusters];
		if (!src->clusters[i].id) continue;
		*c = src->clusters[i];
		c->id = dup_opt(st, c->id, &ok);
		c->hash_name = dup_opt(st, c->hash_name, &ok);
		c->sticky_cookie = dup_opt(st, c->sticky_cookie, &ok);
		c->answers = dup_opt(st, c->answers, &ok);
		c->hc.path = dup_opt(st, c->hc.path, &ok);
		c->hc.host = dup_opt(st, c->hc.host, &ok);
		if (!kk_clustertls_copy(&c->tls, src->clusters[i].tls)) ok = 0;
		st->nclusters++;
		if (!ok || !index_str(&st->cindex, c->id, st->nclusters - 1)) return 0;
	}
	for (i = 0; i < src->nfrontends; i++) {
		kk_frontend *f = &st->frontends[st->nfrontends];
		if (!src->frontends[i].cluster) continue;
		*f = src->frontends[i];
		f->cluster = dup_opt(st, f->cluster, &ok);
		f->listener = dup_opt(st, f->listener, &ok);
		f->host = dup_opt(st, f->host, &ok);
		f->path = dup_opt(st, f->path, &ok);
		f->method = dup_opt(st, f->method, &ok);
		f->extra = dup_opt(st, f->extra, &ok);
		f->actions = dup_opt(st, f->actions, &ok);
		f->sni = dup_opt(st, f->sni, &ok);
		st->nfrontends++;
		if (!ok || !f->cluster || !index_frontend(st, f, st->nfrontends - 1)) return 0;
	}
	for (i = 0; i < src->nbackends; i++) {
		kk_backend *b = &st->backends[st->nbackends];
		if (!src->backends[i].cluster) continue;
		*b = src->backends[i];
		b->cluster = dup_opt(st, b->cluster, &ok);
		b->id = dup_opt(st, b->id, &ok);
		b->addr_text = dup_opt(st, b->addr_text, &ok);
		st->nbackends++;
		if (!ok || !b->cluster || !b->id || !index_backend(st, b, st->nbackends - 1))
			return 0;
	}
	return 1;
}

int
kk_state_copy(kk_state *dst, const kk_state *src)
{
	kk_state st;
	size_t nc = src->nclusters - src->dclusters, nf = src->nfrontends - src->dfrontends;
	size_t nb = src->nbackends - src->dbackends;
	size_t nx = src->ncertificates - src->dcertificates;
	kk_state_init(&st);
	if (!kk_setting_copy(&st.set, &src->set)) return 0;
	/* Sized exactly, so a failure half-way frees only what was copied. */
	if ((src->nlisteners && !(st.listeners = calloc(src->nlisteners, sizeof *st.listeners)))
	    || (nc && !(st.clusters = calloc(nc, sizeof *st.clusters)))
	    || (nf && !(st.frontends = calloc(nf, sizeof *st.frontends)))
	    || (nb && !(st.backends = calloc(nb, sizeof *st.backends)))
	    || (nx && !(st.certificates = calloc(nx, sizeof *st.certificates))))
		goto fail;
	st.acertificates = nx;
	st.alisteners = src->nlisteners;
	st.aclusters = nc;
	st.afrontends = nf;
	st.abackends = nb;
	if (!copy_objects(&st, src)) goto fail;
	*dst = st;
	return 1;
fail:
	kk_state_free(&st);
	errno = ENOMEM;
	return 0;
}

kk_listener *
kk_state_listener(const kk_state *st, const char *addr_text)
{
	size_t *slot = kk_index_get(&st->lindex, addr_text, strlen(addr_text));
	return slot && *slot != GONE ? &st->listeners[*slot] : 0;
}

kk_cluster *
kk_state_cluster(const kk_state *st, const char *id)
{
	size_t *slot = kk_index_get(&st->cindex, id, strlen(id));
	return slot && *slot != GONE ? &st->clusters[*slot] : 0;
}

kk_backend *
kk_state_backend(const kk_state *st, const char *cluster, const char *id)
{
	kk_statekey k;
	size_t *slot;
	/* Out of memory only for keys over the key buffer: found by scan. */
	if (!kk_statekey_backend(&k, cluster, id)) {
		for (size_t i = 0; i < st->nbackends; i++)
			if (st->backends[i].cluster && !strcmp(st->backends[i].cluster, cluster)
			    && !strcmp(st->backends[i].id, id))
				return &st->backends[i];
		return 0;
	}
	slot = kk_index_get(&st->bindex, k.s, k.len);
	kk_statekey_done(&k);
	return slot && *slot != GONE ? &st->backends[*slot] : 0;
}

kk_certificate *
kk_state_certificate(const kk_state *st, const char *listener, const char *fingerprint)
{
	kk_statekey k;
	size_t *slot;
	if (!kk_statekey_certificate(&k, listener, fingerprint)) return 0;
	slot = kk_index_get(&st->xindex, k.s, k.len);
	kk_statekey_done(&k);
	return slot && *slot != GONE ? &st->certificates[*slot] : 0;
}

static int
nomem(char *err, size_t errlen, const kk_verb *v)
{
	snprintf(err, errlen, "%s%s%s: out of memory; nothing changed", v->def->word1,
	    v->def->word2 ? " " : "", v->def->word2 ? v->def->word2 : "");
	return 0;
}

/* The canonical text of an address the parser already accepted. */
static void
canon_addr(const char *s, char *buf)
{
	kk_addr a;
	if (kk_addr_parse(&a, s)) kk_addr_fmt(buf, &a);
	else snprintf(buf, KK_ADDR_FMTLEN, "%s", s);
}

static unsigned long
opt_duration(const kk_verb *v, const char *name, unsigned long def)
{
	const char *s = kk_verb_opt(v, name);
	unsigned long ms;
	return s && kk_scan_duration_ms(s, &ms) ? ms : def;
}

static unsigned
opt_uint(const kk_verb *v, const char *name, unsigned long def)
{
	const char *s = kk_verb_opt(v, name);
	unsigned long n;
	return (unsigned)(s && kk_scan_uint(s, 0, 4294967295UL, &n) ? n : def);
}

/* The TLS policy of an https listener's line, on the heap. NULL with
 * *ok 0 on ENOMEM. */
static kk_tls_policy *
tls_of(const kk_verb *v, int *ok)
{
	const char *versions = kk_verb_opt(v, "--tls-versions"), *hsts = kk_verb_opt(v, "--hsts");
	const char *fp = kk_verb_opt(v, "--default-certificate"), *alpn, *s;
	char canon[65];
	unsigned long n = 0;
	kk_tls_policy *t = calloc(1, sizeof *t);
	if (!t) {
		*ok = 0;
		return 0;
	}
	t->versions = !versions || !strcmp(versions, "1.2,1.3") ? KK_TLS_1_2 | KK_TLS_1_3
	    : !strcmp(versions, "1.2") ? KK_TLS_1_2 : KK_TLS_1_3;
	t->ciphers = dup_heap(kk_verb_opt(v, "--ciphers"), ok);
	t->groups = dup_heap(kk_verb_opt(v, "--groups"), ok);
	alpn = kk_verb_opt(v, "--alpn");
	t->alpn = alpn && strcmp(alpn, KK_DEFAULT_ALPN) ? dup_heap(alpn, ok) : 0;
	t->handshake_timeout_ms = opt_duration(v, "--handshake-timeout",
	    KK_DEFAULT_HANDSHAKE_TIMEOUT_MS);
	if (hsts) kk_scan_uint(hsts, 0, ~0UL, &n);
	t->hsts_max_age = n;
	if (kk_verb_opt(v, "--hsts-subdomains")) t->hsts_flags |= KK_HSTS_SUBDOMAINS;
	if (kk_verb_opt(v, "--hsts-preload")) t->hsts_flags |= KK_HSTS_PRELOAD;
	t->strict_sni = !kk_verb_opt(v, "--no-strict-sni");
	t->default_cert = fp && kk_fingerprint_canon(fp, canon) ? dup_heap(canon, ok) : 0;
	t->client_auth = (s = kk_verb_opt(v, "--client-auth")) && !strcmp(s, "optional")
	    ? KK_CLIENT_AUTH_OPTIONAL : KK_CLIENT_AUTH_REQUIRED;
	return t;
}

/* The answer options of v (listener add, cluster add) as their
 * canonical text in *text, NULL when v has none: files read from the
 * state's filedir. 1 ok; 0 with err. */
static int
take_answers(const kk_state *st, const kk_verb *v, char **text, char *err, size_t errlen)
{
	kk_str t = KK_STR_ZERO;
	char msg[KK_ERRLEN];
	int ok = 1;
	*text = 0;
	if (!kk_answer_canon(v, st->filedir, &t, msg, sizeof msg)) {
		snprintf(err, errlen, "%s %s: %s; nothing changed", v->def->word1, v->def->word2,
		    msg);
		kk_str_free(&t);
		return 0;
	}
	if (t.len)
		*text = dup_opt(st, t.s, &ok);
	kk_str_free(&t);
	if (!ok)
		snprintf(err, errlen, "%s %s: out of memory; nothing changed", v->def->word1,
		    v->def->word2);
	return ok;
}

static int
apply_listener_add(kk_state *st, const kk_verb *v, struct kk_journal_entry *e, char *err,
    size_t errlen)
{
	char text[KK_ADDR_FMTLEN], pub[KK_ADDR_FMTLEN];
	const char *pubopt = kk_verb_opt(v, "--public-address");
	kk_listener l, *old;
	int ok = 1;
	memset(&l, 0, sizeof l);
	if (!kk_addr_parse(&l.addr, v->pos[1])) {
		snprintf(err, errlen, "listener add: \"%s\" is not an address", v->pos[1]);
		return 0;
	}
	kk_addr_fmt(text, &l.addr);
	l.proto = strcmp(v->pos[0], "tcp") ? KK_PROTO_HTTP : KK_PROTO_TCP;
	if ((old = kk_state_listener(st, text))) {
		if (old->proto != l.proto)
			snprintf(err, errlen, "listener add: listener %s already exists as %s "
			    "listener, and a listener's kind cannot change in place; remove it "
			    "(and its frontends) first with: listener remove %s", text,
			    old->proto == KK_PROTO_TCP ? "a tcp" : "an http", text);
		else
			snprintf(err, errlen, "listener add: listener %s already exists; to "
			    "change it, remove it first with: listener remove %s", text, text);
		return 0;
	}
	if (pubopt) canon_addr(pubopt, pub);
	l.front_timeout_ms = opt_duration(v, "--front-timeout", KK_DEFAULT_FRONT_TIMEOUT_MS);
	l.request_timeout_ms = opt_duration(v, "--request-timeout", KK_DEFAULT_REQUEST_TIMEOUT_MS);
	l.back_timeout_ms = opt_duration(v, "--back-timeout", KK_DEFAULT_BACK_TIMEOUT_MS);
	l.connect_timeout_ms = opt_duration(v, "--connect-timeout",
	    KK_DEFAULT_CONNECT_TIMEOUT_MS);
	l.tunnel_timeout_ms = opt_duration(v, "--tunnel-timeout", KK_DEFAULT_TUNNEL_TIMEOUT_MS);
	l.expect_proxy = !!kk_verb_opt(v, "--expect-proxy");
	if (kk_verb_opt(v, "--service")) {
		if (l.proto == KK_PROTO_TCP) {
			snprintf(err, errlen, "listener add: --service needs an http or https "
			    "listener, not tcp; nothing changed");
			return 0;
		}
		l.service = strcmp(kk_verb_opt(v, "--service"), "stats") ? KK_SERVICE_PROMETHEUS
		    : KK_SERVICE_STATS;
	}
	l.h2.no_h2c = !!kk_verb_opt(v, "--no-h2c");
	l.h2.max_streams = opt_uint(v, "--h2-max-streams", KK_DEFAULT_H2_MAX_STREAMS);
	l.h2.window = opt_uint(v, "--h2-window", KK_DEFAULT_H2_WINDOW);
	l.h2.max_frame = opt_uint(v, "--h2-max-frame", KK_DEFAULT_H2_MAX_FRAME);
	l.h2.max_header_list = opt_uint(v, "--h2-max-header-list",
	    KK_DEFAULT_H2_MAX_HEADER_LIST);
	l.h2.max_resets = opt_uint(v, "--h2-max-resets", KK_DEFAULT_H2_MAX_RESETS);
	l.h2.max_settings = opt_uint(v, "--h2-max-settings", KK_DEFAULT_H2_MAX_SETTINGS);
	l.h2.max_pings = opt_uint(v, "--h2-max-pings", KK_DEFAULT_H2_MAX_PINGS);
	l.h2.max_priority = opt_uint(v, "--h2-max-priority", KK_DEFAULT_H2_MAX_PRIORITY);
	l.h2.max_window_updates = opt_uint(v, "--h2-max-window-updates",
	    KK_DEFAULT_H2_MAX_WINDOW_UPDATES);
	l.h2.max_empty_data = opt_uint(v, "--h2-max-empty-data", KK_DEFAULT_H2_MAX_EMPTY_DATA);
	l.h2.max_continuations = opt_uint(v, "--h2-max-continuations",
	    KK_DEFAULT_H2_MAX_CONTINUATIONS);
	l.limits.head = opt_uint(v, "--max-request-head", 0);
	l.limits.fields = opt_uint(v, "--max-headers", 0);
	l.limits.uri = opt_uint(v, "--max-uri", 0);
	l.limits.body = opt_uint(v, "--max-body", 0);
	l.forward.fields = KK_FORWARD_DEFAULT;
	if (kk_verb_opt(v, "--no-forward"))
		l.forward.fields = 0;
	else if (kk_verb_opt(v, "--forward"))
		kk_scan_forward(kk_verb_opt(v, "--forward"), &l.forward.fields);
	if (kk_verb_opt(v, "--request-id"))
		strcpy(l.forward.request_id, kk_verb_opt(v, "--request-id"));
	if (!strcmp(v->pos[0], "https")) l.tls = tls_of(v, &ok);
	if (l.tls) {
		char msg[KK_ERRLEN];
		/* The client CA's file is read by whoever reads the line; a
		 * worker gets its bytes. */
		if (!kk_tls_check_lists(l.tls, msg, sizeof msg)
		    || !kk_statecert_take_blob(v, "client-ca", 0, st->filedir, &l.tls->client_ca,
			msg, sizeof msg)
		    || (l.tls->client_ca.len && !kk_clientca_check(&l.tls->client_ca, msg,
			sizeof msg))) {
			snprintf(err, errlen, "listener add: %s; nothing changed", msg);
			free_tls(l.tls);
			return 0;
		}
	}
	if (!take_answers(st, v, &l.answers, err, errlen)) {
		free_tls(l.tls);
		return 0;
	}
	l.addr_text = dup_opt(st, text, &ok);
	l.public_address = dup_opt(st, pubopt ? pub : 0, &ok);
	if (!ok || !grow(&st->listeners, st->nlisteners, &st->alisteners, sizeof l)
	    || !entry_key(e, text, strlen(text))
	    || !claim(&st->lindex, text, strlen(text), st->nlisteners, e ? &e->revived : 0)) {
		if (e) free(e->key);
		free_listener(st, &l);
		return nomem(err, errlen, v);
	}
	if (e) e->slot = st->nlisteners;
	st->listeners[st->nlisteners++] = l;
	return 1;
}

/* The first live frontend using listener addr (lis) or cluster id, for
 * the error text of a refused removal: a scan, but only on refusal. */
static const kk_frontend *
first_frontend_of(const kk_state *st, const char *lis, const char *cluster)
{
	for (size_t i = 0; i < st->nfrontends; i++) {
		const kk_frontend *f = &st->frontends[i];
		if (f->cluster && (lis ? !strcmp(f->listener, lis) : !strcmp(f->cluster, cluster)))
			return f;
	}
	return 0;
}

static int
apply_listener_remove(kk_state *st, const kk_verb *v, struct kk_journal_entry *e, char *err,
    size_t errlen)
{
	char text[KK_ADDR_FMTLEN];
	kk_listener *l;
	size_t i, users;
	canon_addr(v->pos[0], text);
	if (!(l = kk_state_listener(st, text))) {
		snprintf(err, errlen, "listener remove: listener %s does not exist; "
		    "see: listener list", text);
		return 0;
	}
	if ((users = l->ncertificates)) {
		kk_str line = KK_STR_ZERO;
		for (i = 0; i < st->ncertificates; i++)
			if (st->certificates[i].listener
			    && !strcmp(st->certificates[i].listener, text)) {
				kk_stateprint_certificate(&line, &st->certificates[i], "remove");
				break;
			}
		snprintf(err, errlen, "listener remove: listener %s has %zu certificate%s; "
		    "remove %s first, with: %s%s", text, users, users > 1 ? "s" : "",
		    users > 1 ? "them" : "it", line.s ? line.s : "",
		    users > 1 ? " (and the others: certificate list)" : "");
		kk_str_free(&line);
		return 0;
	}
	if ((users = l->nfrontends)) {
		kk_str line = KK_STR_ZERO;
		kk_stateprint_frontend(&line, first_frontend_of(st, text, 0), "remove");
		snprintf(err, errlen, "listener remove: listener %s is used by %zu frontend%s; "
		    "remove %s first, with: %s%s", text, users, users > 1 ? "s" : "",
		    users > 1 ? "them" : "it", line.s ? line.s : "",
		    users > 1 ? " (and the others: frontend list)" : "");
		kk_str_free(&line);
		return 0;
	}
	if (!entry_key(e, text, strlen(text))) return nomem(err, errlen, v);
	release(&st->lindex, text, strlen(text), e);
	i = (size_t)(l - st->listeners);
	if (e) {
		e->slot = i;
		e->u.l = *l;
	} else {
		free_listener(st, l);
	}
	/* Listeners stay dense (see state.h): shift and re-point the few
	 * that follow. */
	memmove(l, l + 1, (st->nlisteners - i - 1) * sizeof *l);
	st->nlisteners--;
	for (; i < st->nlisteners; i++) {
		const char *key = st->listeners[i].addr_text;
		*kk_index_get(&st->lindex, key, strlen(key)) = i;
	}
	return 1;
}

/* --hash-key and --sticky-cookie, which the verb checked, into c in
 * their canonical form: a field name in lower case, the default cookie
 * name as none. 1 ok, 0 ENOMEM. */
static int
lb_options(const kk_state *st, kk_cluster *c, const kk_verb *v, int *ok)
{
	const char *key = kk_verb_opt(v, "--hash-key");
	const char *cookie = kk_verb_opt(v, "--sticky-cookie");
	c->hash_key = KK_HASH_SOURCE;
	if (key && !strcmp(key, "path"))
		c->hash_key = KK_HASH_PATH;
	else if (key && !strncmp(key, "header:", 7)) {
		c->hash_key = KK_HASH_HEADER;
		if ((c->hash_name = dup_opt(st, key + 7, ok)))
			for (char *p = c->hash_name; *p; p++)
				if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
	} else if (key && !strncmp(key, "cookie:", 7)) {
		c->hash_key = KK_HASH_COOKIE;
		c->hash_name = dup_opt(st, key + 7, ok);
	}
	c->sticky = !!kk_verb_opt(v, "--sticky");
	if (cookie && strcmp(cookie, KK_STICKY_COOKIE))
		c->sticky_cookie = dup_opt(st, cookie, ok);
	return *ok;
}

static int
apply_cluster_add(kk_state *st, const kk_verb *v, struct kk_journal_entry *e, char *err,
    size_t errlen)
{
	const char *lb = kk_verb_opt(v, "--lb"), *proxy = kk_verb_opt(v, "--send-proxy");
	const char *redirect = kk_verb_opt(v, "--https-redirect");
	kk_cluster c;
	int ok = 1;
	if (kk_state_cluster(st, v->pos[0])) {
		snprintf(err, errlen, "cluster add: cluster \"%s\" already exists", v->pos[0]);
		return 0;
	}
	memset(&c, 0, sizeof c);
	c.lb = KK_LB_ROUND_ROBIN;
	for (int i = 0; lb && kk_lb_names[i]; i++)
		if (!strcmp(kk_lb_names[i], lb))
			c.lb = (enum kk_lb)i;
	c.send_proxy = !proxy ? KK_SEND_PROXY_NONE
	    : !strcmp(proxy, "v1") ? KK_SEND_PROXY_V1 : KK_SEND_PROXY_V2;
	c.queue = opt_uint(v, "--queue", KK_DEFAULT_QUEUE);
	c.queue_timeout_ms = opt_duration(v, "--queue-timeout", 0);
	c.max_fails = opt_uint(v, "--max-fails", KK_DEFAULT_MAX_FAILS);
	c.fail_5xx = kk_verb_opt(v, "--fail-5xx") != NULL;
	if (!lb_options(st, &c, v, &ok)) {
		free_cluster(st, &c);
		return nomem(err, errlen, v);
	}
	if (redirect) {
		unsigned long port = KK_DEFAULT_HTTPS_PORT, code = 0;
		kk_scan_uint(redirect, 300, 399, &code);
		if (kk_verb_opt(v, "--https-port"))
			kk_scan_uint(kk_verb_opt(v, "--https-port"), 1, 65535, &port);
		c.https_redirect = (unsigned)code;
		c.https_port = (unsigned)port;
	}
	c.h2 = kk_verb_opt(v, "--h2") != NULL;
	if (kk_verb_opt(v, "--tls")) {
		char msg[KK_ERRLEN];
		if (!kk_clustertls_from_verb(&c.tls, v, st->filedir, msg, sizeof msg)) {
			snprintf(err, errlen, "cluster add: cluster \"%s\": %s", v->pos[0], msg);
			free_cluster(st, &c);
			return 0;
		}
	}
	if (!take_answers(st, v, &c.answers, err, errlen)) {
		free_cluster(st, &c);
		return 0;
	}
	c.id = dup_opt(st, v->pos[0], &ok);
	if (!ok || !grow(&st->clusters, st->nclusters, &st->aclusters, sizeof c)
	    || !entry_key(e, c.id, strlen(c.id))
	    || !claim(&st->cindex, c.id, strlen(c.id), st->nclusters, e ? &e->revived : 0)) {
		if (e) free(e->key);
		free_cluster(st, &c);
		return nomem(err, errlen, v);
	}
	if (e) e->slot = st->nclusters;
	st->clusters[st->nclusters++] = c;
	return 1;
}

static int
apply_cluster_remove(kk_state *st, const kk_verb *v, struct kk_journal_entry *e, char *err,
    size_t errlen)
{
	const char *id = v->pos[0];
	kk_cluster *c = kk_state_cluster(st, id);
	size_t nf, nb;
	if (!c) {
		snprintf(err, errlen, "cluster remove: cluster \"%s\" does not exist; "
		    "see: cluster list", id);
		return 0;
	}
	nf = c->nfrontends;
	nb = c->nbackends;
	if (nf || nb) {
		kk_str line = KK_STR_ZERO;
		if (nf) kk_stateprint_frontend(&line, first_frontend_of(st, 0, id), "remove");
		if (nf && nb) kk_str_cats(&line, "; ");
		for (size_t i = 0; nb && i < st->nbackends; i++)
			if (st->backends[i].cluster && !strcmp(st->backends[i].cluster, id)) {
				kk_stateprint_backend(&line, &st->backends[i], "remove");
				break;
			}
		snprintf(err, errlen, "cluster remove: cluster \"%s\" is still used by %zu "
		    "frontend%s and %zu backend%s; remove them first (see: frontend list %s, "
		    "backend list %s), e.g. with: %s", id, nf, nf == 1 ? "" : "s", nb,
		    nb == 1 ? "" : "s", id, id, line.s ? line.s : "");
		kk_str_free(&line);
		return 0;
	}
	if (!entry_key(e, id, strlen(id))) return nomem(err, errlen, v);
	release(&st->cindex, id, strlen(id), e);
	if (e) {
		e->slot = (size_t)(c - st->clusters);
		e->u.c = *c;
	} else {
		free_cluster(st, c);
	}
	memset(c, 0, sizeof *c);
	st->dclusters++;
	after_remove(st);
	return 1;
}

/* name folded to lower case into buf (HOST_BUF bytes), without the
 * final dot of an absolute name, which names the same host (the worker
 * drops a request's too); NULL stays NULL. */
static char *
fold_name(const char *name, char *buf)
{
	size_t i;
	if (!name) return 0;
	for (i = 0; name[i] && i < HOST_BUF - 1; i++)
		buf[i] = (name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i];
	if (i > 1 && buf[i - 1] == '.') i--;
	buf[i] = 0;
	return buf;
}

/* The frontend a verb names, with borrowed strings: host and sni folded
 * to lower case into hostbuf and snibuf, listener made canonical into
 * lbuf, the kind that of the listener (http when there is none: then
 * the verb is refused anyway). Returns the listener, or NULL. */
static kk_listener *
frontend_of(const kk_state *st, const kk_verb *v, kk_frontend *f, char *hostbuf,
    char *snibuf, char *lbuf, kk_str *extra)
{
	const char *path = kk_verb_opt(v, "--path"), *exact = kk_verb_opt(v, "--path-exact");
	const char *regex = kk_verb_opt(v, "--path-regex");
	kk_listener *l;
	memset(f, 0, sizeof *f);
	f->cluster = (char *)v->pos[0];
	/* Lines printed by kakehi name listeners canonically: found as
	 * written, with no parse and format per line (a tenth of a load). */
	if ((l = kk_state_listener(st, kk_verb_opt(v, "--listener")))) {
		f->listener = l->addr_text;
	} else {
		canon_addr(kk_verb_opt(v, "--listener"), lbuf);
		f->listener = lbuf;
		l = kk_state_listener(st, lbuf);
	}
	f->proto = l ? l->proto : KK_PROTO_HTTP;
	f->host = fold_name(kk_verb_opt(v, "--host"), hostbuf);
	f->path_kind = path ? KK_PATH_PREFIX : exact ? KK_PATH_EXACT : regex ? KK_PATH_REGEX
	    : KK_PATH_ANY;
	f->path = (char *)(path ? path : exact ? exact : regex);
	f->method = (char *)kk_verb_opt(v, "--method");
	f->extra = extra->len ? extra->s : NULL;
	f->sni = fold_name(kk_verb_opt(v, "--sni"), snibuf);
	return l;
}

/* A frontend's match must suit its listener's kind (the parser already
 * keeps --sni apart from the http match options). 1 ok, 0 with err. */
static int
check_frontend_kind(const kk_verb *v, const kk_frontend *f, char *err, size_t errlen)
{
	const char *what = v->def->id == KK_V_FRONTEND_ADD ? "add" : "remove";
	static const char *const path_opts[] = { [KK_PATH_PREFIX] = "--path",
	    [KK_PATH_EXACT] = "--path-exact", [KK_PATH_REGEX] = "--path-regex" };
	const char *opt = f->host ? "--host" : f->path ? path_opts[f->path_kind]
	    : f->method ? "--method" : "--header, --cookie or --query";
	if (f->proto == KK_PROTO_TCP && (f->host || f->path || f->method || f->extra)) {
		snprintf(err, errlen, "frontend %s: listener %s is a tcp listener: it routes "
		    "connections by --sni NAME or by default, never by %s; drop %s, or route "
		    "on an http listener", what, f->listener, opt, opt);
		return 0;
	}
	if (f->proto == KK_PROTO_HTTP && f->sni) {
		snprintf(err, errlen, "frontend %s: listener %s is an http listener: it routes "
		    "requests by --host, --path and --method; --sni is for tcp listeners "
		    "(for a name on this listener, use --host %s)", what, f->listener, f->sni);
		return 0;
	}
	return 1;
}

static int
same_str(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

/* The identity kk_statekey_frontend keys: see state.h. */
static int
same_frontend(const kk_frontend *a, const kk_frontend *b)
{
	if (a->proto != b->proto || strcmp(a->listener, b->listener)) return 0;
	if (a->proto == KK_PROTO_TCP) return same_str(a->sni, b->sni);
	return !strcmp(a->cluster, b->cluster) && same_str(a->host, b->host)
	    && a->path_kind == b->path_kind && same_str(a->path, b->path)
	    && same_str(a->method, b->method) && same_str(a->extra, b->extra);
}

kk_frontend *
kk_state_frontend(const kk_state *st, const kk_frontend *f)
{
	kk_statekey k;
	size_t *slot;
	/* Out of memory only for keys over the key buffer: found by scan. */
	if (!kk_statekey_frontend(&k, f)) {
		for (size_t i = 0; i < st->nfrontends; i++)
			if (st->frontends[i].cluster && same_frontend(&st->frontends[i], f))
				return &st->frontends[i];
		return 0;
	}
	slot = kk_index_get(&st->findex, k.s, k.len);
	kk_statekey_done(&k);
	return slot && *slot != GONE ? &st->frontends[*slot] : 0;
}

static int
frontend_fail(char *err, size_t errlen, const kk_frontend *f, const char *fmt)
{
	kk_str line = KK_STR_ZERO;
	kk_stateprint_frontend(&line, f, "add");
	snprintf(err, errlen, fmt, line.s ? line.s : "");
	kk_str_free(&line);
	return 0;
}

/* A tcp listener's route for f's name (or its default) goes to another
 * cluster than f names: say which, and how to free it. */
static int
route_taken(char *err, size_t errlen, const kk_verb *v, const kk_frontend *f,
    const kk_frontend *old)
{
	kk_str line = KK_STR_ZERO;
	char route[HOST_BUF + 32];
	if (f->sni) snprintf(route, sizeof route, "--sni %s", f->sni);
	else snprintf(route, sizeof route, "connections without a matching --sni");
	kk_stateprint_frontend(&line, old, "remove");
	if (v->def->id == KK_V_FRONTEND_ADD)
		snprintf(err, errlen, "frontend add: listener %s already routes %s to cluster "
		    "\"%s\" (a tcp listener has one route per name, and one default); to "
		    "change it, remove that frontend first with: %s", f->listener, route,
		    old->cluster, line.s ? line.s : "");
	else
		snprintf(err, errlen, "frontend remove: listener %s routes %s to cluster "
		    "\"%s\", not \"%s\"; to remove that route: %s", f->listener, route,
		    old->cluster, f->cluster, line.s ? line.s : "");
	kk_str_free(&line);
	return 0;
}

static int
frontend_add(kk_state *st, const kk_verb *v, struct kk_journal_entry *e, kk_str *extra,
    char *err, size_t errlen)
{
	char hostbuf[HOST_BUF], snibuf[HOST_BUF], lbuf[KK_ADDR_FMTLEN];
	kk_frontend f, copy, *old;
	kk_cluster *c;
	kk_listener *l;
	kk_statekey k;
	size_t *slot;
	int ok = 1;
	const char *actions = extra[1].len ? extra[1].s : NULL;
	l = frontend_of(st, v, &f, hostbuf, snibuf, lbuf, extra);
	if (!(c = kk_state_cluster(st, f.cluster))) {
		snprintf(err, errlen, "frontend add: cluster \"%s\" does not exist; add it with: "
		    "cluster add %s", f.cluster, f.cluster);
		return 0;
	}
	if (!l) {
		snprintf(err, errlen, "frontend add: listener %s does not exist; add it with: "
		    "listener add %s %s", f.listener, f.sni ? "tcp" : "http", f.listener);
		return 0;
	}
	if (!check_frontend_kind(v, &f, err, errlen)) return 0;
	if (kk_verb_opt(v, "--hsts")) {
		if (!l->tls) {
			snprintf(err, errlen, "frontend add: --hsts: listener %s is a%s listener, "
			    "and HSTS is sent over https only; drop --hsts, or route on an https "
			    "listener", f.listener,
			    l->proto == KK_PROTO_TCP ? " tcp" : " plain http");
			return 0;
		}
		kk_scan_uint(kk_verb_opt(v, "--hsts"), 1, ~0UL, &f.hsts_max_age);
	}
	if (actions && f.proto == KK_PROTO_TCP) {
		snprintf(err, errlen, "frontend add: listener %s is a tcp listener: it passes "
		    "bytes and has no header to edit; drop the header edits, or route on an "
		    "http listener", f.listener);
		return 0;
	}
	/* One key for the lookup and the index entry: a load of many
	 * frontends spent a tenth of its time building keys. */
	if (!kk_statekey_frontend(&k, &f)) return nomem(err, errlen, v);
	if ((slot = kk_index_get(&st->findex, k.s, k.len)) && *slot != GONE) {
		kk_statekey_done(&k);
		old = &st->frontends[*slot];
		if (strcmp(old->cluster, f.cluster))
			return route_taken(err, errlen, v, &f, old);
		return frontend_fail(err, errlen, &f, "frontend add: this frontend already "
		    "exists: %s");
	}
	copy = f;
	copy.cluster = dup_opt(st, f.cluster, &ok);
	copy.listener = dup_opt(st, f.listener, &ok);
	copy.host = dup_opt(st, f.host, &ok);
	copy.path = dup_opt(st, f.path, &ok);
	copy.method = dup_opt(st, f.method, &ok);
	copy.extra = dup_opt(st, f.extra, &ok);
	copy.actions = dup_opt(st, actions, &ok);
	copy.sni = dup_opt(st, f.sni, &ok);
	if (!ok || !grow(&st->frontends, st->nfrontends, &st->afrontends, sizeof copy)) {
		kk_statekey_done(&k);
		free_frontend(st, &copy);
		return nomem(err, errlen, v);
	}
	if (!entry_key(e, k.s, k.len)
	    || !claim(&st->findex, k.s, k.len, st->nfrontends, e ? &e->revived : 0)) {
		if (e) free(e->key);
		kk_statekey_done(&k);
		free_frontend(st, &copy);
		return nomem(err, errlen, v);
	}
	kk_statekey_done(&k);
	if (e) e->slot = st->nfrontends;
	st->frontends[st->nfrontends++] = copy;
	c->nfrontends++;
	l->nfrontends++;
	return 1;
}

static int
frontend_remove(kk_state *st, const kk_verb *v, struct kk_journal_entry *e, kk_str *extra,
    char *err, size_t errlen)
{
	char hostbuf[HOST_BUF], snibuf[HOST_BUF], lbuf[KK_ADDR_FMTLEN];
	kk_frontend f, *found;
	kk_statekey k;
	if (frontend_of(st, v, &f, hostbuf, snibuf, lbuf, extra)
	    && !check_frontend_kind(v, &f, err, errlen))
		return 0;
	if (!(found = kk_state_frontend(st, &f)))
		return frontend_fail(err, errlen, &f, "frontend remove: no frontend matches "
		    "exactly (every match option counts; see: frontend list): %s");
	if (strcmp(found->cluster, f.cluster))
		return route_taken(err, errlen, v, &f, found);
	if (!kk_statekey_frontend(&k, &f)) return nomem(err, errlen, v);
	if (!entry_key(e, k.s, k.len)) {
		kk_statekey_done(&k);
		return nomem(err, errlen, v);
	}
	release(&st->findex, k.s, k.len, e);
	kk_statekey_done(&k);
	kk_state_cluster(st, found->cluster)->nfrontends--;
	kk_state_listener(st, found->listener)->nfrontends--;
	if (e) {
		e->slot = (size_t)(found - st->frontends);
		e->u.f = *found;
	} else {
		free_frontend(st, found);
	}
	memset(found, 0, sizeof *found);
	st->dfrontends++;
	after_remove(st);
	return 1;
}

/* frontend add and remove with the canonical text of the verb's extra
 * matches, extra[0], which the frontend borrows until it is copied or
 * found, and the text of its actions (action.h), extra[1]. */
static int
with_extra(int (*apply)(kk_state *, const kk_verb *, struct kk_journal_entry *, kk_str *,
    char *, size_t), kk_state *st, const kk_verb *v, struct kk_journal_entry *e, char *err,
    size_t errlen)
{
	kk_str extra[2] = { KK_STR_ZERO, KK_STR_ZERO };
	char msg[KK_ERRLEN];
	int ok = 0;
	/* The actions may hold a password file (htpasswd.h): wiped. */
	extra[1].wipe = 1;
	if (!kk_fmatch_canon(v, &extra[0]) || !kk_action_canon(v, &extra[1]))
		nomem(err, errlen, v);
	else if (!kk_auth_canon(v, st->filedir, &extra[1], msg, sizeof msg))
		snprintf(err, errlen, "frontend add: %s; nothing changed", msg);
	else
		ok = apply(st, v, e, extra, err, errlen);
	kk_str_free(&extra[0]);
	kk_str_free(&extra[1]);
	return ok;
}

static int
apply_frontend_add(kk_state *st, const kk_verb *v, struct kk_journal_entry *e, char *err,
    size_t errlen)
{
	return with_extra(frontend_add, st, v, e, err, errlen);
}

static int
apply_frontend_remove(kk_state *st, const kk_verb *v, struct kk_journal_entry *e, char *err,
    size_t errlen)
{
	return with_extra(frontend_remove, st, v, e, err, errlen);
}

/* Whether an address the parser accepted is IPv4 written as kk_addr_fmt
 * writes it (decimal, no leading zeros), so it needs no formatting:
 * inet_ntop and snprintf were a sixth of loading a state of 100 000
 * backends. */
static int
canonical_v4(const char *s)
{
	int part;
	for (part = 0; part < 5; part++) {
		size_t n = strspn(s, "0123456789");
		if (!n || n > 5 || (n > 1 && *s == '0'))
			return 0;
		s += n;
		if (*s != (part < 3 ? '.' : part == 3 ? ':' : 0))
			return 0;
		if (part < 4)
			s++;
	}
	return 1;
}

/* The backend a `backend add` verb describes, its strings in st's
 * keeping (the arena of a scratch state). 1 ok; 0 with err. */
static int
backend_of(const kk_state *st, const kk_verb *v, kk_backend *b, char *err, size_t errlen)
{
	const char *weight = kk_verb_opt(v, "--weight"), *max;
	char text[KK_ADDR_FMTLEN];
	unsigned long w = KK_DEFAULT_WEIGHT;
	int ok = 1;
	memset(b, 0, sizeof *b);
	if (!kk_addr_parse(&b->addr, v->pos[2])) {
		snprintf(err, errlen, "backend add: \"%s\" is not an address", v->pos[2]);
		return 0;
	}
	if (canonical_v4(v->pos[2]))
		strcpy(text, v->pos[2]);
	else
		kk_addr_fmt(text, &b->addr);
	if (weight) kk_scan_uint(weight, 0, 1000, &w);
	b->weight = (unsigned)w;
	b->backup = !!kk_verb_opt(v, "--backup");
	if ((max = kk_verb_opt(v, "--max-connections"))) {
		unsigned long n = 0;
		kk_scan_uint(max, 1, KK_MAX_CONNS_MAX, &n);
		b->max_conns = (unsigned)n;
	}
	b->slow_start_ms = opt_duration(v, "--slow-start", 0);
	b->cluster = dup_opt(st, v->pos[0], &ok);
	b->id = dup_opt(st, v->pos[1], &ok);
	b->addr_text = dup_opt(st, text, &ok);
	if (!ok) {
		free_backend(st, b);
		return nomem(err, errlen, v);
	}
	return 1;
}

static int
apply_backend_add(kk_state *st, const kk_verb *v, struct kk_journal_entry *e, char *err,
    size_t errlen)
{
	const char *cluster = v->pos[0], *id = v->pos[1];
	kk_cluster *c;
	kk_backend b;
	kk_statekey k;
	size_t *slot;
	if (!(c = kk_state_cluster(st, cluster))) {
		snprintf(err, errlen, "backend add: cluster \"%s\" does not exist; add it with: "
		    "cluster add %s", cluster, cluster);
		return 0;
	}
	/* One key for the lookup and the index entry. */
	if (!kk_statekey_backend(&k, cluster, id)) return nomem(err, errlen, v);
	if ((slot = kk_index_get(&st->bindex, k.s, k.len)) && *slot != GONE) {
		kk_statekey_done(&k);
		snprintf(err, errlen, "backend add: backend \"%s\" already exists in cluster "
		    "\"%s\"; to change it, remove it first with: backend remove %s %s", id,
		    cluster, cluster, id);
		return 0;
	}
	if (!backend_of(st, v, &b, err, errlen)) {
		kk_statekey_done(&k);
		return 0;
	}
	if (!grow(&st->backends, st->nbackends, &st->abackends, sizeof b)) {
		kk_statekey_done(&k);
		free_backend(st, &b);
		return nomem(err, errlen, v);
	}
	if (!entry_key(e, k.s, k.len)
	    || !claim(&st->bindex, k.s, k.len, st->nbackends, e ? &e->revived : 0)) {
		if (e) free(e->key);
		kk_statekey_done(&k);
		free_backend(st, &b);
		return nomem(err, errlen, v);
	}
	kk_statekey_done(&k);
	if (e) e->slot = st->nbackends;
	st->backends[st->nbackends++] = b;
	c->nbackends++;
	return 1;
}

static int
apply_backend_remove(kk_state *st, const kk_verb *v, struct kk_journal_entry *e, char *err,
    size_t errlen)
{
	kk_backend *b = kk_state_backend(st, v->pos[0], v->pos[1]);
	kk_statekey k;
	if (!b) {
		if (!kk_state_cluster(st, v->pos[0]))
			snprintf(err, errlen, "backend remove: cluster \"%s\" does not exist; "
			    "see: cluster list", v->pos[0]);
		else
			snprintf(err, errlen, "backend remove: backend \"%s\" does not exist in "
			    "cluster \"%s\"; see: backend list %s", v->pos[1], v->pos[0], v->pos[0]);
		return 0;
	}
	if (!kk_statekey_backend(&k, b->cluster, b->id)) return nomem(err, errlen, v);
	if (!entry_key(e, k.s, k.len)) {
		kk_statekey_done(&k);
		return nomem(err, errlen, v);
	}
	release(&st->bindex, k.s, k.len, e);
	kk_statekey_done(&k);
	kk_state_cluster(st, b->cluster)->nbackends--;
	if (e) {
		e->slot = (size_t)(b - st->backends);
		e->u.b = *b;
	} else {
		free_backend(st, b);
	}
	memset(b, 0, sizeof *b);
	st->dbackends++;
	after_remove(st);
	return 1;
}

/* "certificate add" and so on, for messages. */
static const char *
verb_name(const kk_verb *v, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s", v->def->word1, v->def->word2);
	return buf;
}

/* The https listener a certificate verb names (v->pos[0]), or NULL with
 * err. */
static kk_listener *
https_listener(const kk_state *st, const kk_verb *v, char *err, size_t errlen)
{
	char text[KK_ADDR_FMTLEN], what[32];
	kk_listener *l;
	canon_addr(v->pos[0], text);
	verb_name(v, what, sizeof what);
	if (!(l = kk_state_listener(st, text))) {
		snprintf(err, errlen, "%s: listener %s does not exist; add it with: listener add "
		    "https %s", what, text, text);
		return 0;
	}
	if (!l->tls) {
		snprintf(err, errlen, "%s: listener %s is a%s listener; certificates go on https "
		    "listeners (listener add https ADDR)%s", what, text,
		    l->proto == KK_PROTO_TCP ? " tcp" : " plain http",
		    l->proto == KK_PROTO_TCP ? ", a tcp listener passes TLS through whole" : "");
		return 0;
	}
	return l;
}

/* The certificate of v's --cert... options, checked, for listener l;
 * the listener field set. 1 ok, 0 with err and x zeroed. */
static int
certificate_of(const kk_state *st, const kk_verb *v, const kk_listener *l, kk_certificate *x,
    char *err, size_t errlen)
{
	char msg[KK_ERRLEN], what[32];
	if (!kk_statecert_from_verb(x, v, st->filedir, st->certs_checked, msg, sizeof msg)) {
		snprintf(err, errlen, "%s: listener %s: %s; nothing changed",
		    verb_name(v, what, sizeof what), l->addr_text, msg);
		return 0;
	}
	if (!(x->listener = strdup(l->addr_text))) {
		kk_cert_free(x);
		return nomem(err, errlen, v);
	}
	return 1;
}

static int
certificate_exists(char *err, size_t errlen, const kk_verb *v, const kk_certificate *x)
{
	char what[32];
	snprintf(err, errlen, "%s: listener %s already has certificate %s; to change its key, "
	    "chain or OCSP response, use: certificate replace %s --old %s --cert FILE --key "
	    "FILE ...", verb_name(v, what, sizeof what), x->listener, x->fingerprint,
	    x->listener, x->fingerprint);
	return 0;
}

static int
apply_certificate_add(kk_state *st, const kk_verb *v, struct kk_journal_entry *e, char *err,
    size_t errlen)
{
	kk_listener *l = https_listener(st, v, err, errlen);
	kk_certificate x;
	kk_statekey k;
	if (!l || !certificate_of(st, v, l, &x, err, errlen)) return 0;
	if (kk_state_certificate(st, x.listener, x.fingerprint)) {
		certificate_exists(err, errlen, v, &x);
		kk_cert_free(&x);
		return 0;
	}
	if (!grow(&st->certificates, st->ncertificates, &st->acertificates, sizeof x)
	    || !kk_statekey_certificate(&k, x.listener, x.fingerprint)) {
		kk_cert_free(&x);
		return nomem(err, errlen, v);
	}
	if (!entry_key(e, k.s, k.len)
	    || !claim(&st->xindex, k.s, k.len, st->ncertificates, e ? &e->revived : 0)) {
		if (e) free(e->key);
		kk_statekey_done(&k);
		kk_cert_free(&x);
		return nomem(err, errlen, v);
	}
	kk_statekey_done(&k);
	if (e) e->slot = st->ncertificates;
	st->certificates[st->ncertificates++] = x;
	l->ncertificates++;
	return 1;
}

/* The certificate fp (as written) of l, or NULL with err. */
static kk_certificate *
named_certificate(const kk_state *st, const kk_verb *v, const kk_listener *l, const char *fp,
    char *err, size_t errlen)
{
	char canon[65], what[32];
	kk_certificate *x = 0;
	if (kk_fingerprint_canon(fp, canon)) x = kk_state_certificate(st, l->addr_text, canon);
	if (!x)
		snprintf(err, errlen, "%s: listener %s has no certificate %s; see: certificate "
		    "list %s", verb_name(v, what, sizeof what), l->addr_text, fp, l->addr_text);
	return x;
}

static int
apply_certificate_remove(kk_state *st, const kk_verb *v, struct kk_journal_entry *e,
    char *err, size_t errlen)
{
	kk_listener *l = https_listener(st, v, err, errlen);
	kk_certificate *x;
	kk_statekey k;
	if (!l || !(x = named_certificate(st, v, l, v->pos[1], err, errlen))) return 0;
	if (!kk_statekey_certificate(&k, x->listener, x->fingerprint))
		return nomem(err, errlen, v);
	if (!entry_key(e, k.s, k.len)) {
		kk_statekey_done(&k);
		return nomem(err, errlen, v);
	}
	release(&st->xindex, k.s, k.len, e);
	kk_statekey_done(&k);
	l->ncertificates--;
	if (e) {
		e->slot = (size_t)(x - st->certificates);
		e->u.x = *x;
	} else {
		kk_cert_free(x);
	}
	memset(x, 0, sizeof *x);
	st->dcertificates++;
	after_remove(st);
	return 1;
}

/* The new certificate takes the old one's slot, so the order of the
 * listener's certificates (the first is its default) stays. */
static int
apply_certificate_replace(kk_state *st, const kk_verb *v, struct kk_journal_entry *e,
    char *err, size_t errlen)
{
	kk_listener *l = https_listener(st, v, err, errlen);
	kk_certificate *old, x;
	kk_statekey ok, nk;
	size_t slot;
	int same;
	if (!l || !(old = named_certificate(st, v, l, kk_verb_opt(v, "--old"), err, errlen))
	    || !certificate_of(st, v, l, &x, err, errlen))
		return 0;
	same = !strcmp(x.fingerprint, old->fingerprint);
	if (!same && kk_state_certificate(st, x.listener, x.fingerprint)) {
		certificate_exists(err, errlen, v, &x);
		kk_cert_free(&x);
		return 0;
	}
	slot = (size_t)(old - st->certificates);
	if (!kk_statekey_certificate(&ok, old->listener, old->fingerprint)) {
		kk_cert_free(&x);
		return nomem(err, errlen, v);
	}
	if (!kk_statekey_certificate(&nk, x.listener, x.fingerprint)) {
		kk_statekey_done(&ok);
		kk_cert_free(&x);
		return nomem(err, errlen, v);
	}
	/* The new key is claimed before the old is let go: a failure then
	 * leaves the index as it was. */
	if (!entry_key(e, ok.s, ok.len)
	    || (!same && !claim(&st->xindex, nk.s, nk.len, slot, e ? &e->revived : 0))) {
		if (e) free(e->key);
		kk_statekey_done(&ok);
		kk_statekey_done(&nk);
		kk_cert_free(&x);
		return nomem(err, errlen, v);
	}
	if (!same) release(&st->xindex, ok.s, ok.len, e);
	kk_statekey_done(&ok);
	kk_statekey_done(&nk);
	if (e) {
		e->slot = slot;
		e->u.x = *old;
	} else {
		kk_cert_free(old);
	}
	*old = x;
	return 1;
}

/* The health check of a cluster set, replaced or removed in place: the
 * journal keeps the cluster's slot and its old check (in e->u.c). */
static int
apply_cluster_hc(kk_state *st, const kk_verb *v, struct kk_journal_entry *e, char *err,
    size_t errlen)
{
	kk_cluster *c = kk_state_cluster(st, v->pos[0]), next;
	const char *expect = kk_verb_opt(v, "--expect");
	int ok = 1;
	if (!c) {
		snprintf(err, errlen, "cluster health-check: cluster \"%s\" does not exist; add "
		    "it with: cluster add %s", v->pos[0], v->pos[0]);
		return 0;
	}
	if (c->tls && !kk_verb_opt(v, "--off")) {
		/* Its backends would all fail a plain HTTP probe, and the
		 * cluster would answer 503 with every backend out. */
		snprintf(err, errlen, "cluster health-check: cluster \"%s\" speaks TLS to its "
		    "backends (--tls) and kakehi-check probes in plain HTTP only; its backends "
		    "are checked by passive health (--max-fails)", v->pos[0]);
		return 0;
	}
	next = *c;
	memset(&next.hc, 0, sizeof next.hc);
	if (!kk_verb_opt(v, "--off")) {
		next.hc.path = dup_opt(st, kk_verb_opt(v, "--path"), &ok);
		next.hc.host = dup_opt(st, kk_verb_opt(v, "--host"), &ok);
		next.hc.interval_ms = opt_duration(v, "--interval", KK_HC_INTERVAL_MS);
		next.hc.timeout_ms = opt_duration(v, "--timeout", KK_HC_TIMEOUT_MS);
		next.hc.rise = opt_uint(v, "--rise", KK_HC_RISE);
		next.hc.fall = opt_uint(v, "--fall", KK_HC_FALL);
		next.hc.expect_lo = KK_HC_EXPECT_LO;
		next.hc.expect_hi = KK_HC_EXPECT_HI;
		if (expect)
			kk_scan_status_range(expect, &next.hc.expect_lo, &next.hc.expect_hi);
		if (!ok) {
			free_str(st, next.hc.path);
			free_str(st, next.hc.host);
			return nomem(err, errlen, v);
		}
	}
	if (e) {
		e->slot = (size_t)(c - st->clusters);
		e->u.c = *c;
	} else {
		free_str(st, c->hc.path);
		free_str(st, c->hc.host);
	}
	*c = next;
	return 1;
}

static int
apply_set(kk_state *st, const kk_verb *v, struct kk_journal_entry *e, char *err,
    size_t errlen)
{
	kk_settings next;
	char msg[KK_ERRLEN];
	const char *key, *value;
	size_t i;
	int ok;
	if (!kk_setting_copy(&next, &st->set)) return nomem(err, errlen, v);
	ok = kk_setting_apply(&next, v->pos[0], v->pos[1], msg, sizeof msg);
	/* The settings a set statsd line names beside (--prefix, --interval). */
	for (i = 0; ok && kk_verb_set_extra(v, i, &key, &value); i++)
		if (value)
			ok = kk_setting_apply(&next, key, value, msg, sizeof msg);
	if (!ok) {
		kk_setting_free(&next);
		snprintf(err, errlen, "set: %s", msg);
		return 0;
	}
	if (e) e->u.set = st->set;
	else kk_setting_free(&st->set);
	st->set = next;
	return 1;
}

/* One verb; with e (a journal entry, zeroed), what undoes it goes in e. */
static int
apply_verb(kk_state *st, const kk_verb *v, struct kk_journal_entry *e, char *err,
    size_t errlen)
{
	switch (v->def->id) {
	case KK_V_SET: return apply_set(st, v, e, err, errlen);
	case KK_V_LISTENER_ADD: return apply_listener_add(st, v, e, err, errlen);
	case KK_V_LISTENER_REMOVE: return apply_listener_remove(st, v, e, err, errlen);
	case KK_V_CLUSTER_ADD: return apply_cluster_add(st, v, e, err, errlen);
	case KK_V_CLUSTER_REMOVE: return apply_cluster_remove(st, v, e, err, errlen);
	case KK_V_FRONTEND_ADD: return apply_frontend_add(st, v, e, err, errlen);
	case KK_V_FRONTEND_REMOVE: return apply_frontend_remove(st, v, e, err, errlen);
	case KK_V_BACKEND_ADD: return apply_backend_add(st, v, e, err, errlen);
	case KK_V_BACKEND_REMOVE: return apply_backend_remove(st, v, e, err, errlen);
	case KK_V_CERTIFICATE_ADD: return apply_certificate_add(st, v, e, err, errlen);
	case KK_V_CERTIFICATE_REPLACE: return apply_certificate_replace(st, v, e, err, errlen);
	case KK_V_CERTIFICATE_REMOVE: return apply_certificate_remove(st, v, e, err, errlen);
	case KK_V_CLUSTER_HEALTH_CHECK: return apply_cluster_hc(st, v, e, err, errlen);
	default:
		snprintf(err, errlen, "%s%s%s: not a change of the state; it cannot appear in a "
		    "config or state file", v->def->word1, v->def->word2 ? " " : "",
		    v->def->word2 ? v->def->word2 : "");
		return 0;
	}
}

int
kk_state_apply(kk_state *st, const kk_verb *v, char *err, size_t errlen)
{
	return apply_verb(st, v, 0, err, errlen);
}

int
kk_state_apply_journal(kk_state *st, const kk_verb *v, kk_journal *j, char *err,
    size_t errlen)
{
	struct kk_journal_entry *e;
	/* The entry is made room for first: once the verb has applied,
	 * recording it cannot fail. */
	if (j->n == j->a) {
		size_t a = j->a ? 2 * j->a : 16;
		struct kk_journal_entry *p = realloc(j->e, a * sizeof *p);
		if (!p) return nomem(err, errlen, v);
		j->e = p;
		j->a = a;
	}
	e = &j->e[j->n];
	memset(e, 0, sizeof *e);
	e->id = v->def->id;
	/* Counted open before the first verb, whose own removal must not
	 * squeeze its slot away. */
	if (!j->n) st->journals++;
	if (!apply_verb(st, v, e, err, errlen)) {
		if (!j->n) st->journals--;
		return 0;
	}
	j->n++;
	return 1;
}

/* Gives a journaled key its slot back, or, for an undone add that took
 * over a removed object's key, gives it back to that removal. */
static void
reindex(kk_index *ix, const struct kk_journal_entry *e, size_t slot)
{
	size_t *v = kk_index_get(ix, e->key, e->klen);
	if (slot != GONE) *v = slot;
	else if (e->revived) *v = GONE;
	else kk_index_del(ix, e->key, e->klen);
}

static void
undo_listener_remove(kk_state *st, const struct kk_journal_entry *e)
{
	size_t i = e->slot;
	/* The removal's slot is free again: every later change is undone. */
	memmove(&st->listeners[i + 1], &st->listeners[i], (st->nlisteners - i) * sizeof
	    *st->listeners);
	st->listeners[i] = e->u.l;
	st->nlisteners++;
	for (; i < st->nlisteners; i++) {
		const char *key = st->listeners[i].addr_text;
		*kk_index_get(&st->lindex, key, strlen(key)) = i;
	}
}

/* Undoes entry e; the state is as e's verb found it afterwards, since
 * every later entry is already undone. Needs no memory. */
/* Undoes a replace: the old certificate back in its slot, each key back
 * to what it was. */
static void
undo_certificate_replace(kk_state *st, struct kk_journal_entry *e)
{
	kk_certificate *x = &st->certificates[e->slot];
	if (strcmp(x->fingerprint, e->u.x.fingerprint)) {
		kk_statekey nk;
		/* A key of a listener address and a fingerprint fits the key's
		 * own buffer: this needs no memory. */
		if (kk_statekey_certificate(&nk, x->listener, x->fingerprint)) {
			size_t *v = kk_index_get(&st->xindex, nk.s, nk.len);
			if (e->revived) *v = GONE;
			else kk_index_del(&st->xindex, nk.s, nk.len);
			kk_statekey_done(&nk);
		}
		*kk_index_get(&st->xindex, e->key, e->klen) = e->slot;
	}
	kk_cert_free(x);
	*x = e->u.x;
}

/* Gives c the health check it had in old, its own freed. */
static void
hc_restore(const kk_state *st, kk_cluster *c, const kk_cluster *old)
{
	free_str(st, c->hc.path);
	free_str(st, c->hc.host);
	c->hc = old->hc;
}

static void
undo_entry(kk_state *st, struct kk_journal_entry *e)
{
	kk_frontend *f;
	kk_backend *b;
	kk_certificate *x;
	switch (e->id) {
	case KK_V_SET:
		kk_setting_free(&st->set);
		st->set = e->u.set;
		break;
	case KK_V_LISTENER_ADD:
		reindex(&st->lindex, e, GONE);
		free_listener(st, &st->listeners[--st->nlisteners]);
		break;
	case KK_V_LISTENER_REMOVE:
		undo_listener_remove(st, e);
		break;
	case KK_V_CLUSTER_ADD:
		reindex(&st->cindex, e, GONE);
		free_cluster(st, &st->clusters[--st->nclusters]);
		break;
	case KK_V_CLUSTER_REMOVE:
		st->clusters[e->slot] = e->u.c;
		st->dclusters--;
		reindex(&st->cindex, e, e->slot);
		break;
	case KK_V_FRONTEND_ADD:
		f = &st->frontends[--st->nfrontends];
		kk_state_cluster(st, f->cluster)->nfrontends--;
		kk_state_listener(st, f->listener)->nfrontends--;
		reindex(&st->findex, e, GONE);
		free_frontend(st, f);
		break;
	case KK_V_FRONTEND_REMOVE:
		f = &st->frontends[e->slot];
		*f = e->u.f;
		st->dfrontends--;
		reindex(&st->findex, e, e->slot);
		kk_state_cluster(st, f->cluster)->nfrontends++;
		kk_state_listener(st, f->listener)->nfrontends++;
		break;
	case KK_V_BACKEND_ADD:
		b = &st->backends[--st->nbackends];
		kk_state_cluster(st, b->cluster)->nbackends--;
		reindex(&st->bindex, e, GONE);
		free_backend(st, b);
		break;
	case KK_V_BACKEND_REMOVE:
		b = &st->backends[e->slot];
		*b = e->u.b;
		st->dbackends--;
		reindex(&st->bindex, e, e->slot);
		kk_state_cluster(st, b->cluster)->nbackends++;
		break;
	case KK_V_CERTIFICATE_ADD:
		x = &st->certificates[--st->ncertificates];
		kk_state_listener(st, x->listener)->ncertificates--;
		reindex(&st->xindex, e, GONE);
		kk_cert_free(x);
		break;
	case KK_V_CERTIFICATE_REMOVE:
		x = &st->certificates[e->slot];
		*x = e->u.x;
		st->dcertificates--;
		reindex(&st->xindex, e, e->slot);
		kk_state_listener(st, x->listener)->ncertificates++;
		break;
	case KK_V_CERTIFICATE_REPLACE:
		undo_certificate_replace(st, e);
		break;
	case KK_V_CLUSTER_HEALTH_CHECK:
		hc_restore(st, &st->clusters[e->slot], &e->u.c);
		break;
	default:
		break;
	}
	free(e->key);
}

/* Frees what entry e holds once its change stands: a removed object,
 * its key if still marked gone, old settings. */
static void
commit_entry(kk_state *st, struct kk_journal_entry *e)
{
	kk_index *ix = 0;
	size_t *v;
	switch (e->id) {
	case KK_V_SET: kk_setting_free(&e->u.set); break;
	case KK_V_LISTENER_REMOVE: free_listener(st, &e->u.l); ix = &st->lindex; break;
	case KK_V_CLUSTER_REMOVE:
		free_cluster(st, &e->u.c);
		ix = &st->cindex;
		break;
	case KK_V_FRONTEND_REMOVE: free_frontend(st, &e->u.f); ix = &st->findex; break;
	case KK_V_BACKEND_REMOVE: free_backend(st, &e->u.b); ix = &st->bindex; break;
	case KK_V_CERTIFICATE_REMOVE:
	case KK_V_CERTIFICATE_REPLACE: kk_cert_free(&e->u.x); ix = &st->xindex; break;
	case KK_V_CLUSTER_HEALTH_CHECK:
		free_str(st, e->u.c.hc.path);
		free_str(st, e->u.c.hc.host);
		break;
	default: break;
	}
	if (ix && (v = kk_index_get(ix, e->key, e->klen)) && *v == GONE)
		kk_index_del(ix, e->key, e->klen);
	free(e->key);
}

static void
journal_close(kk_state *st, kk_journal *j)
{
	if (j->n) st->journals--;
	free(j->e);
	memset(j, 0, sizeof *j);
	after_remove(st);
}

void
kk_journal_undo(kk_state *st, kk_journal *j)
{
	while (j->n) {
		undo_entry(st, &j->e[j->n - 1]);
		if (!--j->n) st->journals--;
	}
	journal_close(st, j);
}

void
kk_journal_commit(kk_state *st, kk_journal *j)
{
	for (size_t i = 0; i < j->n; i++) commit_entry(st, &j->e[i]);
	journal_close(st, j);
}

void
kk_journal_change(const kk_state *st, const kk_journal *j, size_t i, kk_change *ch)
{
	const struct kk_journal_entry *e = &j->e[i];
	memset(ch, 0, sizeof *ch);
	ch->id = e->id;
	switch (e->id) {
	case KK_V_CLUSTER_ADD: ch->c = &st->clusters[e->slot]; break;
	case KK_V_LISTENER_REMOVE: ch->l = &e->u.l; break;
	case KK_V_CLUSTER_REMOVE: ch->c = &e->u.c; break;
	case KK_V_FRONTEND_ADD: ch->f = &st->frontends[e->slot]; break;
	case KK_V_FRONTEND_REMOVE: ch->f = &e->u.f; break;
	case KK_V_BACKEND_ADD: ch->b = &st->backends[e->slot]; break;
	case KK_V_BACKEND_REMOVE: ch->b = &e->u.b; break;
	case KK_V_CERTIFICATE_ADD:
	case KK_V_CERTIFICATE_REPLACE: ch->x = &st->certificates[e->slot]; break;
	case KK_V_CERTIFICATE_REMOVE: ch->x = &e->u.x; break;
	default: break;
	}
}

/* One line of a batch: split, parse, check, apply to next. *replayable
 * is cleared by a verb that undoes or replaces what an earlier line made:
 * then one line no longer describes one object (see quick_reload). */
static int
load_line(kk_state *next, char *line, int *replayable, char *msg, size_t msglen)
{
	char *argv[KK_LINE_MAXWORDS];
	unsigned argc;
	kk_verb v;
	if (!kk_line_split(line, argv, KK_LINE_MAXWORDS, &argc, msg, msglen)) return 0;
	if (!argc) return 1;
	if (!kk_verb_parse(&v, argc, (const char *const *)argv, msg, msglen)) return 0;
	if (!(v.def->flags & KK_VERB_F_CONFIG)) {
		snprintf(msg, msglen, "%s%s%s: a runtime command, not allowed in a config or "
		    "state file", v.def->word1, v.def->word2 ? " " : "",
		    v.def->word2 ? v.def->word2 : "");
		return 0;
	}
	/* The verbs whose lines, loaded again, give the state they gave:
	 * a text of them only may take the quick reload. */
	switch (v.def->id) {
	case KK_V_SET: case KK_V_LISTENER_ADD: case KK_V_CLUSTER_ADD: case KK_V_FRONTEND_ADD:
	case KK_V_BACKEND_ADD: case KK_V_CERTIFICATE_ADD: case KK_V_CLUSTER_HEALTH_CHECK:
		break;
	default:
		*replayable = 0;
	}
	return kk_state_apply(next, &v, msg, msglen);
}

/* What a batch will add, guessed from the first words of its lines: a
 * line "cluster add ..." is most likely one cluster more. Only a size to
 * reserve; the lines are parsed for real afterwards. */
struct load_counts {
	size_t lines, clusters, frontends, backends;
};

static void
count_adds(const char *text, size_t len, struct load_counts *n)
{
	const char *p = text, *end = text + len;
	memset(n, 0, sizeof *n);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t left;
		if (!nl) nl = end;
		while (p < nl && (*p == ' ' || *p == '\t')) p++;
		left = (size_t)(nl - p);
		if (left > 12 && !memcmp(p, "cluster add ", 12)) n->clusters++;
		else if (left > 13 && !memcmp(p, "frontend add ", 13)) n->frontends++;
		else if (left > 12 && !memcmp(p, "backend add ", 12)) n->backends++;
		n->lines++;
		p = nl + 1;
	}
}

/* Room for `more` elements beyond n in *arr, and a quarter more: sized
 * exactly, the first change after a load of 100 000 sites regrew every
 * array (100 ms for one backend add). A first large array goes on huge
 * pages (kk_mem_huge). 1 ok, 0 ENOMEM. */
static int
reserve(void *arr, size_t n, size_t more, size_t *alloc, size_t size)
{
	void **p = arr;
	void *q;
	size_t bytes, want;
	if (n + more <= *alloc) return 1;
	want = n + more + (n + more) / 4;
	if (want < n + more || want > SIZE_MAX / size) return 0;
	bytes = want * size;
	q = !*p && bytes >= KK_HUGE_PAGE ? kk_mem_huge(bytes) : realloc(*p, bytes);
	if (!q) return 0;
	*p = q;
	*alloc = want;
	return 1;
}

/* Sizes st's arrays and indexes for what text adds, so the load appends
 * and indexes without a regrowth or a rehash. Best effort: a failure
 * here only leaves the growth to the load. */
static void
presize(kk_state *st, const char *text, size_t len)
{
	struct load_counts n;
	count_adds(text, len, &n);
	if (reserve(&st->clusters, st->nclusters, n.clusters, &st->aclusters,
	    sizeof *st->clusters))
		kk_index_reserve(&st->cindex, st->cindex.n + n.clusters);
	if (reserve(&st->frontends, st->nfrontends, n.frontends, &st->afrontends,
	    sizeof *st->frontends))
		kk_index_reserve(&st->findex, st->findex.n + n.frontends);
	if (reserve(&st->backends, st->nbackends, n.backends, &st->abackends,
	    sizeof *st->backends))
		kk_index_reserve(&st->bindex, st->bindex.n + n.backends);
}

/* Applies every line of text to st, then squeezes it dense; relative
 * certificate files are in dir (NULL: the current directory). 1 ok; 0
 * with "SOURCE:LINE: message" in err, and st half-changed: the caller
 * drops it. */
static int
load_lines(kk_state *st, const char *text, size_t len, const char *source, const char *dir,
    int *replayable, char *err, size_t errlen)
{
	char msg[KK_ERRLEN];
	unsigned long files = kk_cert_files_read();
	kk_lines lines;
	int r, again = 1;
	presize(st, text, len);
	kk_lines_init(&lines, text, len);
	st->filedir = dir;
	while ((r = kk_lines_next(&lines, msg, sizeof msg)) > 0)
		if (!load_line(st, lines.line, &again, msg, sizeof msg)) {
			r = -1;
			break;
		}
	st->filedir = 0;
	st->lines_parsed = lines.lineno;
	if (replayable) *replayable = again && kk_cert_files_read() == files;
	kk_lines_done(&lines);
	if (r < 0) {
		snprintf(err, errlen, "%s:%zu: %s", source, lines.lineno, msg);
		return 0;
	}
	if (!kk_state_compact(st)) {
		snprintf(err, errlen, "%s: out of memory; nothing changed", source);
		return 0;
	}
	return 1;
}

static int
load_text_in(kk_state *st, const char *text, size_t len, const char *source, const char *dir,
    int checked, char *err, size_t errlen)
{
	kk_state next;
	int r;
	if (!kk_state_copy(&next, st)) {
		snprintf(err, errlen, "%s: out of memory; nothing changed", source);
		return 0;
	}
	next.certs_checked = checked;
	r = load_lines(&next, text, len, source, dir, 0, err, errlen);
	next.certs_checked = 0;
	if (!r) {
		kk_state_free(&next);
		return 0;
	}
	kk_state_free(st);
	*st = next;
	return 1;
}

/* Empties a scratch state for another load, keeping its memory: the
 * arena's largest chunk, the arrays and the index tables. */
static void
scratch_clear(kk_state *st)
{
	kk_index_clear(&st->lindex);
	kk_index_clear(&st->cindex);
	kk_index_clear(&st->findex);
	kk_index_clear(&st->bindex);
	kk_index_clear(&st->xindex);
	for (size_t i = 0; i < st->nlisteners; i++) free_listener(st, &st->listeners[i]);
	for (size_t i = 0; i < st->nclusters; i++) kk_clustertls_free(st->clusters[i].tls);
	/* Certificates are on the heap, keys wiped as they go. */
	for (size_t i = 0; i < st->ncertificates; i++) kk_cert_free(&st->certificates[i]);
	kk_arena_reset(st->arena);
	kk_setting_free(&st->set);
	kk_setting_defaults(&st->set);
	st->nlisteners = st->nclusters = st->nfrontends = st->nbackends = 0;
	st->ncertificates = st->dcertificates = 0;
	st->dclusters = st->dfrontends = st->dbackends = 0;
	st->journals = 0;
}

/* A quick reload: text against the one st last loaded, line by line.
 * When every line that differs is a `backend add` whose old line added
 * the same backend of the same cluster, the new state is the old one with
 * those backends' fields replaced where they stand: only those lines are
 * parsed. It is the common reload (backends moved, weighted, drained),
 * and a full load of 100 000 sites is 300 000 lines. Anything else (a line
 * added, removed or of another kind, a changed line the full load would
 * refuse) is left to the full load, which also says what is wrong. */
struct quick_change {
	size_t slot;
	kk_backend b;
};

/* Line at *pos of text: [*line, *line + *n), without its CR LF. */
static int
next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *n)
{
	const char *nl;
	if (*pos >= len) return 0;
	*line = text + *pos;
	nl = memchr(*line, '\n', len - *pos);
	*n = nl ? (size_t)(nl - *line) : len - *pos;
	*pos += *n + !!nl;
	return 1;
}

/* The `backend add` verb of a line copied into buf; 0 if it is not one. */
static int
backend_line(const char *line, size_t n, kk_str *buf, char **argv, kk_verb *v)
{
	char msg[KK_ERRLEN];
	unsigned argc;
	if (n && line[n - 1] == '\r') n--;
	if (memchr(line, 0, n)) return 0;
	kk_str_reset(buf);
	if (!kk_str_catb(buf, line, n)) return 0;
	return kk_line_split(buf->s, argv, KK_LINE_MAXWORDS, &argc, msg, sizeof msg) && argc
	    && kk_verb_parse(v, argc, (const char *const *)argv, msg, sizeof msg)
	    && v->def->id == KK_V_BACKEND_ADD;
}

static int
quick_reload(kk_state *st, const char *text, size_t len)
{
	char *oargv[KK_LINE_MAXWORDS], *nargv[KK_LINE_MAXWORDS];
	kk_str obuf = KK_STR_ZERO, nbuf = KK_STR_ZERO;
	struct quick_change *ch = 0, *more;
	size_t nch = 0, ach = 0, opos = 0, npos = 0, on, nn, waste = 0, i;
	const char *ol, *nl;
	char *copy;
	int ok = 0;
	if (!st->loaded) return 0;
	for (;;) {
		int oh = next_line(st->loaded, st->loaded_len, &opos, &ol, &on);
		int nh = next_line(text, len, &npos, &nl, &nn);
		kk_verb ov, nv;
		kk_statekey k;
		size_t *slot;
		char err[KK_ERRLEN];
		if (oh != nh) goto out;		/* a line more or less */
		if (!oh) break;
		if (on == nn && !memcmp(ol, nl, on)) continue;
		/* Past a quarter of the text, the full load is as quick. */
		if ((waste += nn) > len / 4) goto out;
		if (!backend_line(ol, on, &obuf, oargv, &ov) || !backend_line(nl, nn, &nbuf, nargv, &nv)
		    || strcmp(ov.pos[0], nv.pos[0]) || strcmp(ov.pos[1], nv.pos[1]))
			goto out;
		if (!kk_statekey_backend(&k, nv.pos[0], nv.pos[1])) goto out;
		slot = kk_index_get(&st->bindex, k.s, k.len);
		kk_statekey_done(&k);
		if (!slot || *slot == GONE) goto out;
		if (nch == ach) {
			size_t a = ach ? 2 * ach : 64;
			if (!(more = realloc(ch, a * sizeof *ch))) goto out;
			ch = more;
			ach = a;
		}
		if (!backend_of(st, &nv, &ch[nch].b, err, sizeof err)) goto out;
		ch[nch++].slot = *slot;
	}
	/* Quick reloads leave the replaced strings in the arena: a full
	 * load, which resets it, comes once they weigh as much as a text. */
	if (st->loaded_waste + waste > st->loaded_len) goto out;
	if (!(copy = len > st->loaded_len ? realloc(st->loaded, len) : st->loaded)) goto out;
	memcpy(copy, text, len);
	st->loaded = copy;
	st->loaded_len = len;
	st->loaded_waste += waste;
	for (i = 0; i < nch; i++)
		st->backends[ch[i].slot] = ch[i].b;
	st->lines_parsed = 2 * nch;
	ok = 1;
out:
	free(ch);
	kk_str_free(&obuf);
	kk_str_free(&nbuf);
	return ok;
}

static int
reuse_scratch_in(kk_state *st, const char *text, size_t len, const char *source,
    const char *dir, char *err, size_t errlen)
{
	int replayable;
	if (st->arena && quick_reload(st, text, len))
		return 1;
	free(st->loaded);
	st->loaded = 0;
	st->loaded_len = st->loaded_waste = 0;
	if (st->arena) {
		scratch_clear(st);
	} else {
		kk_state_free(st);
		if (!(st->arena = calloc(1, sizeof *st->arena))) {
			snprintf(err, errlen, "%s: out of memory; nothing changed", source);
			return 0;
		}
		st->lindex.keys = st->cindex.keys = st->findex.keys = st->bindex.keys = st->arena;
	}
	/* The strings and keys of a state take about as many bytes as its
	 * lines: one chunk holds them all. */
	kk_arena_hint(st->arena, len + len / 2);
	if (!load_lines(st, text, len, source, dir, &replayable, err, errlen)) {
		scratch_clear(st);
		return 0;
	}
	/* Best effort: without the copy, the next load is a full one. */
	if (replayable && len && (st->loaded = malloc(len))) {
		memcpy(st->loaded, text, len);
		st->loaded_len = len;
	}
	return 1;
}

int
kk_state_reuse_scratch(kk_state *st, const char *text, size_t len, const char *source,
    char *err, size_t errlen)
{
	return reuse_scratch_in(st, text, len, source, 0, err, errlen);
}

int
kk_state_load_text(kk_state *st, const char *text, size_t len, const char *source,
    char *err, size_t errlen)
{
	return load_text_in(st, text, len, source, 0, 0, err, errlen);
}

int
kk_state_load_checked(kk_state *st, const char *text, size_t len, const char *source,
    char *err, size_t errlen)
{
	return load_text_in(st, text, len, source, 0, 1, err, errlen);
}

static int
load_scratch_in(kk_state *st, const char *text, size_t len, const char *source,
    const char *dir, char *err, size_t errlen)
{
	kk_state_init(st);
	if (reuse_scratch_in(st, text, len, source, dir, err, errlen)) return 1;
	kk_state_free(st);
	return 0;
}

int
kk_state_load_scratch(kk_state *st, const char *text, size_t len, const char *source,
    char *err, size_t errlen)
{
	return load_scratch_in(st, text, len, source, 0, err, errlen);
}

/* The directory of path, for its relative certificate files: NULL for a
 * name without '/', the current directory's. 1 ok, 0 ENOMEM. */
static int
dir_of(const char *path, kk_str *dir)
{
	const char *slash = strrchr(path, '/');
	if (!slash) return 1;
	return kk_str_catb(dir, path, slash == path ? 1 : (size_t)(slash - path));
}

/* The whole of path in text (NUL-terminated when not empty). 1 ok, 0
 * with err. */
static int
read_file(const char *path, kk_str *text, char *err, size_t errlen)
{
	struct stat sb;
	int fd;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "unable to open %s: %s", path, strerror(errno));
		return 0;
	}
	if (fstat(fd, &sb) < 0) {
		snprintf(err, errlen, "unable to stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "unable to read %s: it is a directory", path);
		goto fail;
	}
	/* Read in one go when the size is known (a regular file). */
	if (sb.st_size > 0 && (unsigned long long)sb.st_size <= LOAD_MAX)
		kk_str_ready(text, (size_t)sb.st_size + 1);
	for (;;) {
		ssize_t n;
		if (text->len > LOAD_MAX) {
			snprintf(err, errlen, "unable to read %s: larger than %lu MiB", path,
			    LOAD_MAX >> 20);
			goto fail;
		}
		if (!kk_str_ready(text, 65536)) {
			snprintf(err, errlen, "unable to read %s: %s", path, strerror(errno));
			goto fail;
		}
		n = read(fd, text->s + text->len, text->cap - text->len - 1);
		if (n < 0) {
			if (errno == EINTR) continue;
			snprintf(err, errlen, "unable to read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (!n) break;
		text->len += (size_t)n;
	}
	close(fd);
	return 1;
fail:
	close(fd);
	return 0;
}

int
kk_state_load_fd_checked(kk_state *st, int fd, const char *source, char *err, size_t errlen)
{
	kk_str text = KK_STR_ZERO;
	char tmp[65536];
	ssize_t r;
	int ok;
	if (lseek(fd, 0, SEEK_SET) < 0 && errno != ESPIPE) r = -1;
	else while ((r = read(fd, tmp, sizeof tmp)) != 0) {
		if (r < 0 && errno == EINTR) continue;
		if (r < 0 || !kk_str_catb(&text, tmp, (size_t)r)) break;
	}
	if (r != 0) {
		snprintf(err, errlen, "%s: unable to read the state memfd: %s", source,
		    r < 0 ? strerror(errno) : "out of memory");
		kk_str_free(&text);
		return 0;
	}
	ok = kk_state_load_checked(st, text.s ? text.s : "", text.len, source, err, errlen);
	kk_str_free(&text);
	return ok;
}

int
kk_state_load_file(kk_state *st, const char *path, char *err, size_t errlen)
{
	kk_str text = KK_STR_ZERO, dir = KK_STR_ZERO;
	int r;
	if (!dir_of(path, &dir)) {
		snprintf(err, errlen, "%s: out of memory; nothing changed", path);
		return 0;
	}
	r = read_file(path, &text, err, errlen)
	    && load_text_in(st, text.s ? text.s : "", text.len, path, dir.s, 0, err, errlen);
	kk_str_free(&text);
	kk_str_free(&dir);
	return r;
}

int
kk_state_reuse_file_scratch(kk_state *st, const char *path, char *err, size_t errlen)
{
	kk_str text = KK_STR_ZERO, dir = KK_STR_ZERO;
	int r;
	if (!dir_of(path, &dir) || !read_file(path, &text, err, errlen)) {
		if (!dir.s && strchr(path, '/'))
			snprintf(err, errlen, "%s: out of memory; nothing changed", path);
		kk_str_free(&text);
		kk_str_free(&dir);
		return 0;
	}
	r = reuse_scratch_in(st, text.s ? text.s : "", text.len, path, dir.s, err, errlen);
	kk_str_free(&text);
	kk_str_free(&dir);
	return r;
}

int
kk_state_load_file_scratch(kk_state *st, const char *path, char *err, size_t errlen)
{
	kk_state_init(st);
	if (kk_state_reuse_file_scratch(st, path, err, errlen)) return 1;
	kk_state_free(st);
	return 0;
}

/* One kind's index against its array: every live slot found at its own
 * slot, as many entries as live slots, the removed count right. */
static int
check_kind(const kk_state *st, const kk_index *ix, const char *what, size_t n, size_t dead,
    size_t nlive, char *err, size_t errlen)
{
	char msg[200];
	size_t cursor = 0, gone = 0;
	const kk_index_slot *s;
	if (!kk_index_check(ix, msg, sizeof msg)) {
		snprintf(err, errlen, "%s index: %s", what, msg);
		return 0;
	}
	while ((s = kk_index_next(ix, &cursor)))
		if (s->value == GONE) gone++;
		else if (s->value >= n) {
			snprintf(err, errlen, "%s index: an entry points past the slots", what);
			return 0;
		}
	if (nlive + dead != n || ix->n - gone != nlive || (gone && !st->journals)) {
		snprintf(err, errlen, "%s: %zu slots, %zu removed, %zu live, %zu indexed (%zu "
		    "journaled removals)", what, n, dead, nlive, ix->n, gone);
		return 0;
	}
	return 1;
}

static int
check_slot(const size_t *slot, size_t want, const char *what, size_t i, char *err,
    size_t errlen)
{
	if (slot && *slot == want) return 1;
	snprintf(err, errlen, "%s slot %zu: its index entry %s", what, i,
	    slot ? "points elsewhere" : "is missing");
	return 0;
}

/* Certificates against their index and their https listeners; counts
 * (a scratch array of a count per listener) is reset. */
static int
check_certificates(const kk_state *st, size_t *counts, char *err, size_t errlen)
{
	size_t i, live = 0;
	memset(counts, 0, (st->nlisteners + 1) * sizeof *counts);
	for (i = 0; i < st->ncertificates; i++) {
		const kk_certificate *x = &st->certificates[i];
		const kk_listener *l;
		if (!x->listener) continue;
		live++;
		if (!(l = kk_state_listener(st, x->listener)) || !l->tls) {
			snprintf(err, errlen, "certificate slot %zu: its https listener is gone",
			    i);
			return 0;
		}
		counts[l - st->listeners]++;
		if (kk_state_certificate(st, x->listener, x->fingerprint) != x) {
			snprintf(err, errlen, "certificate slot %zu: its index entry points "
			    "elsewhere", i);
			return 0;
		}
	}
	if (!check_kind(st, &st->xindex, "certificates", st->ncertificates, st->dcertificates,
	    live, err, errlen))
		return 0;
	for (i = 0; i < st->nlisteners; i++)
		if (st->listeners[i].ncertificates != counts[i]) {
			snprintf(err, errlen, "listener %s: counts %zu certificates, has %zu",
			    st->listeners[i].addr_text, st->listeners[i].ncertificates, counts[i]);
			return 0;
		}
	return 1;
}

int
kk_state_check(const kk_state *st, char *err, size_t errlen)
{
	size_t i, live, *users = 0, *lusers = 0;
	int ok = 0;
	for (i = 0; i < st->nlisteners; i++) {
		const char *key = st->listeners[i].addr_text;
		if (!key) {
			snprintf(err, errlen, "listener slot %zu is empty; listeners stay dense", i);
			return 0;
		}
		if (!check_slot(kk_index_get(&st->lindex, key, strlen(key)), i, "listener", i,
		    err, errlen))
			return 0;
	}
	if (!check_kind(st, &st->lindex, "listeners", st->nlisteners, 0, st->nlisteners, err,
	    errlen))
		return 0;
	for (i = live = 0; i < st->nclusters; i++) {
		const char *key = st->clusters[i].id;
		if (!key) continue;
		live++;
		if (!check_slot(kk_index_get(&st->cindex, key, strlen(key)), i, "cluster", i,
		    err, errlen))
			return 0;
	}
	if (!check_kind(st, &st->cindex, "clusters", st->nclusters, st->dclusters, live, err,
	    errlen))
		return 0;
	/* Users recounted per cluster (two counts a slot) and per listener. */
	users = calloc(2 * st->nclusters + 1, sizeof *users);
	lusers = calloc(st->nlisteners + 1, sizeof *lusers);
	if (!users || !lusers) {
		snprintf(err, errlen, "out of memory");
		goto end;
	}
	for (i = live = 0; i < st->nfrontends; i++) {
		const kk_frontend *f = &st->frontends[i];
		kk_cluster *c;
		kk_listener *l;
		kk_statekey k;
		if (!f->cluster) continue;
		live++;
		c = kk_state_cluster(st, f->cluster);
		l = kk_state_listener(st, f->listener);
		if (!c || !l) {
			snprintf(err, errlen, "frontend slot %zu: its cluster or listener is gone", i);
			goto end;
		}
		/* Its kind decides its key, and which match options it may have. */
		if (f->proto != l->proto || (f->proto == KK_PROTO_TCP
		    ? f->host || f->path || f->method || f->extra : f->sni != 0)) {
			snprintf(err, errlen, "frontend slot %zu: its match does not suit its %s "
			    "listener %s", i, l->proto == KK_PROTO_TCP ? "tcp" : "http",
			    l->addr_text);
			goto end;
		}
		users[2 * (size_t)(c - st->clusters)]++;
		lusers[l - st->listeners]++;
		if (!kk_statekey_frontend(&k, f)) {
			snprintf(err, errlen, "out of memory");
			goto end;
		}
		ok = check_slot(kk_index_get(&st->findex, k.s, k.len), i, "frontend", i, err,
		    errlen);
		kk_statekey_done(&k);
		if (!ok) goto end;
		ok = 0;
	}
	if (!check_kind(st, &st->findex, "frontends", st->nfrontends, st->dfrontends, live, err,
	    errlen))
		goto end;
	for (i = live = 0; i < st->nbackends; i++) {
		const kk_backend *b = &st->backends[i];
		kk_cluster *c;
		if (!b->cluster) continue;
		live++;
		if (!(c = kk_state_cluster(st, b->cluster))) {
			snprintf(err, errlen, "backend slot %zu: its cluster is gone", i);
			goto end;
		}
		users[2 * (size_t)(c - st->clusters) + 1]++;
		if (kk_state_backend(st, b->cluster, b->id) != b) {
			snprintf(err, errlen, "backend slot %zu: its index entry points elsewhere", i);
			goto end;
		}
	}
	if (!check_kind(st, &st->bindex, "backends", st->nbackends, st->dbackends, live, err,
	    errlen))
		goto end;
	for (i = 0; i < st->nclusters; i++) {
		const kk_cluster *c = &st->clusters[i];
		if (c->id && (c->nfrontends != users[2 * i] || c->nbackends != users[2 * i + 1])) {
			snprintf(err, errlen, "cluster \"%s\": counts %zu frontends and %zu backends, "
			    "has %zu and %zu", c->id, c->nfrontends, c->nbackends, users[2 * i],
			    users[2 * i + 1]);
			goto end;
		}
	}
	for (i = 0; i < st->nlisteners; i++)
		if (st->listeners[i].nfrontends != lusers[i]) {
			snprintf(err, errlen, "listener %s: counts %zu frontends, has %zu",
			    st->listeners[i].addr_text, st->listeners[i].nfrontends, lusers[i]);
			goto end;
		}
	if (!check_certificates(st, lusers, err, errlen)) goto end;
	ok = 1;
end:
	free(users);
	free(lusers);
	return ok;
}

const char *
kk_service_name(enum kk_service s)
{
	static const char *const names[] = { "", "prometheus", "stats" };
	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "";
}
