/* ISC license. */
/* The stats page (metricshtml.c): ids escaped in text and attributes,
 * each number cell naming its JSON member with the JSON's value, the
 * backend's state, errors from the closes, an empty kind's "none" row,
 * and a size bounded by the directory when it is full. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kakehi/metrics.h>
#include "tap.h"

#define HOSTILE "<script>x&\"y'</script>\x01"
#define ESCAPED "&lt;script&gt;x&amp;&quot;y&#39;&lt;/script&gt;&#1;"

static unsigned
count(const char *s, const char *w)
{
	unsigned n = 0;
	for (; (s = strstr(s, w)); s += strlen(w))
		n++;
	return n;
}

int
main(void)
{
	int fd = kk_metrics_create(), sc, sb;
	kk_metrics *m;
	kk_mcount *c;
	kk_str out = KK_STR_ZERO, js = KK_STR_ZERO;
	unsigned i;
	size_t one;

	ok(fd >= 0 && (m = kk_metrics_map(fd)) != 0, "a segment");
	kk_metrics_stripe_use(m, 0);
	sc = kk_metrics_assign(m, KK_METRICS_CLUSTER, HOSTILE, NULL);
	sb = kk_metrics_assign(m, KK_METRICS_BACKEND, HOSTILE, "b<1>");
	ok(sc >= 0 && sb >= 0, "a cluster and a backend with hostile ids");
	c = kk_metrics_count(m, 0, (unsigned)sb);
	c->requests = 12;
	c->ended = 9;
	c->responses[2] = 7;
	c->responses[5] = 2;
	c->closes[0] = 6;	/* done: not an error */
	c->closes[7] = 2;	/* bad-request */
	c->closes[28] = 1;	/* back-timeout */
	c->down_until = 500;

	ok(kk_metrics_print(&out, m, NULL, KK_METRICS_HTML, 100), "the page");
	ok(!strstr(out.s, "<script>x"), "the id never raw");
	is_int(count(out.s, "<script>"), 1, "one script: the page's own");
	is_int(count(out.s, "data-a=\"" ESCAPED "\""), 2, "escaped in the attributes");
	is_int(count(out.s, "<td class=\"k\">" ESCAPED "</td>"), 2, "and in the text");
	ok(strstr(out.s, "data-b=\"b&lt;1&gt;\"") != 0, "the backend id too");
	ok(strstr(out.s, "<td class=\"down\" data-f=\"health\">down</td>") != 0,
	    "the backend is down while a worker avoids it");
	ok(strstr(out.s, "<td data-f=\"requests\">12</td><td data-rate=\"requests\">") != 0,
	    "requests, then the rate cell the script fills");
	ok(strstr(out.s, "<td data-f=\"requests_active\">3</td>") != 0, "in flight: a gauge");
	ok(strstr(out.s, "<td data-f=\"responses.5xx\">2</td>") != 0, "5xx");
	ok(strstr(out.s, "<td data-f=\"errors\">3</td>") != 0, "errors: the closes not ordinary");
	ok(strstr(out.s, "<table id=\"listeners\">") && strstr(out.s, ">none</td>"),
	    "no listener: a none row");
	ok(strstr(out.s, "<noscript><meta http-equiv=\"refresh\"") != 0,
	    "reloads itself with scripts off");
	ok(kk_metrics_print(&js, m, NULL, KK_METRICS_JSON, 100), "the JSON");
	ok(strstr(js.s, "\"errors\":3") != 0, "with the same errors");

	/* Many objects: the page grows with its rows only. */
	one = out.len;
	for (i = 0; i < 2000; i++) {
		char id[32];
		snprintf(id, sizeof id, "c%u", i);
		kk_metrics_assign(m, KK_METRICS_CLUSTER, id, NULL);
	}
	kk_str_reset(&out);
	ok(kk_metrics_print(&out, m, NULL, KK_METRICS_HTML, 100), "the page of 2 000 more");
	ok(out.len < one + (size_t)2000 * 1024, "under 1 KiB a row (%zu bytes)",
	    out.len);
	kk_str_free(&out);
	kk_str_free(&js);
	kk_metrics_unmap(m);
	close(fd);
	return done();
}
