/* ISC license. */
/* Load balancing: smooth weighted round-robin order, weight 0, backups,
 * down marks, avoidance on retry, least connections, random weights. */
#include <string.h>
#include "tap.h"
#include "worker/bend.c"
#include "worker/transport.c"
/* The TLS side of bends (--tls clusters); tlsctx.c's lookup renamed, so
 * that router.c's can share the file. */
#include "worker/tls.c"
#include "worker/tlsclient.c"
#define lookup tlsctx_lookup
#include "worker/tlsctx.c"
#undef lookup
#include "worker/tlshello.c"
#include "worker/tlskeys.c"
#include "worker/tlspeer.c"
#include "worker/lb.c"

/* The protocol tables bends name (back.c, h2client.c): not under test here. */
const kk_client_ops kk_h1_client_ops, kk_h2_client_ops;
struct kk_stats kk_stats;

static kk_bend bends[4];
static kk_rbackend rb[4];
static kk_rcluster cl;

static void
setup(enum kk_lb lb, unsigned n, const unsigned *w, const int *backup)
{
	unsigned i;
	memset(bends, 0, sizeof bends);
	memset(rb, 0, sizeof rb);
	for (i = 0; i < n; i++) {
		rb[i].bend = &bends[i];
		rb[i].weight = w[i];
		rb[i].backup = backup ? backup[i] : 0;
		rb[i].id = "x";
	}
	cl.id = "c";
	cl.lb = lb;
	cl.b = rb;
	cl.nb = n;
}

static void
sequence(char *out, unsigned count, const kk_bend *avoid, uint64_t now)
{
	unsigned i;
	for (i = 0; i < count; i++) {
		kk_rbackend *b = kk_lb_pick(&cl, avoid, now);
		out[i] = b ? (char)('a' + (b - rb)) : '-';
	}
	out[count] = 0;
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
			if (kk_lb_pick(&cl, NULL, 0) == &rb[0])
				na++;
		ok(na > 2700 && na < 3300, "random follows weights 3:1 (%u of 4000)", na);
	}
	return done();
}
