/* ISC license. */
/* Load balancing: smooth weighted round-robin order, weight 0, backups,
 * down marks, avoidance on retry, least connections, random weights,
 * power of two choices, consistent hashing with bounded loads (keys moved
 * by a removal, the bound), sticky cookies. Distributions over 10 000
 * picks. */
#include <string.h>
#include "tap.h"
#include "libkakehi/stateprint.h"
#include "worker/bend.c"
#include "worker/transport.c"
/* The TLS side of bends (--tls clusters); tlsctx.c's lookup renamed, so
 * that router.c's can share the file. */
#include "worker/tls.c"
#include "worker/tlsbio.c"
#include "worker/tlsclient.c"
#include "worker/log.c"
#define lookup tlsctx_lookup
#include "worker/tlsctx.c"
#undef lookup
#include "worker/tlshello.c"
#include "worker/tlskeys.c"
#include "worker/tlspeer.c"
#include "worker/reqid.c"
#include "worker/head.c"
#include "worker/lb.c"

/* The protocol tables bends name (back.c, h2client.c): not under test here. */
const kk_client_ops kk_h1_client_ops, kk_h2_client_ops;
struct kk_stats kk_stats;

#define NB 10
#define PICKS 10000

static kk_bend bends[NB];
static kk_rbackend rb[NB];
static kk_rcluster cl;
static const char *const ids[NB] = { "b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8",
    "b9" };

/* The cluster of backends 0..n-1 but skip (-1: none), as a snapshot
 * builds it: backends in place, then the lb tables. */
static void
setup_without(enum kk_lb lb, unsigned n, const unsigned *w, const int *backup, int skip)
{
	unsigned i, k = 0;
	kk_lb_release(&cl);
	memset(rb, 0, sizeof rb);
	for (i = 0; i < n; i++) {
		if ((int)i == skip)
			continue;
		rb[k].bend = &bends[i];
		rb[k].weight = w[i];
		rb[k].backup = backup ? backup[i] : 0;
		rb[k++].id = ids[i];
	}
	cl.id = "c";
	cl.lb = lb;
	cl.b = rb;
	cl.nb = k;
	if (!kk_lb_prepare(&cl, NULL, NULL)) {
		fprintf(stderr, "kk_lb_prepare: out of memory\n");
		exit(1);
	}
}

static void
setup(enum kk_lb lb, unsigned n, const unsigned *w, const int *backup)
{
	memset(bends, 0, sizeof bends);
	cl.sticky = 0;
	setup_without(lb, n, w, backup, -1);
}

/* Picks over PICKS requests without a key, counted per backend. */
static void
count_picks(unsigned *count, unsigned n)
{
	unsigned i;
	memset(count, 0, n * sizeof *count);
	for (i = 0; i < PICKS; i++) {
		kk_rbackend *b = kk_lb_pick(&cl, NULL, NULL, 0);
		if (b)
			count[b - rb]++;
	}
}

/* Whether each backend's share of PICKS is its weight's within 2 %. */
static int
within_2pc(const unsigned *count, const unsigned *w, unsigned n)
{
	unsigned i, total = 0;
	for (i = 0; i < n; i++)
		total += w[i];
	for (i = 0; i < n; i++) {
		double share = (double)count[i] / PICKS, want = (double)w[i] / total;
		if (share < want - 0.02 || share > want + 0.02)
			return 0;
	}
	return 1;
}

/* The request of a client at address number k, for a source hash. */
static kk_lbreq
client(unsigned k)
{
	char addr[32];
	kk_lbreq q;
	snprintf(addr, sizeof addr, "10.%u.%u.%u", k >> 16 & 255, k >> 8 & 255, k & 255);
	kk_lb_request(&cl, NULL, addr, &q);
	return q;
}

static void
sequence(char *out, unsigned count, const kk_bend *avoid, uint64_t now)
{
	unsigned i;
	for (i = 0; i < count; i++) {
		kk_rbackend *b = kk_lb_pick(&cl, NULL, avoid, now);
		out[i] = b ? (char)('a' + (b - rb)) : '-';
	}
	out[count] = 0;
}

/* Whether b1's share of PICKS at now is num/den within 2 % of PICKS. */
static int
ramp_share(uint64_t now, unsigned num, unsigned den)
{
	unsigned i, n = 0;
	long want = (long)PICKS * num / den, got;
	for (i = 0; i < PICKS; i++)
		n += kk_lb_pick(&cl, NULL, NULL, now) == &rb[1];
	got = (long)n;
	if (labs(got - want) <= PICKS / 50)
		return 1;
	fprintf(stderr, "# b1 got %ld of %u, want %ld\n", got, PICKS, want);
	return 0;
}

