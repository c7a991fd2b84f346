/* ISC license. */
/* The metrics segment: slots found by kind and key from any mapping,
 * kept until released, a released slot's counts in the retired total,
 * sums over the stripes in use, a dead stripe's gauges settled, and the
 * three text forms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <kakehi/metrics.h>
#include "tap.h"

int
main(void)
{
	int fd = kk_metrics_create(), s1, s2, s3, sl;
	kk_metrics *a, *b;
	kk_mcount sum, *c;
	kk_metrics_filter f = { "app", NULL };
	kk_str out = KK_STR_ZERO;

	ok(fd >= 0, "a segment is created");
	a = kk_metrics_map(fd);
	b = kk_metrics_map(fd);
	ok(a && b, "and mapped twice");
	is_int(kk_metrics_find(a, KK_METRICS_CLUSTER, "app", NULL), -1, "no slot before assign");
	s1 = kk_metrics_assign(a, KK_METRICS_CLUSTER, "app", NULL);
	s2 = kk_metrics_assign(a, KK_METRICS_BACKEND, "app", "b1");
	s3 = kk_metrics_assign(a, KK_METRICS_BACKEND, "other", "b1");
	sl = kk_metrics_assign(a, KK_METRICS_LISTENER, "127.0.0.1:80", NULL);
	ok(s1 >= 0 && s2 >= 0 && s3 >= 0 && sl >= 0, "four objects get slots");
	ok(s1 != s2 && s2 != s3 && s1 != s3, "slots of their own");
	is_int(kk_metrics_assign(a, KK_METRICS_CLUSTER, "app", NULL), s1, "assign again: the same");
	is_int(kk_metrics_find(b, KK_METRICS_BACKEND, "app", "b1"), s2,
	    "the other mapping finds it");
	is_int(kk_metrics_find(b, KK_METRICS_CLUSTER, "b1", NULL), -1, "kind is part of the key");

	kk_metrics_stripe_use(a, 0);
	kk_metrics_stripe_use(a, 5);
	c = kk_metrics_count(b, 0, (unsigned)s2);
	c->requests = 3;
	c->ended = 2;
	c->status[kk_metrics_status_index(404)] = 3;
	kk_mhist_record(&c->total, 100);
	c = kk_metrics_count(b, 5, (unsigned)s2);
	c->requests = 4;
	c->ended = 4;
	c->down_until = 77;
	kk_mhist_record(&c->total, 200);
	kk_metrics_count(b, 7, (unsigned)s2)->requests = 1000;	/* a stripe not in use */
	kk_metrics_sum(a, (unsigned)s2, &sum);
	is_int(sum.requests, 7, "the sum adds the stripes in use");
	is_int(sum.requests - sum.ended, 1, "one request in flight");
	is_int(kk_mhist_count(&sum.total), 2, "histograms merged");
	is_int(sum.down_until, 77, "down_until: the latest");
	is_int(kk_metrics_status_index(404) >= 0, 1, "404 counted apart");
	is_int(kk_metrics_status_index(299), -1, "299 in its class only");
	is_int(kk_metrics_status_index(0), -1, "0 is no status");
	is_int(kk_metrics_status_code((unsigned)kk_metrics_status_index(503)), 503, "index back to 503");

	kk_metrics_settle(a, 0);
	kk_metrics_sum(a, (unsigned)s2, &sum);
	is_int(sum.requests - sum.ended, 0, "a dead stripe settled: nothing in flight");
	is_int(sum.requests, 7, "and nothing lost");

	ok(kk_metrics_print(&out, a, NULL, KK_METRICS_TEXT, 100), "text");
	ok(strstr(out.s, "backend app b1 health up requests 7 ") != 0, "backend line");
	ok(strstr(out.s, "status-404 3") != 0, "its 404s");
	kk_str_reset(&out);
	ok(kk_metrics_print(&out, a, NULL, KK_METRICS_TEXT, 50), "text, before down_until");
	ok(strstr(out.s, "backend app b1 health down ") != 0, "down while a worker avoids it");
	kk_str_reset(&out);
	ok(kk_metrics_print(&out, a, &f, KK_METRICS_TEXT, 100), "text, --cluster app");
	ok(!strstr(out.s, "other") && !strstr(out.s, "listener") && !strstr(out.s, "retired"),
	    "only the cluster and its backends");
	kk_str_reset(&out);
	f.cluster = NULL;
	f.backend = "b1";
	ok(kk_metrics_print(&out, a, &f, KK_METRICS_JSON, 100), "json, --backend b1");
	ok(strstr(out.s, "\"backends\":[{\"cluster\":\"app\",\"id\":\"b1\"") != 0
	    && strstr(out.s, "{\"cluster\":\"other\",\"id\":\"b1\"") != 0
	    && strstr(out.s, "\"clusters\":[]") != 0, "both b1s, no cluster");
	kk_str_reset(&out);
	ok(kk_metrics_print(&out, a, NULL, KK_METRICS_PROMETHEUS, 100), "prometheus");
	ok(strstr(out.s, "# TYPE kakehi_backend_requests_total counter\n") != 0, "a TYPE line");
	ok(strstr(out.s, "kakehi_backend_requests_total{cluster=\"app\",backend=\"b1\"} 7\n") != 0,
	    "a sample with its labels");
	ok(strstr(out.s, "kakehi_backend_responses_status_total{cluster=\"app\",backend=\"b1\","
	    "status=\"404\"} 3\n") != 0, "by status");

	{
		/* In parts of about 100 bytes, each form is what it is whole. */
		enum kk_metrics_format fm[] = { KK_METRICS_TEXT, KK_METRICS_JSON,
		    KK_METRICS_PROMETHEUS, KK_METRICS_HTML };
		unsigned i, same = 0, parts = 0;
		for (i = 0; i < 4; i++) {
			kk_str whole = KK_STR_ZERO, cut = KK_STR_ZERO;
			kk_metrics_printer *p = kk_metrics_printer_new(a, NULL, fm[i], 100);
			int r;
			kk_metrics_print(&whole, a, NULL, fm[i], 100);
			while (p && (r = kk_metrics_printer_next(p, &cut, 100)) > 0)
				parts++;
			kk_metrics_printer_free(p);
			same += whole.len == cut.len && !memcmp(whole.s, cut.s, whole.len);
			kk_str_free(&whole);
			kk_str_free(&cut);
		}
		is_int(same, 4, "each form in parts is the form whole");
		ok(parts > 8, "in several parts (%u)", parts);
	}

	kk_metrics_release(a, (unsigned)s2);
	is_int(kk_metrics_find(b, KK_METRICS_BACKEND, "app", "b1"), -1, "released: gone");
	is_int(a->h->retired[KK_METRICS_BACKEND].requests, 7, "its requests retired");
	is_int(a->h->retired[KK_METRICS_BACKEND].ended, 7, "nothing in flight once retired");
	is_int(kk_metrics_find(b, KK_METRICS_BACKEND, "other", "b1"), s3,
	    "a probe goes past the freed slot");
	s2 = kk_metrics_assign(a, KK_METRICS_BACKEND, "app", "b1");
	kk_metrics_sum(a, (unsigned)s2, &sum);
	is_int(sum.requests, 0, "added again: a fresh slot, from zero");
	{
		char key[KK_METRICS_KEYMAX + 1];
		memset(key, 'x', sizeof key - 1);
		key[sizeof key - 1] = 0;
		is_int(kk_metrics_assign(a, KK_METRICS_CLUSTER, key, NULL), -1, "a key too long: none");
	}
	{
		/* Past the first chunk and past several rebuilds of the index:
		 * every object keeps its slot, any mapping finds it, and the
		 * counts written before the growth are still there. */
		char id[16];
		unsigned i, n = 0, kept = 0, found = 0;
		int early = kk_metrics_assign(a, KK_METRICS_CLUSTER, "early", NULL);
		kk_metrics_count(b, 0, (unsigned)early)->requests = 5;
		for (i = 0; i < 20000; i++) {
			snprintf(id, sizeof id, "c%u", i);
			n += kk_metrics_assign(a, KK_METRICS_CLUSTER, id, NULL) >= 0;
		}
		is_int(n, 20000, "20 000 more objects get slots");
		ok(a->h->nchunks >= 5, "in chunks added as they came (%u)", a->h->nchunks);
		for (i = 0; i < 20000; i += 97) {
			int s;
			snprintf(id, sizeof id, "c%u", i);
			s = kk_metrics_find(b, KK_METRICS_CLUSTER, id, NULL);
			found += s >= 0 && kk_metrics_assign(a, KK_METRICS_CLUSTER, id, NULL) == s;
			kept++;
		}
		is_int(found, kept, "the other mapping finds them, at the slot assigned");
		is_int(kk_metrics_find(b, KK_METRICS_CLUSTER, "early", NULL), early,
		    "the first ones keep theirs");
		kk_metrics_sum(a, (unsigned)early, &sum);
		is_int(sum.requests, 5, "with their counts");
		c = kk_metrics_count(b, 5, 15000);
		ok(c != 0, "a slot of a later chunk maps in the other view");
		c->requests = 2;
		kk_metrics_sum(a, 15000, &sum);
		is_int(sum.requests, 2, "and what it counts there is summed");
		/* Churn: released and added again, slot counts stay bounded. */
		for (i = 0; i < 20000; i++) {
			snprintf(id, sizeof id, "c%u", i);
			kk_metrics_release(a, (unsigned)kk_metrics_find(a, KK_METRICS_CLUSTER, id, NULL));
		}
		n = a->h->nfresh;
		for (i = 0; i < 20000; i++) {
			snprintf(id, sizeof id, "d%u", i);
			kk_metrics_assign(a, KK_METRICS_CLUSTER, id, NULL);
		}
		is_int(a->h->nfresh, n, "freed slots are given again before fresh ones");
		is_int(kk_metrics_find(b, KK_METRICS_CLUSTER, "c7", NULL), -1, "released: gone");
		ok(kk_metrics_find(b, KK_METRICS_CLUSTER, "d7", NULL) >= 0, "the new ones found");
		kk_metrics_sum(a, 15000, &sum);
		is_int(sum.requests, 0, "a slot given again starts from zero");
	}
	{
		/* A slot no worker wrote is not read: its pages stay holes, so a
		 * sum of a million idle objects costs no memory. */
		struct stat st;
		ok(kk_metrics_print(&out, a, NULL, KK_METRICS_PROMETHEUS, 100), "all printed");
		ok(fstat(fd, &st) == 0, "the segment's size");
		ok((uint64_t)st.st_blocks * 512 < (uint64_t)a->h->nfresh * sizeof(kk_mcount) / 2,
		    "after a print of %u objects in 2 stripes, %llu KiB of memory for %llu KiB"
		    " of counters", a->h->nused, (unsigned long long)st.st_blocks / 2,
		    (unsigned long long)a->h->nfresh * 2 * sizeof(kk_mcount) / 1024);
		kk_str_reset(&out);
	}
	ok(!kk_metrics_map(-1), "a bad fd is refused");
	kk_str_free(&out);
	kk_metrics_unmap(a);
	kk_metrics_unmap(b);
	close(fd);
	return done();
}
