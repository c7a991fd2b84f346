/* ISC license. */
/* Router snapshots: host exact, wildcard suffixes (longest first), any
 * host; exact path before regexes before prefixes, longest prefix first,
 * header, cookie and query matches, methods; on tcp
 * listeners, server names with the same precedence, then the default.
 * Snapshots updated from a journal route as full builds do, share what
 * did not change, and leave the snapshot they came from as it was. */
#include <stdint.h>
#include <string.h>
#include <kakehi/state.h>
#include <kakehi/statejournal.h>
#include "tap.h"
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
#include "worker/answer.c"
#include "worker/edit.c"
#include "worker/auth.c"
#include "worker/lb.c"
#include "worker/wmetrics.c"
#include "worker/router.c"

/* The frontend's --hsts of the route matched last; the tests here look at clusters. */
static unsigned long route_hsts;

/* The protocol tables bends name (back.c, h2client.c): not under test here. */
const kk_client_ops kk_h1_client_ops, kk_h2_client_ops;
struct kk_stats kk_stats;
/* auth.c reads the clock; the router tests verify no password. */
uint64_t kk_now_ms, kk_now_us;
void kk_loop_clock(void) {}

/* A request with no fields and no query. */
static kk_rcluster *
match_plain(const kk_rlistener *l, const char *host, size_t hlen, const char *path,
    size_t plen, const char *method, size_t mlen, unsigned long *hsts)
{
	kk_rreq r;
	memset(&r, 0, sizeof r);
	r.host = host;
	r.hlen = hlen;
	r.path = path;
	r.plen = plen;
	r.method = method;
	r.mlen = mlen;
	const char *actions;
	return kk_router_match(l, &r, hsts, &actions);
}

static kk_router *
build(const char *text)
{
	kk_state st;
	char err[512];
	kk_router *r;
	kk_state_init(&st);
	if (!kk_state_load_text(&st, text, strlen(text), "test", err, sizeof err)) {
		printf("# %s\n", err);
		return NULL;
	}
	r = kk_router_build(&st, 7);
	kk_state_free(&st);
	return r;
}

static const char *
match(kk_router *r, const char *host, const char *path, const char *method)
{
	kk_rlistener *l = kk_router_listener(r, "127.0.0.1:8080");
	kk_rcluster *c;
	if (!l)
		return "no listener";
	c = match_plain(l, host, strlen(host), path, strlen(path), method, strlen(method),
	    &route_hsts);
	return c ? c->id : NULL;
}

static const char conf[] =
	"listener add http 127.0.0.1:8080\n"
	"listener add http 127.0.0.1:9090\n"
	"cluster add exact\ncluster add prefix\ncluster add longer\ncluster add wild\n"
	"cluster add deepwild\ncluster add any\ncluster add post\ncluster add rootpath\n"
	"cluster add other\n"
	"frontend add exact --listener 127.0.0.1:8080 --host a.example.com --path-exact /x\n"
	"frontend add prefix --listener 127.0.0.1:8080 --host a.example.com --path /x\n"
	"frontend add longer --listener 127.0.0.1:8080 --host a.example.com --path /x/y\n"
	"frontend add post --listener 127.0.0.1:8080 --host a.example.com --path /x --method POST\n"
	"frontend add wild --listener 127.0.0.1:8080 --host *.example.com\n"
	"frontend add deepwild --listener 127.0.0.1:8080 --host *.b.example.com\n"
	"frontend add any --listener 127.0.0.1:8080 --path /any\n"
	"frontend add rootpath --listener 127.0.0.1:8080 --host a.example.com --path /\n"
	"frontend add other --listener 127.0.0.1:9090\n"
	"backend add exact e1 127.0.0.1:1001\n"
	"backend add wild w1 127.0.0.1:1002\n";

static const char tcp_conf[] =
	"listener add tcp 127.0.0.1:5432 --expect-proxy --front-timeout 5m\n"
	"listener add tcp 127.0.0.1:5433\n"
	"listener add http 127.0.0.1:8081 --tunnel-timeout 2m\n"
	"cluster add exact --send-proxy v2\ncluster add wild\ncluster add deep\n"
	"cluster add dflt --send-proxy v1\n"
	"frontend add wild --listener 127.0.0.1:5432 --sni *.Example.com\n"
	"frontend add dflt --listener 127.0.0.1:5432\n"
	"frontend add exact --listener 127.0.0.1:5432 --sni A.EXAMPLE.com\n"
	"frontend add deep --listener 127.0.0.1:5432 --sni *.b.example.COM\n"
	"frontend add wild --listener 127.0.0.1:5433 --sni *.example.com\n"
	"frontend add exact --listener 127.0.0.1:8081 --host a.example.com\n"
	"backend add exact e1 127.0.0.1:1001\n";

