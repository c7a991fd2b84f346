/* ISC license. */
/* The balancing algorithms. Each pass is linear in the cluster's backends,
 * which are few; nothing is allocated. */
#include "lb.h"

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

/* Whether b may be chosen in the pass for `backup` backends. */
static int
usable(const kk_rbackend *b, int backup, const kk_bend *avoid, uint64_t now, int ignore_down)
{
	if (!b->weight || (b->backup != 0) != backup || b->bend == avoid)
		return 0;
	return ignore_down || !kk_bend_is_down(b->bend, now);
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
		if (!usable(b, backup, avoid, now, ign))
			continue;
		b->cw += (long)b->weight;
		total += (long)b->weight;
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
			total += c->b[i].weight;
	if (!total)
		return NULL;
	x = next_rand() % total;
	for (i = 0; i < c->nb; i++) {
		if (!usable(&c->b[i], backup, avoid, now, ign))
			continue;
		if (x < c->b[i].weight)
			return &c->b[i];
		x -= c->b[i].weight;
	}
	return NULL;
}

static kk_rbackend *
pick_least(kk_rcluster *c, int backup, const kk_bend *avoid, uint64_t now, int ign)
{
	/* Fewest active connections per unit of weight: a/wa < b/wb compared
	 * as a*wb < b*wa. Ties go round-robin through the smooth counter, so
	 * an idle cluster still spreads. */
	kk_rbackend *best = NULL;
	unsigned i;
	for (i = 0; i < c->nb; i++) {
		kk_rbackend *b = &c->b[i];
		uint64_t l, r;
		if (!usable(b, backup, avoid, now, ign))
			continue;
		b->cw += (long)b->weight;
		if (!best) {
			best = b;
			continue;
		}
		l = (uint64_t)b->bend->nactive * best->weight;
		r = (uint64_t)best->bend->nactive * b->weight;
		if (l < r || (l == r && b->cw > best->cw))
			best = b;
	}
	if (best) {
		long total = 0;
		for (i = 0; i < c->nb; i++)
			if (usable(&c->b[i], backup, avoid, now, ign))
				total += (long)c->b[i].weight;
		best->cw -= total;
	}
	return best;
}

kk_rbackend *
kk_lb_pick(kk_rcluster *c, const kk_bend *avoid, uint64_t now)
{
	int ign, backup;
	for (ign = 0; ign < 2; ign++)
		for (backup = 0; backup < 2; backup++) {
			kk_rbackend *b;
			switch (c->lb) {
			case KK_LB_RANDOM:
				b = pick_random(c, backup, avoid, now, ign);
				break;
			case KK_LB_LEAST_CONNECTIONS:
				b = pick_least(c, backup, avoid, now, ign);
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