int
main(void)
{
	char s[64];
	{
		unsigned w[] = { 100, 100 };
		setup(KK_LB_ROUND_ROBIN, 2, w, NULL);
		sequence(s, 6, NULL, 0);
		is_str(s, "ababab", "equal weights alternate");
		is_int(cl.lbx->nring, 0, "round-robin: no hash ring (a point per unit of weight)");
	}
	{
		unsigned w[] = { 5, 1, 1 };
		setup(KK_LB_ROUND_ROBIN, 3, w, NULL);
		sequence(s, 14, NULL, 0);
		is_str(s, "aabacaaaabacaa", "smooth weighted round-robin spreads 5:1:1");
	}
	{
		unsigned w[] = { 100, 0 };
		setup(KK_LB_ROUND_ROBIN, 2, w, NULL);
		sequence(s, 4, NULL, 0);
		is_str(s, "aaaa", "weight 0 is never chosen");
		rb[0].weight = 0;
		sequence(s, 1, NULL, 0);
		is_str(s, "-", "only weight 0: no backend (503)");
	}
	{
		unsigned w[] = { 100, 100, 100 };
		int backup[] = { 0, 0, 1 };
		setup(KK_LB_ROUND_ROBIN, 3, w, backup);
		sequence(s, 4, NULL, 0);
		is_str(s, "abab", "backup unused while primaries are up");
		kk_bend_mark_down(&bends[0], 1000);
		kk_bend_mark_down(&bends[1], 1000);
		sequence(s, 3, NULL, 1001);
		is_str(s, "ccc", "backup used when every primary is down");
		sequence(s, 2, NULL, 1000 + KK_BEND_DOWN_MS);
		is_str(s, "ab", "down marks expire");
		kk_bend_mark_down(&bends[0], 5000);
		sequence(s, 3, NULL, 5001);
		is_str(s, "bbb", "a down backend is avoided");
		sequence(s, 2, &bends[1], 5001);
		is_str(s, "cc", "retry avoids the failed backend, backup next");
	}
	{
		unsigned w[] = { 100 };
		setup(KK_LB_ROUND_ROBIN, 1, w, NULL);
		kk_bend_mark_down(&bends[0], 0);
		sequence(s, 2, NULL, 1);
		is_str(s, "aa", "all down: the marks are ignored rather than refusing");
		sequence(s, 1, &bends[0], 1);
		is_str(s, "-", "nothing but the avoided backend: none");
	}
	{
		unsigned w[] = { 100, 100, 100 };
		setup(KK_LB_LEAST_CONNECTIONS, 3, w, NULL);
		bends[0].nactive = 5;
		bends[1].nactive = 1;
		bends[2].nactive = 3;
		sequence(s, 1, NULL, 0);
		is_str(s, "b", "least connections picks the least busy");
		bends[1].nactive = 9;
		sequence(s, 1, NULL, 0);
		is_str(s, "c", "and follows the counts");
		rb[0].weight = 400;	/* 5/400 < 3/100 */
		sequence(s, 1, NULL, 0);
		is_str(s, "a", "connections weighed by weight");
		bends[0].nactive = bends[1].nactive = bends[2].nactive = 0;
		rb[0].weight = 100;
		sequence(s, 3, NULL, 0);
		is_str(s, "abc", "ties spread round-robin");
	}
	{
		unsigned w[] = { 300, 100 }, i, na = 0;
		setup(KK_LB_RANDOM, 2, w, NULL);
		kk_lb_seed(42);
		for (i = 0; i < 4000; i++)
			if (kk_lb_pick(&cl, NULL, NULL, 0) == &rb[0])
				na++;
		ok(na > 2700 && na < 3300, "random follows weights 3:1 (%u of 4000)", na);
	}
	{
		unsigned w[] = { 300, 100, 100 }, count[3];
		enum kk_lb lbs[] = { KK_LB_ROUND_ROBIN, KK_LB_RANDOM, KK_LB_P2C };
		for (unsigned j = 0; j < 3; j++) {
			setup(lbs[j], 3, w, NULL);
			count_picks(count, 3);
			ok(within_2pc(count, w, 3), "%s: weights 3:1:1 within 2 %% over %u "
			    "picks (%u %u %u)", kk_lb_names[lbs[j]], PICKS, count[0], count[1],
			    count[2]);
		}
	}
	{
		unsigned w[] = { 100, 100, 100 }, count[3];
		setup(KK_LB_P2C, 3, w, NULL);
		bends[0].nactive = 10;
		bends[1].nactive = 2;
		count_picks(count, 3);
		ok(count[0] == 0, "p2c: the busiest of three never wins a pair (%u)", count[0]);
		ok(count[2] > count[1] && count[1] > 3000, "p2c: the idle one wins its every "
		    "pair, the middle one the pairs with the busiest (%u %u)", count[1], count[2]);
		bends[0].nactive = 10;
		rb[0].weight = 1000;	/* 10/1000 < 2/100 */
		count_picks(count, 3);
		ok(count[0] > count[1], "p2c: loads weighed by weight (%u %u)", count[0],
		    count[1]);
	}
	{
		unsigned w[] = { 100, 100, 0, 100 };
		int backup[] = { 0, 0, 0, 1 };
		setup(KK_LB_P2C, 4, w, backup);
		kk_bend_mark_down(&bends[0], 0);
		sequence(s, 4, NULL, 1);
		is_str(s, "bbbb", "p2c: a down backend is not drawn, weight 0 is never");
		kk_bend_mark_down(&bends[1], 0);
		sequence(s, 2, NULL, 1);
		is_str(s, "dd", "p2c: the backup when no primary is up");
	}
	{
		unsigned w[NB], i, moved = 0, others = 0, home[PICKS];
		for (i = 0; i < NB; i++)
			w[i] = 100;
		setup(KK_LB_HASH, NB, w, NULL);
		ok(cl.lbx->nring == NB * 100, "hash: a ring point per unit of weight (%u)",
		    cl.lbx->nring);
		for (i = 0; i < PICKS; i++) {
			kk_lbreq q = client(i);
			home[i] = (unsigned)(kk_lb_pick(&cl, &q, NULL, 0)->bend - bends);
		}
		for (i = 0; i < PICKS; i++) {
			kk_lbreq q = client(i);
			if ((unsigned)(kk_lb_pick(&cl, &q, NULL, 0)->bend - bends) != home[i])
				break;
		}
		ok(i == PICKS, "hash: a key always goes to the same backend");
		setup_without(KK_LB_HASH, NB, w, NULL, 3);
		for (i = 0; i < PICKS; i++) {
			kk_lbreq q = client(i);
			unsigned now = (unsigned)(kk_lb_pick(&cl, &q, NULL, 0)->bend - bends);
			moved += now != home[i];
			others += now != home[i] && home[i] != 3;
		}
		ok(moved <= PICKS / NB + PICKS / 20, "hash: removing one of %u backends moves "
		    "%u of %u keys (at most 1/N + 5 %%)", NB, moved, PICKS);
		is_int(others, 0, "hash: only the removed backend's keys move");
		setup(KK_LB_HASH, NB, w, NULL);
		kk_bend_mark_down(&bends[home[0]], 0);
		{
			kk_lbreq q = client(0);
			ok(kk_lb_pick(&cl, &q, NULL, 1)->bend != &bends[home[0]],
			    "hash: a key whose backend is down goes to the next on the ring");
		}
	}
	{
		/* Bounded loads: every request of one key stays until its
		 * backend holds more than 1.25 x the average, then spills. */
		unsigned w[] = { 100, 100, 100, 100 }, i, max = 0, h0;
		kk_lbreq q;
		setup(KK_LB_HASH, 4, w, NULL);
		q = client(7);
		h0 = (unsigned)(kk_lb_pick(&cl, &q, NULL, 0)->bend - bends);
		for (i = 0; i < 1000; i++)
			kk_lb_pick(&cl, &q, NULL, 0)->bend->nactive++;
		for (i = 0; i < 4; i++)
			if (bends[i].nactive > max)
				max = bends[i].nactive;
		ok(max <= (125 * 1000 + 399) / 400 + 1, "hash: no backend above 1.25 x the "
		    "average load (%u of 1000 on the busiest)", max);
		ok(bends[h0].nactive == max,
		    "hash: the key's own backend is the one at the bound");
		for (i = 0; i < 4; i++)
			bends[i].nactive = 1;
		ok(kk_lb_pick(&cl, &q, NULL, 0)->bend == &bends[h0],
		    "hash: a backend within the bound keeps its key");
		setup(KK_LB_HASH, 2, w, NULL);
		sequence(s, 4, NULL, 0);
		is_str(s, "abab", "hash: a request without the key goes round-robin");
	}
	{
		unsigned w[] = { 100, 100, 100 };
		kk_lbreq q;
		kk_reqhead h;
		char text[128];
		memset(&bends, 0, sizeof bends);
		cl.sticky = 1;
		setup_without(KK_LB_ROUND_ROBIN, 3, w, NULL, -1);
		snprintf(text, sizeof text, "KKSID=%016llx; Path=/; HttpOnly",
		    (unsigned long long)rb[2].sid);
		is_str(rb[2].cookie, text,
		    "sticky: the cookie names the backend by its id's hash");
		/* A request carrying the cookie of backend c, as a head. */
		snprintf(text, sizeof text, "Cookie: theme=dark; KKSID=%016llx ; x=1",
		    (unsigned long long)rb[2].sid);
		memset(&h, 0, sizeof h);
		h.fl.base = text;
		h.fl.n = 1;
		h.fl.f[0].name.len = 6;
		h.fl.f[0].value.off = 8;
		h.fl.f[0].value.len = (uint32_t)strlen(text) - 8;
		kk_lb_request(&cl, &h, "10.0.0.1", &q);
		ok(q.has_sid && q.sid == rb[2].sid, "sticky: the id read from the Cookie field");
		for (unsigned i = 0; i < 3; i++)
			s[i] = (char)('a' + (kk_lb_pick(&cl, &q, NULL, 0) - rb));
		s[3] = 0;
		is_str(s, "ccc", "sticky: the cookie's backend serves while it is up");
		ok(!kk_lb_cookie(&cl, &q, &rb[2]), "sticky: no new cookie for a stuck client");
		rb[2].weight = 0;
		ok(kk_lb_pick(&cl, &q, NULL, 0) == &rb[2], "sticky: at weight 0 its backend "
		    "keeps the clients stuck to it");
		q.has_sid = 0;
		sequence(s, 4, NULL, 0);
		is_str(s, "abab", "sticky: and takes no new one");
		q.has_sid = 1;
		rb[2].weight = 100;
		kk_bend_mark_down(&bends[2], 0);
		{
			kk_rbackend *b = kk_lb_pick(&cl, &q, NULL, 1);
			ok(b != &rb[2] && kk_lb_cookie(&cl, &q, b) == b->cookie,
			    "sticky: its backend down, the client is balanced and stuck anew");
		}
		q.has_sid = 0;
		ok(kk_lb_cookie(&cl, &q, &rb[0]) == rb[0].cookie, "sticky: a first request gets "
		    "its cookie");
		cl.sticky = 0;
	}
	{
		/* --max-connections, for every balancer: a backend at its
		 * limit is skipped, even with every down mark ignored. */
		unsigned w[] = { 100, 100, 100 };
		int backup[] = { 0, 0, 1 };
		enum kk_lb lbs[] = { KK_LB_ROUND_ROBIN, KK_LB_RANDOM, KK_LB_LEAST_CONNECTIONS,
		    KK_LB_P2C, KK_LB_HASH };
		for (unsigned k = 0; k < sizeof lbs / sizeof *lbs; k++) {
			kk_lbreq q;
			unsigned count[3];
			memset(&q, 0, sizeof q);
			q.has_key = 1;
			setup(lbs[k], 3, w, backup);
			rb[0].max_conns = 2;
			bends[0].nactive = 2;
			count_picks(count, 3);
			ok(!count[0] && count[1] == PICKS, "%s: a backend at its limit is not "
			    "chosen", kk_lb_names[lbs[k]]);
			ok(kk_lb_pick(&cl, &q, NULL, 0) == &rb[1], "%s: nor for a key",
			    kk_lb_names[lbs[k]]);
			bends[0].nactive = bends[1].nactive = 1;
			count_picks(count, 3);
			ok(count[0] && count[1] && !count[2], "%s: under it, it is again",
			    kk_lb_names[lbs[k]]);
			rb[1].max_conns = 1;
			bends[0].nactive = 2;
			bends[1].nactive = 1;
			ok(kk_lb_pick(&cl, NULL, NULL, 0) == &rb[2], "%s: primaries full: the "
			    "backup", kk_lb_names[lbs[k]]);
			rb[2].max_conns = 1;
			bends[2].nactive = 1;
			kk_bend_mark_down(&bends[1], 0);
			ok(!kk_lb_pick(&cl, NULL, NULL, 1), "%s: all full: none, the down marks "
			    "ignored or not", kk_lb_names[lbs[k]]);
		}
		cl.sticky = 1;
		setup(KK_LB_ROUND_ROBIN, 3, w, NULL);
		{
			kk_lbreq q;
			memset(&q, 0, sizeof q);
			q.has_sid = 1;
			q.sid = rb[2].sid;
			rb[2].max_conns = 1;
			bends[2].nactive = 1;
			ok(kk_lb_pick(&cl, &q, NULL, 0) != &rb[2], "sticky: a full backend lets "
			    "its clients go elsewhere");
		}
		cl.sticky = 0;
	}
	{
		/* --slow-start 10s on b1: its share follows its weight now,
		 * linear from its down mark's end (or its first pick, for a
		 * newcomer), for every balancer that weighs. */
		unsigned w[] = { 100, 100 };
		enum kk_lb lbs[] = { KK_LB_ROUND_ROBIN, KK_LB_RANDOM };
		enum kk_lb loaded[] = { KK_LB_LEAST_CONNECTIONS, KK_LB_P2C };
		for (unsigned k = 0; k < sizeof lbs / sizeof *lbs; k++) {
			const char *name = kk_lb_names[lbs[k]];
			setup(lbs[k], 2, w, NULL);
			rb[1].slow_ms = 10000;
			kk_bend_mark_down(&bends[1], 100000 - KK_BEND_DOWN_MS);	/* up at 100 s */
			ok(ramp_share(100000 + 5000, 50, 150), "%s: half way, half its weight",
			    name);
			ok(ramp_share(100000 + 2500, 25, 125), "%s: a quarter of the way, a quarter",
			    name);
			ok(ramp_share(100000 + 10000, 100, 200), "%s: at the end, all of it", name);
			ok(ramp_share(100000, 1, 101), "%s: just up, nearly nothing", name);
		}
		/* Those that weigh load per unit of weight: at equal load the
		 * ramping one counts as the busier until its ramp ends. */
		for (unsigned k = 0; k < sizeof loaded / sizeof *loaded; k++) {
			const char *name = kk_lb_names[loaded[k]];
			unsigned n = 0;
			setup(loaded[k], 2, w, NULL);
			rb[1].slow_ms = 10000;
			kk_bend_mark_down(&bends[1], 100000 - KK_BEND_DOWN_MS);
			bends[0].nactive = bends[1].nactive = 2;
			ok(ramp_share(100000 + 5000, 0, 1), "%s: half way at equal load: never",
			    name);
			for (unsigned i = 0; i < PICKS; i++)
				n += kk_lb_pick(&cl, NULL, NULL, 100000 + 10000) == &rb[1];
			ok(n > PICKS / 4, "%s: ramp done: chosen again", name);
		}
		setup(KK_LB_ROUND_ROBIN, 2, w, NULL);
		rb[1].slow_ms = 10000;
		rb[1].since = KK_LB_SINCE_FIRST;
		kk_lb_pick(&cl, NULL, NULL, 7000);
		ok(rb[1].since == 7000, "a newcomer's ramp starts with its first pick");
		ok(ramp_share(7000 + 2500, 25, 125), "and rises from there");
		rb[1].slow_ms = 0;
		ok(ramp_share(7000, 100, 200), "without --slow-start, its weight at once");
		{
			/* Alone in its tier it takes everything, ramping or not. */
			unsigned one[] = { 100 };
			setup(KK_LB_P2C, 1, one, NULL);
			rb[0].slow_ms = 10000;
			rb[0].since = 5000;
			ok(kk_lb_pick(&cl, NULL, NULL, 5001) == &rb[0], "p2c: a lone ramping "
			    "backend is still chosen");
		}
	}
	kk_lb_release(&cl);
	{
		/* A refusal in a row doubles the avoid window, up to a cap;
		 * a backend out by the health verdict is never chosen, even
		 * alone (503), until its retry is due. */
		unsigned w[] = { 100, 100 };
		int k;
		setup(KK_LB_ROUND_ROBIN, 2, w, NULL);
		kk_bend_mark_down(&bends[0], 0);
		kk_bend_mark_down(&bends[0], 0);
		ok(bends[0].down_until == 2 * KK_BEND_DOWN_MS, "second refusal: twice as long");
		for (k = 0; k < 10; k++)
			kk_bend_mark_down(&bends[0], 0);
		ok(bends[0].down_until == (uint64_t)KK_BEND_DOWN_MS << KK_BEND_DOWN_DOUBLINGS,
		    "the window stops doubling");
		setup(KK_LB_ROUND_ROBIN, 2, w, NULL);
		bends[0].out = bends[1].out = 1;
		bends[0].retry_at = 1000;
		bends[1].retry_at = 5000;
		ok(!kk_lb_pick(&cl, NULL, NULL, 999), "every backend out: none (503)");
		ok(kk_lb_pick(&cl, NULL, NULL, 1000) == &rb[0], "out, retry due: chosen again");
	}
	return done();
}