static const char *
sni(kk_router *r, const char *addr, const char *name)
{
	kk_rlistener *l = kk_router_listener(r, addr);
	kk_rcluster *c;
	if (!l)
		return "no listener";
	c = kk_router_match_sni(l, name, name ? strlen(name) : 0);
	return c ? c->id : NULL;
}

static void
test_sni(void)
{
	kk_router *r = build(tcp_conf);
	kk_rlistener *l, *l2, *h;
	ok(r != NULL, "tcp snapshot built");
	if (!r)
		return;
	is_str(sni(r, "127.0.0.1:5432", "a.example.com"), "exact", "exact name beats wildcards");
	is_str(sni(r, "127.0.0.1:5432", "z.example.com"), "wild", "wildcard matches a label");
	is_str(sni(r, "127.0.0.1:5432", "q.b.example.com"), "deep", "longest wildcard wins");
	is_str(sni(r, "127.0.0.1:5432", "x.a.example.com"), "wild",
	    "an exact name does not match its subdomains");
	is_str(sni(r, "127.0.0.1:5432", "example.com"), "dflt",
	    "wildcard does not match the bare domain: default route");
	is_str(sni(r, "127.0.0.1:5432", "other.org"), "dflt", "no name matches: default route");
	is_str(sni(r, "127.0.0.1:5432", NULL), "dflt", "no SNI: default route");
	is_str(sni(r, "127.0.0.1:5432", ""), "dflt", "empty name: default route");
	is_str(sni(r, "127.0.0.1:5433", "x.example.com"), "wild", "listeners route apart");
	is_str(sni(r, "127.0.0.1:5433", "other.org"), NULL, "no match and no default: NULL");
	is_str(sni(r, "127.0.0.1:5433", NULL), NULL, "no SNI and no default: NULL");
	l = kk_router_listener(r, "127.0.0.1:5432");
	l2 = kk_router_listener(r, "127.0.0.1:5433");
	h = kk_router_listener(r, "127.0.0.1:8081");
	ok(l && l2 && h, "listeners found");
	if (!l || !l2 || !h) {
		kk_router_unref(r);
		return;
	}
	ok(!match_plain(l, "a.example.com", 13, "/", 1, "GET", 3, &route_hsts),
	    "a tcp listener routes no http request");
	ok(!kk_router_match_sni(h, "a.example.com", 13), "an http listener routes no SNI");
	ok(match_plain(h, "a.example.com", 13, "/", 1, "GET", 3, &route_hsts) != NULL,
	    "its http routes still match");
	ok(l->proto == KK_PROTO_TCP && h->proto == KK_PROTO_HTTP, "listener kinds");
	ok(l->expect_proxy && !l2->expect_proxy && !h->expect_proxy, "expect-proxy per listener");
	is_int(l->tunnel_ms, 300000, "tcp: the tunnel idle timeout is --front-timeout");
	is_int(l2->tunnel_ms, 60000, "tcp: default --front-timeout");
	is_int(h->tunnel_ms, 120000, "http: --tunnel-timeout");
	{
		kk_rcluster *e = kk_router_match_sni(l, "a.example.com", 13);
		kk_rcluster *w = kk_router_match_sni(l, "z.example.com", 13);
		kk_rcluster *d = kk_router_match_sni(l, NULL, 0);
		ok(e && e->send_proxy == KK_SEND_PROXY_V2 && w && w->send_proxy ==
		    KK_SEND_PROXY_NONE && d && d->send_proxy == KK_SEND_PROXY_V1,
		    "send-proxy per cluster");
		ok(e && e->nb == 1, "a tcp route's cluster has its backends");
	}
	kk_router_unref(r);
	/* An http listener's default tunnel timeout. */
	r = build("listener add http 127.0.0.1:8080\n");
	l = r ? kk_router_listener(r, "127.0.0.1:8080") : NULL;
	ok(l && l->tunnel_ms == 3600000 && !l->expect_proxy, "http: tunnel timeout 1h by default");
	if (r)
		kk_router_unref(r);
}

/* The property: random batches applied to a state under a journal; after
 * each, the snapshot updated from the previous one and the one built from
 * the whole state give the same answer to every query, and the previous
 * snapshot still gives the answers it gave before. */
static uint64_t seed = 0x6b616b656869ull;

static unsigned
rnd(unsigned n)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (unsigned)(seed % n);
}

static const char *const p_listeners[] = {
	"127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:5432", "127.0.0.1:8082"
};
static const char *const p_hosts[] = {
	"h0.test", "h1.test", "h2.test", "x.w0.test", "a.b.w1.test", "w0.test", "x.h0.test",
	"", "other.org"
};
static const char *const p_paths[] = { "/", "/a", "/a/b", "/a/c", "/b" };
static const char *const p_methods[] = { "GET", "POST", "PUT" };

