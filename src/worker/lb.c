/* ISC license. */
/* The balancing algorithms and the tables they read, built once per
 * snapshot (kk_lb_prepare). Round-robin, random, least connections and
 * the bound of hashing pass over the cluster's backends, which are few;
 * power of two choices draws two without a pass; nothing is allocated
 * per request. */
#include <stdlib.h>
#include <string.h>
#include <kakehi/index.h>
#include "lb.h"

/* A point of the hash ring: where it sits, whose it is. */
typedef struct point point;
struct point {
	uint64_t at;
	uint32_t b;		/* index in the cluster's backends */
};

/* The weighted backends of one tier (primaries, backups) for weighted
 * draws: idx[k] the backend, cum[k] the weights of idx[0..k]. */
typedef struct tier tier;
struct tier {
	uint64_t *cum;
	uint32_t *idx;
	unsigned n;
};

/* One block per cluster and snapshot: the header, then the ring, the
 * tiers' arrays, then the text (names, Set-Cookie values). */
struct kk_lbx {
	point *ring;
	unsigned nring;
	tier t[2];		/* [backup] */
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

void
kk_lb_seed(uint64_t s)
{
	rng ^= s * 0xbf58476d1ce4e5b9ull;
	if (!rng)
		rng = 1;
}

static uint64_t
next_rand(void)
{
	/* xorshift64*: enough to spread requests, not for secrets. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

/* FNV-1a alone leaves the high bits, which order the ring, poorly mixed
 * for keys that differ in their last bytes (user-1, user-2). */
static uint64_t
hash(const char *s, size_t n)
{
	return kk_index_mix64(kk_index_hash64(s, n));
}

/* Whether b may be chosen in the pass for `backup` backends. A backend
 * at its --max-connections is not, even when the down marks are
 * ignored: the limit is the operator's, not a guess; nor is one out by
 * the health verdict: that is a decision, not a hint. */
static int
usable(const kk_rbackend *b, int backup, const kk_bend *avoid, uint64_t now, int ignore_down)
{
	if (!b->weight || (b->backup != 0) != backup || b->bend == avoid || kk_lb_full(b)
	    || kk_bend_is_out(b->bend, now))
		return 0;
	return ignore_down || !kk_bend_is_down(b->bend, now);
}

/* b's weight at now: under --slow-start, linear from 1 to its weight over
 * slow_ms from when it joined the cluster or its down mark ran out,
 * whichever is later (HAProxy's slowstart ramps the same way); a
 * newcomer's clock starts at its first pick. */
static unsigned
weight_now(kk_rbackend *b, uint64_t now)
{
	uint64_t from, w;
	if (!b->slow_ms)
		return b->weight;
	if (b->since == KK_LB_SINCE_FIRST)
		b->since = now;
	from = b->since > b->bend->down_until ? b->since : b->bend->down_until;
	if (now >= from + b->slow_ms)
		return b->weight;
	w = now > from ? (uint64_t)b->weight * (now - from) / b->slow_ms : 0;
	return w ? (unsigned)w : 1;
}

static int
point_order(const void *x, const void *y)
{
	const point *a = x, *b = y;
	if (a->at != b->at)
		return a->at < b->at ? -1 : 1;
	return a->b < b->b ? -1 : a->b > b->b;
}

/* The ring's points for backend b: a point per unit of weight, scaled so
 * that the ring holds KK_LB_RING_MAX at most. */
static unsigned
points_of(const kk_rbackend *b, uint64_t total)
{
	uint64_t n;
	if (!b->weight)
		return 0;
	if (total <= KK_LB_RING_MAX)
		return b->weight;
	n = (uint64_t)b->weight * KK_LB_RING_MAX / total;
	return n ? (unsigned)n : 1;
}

/* Fills the ring: each point derives from the backend's id and its
 * number alone, so a backend added or removed moves only its own points
 * and the keys they hold. */
static void
fill_ring(kk_rcluster *c, struct kk_lbx *x, uint64_t total)
{
	unsigned i, k, n = 0;
	for (i = 0; i < c->nb; i++) {
		uint64_t h = hash(c->b[i].id, strlen(c->b[i].id));
		unsigned np = points_of(&c->b[i], total);
		for (k = 0; k < np; k++) {
			x->ring[n].at = kk_index_mix64(h + (uint64_t)(k + 1) * 0x9e3779b97f4a7c15ull);
			x->ring[n++].b = i;
		}
	}
	x->nring = n;
	qsort(x->ring, n, sizeof *x->ring, point_order);
}

static void
fill_tiers(kk_rcluster *c, struct kk_lbx *x)
{
	unsigned i;
	for (i = 0; i < c->nb; i++) {
		tier *t = &x->t[c->b[i].backup != 0];
		if (!c->b[i].weight)
			continue;
		t->idx[t->n] = i;
		t->cum[t->n] = (t->n ? t->cum[t->n - 1] : 0) + c->b[i].weight;
		t->n++;
	}
}

/* "NAME=SID; Path=/; HttpOnly": the whole site, and out of scripts'
 * reach, since it only steers the proxy. SID is 16 hex digits. */
#define COOKIE_ATTRS "; Path=/; HttpOnly"
#define SID_LEN 16

static char *
put_text(char **at, const char *s, size_t n)
{
	char *p = *at;
	memcpy(p, s, n);
	p[n] = 0;
	*at += n + 1;
	return p;
}

int
kk_lb_prepare(kk_rcluster *c, const char *hash_name, const char *cookie_name)
{
	static const char hex[] = "0123456789abcdef";
	struct kk_lbx *x;
	uint64_t total = 0;
	size_t npoints = 0, ntier = 0, nprimary = 0, text = 0, clen;
	unsigned i;
	char *at;
	if (!cookie_name)
		cookie_name = KK_STICKY_COOKIE;
	clen = strlen(cookie_name);
	for (i = 0; i < c->nb; i++) {
		total += c->b[i].weight;
		ntier += c->b[i].weight != 0;
		nprimary += c->b[i].weight && !c->b[i].backup;
	}
	/* Only a hashing cluster has a ring: it is a point per unit of
	 * weight, most of a site's memory in a proxy of round-robin sites. */
	if (c->lb == KK_LB_HASH)
		for (i = 0; i < c->nb; i++)
			npoints += points_of(&c->b[i], total);
	text = (hash_name ? strlen(hash_name) + 1 : 0) + clen + 1;
	if (c->sticky)
		text += c->nb * (clen + 1 + SID_LEN + sizeof COOKIE_ATTRS);
	x = malloc(sizeof *x + npoints * sizeof *x->ring + ntier * (sizeof(uint64_t)
	    + sizeof(uint32_t)) + text);
	if (!x)
		return 0;
	memset(x, 0, sizeof *x);
	/* Widest first, so each array is aligned; the backups' entries
	 * after the primaries'. */
	x->ring = (point *)(x + 1);
	x->t[0].cum = (uint64_t *)(x->ring + npoints);
	x->t[1].cum = x->t[0].cum + nprimary;
	x->t[0].idx = (uint32_t *)(x->t[0].cum + ntier);
	x->t[1].idx = x->t[0].idx + nprimary;
	fill_tiers(c, x);
	if (npoints)
		fill_ring(c, x, total);
	at = (char *)(x->t[0].idx + ntier);
	c->hash_name = hash_name ? put_text(&at, hash_name, strlen(hash_name)) : NULL;
	c->cookie_name = put_text(&at, cookie_name, clen);
	for (i = 0; i < c->nb; i++) {
		kk_rbackend *b = &c->b[i];
		unsigned k;
		b->sid = hash(b->id, strlen(b->id));
		b->cookie = NULL;
		if (!c->sticky)
			continue;
		b->cookie = at;
		memcpy(at, cookie_name, clen);
		at[clen] = '=';
		for (k = 0; k < SID_LEN; k++)
			at[clen + 1 + k] = hex[(b->sid >> (60 - 4 * k)) & 15];
		memcpy(at + clen + 1 + SID_LEN, COOKIE_ATTRS, sizeof COOKIE_ATTRS);
		at += clen + 1 + SID_LEN + sizeof COOKIE_ATTRS;
	}
	c->lbx = x;
	return 1;
}

void
kk_lb_release(kk_rcluster *c)
{
	free(c->lbx);
	c->lbx = NULL;
}

/* A sticky id as the cookie carries it: 16 hex digits. */
static int
scan_sid(const char *s, uint32_t n, uint64_t *sid)
{
	uint64_t v = 0;
	uint32_t i;
	if (n != SID_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = s[i];
		unsigned d;
		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else
			return 0;
		v = v << 4 | d;
	}
	*sid = v;
	return 1;
}

void
kk_lb_request(const kk_rcluster *c, const kk_reqhead *h, const char *source, kk_lbreq *q)
{
	kk_span v;
	memset(q, 0, sizeof *q);
	if (c->sticky && h && kk_fields_cookie(&h->fl, c->cookie_name, strlen(c->cookie_name), &v))
		q->has_sid = (unsigned char)scan_sid(h->fl.base + v.off, v.len, &q->sid);
	if (c->lb != KK_LB_HASH)
		return;
	switch (c->hash_key) {
	case KK_HASH_SOURCE:
		if (!source)
			return;
		q->key = hash(source, strlen(source));
		break;
	case KK_HASH_PATH:
		if (!h)
			return;
		q->key = hash(h->fl.base + h->path.off, h->pathlen);
		break;
	case KK_HASH_HEADER:
		if (!h || !kk_fields_find(&h->fl, c->hash_name, &v))
			return;
		q->key = hash(h->fl.base + v.off, v.len);
		break;
	case KK_HASH_COOKIE:
		if (!h || !kk_fields_cookie(&h->fl, c->hash_name, strlen(c->hash_name), &v))
			return;
		q->key = hash(h->fl.base + v.off, v.len);
		break;
	}
	q->has_key = 1;
}

const char *
kk_lb_cookie(const kk_rcluster *c, const kk_lbreq *q, const kk_rbackend *b)
{
	if (!c->sticky || !b || (q && q->has_sid && q->sid == b->sid))
		return NULL;
	return b->cookie;
}

static kk_rbackend *
pick_rr(kk_rcluster *c, int backup, const kk_bend *avoid, uint64_t now, int ign)
{
	/* Smooth weighted round-robin: every usable backend gains its weight,
	 * the richest is chosen and pays the total. Weights 5,1,1 give
	 * a a b a c a a: spread, not bursts. */
	kk_rbackend *best = NULL;
	long total = 0;
	unsigned i;
	for (i = 0; i < c->nb; i++) {
		kk_rbackend *b = &c->b[i];
		long w;
		if (!usable(b, backup, avoid, now, ign))
			continue;
		w = (long)weight_now(b, now);
		b->cw += w;
		total += w;
		if (!best || b->cw > best->cw)
			best = b;
	}
	if (best)
		best->cw -= total;
	return best;
}

static kk_rbackend *
pick_random(kk_rcluster *c, int backup, const kk_bend *avoid, uint64_t now, int ign)
{
	uint64_t total = 0, x;
	unsigned i;
	for (i = 0; i < c->nb; i++)
		if (usable(&c->b[i], backup, avoid, now, ign))
			total += weight_now(&c->b[i], now);
	if (!total)
		return NULL;
	x = next_rand() % total;
	for (i = 0; i < c->nb; i++) {
		unsigned w;
		if (!usable(&c->b[i], backup, avoid, now, ign))
			continue;
		if (x < (w = weight_now(&c->b[i], now)))
			return &c->b[i];
		x -= w;
	}
	return NULL;
}

/* Whether a's active connections per unit of its weight wa are fewer
 * than b's: a/wa < b/wb compared as a*wb < b*wa. */
static int
less_loaded(const kk_rbackend *a, unsigned wa, const kk_rbackend *b, unsigned wb)
{
	return (uint64_t)a->bend->nactive * wb < (uint64_t)b->bend->nactive * wa;
}

static kk_rbackend *
pick_least(kk_rcluster *c, int backup, const kk_bend *avoid, uint64_t now, int ign)
{
	/* Fewest active connections per unit of weight. Ties go round-robin
	 * through the smooth counter, so an idle cluster still spreads. */
	kk_rbackend *best = NULL;
	unsigned i, wbest = 0;
	long total = 0;
	for (i = 0; i < c->nb; i++) {
		kk_rbackend *b = &c->b[i];
		unsigned w;
		if (!usable(b, backup, avoid, now, ign))
			continue;
		w = weight_now(b, now);
		b->cw += (long)w;
		total += (long)w;
		if (!best || less_loaded(b, w, best, wbest) ||
		    (!less_loaded(best, wbest, b, w) && b->cw > best->cw)) {
			best = b;
			wbest = w;
		}
	}
	if (best)
		best->cw -= total;
	return best;
}

/* The entry of t a weighted draw x (below its total weight) lands on. */
static unsigned
tier_find(const tier *t, uint64_t x)
{
	unsigned lo = 0, hi = t->n - 1;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (t->cum[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The tiers' draws are by full weight: a backend under slow start keeps
 * a draw with the chance of its weight now to its full weight, so that
 * its share ramps without rebuilding the tables. */
static int
ramp_keeps(kk_rbackend *b, uint64_t now)
{
	unsigned w = weight_now(b, now);
	return w >= b->weight || next_rand() % b->weight < w;
}

/* Draws to find two usable backends before giving up on chance: with
 * half the tier down, all four miss once in 256 requests, which then take
 * the scan of least connections. */
#define P2C_DRAWS 4

static kk_rbackend *
pick_p2c(kk_rcluster *c, int backup, const kk_bend *avoid, uint64_t now, int ign)
{
	/* Power of two choices (Mitzenmacher, 2001): two distinct backends
	 * drawn by weight, the less loaded per unit of weight wins, the first
	 * drawn on a tie, so an idle cluster follows the weights. No pass
	 * over the backends: O(log n) per draw. */
	const tier *t = c->lbx ? &c->lbx->t[backup] : NULL;
	unsigned d;
	if (!t || !t->n)
		return NULL;
	for (d = 0; d < P2C_DRAWS; d++) {
		uint64_t total = t->cum[t->n - 1], lo, w, x;
		unsigned k1 = tier_find(t, next_rand() % total), k2;
		kk_rbackend *a = &c->b[t->idx[k1]], *b;
		int ua = usable(a, backup, avoid, now, ign), ub;
		if (t->n == 1)	/* alone, it ramps against nobody */
			return ua ? a : NULL;
		ua = ua && ramp_keeps(a, now);
		/* The second among the others: a draw over the total less the
		 * first's weight, stepping over the first's share. */
		lo = k1 ? t->cum[k1 - 1] : 0;
		w = t->cum[k1] - lo;
		x = next_rand() % (total - w);
		if (x >= lo)
			x += w;
		k2 = tier_find(t, x);
		b = &c->b[t->idx[k2]];
		ub = usable(b, backup, avoid, now, ign) && ramp_keeps(b, now);
		if (ua && ub) {
			unsigned wa = weight_now(a, now), wb = weight_now(b, now);
			return less_loaded(b, wb, a, wa) ? b : a;
		}
		if (ua || ub)
			return ua ? a : b;
	}
	return pick_least(c, backup, avoid, now, ign);
}

/* The ring's first point at or after key. */
static unsigned
ring_find(const struct kk_lbx *x, uint64_t key)
{
	unsigned lo = 0, hi = x->nring;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (x->ring[mid].at < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == x->nring ? 0 : lo;
}

static kk_rbackend *
pick_hash(kk_rcluster *c, uint64_t key, int backup, const kk_bend *avoid, uint64_t now,
    int ign)
{
	/* The key's backend is the owner of the first point at or after it
	 * on the ring, skipping those unusable or at their bound: (load + 1)
	 * within KK_LB_HASH_BOUND % of (all load + 1) x weight / all weight,
	 * the paper's ceiling, so an idle cluster takes every key home. Some
	 * backend is always under it, so the walk ends. */
	const struct kk_lbx *x = c->lbx;
	uint64_t load = 0, weight = 0;
	unsigned i, n;
	if (!x || !x->nring)
		return NULL;
	for (i = 0; i < c->nb; i++)
		if (usable(&c->b[i], backup, avoid, now, ign)) {
			load += c->b[i].bend->nactive;
			weight += weight_now(&c->b[i], now);
		}
	if (!weight)
		return NULL;
	for (i = ring_find(x, key), n = 0; n < x->nring; n++, i = i + 1 == x->nring ? 0 : i + 1) {
		kk_rbackend *b = &c->b[x->ring[i].b];
		if (!usable(b, backup, avoid, now, ign))
			continue;
		if ((uint64_t)b->bend->nactive * weight * 100
		    < (uint64_t)KK_LB_HASH_BOUND * (load + 1) * weight_now(b, now))
			return b;
	}
	return NULL;
}

/* The backend q's cookie names, when it may serve in this pass: up (or
 * every mark ignored) and not avoided. Its weight may be 0: a backend
 * being emptied keeps its sessions and takes no new one. */
static kk_rbackend *
pick_sticky(kk_rcluster *c, uint64_t sid, int backup, const kk_bend *avoid, uint64_t now,
    int ign)
{
	unsigned i;
	for (i = 0; i < c->nb; i++) {
		kk_rbackend *b = &c->b[i];
		if (b->sid != sid)
			continue;
		if ((b->backup != 0) != backup || b->bend == avoid || kk_lb_full(b)
		    || kk_bend_is_out(b->bend, now) || (!ign && kk_bend_is_down(b->bend, now)))
			return NULL;
		return b;
	}
	return NULL;
}

int
kk_lb_any_full(const kk_rcluster *c)
{
	unsigned i;
	for (i = 0; i < c->nb; i++)
		if (c->b[i].weight && kk_lb_full(&c->b[i]))
			return 1;
	return 0;
}

kk_rbackend *
kk_lb_pick(kk_rcluster *c, const kk_lbreq *q, const kk_bend *avoid, uint64_t now)
{
	int ign, backup;
	for (ign = 0; ign < 2; ign++)
		for (backup = 0; backup < 2; backup++) {
			kk_rbackend *b = NULL;
			if (c->sticky && q && q->has_sid)
				b = pick_sticky(c, q->sid, backup, avoid, now, ign);
			if (!b)
				switch (c->lb) {
				case KK_LB_RANDOM:
					b = pick_random(c, backup, avoid, now, ign);
					break;
				case KK_LB_LEAST_CONNECTIONS:
					b = pick_least(c, backup, avoid, now, ign);
					break;
				case KK_LB_P2C:
					b = pick_p2c(c, backup, avoid, now, ign);
					break;
				case KK_LB_HASH:
					/* Without its key, a request is spread as
					 * round-robin would. */
					b = q && q->has_key
					    ? pick_hash(c, q->key, backup, avoid, now, ign)
					    : pick_rr(c, backup, avoid, now, ign);
					break;
				default:
					b = pick_rr(c, backup, avoid, now, ign);
					break;
				}
			if (b)
				return b;
		}
	return NULL;
}