static void
answer(kk_str *out, const kk_rcluster *c)
{
	unsigned i;
	if (!c) {
		kk_str_cats(out, " -");
		return;
	}
	kk_str_catf(out, " %s:%d:%d[", c->id, (int)c->lb, (int)c->send_proxy);
	for (i = 0; i < c->nb; i++)
		kk_str_catf(out, "%s=%s/%u%s,", c->b[i].id, c->b[i].bend->addr_text,
		    c->b[i].weight, c->b[i].backup ? "b" : "");
	kk_str_cats(out, "]");
}

static void
answers(kk_str *out, const kk_router *r)
{
	size_t a, h, p, m;
	kk_str_reset(out);
	for (a = 0; a < sizeof p_listeners / sizeof *p_listeners; a++) {
		kk_rlistener *l = kk_router_listener(r, p_listeners[a]);
		kk_str_catf(out, "\n%s", p_listeners[a]);
		if (!l)
			continue;
		kk_str_catf(out, " %d %lu", (int)l->proto, l->front_ms);
		for (h = 0; h < sizeof p_hosts / sizeof *p_hosts; h++) {
			const char *host = p_hosts[h];
			size_t hl = strlen(host);
			answer(out, kk_router_match_sni(l, host, hl));
			for (p = 0; p < sizeof p_paths / sizeof *p_paths; p++)
				for (m = 0; m < sizeof p_methods / sizeof *p_methods; m++) {
					const char *path = p_paths[p], *meth = p_methods[m];
					answer(out, match_plain(l, host, hl, path, strlen(path),
					    meth, strlen(meth), &route_hsts));
				}
		}
	}
}

static void
random_line(kk_str *t)
{
	static const char *const paths[] = { "", " --path /a", " --path /a/b", " --path-exact /a",
	    " --path /" };
	static const char *const methods[] = { "", "", " --method GET", " --method POST" };
	static const char *const hosts[] = { "", " --host h0.test", " --host h1.test",
	    " --host h2.test", " --host *.w0.test", " --host *.b.w1.test", " --host *.h0.test" };
	static const char *const snis[] = { "", " --sni h0.test", " --sni *.w0.test",
	    " --sni h1.test", " --sni *.h0.test" };
	const char *verb = rnd(3) ? "add" : "remove";
	unsigned c = rnd(6), k = rnd(10);
	switch (rnd(7)) {
	case 0:
		kk_str_catf(t, "cluster %s c%u%s\n", verb, c, rnd(2) ? "" : " --lb random");
		break;
	case 1:
	case 2:
		if (*verb == 'a')
			kk_str_catf(t, "backend add c%u b%u 127.0.0.1:%u --weight %u%s\n", c,
			    rnd(4), 3000 + rnd(5), rnd(4), rnd(4) ? "" : " --backup");
		else
			kk_str_catf(t, "backend remove c%u b%u\n", c, rnd(4));
		break;
	case 3:
	case 4:
		kk_str_catf(t, "frontend %s c%u --listener 127.0.0.1:%s%s%s%s\n", verb, c,
		    k < 5 ? "8080" : "8081", hosts[rnd(7)], paths[rnd(5)], methods[rnd(4)]);
		break;
	case 5:
		kk_str_catf(t, "frontend %s c%u --listener 127.0.0.1:5432%s\n", verb, c,
		    snis[rnd(5)]);
		break;
	default:
		if (k == 0)
			kk_str_catf(t, "listener %s http 127.0.0.1:8082\n", verb);
		else if (k == 1)
			kk_str_cats(t, *verb == 'a' ? "listener add http 127.0.0.1:8082\n" :
			    "listener remove 127.0.0.1:8082\n");
		else
			kk_str_catf(t, "set max-connections %u\n", 100 + k);
		break;
	}
}

static void
test_property(void)
{
	kk_state st;
	kk_str t = KK_STR_ZERO, full = KK_STR_ZERO, inc = KK_STR_ZERO, before = KK_STR_ZERO;
	char err[KK_ERRLEN];
	kk_router *cur;
	unsigned step, applied = 0, same = 1, kept = 1, failed = 0;
	static const char start[] =
		"listener add http 127.0.0.1:8080\nlistener add http 127.0.0.1:8081\n"
		"listener add tcp 127.0.0.1:5432\ncluster add c0\ncluster add c1\n"
		"backend add c0 b0 127.0.0.1:3000\n";
	kk_state_init(&st);
	if (!kk_state_load_text(&st, start, strlen(start), "test", err, sizeof err))
		printf("# %s\n", err);
	cur = kk_router_build(&st, 1);
	for (step = 0; cur && step < 3000 && !failed; step++) {
		kk_journal j = KK_JOURNAL_ZERO;
		kk_router *next, *whole;
		unsigned n = 1 + rnd(3), i;
		kk_str_reset(&t);
		for (i = 0; i < n; i++)
			random_line(&t);
		if (!kk_state_apply_text_journal(&st, t.s, t.len, "delta", &j, err, sizeof err))
			continue;
		answers(&before, cur);
		next = kk_router_update(cur, &st, &j, step + 2);
		kk_journal_commit(&st, &j);
		if (!(step % 50))
			kk_state_compact(&st);
		whole = kk_router_build(&st, step + 2);
		if (!next || !whole) {
			failed = 1;
			if (next)
				kk_router_unref(next);
			if (whole)
				kk_router_unref(whole);
			break;
		}
		answers(&full, whole);
		answers(&inc, next);
		if (strcmp(full.s, inc.s)) {
			if (same)
				printf("# step %u after:\n%s# full:%s\n# incremental:%s\n", step,
				    t.s, full.s, inc.s);
			same = 0;
		}
		answers(&full, cur);
		if (strcmp(full.s, before.s))
			kept = 0;
		kk_router_unref(cur);
		kk_router_unref(whole);
		cur = next;
		applied++;
	}
	ok(!failed && applied > 500, "random batches applied");
	printf("# %u batches applied\n", applied);
	ok(same, "an updated snapshot routes as the full build of the same state");
	ok(kept, "the snapshot an update starts from is left as it was");
	if (cur)
		kk_router_unref(cur);
	kk_state_free(&st);
	kk_str_free(&t);
	kk_str_free(&full);
	kk_str_free(&inc);
	kk_str_free(&before);
	ok(kk_list_empty(kk_bend_all()), "bends freed with the last updated snapshot");
}

static kk_rcluster *
site(kk_router *r, const char *host)
{
	return match_plain(kk_router_listener(r, "127.0.0.1:8080"), host, strlen(host), "/", 1,
	    "GET", 3, &route_hsts);
}

/* What an update does not touch it shares: an unchanged cluster is the
 * same object, with its balancing state; a changed one keeps the weights
 * of the backends it keeps. */
static void
test_sharing(void)
{
	static const char start[] =
		"listener add http 127.0.0.1:8080\ncluster add a\ncluster add b\n"
		"frontend add a --listener 127.0.0.1:8080 --host a.test\n"
		"frontend add b --listener 127.0.0.1:8080 --host b.test\n"
		"backend add a a1 127.0.0.1:3001 --weight 5\nbackend add a a2 127.0.0.1:3002\n"
		"backend add b b1 127.0.0.1:3003\n";
	static const char delta1[] = "backend add b b2 127.0.0.1:3004\n";
	static const char delta2[] = "backend remove a a1\nbackend add a a3 127.0.0.1:3005\n";
	kk_state st;
	kk_journal j = KK_JOURNAL_ZERO;
	char err[KK_ERRLEN];
	kk_router *r1, *r2, *r3;
	kk_rcluster *a1, *a2, *b1, *b2, *a3;
	kk_state_init(&st);
	kk_state_load_text(&st, start, strlen(start), "test", err, sizeof err);
	r1 = kk_router_build(&st, 1);
	a1 = site(r1, "a.test");
	b1 = site(r1, "b.test");
	a1->b[1].cw = 42;
	ok(kk_state_apply_text_journal(&st, delta1, strlen(delta1), "d", &j, err, sizeof err),
	    "delta applied");
	r2 = kk_router_update(r1, &st, &j, 2);
	kk_journal_commit(&st, &j);
	a2 = site(r2, "a.test");
	b2 = site(r2, "b.test");
	ok(a2 == a1, "an unchanged cluster is shared, balancing state and all");
	ok(b2 != b1 && b1->nb == 1 && b2->nb == 2, "a changed cluster is new; the old one stays");
	ok(kk_state_apply_text_journal(&st, delta2, strlen(delta2), "d", &j, err, sizeof err),
	    "second delta applied");
	r3 = kk_router_update(r2, &st, &j, 3);
	kk_journal_commit(&st, &j);
	a3 = site(r3, "a.test");
	ok(a3 && a3->nb == 2 && !strcmp(a3->b[0].id, "a2") && a3->b[0].cw == 42
	    && !strcmp(a3->b[1].id, "a3"), "a kept backend keeps its round-robin weight");
	kk_router_unref(r1);
	kk_router_unref(r2);
	ok(a3->b[0].bend->refs == 1, "bends of freed snapshots released");
	kk_router_unref(r3);
	kk_state_free(&st);
}

/* A request for the matches tests: fields as "Name: value" lines. */
static const char *
ask(kk_router *r, const char *host, const char *target, const char *fields)
{
	static kk_fields fl;
	static char text[4096];
	kk_rlistener *l = kk_router_listener(r, "127.0.0.1:8080");
	const char *q = strchr(target, '?'), *p, *actions;
	kk_rcluster *c;
	kk_rreq rq;
	memset(&rq, 0, sizeof rq);
	memset(&fl, 0, sizeof fl);
	snprintf(text, sizeof text, "%s", fields ? fields : "");
	fl.base = text;
	for (p = text; *p; ) {
		const char *colon = strchr(p, ':'), *end = strchr(p, '\n');
		kk_field *f = &fl.f[fl.n++];
		if (!end)
			end = p + strlen(p);
		f->name.off = (uint32_t)(p - text);
		f->name.len = (uint32_t)(colon - p);
		f->value.off = (uint32_t)(colon + 2 - text);
		f->value.len = (uint32_t)(end - colon - 2);
		p = *end ? end + 1 : end;
	}
	rq.host = host;
	rq.hlen = strlen(host);
	rq.path = target;
	rq.plen = q ? (size_t)(q - target) : strlen(target);
	rq.query = q ? q + 1 : NULL;
	rq.qlen = q ? strlen(q + 1) : 0;
	rq.method = "GET";
	rq.mlen = 3;
	rq.fl = &fl;
	c = kk_router_match(l, &rq, &route_hsts, &actions);
	return c ? c->id : NULL;
}

static const char matches_conf[] =
	"listener add http 127.0.0.1:8080\n"
	"cluster add ex\ncluster add rx\ncluster add rx2\ncluster add pre\ncluster add hdr\n"
	"cluster add ck\ncluster add qy\ncluster add ua\ncluster add slow\ncluster add multi\n"
	"cluster add wild\ncluster add any\n"
	"frontend add pre --listener 127.0.0.1:8080 --host a.test --path /p\n"
	"frontend add rx --listener 127.0.0.1:8080 --host a.test --path-regex '^/v[0-9]+/'\n"
	"frontend add rx2 --listener 127.0.0.1:8080 --host a.test --path-regex ^/v1\n"
	"frontend add ex --listener 127.0.0.1:8080 --host a.test --path-exact /v1/x\n"
	"frontend add hdr --listener 127.0.0.1:8080 --host a.test --path /p --header X-Beta=yes\n"
	"frontend add ck --listener 127.0.0.1:8080 --host a.test --path /p --cookie s=abc\n"
	"frontend add qy --listener 127.0.0.1:8080 --host a.test --path /p --query debug\n"
	"frontend add ua --listener 127.0.0.1:8080 --host a.test --path /p "
	    "--header 'user-agent~^curl/'\n"
	"frontend add slow --listener 127.0.0.1:8080 --host a.test --path-regex '^/(a+)+$'\n"
	"frontend add multi --listener 127.0.0.1:8080 --host a.test --path /m --header x-a "
	    "--query q=1\n"
	"frontend add wild --listener 127.0.0.1:8080 --host *.test\n"
	"frontend add any --listener 127.0.0.1:8080\n";

static void
test_matches(void)
{
	static char longpath[20000];
	kk_router *r = build(matches_conf);
	uint64_t stopped;
	ok(r != NULL, "matches: snapshot built");
	if (!r)
		return;
	is_str(ask(r, "a.test", "/v1/x", NULL), "ex", "exact path before a regex");
	is_str(ask(r, "a.test", "/v22/y", NULL), "rx", "regex before prefixes");
	is_str(ask(r, "a.test", "/v1/y", NULL), "rx", "regexes in the order they were added");
	is_str(ask(r, "a.test", "/v1y", NULL), "rx2", "the next regex when the first fails");
	is_str(ask(r, "a.test", "/p", NULL), "pre", "prefix without extra matches");
	is_str(ask(r, "a.test", "/p", "X-BETA: yes"), "hdr", "header value, name in any case");
	is_str(ask(r, "a.test", "/p", "x-beta: Yes"), "pre", "header value compared exactly");
	is_str(ask(r, "a.test", "/p", "Cookie: t=1; s=abc"), "ck", "cookie among others");
	is_str(ask(r, "a.test", "/p", "cookie: t=1\nCookie: s=abc"), "ck", "cookie of a second field");
	is_str(ask(r, "a.test", "/p", "Cookie: s=abcd"), "pre", "cookie value compared whole");
	is_str(ask(r, "a.test", "/p", "X-S: s=abc"), "pre", "cookies only from Cookie fields");
	is_str(ask(r, "a.test", "/p?debug", NULL), "qy", "query parameter present");
	is_str(ask(r, "a.test", "/p?x=1&debug=0", NULL), "qy", "query parameter with a value");
	is_str(ask(r, "a.test", "/p?debugx=1", NULL), "pre", "query parameter named exactly");
	is_str(ask(r, "a.test", "/p", "User-Agent: curl/8.0"), "ua", "header regex");
	is_str(ask(r, "a.test", "/p", "User-Agent: xcurl/8.0"), "pre", "header regex that fails");
	is_str(ask(r, "a.test", "/p", "X-Beta: yes\nCookie: s=abc"), "hdr",
	    "several routes hold: the order of definition");
	is_str(ask(r, "a.test", "/m?q=1", "X-A: 1"), "multi", "all extra matches hold");
	is_str(ask(r, "a.test", "/m?q=1", NULL), "wild", "one fails: the next group's route");
	is_str(ask(r, "a.test", "/m?q=2", "x-a: "), "wild", "query value compared exactly");
	is_str(ask(r, "a.test", "/aaaa", NULL), "slow", "the slow regex matches a short path");
	memset(longpath, 'a', sizeof longpath - 2);
	longpath[0] = '/';
	longpath[sizeof longpath - 2] = 'b';
	stopped = kk_stats.regex_stopped;
	is_str(ask(r, "a.test", longpath, NULL), "wild", "backtracking stopped: no match");
	ok(kk_stats.regex_stopped == stopped + 1, "the stop is counted");
	is_str(ask(r, "b.test", "/p", "X-Beta: yes"), "wild", "another host's extras do not apply");
	is_str(ask(r, "other", "/p", NULL), "any", "no host route: host-less frontend");
	kk_router_unref(r);

	/* The same after an update that removes and adds routes with extras. */
	{
		static const char delta[] =
		    "frontend remove hdr --listener 127.0.0.1:8080 --host a.test --path /p "
		    "--header x-beta=yes\n"
		    "frontend add hdr --listener 127.0.0.1:8080 --host a.test --path /p "
		    "--header x-beta=no\n";
		kk_state st;
		kk_journal j = KK_JOURNAL_ZERO;
		char err[KK_ERRLEN];
		kk_router *r1, *r2;
		kk_state_init(&st);
		kk_state_load_text(&st, matches_conf, strlen(matches_conf), "test", err, sizeof err);
		r1 = kk_router_build(&st, 1);
		ok(kk_state_apply_text_journal(&st, delta, strlen(delta), "d", &j, err, sizeof err),
		    "matches: delta applied");
		r2 = kk_router_update(r1, &st, &j, 2);
		kk_journal_commit(&st, &j);
		is_str(ask(r2, "a.test", "/p", "x-beta: yes"), "pre", "update: removed route gone");
		is_str(ask(r2, "a.test", "/p", "x-beta: no"), "hdr", "update: added route found");
		is_str(ask(r2, "a.test", "/v2/", NULL), "rx", "update: regexes compiled again");
		is_str(ask(r1, "a.test", "/p", "x-beta: yes"), "hdr", "update: base unchanged");
		kk_router_unref(r1);
		kk_router_unref(r2);
		kk_state_free(&st);
	}
}

/* --tls clusters: their backends are bends of their own (the same address
 * plain is another pool), clusters with equal settings share the context
 * and so the bends, whether built whole or added by an update; the
 * context goes with the last snapshot and bend. */
static void
test_tls(void)
{
	static const char start[] =
		"listener add http 127.0.0.1:8080\ncluster add p\n"
		"cluster add t --tls --sni x.test\n"
		"frontend add p --listener 127.0.0.1:8080 --host p.test\n"
		"frontend add t --listener 127.0.0.1:8080 --host t.test\n"
		"backend add p p1 127.0.0.1:3001\nbackend add t t1 127.0.0.1:3001\n";
	static const char delta[] = "cluster add u --tls --sni x.test\n"
		"cluster add v --tls --no-verify\n"
		"frontend add u --listener 127.0.0.1:8080 --host u.test\n"
		"frontend add v --listener 127.0.0.1:8080 --host v.test\n"
		"backend add u u1 127.0.0.1:3001\nbackend add v v1 127.0.0.1:3001\n";
	kk_state st;
	kk_journal j = KK_JOURNAL_ZERO;
	char err[KK_ERRLEN];
	kk_router *r1, *r2;
	kk_rcluster *p, *t, *u, *v;
	kk_state_init(&st);
	ok(kk_state_load_text(&st, start, strlen(start), "test", err, sizeof err),
	    "--tls clusters load");
	r1 = kk_router_build(&st, 1);
	p = site(r1, "p.test");
	t = site(r1, "t.test");
	ok(p && t && !p->tls && t->tls, "a --tls cluster has a TLS context, a plain one none");
	ok(p && t && p->b[0].bend != t->b[0].bend && t->b[0].bend->tls == t->tls
	    && t->b[0].bend->tp == &kk_transport_tls && p->b[0].bend->tp == &kk_transport_plain,
	    "one address, plain and TLS: two bends, each with its transport");
	ok(kk_state_apply_text_journal(&st, delta, strlen(delta), "d", &j, err, sizeof err),
	    "delta applied");
	r2 = kk_router_update(r1, &st, &j, 2);
	kk_journal_commit(&st, &j);
	u = site(r2, "u.test");
	v = site(r2, "v.test");
	ok(u && v && u->tls == t->tls && u->b[0].bend == t->b[0].bend,
	    "an added cluster with the same settings shares the context and the bend");
	ok(u && v && v->tls && v->tls != t->tls && v->b[0].bend != t->b[0].bend,
	    "other settings: another context, another bend");
	kk_router_unref(r1);
	kk_router_unref(r2);
	ok(kk_list_empty(kk_bend_all()) && !clients.n,
	    "bends and contexts freed with the last snapshot");
	kk_state_free(&st);
}

/* --h2 clusters: the same address over HTTP/2 and HTTP/1.1 is two bends,
 * each naming its protocol's table; two --h2 clusters share one. */
static void
test_h2(void)
{
	static const char text[] =
		"listener add http 127.0.0.1:8080\ncluster add p\ncluster add h --h2\n"
		"cluster add g --h2\n"
		"frontend add p --listener 127.0.0.1:8080 --host p.test\n"
		"frontend add h --listener 127.0.0.1:8080 --host h.test\n"
		"frontend add g --listener 127.0.0.1:8080 --host g.test\n"
		"backend add p p1 127.0.0.1:3001\nbackend add h h1 127.0.0.1:3001\n"
		"backend add g g1 127.0.0.1:3001\n";
	kk_router *r = build(text);
	kk_rcluster *p = r ? site(r, "p.test") : NULL, *h = r ? site(r, "h.test") : NULL;
	kk_rcluster *g = r ? site(r, "g.test") : NULL;
	ok(p && h && g && !p->h2 && h->h2, "--h2 reaches the snapshot");
	ok(p && h && g && p->b[0].bend != h->b[0].bend &&
	    p->b[0].bend->proto == &kk_h1_client_ops && h->b[0].bend->proto == &kk_h2_client_ops,
	    "one address, HTTP/1.1 and HTTP/2: two bends, each with its protocol");
	ok(h && g && h->b[0].bend == g->b[0].bend, "two --h2 clusters share the bend");
	kk_router_unref(r);
	ok(kk_list_empty(kk_bend_all()), "bends freed with the snapshot");
}

int
main(void)
{
	kk_router *r = build(conf);
	ok(r != NULL, "snapshot built");
	if (!r)
		return done();
	is_int(r->generation, 7, "generation recorded");
	is_str(match(r, "a.example.com", "/x", "GET"), "exact", "exact path beats prefixes");
	is_str(match(r, "a.example.com", "/x/y/z", "GET"), "longer", "longest prefix wins");
	is_str(match(r, "a.example.com", "/x/q", "GET"), "prefix", "shorter prefix when the longer fails");
	is_str(match(r, "a.example.com", "/x/q", "POST"), "post", "method-specific route first at equal path");
	is_str(match(r, "a.example.com", "/other", "GET"), "rootpath", "root prefix catches the rest");
	is_str(match(r, "z.example.com", "/x", "GET"), "wild", "wildcard matches a label");
	is_str(match(r, "q.b.example.com", "/", "GET"), "deepwild", "longest wildcard suffix wins");
	is_str(match(r, "q.r.b.example.com", "/", "GET"), "deepwild", "wildcard matches several labels");
	is_str(match(r, "example.com", "/x", "GET"), NULL, "wildcard does not match the bare domain");
	is_str(match(r, "example.com", "/any/thing", "GET"), "any", "host-less frontend catches other hosts");
	is_str(match(r, "", "/any", "GET"), "any", "no host: host-less frontends only");
	is_str(match(r, "nowhere.org", "/", "GET"), NULL, "nothing matches: 404");
	{
		kk_rlistener *l = kk_router_listener(r, "127.0.0.1:9090");
		kk_rcluster *c = l ? match_plain(l, "a.example.com", 13, "/x", 2, "GET", 3,
		    &route_hsts) : NULL;
		is_str(c ? c->id : NULL, "other", "listeners route independently");
		is_str(l ? l->port : NULL, "9090", "listener port kept for X-Forwarded-Port");
	}
	ok(kk_router_listener(r, "127.0.0.1:1") == NULL, "unknown listener");
	{
		kk_rlistener *l = kk_router_listener(r, "127.0.0.1:8080");
		kk_rcluster *c = match_plain(l, "a.example.com", 13, "/x", 2, "GET", 3,
		    &route_hsts);
		is_int(c->nb, 1, "cluster has its backends");
		is_str(c->b[0].bend->addr_text, "127.0.0.1:1001", "backend address");
	}
	/* Bends are shared by address across snapshots and freed with the
	 * last one. */
	{
		kk_router *r2 = build(conf);
		kk_rlistener *l1 = kk_router_listener(r, "127.0.0.1:8080");
		kk_rlistener *l2 = kk_router_listener(r2, "127.0.0.1:8080");
		kk_rcluster *c1 = match_plain(l1, "x.example.com", 13, "/", 1, "GET", 3,
		    &route_hsts);
		kk_rcluster *c2 = match_plain(l2, "x.example.com", 13, "/", 1, "GET", 3,
		    &route_hsts);
		ok(c1->b[0].bend == c2->b[0].bend, "same address, same bend across generations");
		is_int(c1->b[0].bend->refs, 2, "bend referenced by both snapshots");
		kk_router_unref(r2);
		is_int(c1->b[0].bend->refs, 1, "reference dropped with the snapshot");
	}
	kk_router_unref(r);
	ok(kk_list_empty(kk_bend_all()), "bends freed with the last snapshot");
	test_matches();

	/* Many hosts: lookups stay exact. */
	{
		kk_str t = KK_STR_ZERO;
		int i, good = 1;
		kk_str_cats(&t, "listener add http 127.0.0.1:8080\ncluster add c\n");
		for (i = 0; i < 500; i++)
			kk_str_catf(&t, "frontend add c --listener 127.0.0.1:8080 --host h%d.test --path-exact /%d\n", i, i);
		r = build(t.s);
		for (i = 0; r && i < 500; i++) {
			char host[32], path[32];
			snprintf(host, sizeof host, "h%d.test", i);
			snprintf(path, sizeof path, "/%d", i);
			if (!match(r, host, path, "GET"))
				good = 0;
			snprintf(path, sizeof path, "/%d", i + 1000);
			if (match(r, host, path, "GET"))
				good = 0;
		}
		ok(r && good, "500 hosts, each found with its own path only");
		if (r)
			kk_router_unref(r);
		kk_str_free(&t);
	}

	/* A state changed verb by verb holds removed slots (see state.h):
	 * the snapshot skips them, and keeps each cluster's backends in state
	 * order, however the backends of clusters interleave. */
	{
		kk_str t = KK_STR_ZERO;
		kk_state st;
		char err[512];
		int i, good = 1;
		kk_state_init(&st);
		kk_str_cats(&t, "listener add http 127.0.0.1:8080\n");
		for (i = 0; i < 40; i++)
			kk_str_catf(&t, "cluster add s%d\nfrontend add s%d --listener 127.0.0.1:8080 "
			    "--host s%d.test\n", i, i, i);
		for (i = 0; i < 120; i++)
			kk_str_catf(&t, "backend add s%d b%d 127.0.0.1:%d\n", i % 40, i, 2000 + i);
		if (!kk_state_load_text(&st, t.s, t.len, "test", err, sizeof err))
			printf("# %s\n", err);
		kk_str_reset(&t);
		/* Remove site 3 whole and backend b45 (of s5): slots empty. */
		kk_str_cats(&t, "frontend remove s3 --listener 127.0.0.1:8080 --host s3.test\n"
		    "backend remove s3 b3\nbackend remove s3 b43\nbackend remove s3 b83\n"
		    "cluster remove s3\nbackend remove s5 b45\n");
		for (char *line = strtok(t.s, "\n"); line; line = strtok(NULL, "\n")) {
			char *argv[KK_LINE_MAXWORDS];
			unsigned argc;
			kk_verb v;
			if (!kk_line_split(line, argv, KK_LINE_MAXWORDS, &argc, err, sizeof err)
			    || !kk_verb_parse(&v, argc, (const char *const *)argv, err, sizeof err)
			    || !kk_state_apply(&st, &v, err, sizeof err))
				printf("# %s\n", err), good = 0;
		}
		ok(good && st.dclusters == 1 && st.dbackends == 4, "the state holds removed slots");
		r = kk_router_build(&st, 8);
		ok(r && r->nc == 39, "removed cluster left out of the snapshot");
		is_str(r ? match(r, "s3.test", "/", "GET") : "", NULL, "removed frontend left out");
		{
			kk_rlistener *l = r ? kk_router_listener(r, "127.0.0.1:8080") : NULL;
			kk_rcluster *c5 = l ? match_plain(l, "s5.test", 7, "/", 1, "GET", 3,
			    &route_hsts) : NULL;
			kk_rcluster *c7 = l ? match_plain(l, "s7.test", 7, "/", 1, "GET", 3,
			    &route_hsts) : NULL;
			ok(c5 && c5->nb == 2 && !strcmp(c5->b[0].id, "b5")
			    && !strcmp(c5->b[1].id, "b85"), "removed backend left out, order kept");
			ok(c7 && c7->nb == 3 && !strcmp(c7->b[0].id, "b7") && !strcmp(c7->b[1].id, "b47")
			    && !strcmp(c7->b[2].id, "b87"), "backends in state order");
		}
		if (r)
			kk_router_unref(r);
		kk_state_free(&st);
		kk_str_free(&t);
	}
	test_sni();
	ok(kk_list_empty(kk_bend_all()), "bends freed with the last tcp snapshot");
	test_sharing();
	test_tls();
	test_h2();
	test_property();
	return done();
}
