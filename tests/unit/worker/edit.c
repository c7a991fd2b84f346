/* ISC license. */
/* Header edits on heads built by hand, as a parser and the forwarding
 * rules leave them: order of the edits, names in any case, the fields
 * the client sent and those an edit added, a 1xx response left alone,
 * and the room of a head. */
#include <stdio.h>
#include <string.h>
#include "tap.h"
#include "worker/reqid.c"
#include "worker/head.c"
#include "worker/edit.c"

struct kk_stats kk_stats;

static kk_reqhead h;
static kk_resphead rh;
static char in[1024];

/* Fills fl from a "Name: value" line per field, kept in in[]. */
static void
parse(kk_fields *fl, const char *lines)
{
	char *p, *nl;
	snprintf(in, sizeof in, "%s", lines);
	fl->base = in;
	fl->n = 0;
	for (p = in; *p; p = nl + 1) {
		kk_field *f = &fl->f[fl->n++];
		char *colon = strchr(p, ':');
		nl = strchr(p, '\n');
		f->name.off = (uint32_t)(p - in);
		f->name.len = (uint32_t)(colon - p);
		f->value.off = (uint32_t)(colon + 2 - in);
		f->value.len = (uint32_t)(nl - colon - 2);
		f->id = (unsigned char)kk_field_id(p, f->name.len);
		f->fwd = 1;
	}
}

/* What goes on of fields[0, n) of base, appended to out as lines. */
static void
cat_kept(char *out, size_t cap, const char *base, const kk_field *fields, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fields[i].fwd)
			snprintf(out + strlen(out), cap - strlen(out), "%.*s: %.*s\n",
			    (int)fields[i].name.len, base + fields[i].name.off,
			    (int)fields[i].value.len, base + fields[i].value.off);
}

/* The request upstream after the forwarding rules and the edits: its
 * fields, then the added ones but the forwarding rules' own (X-F*). */
static const char *
request(const char *lines, const char *actions)
{
	static char out[2048];
	kk_fwd fwd = { .client = "192.0.2.1", .port = NULL, .fields = KK_FORWARD_DEFAULT };
	unsigned i;
	parse(&h.fl, lines);
	h.flags = 0;
	h.body = KK_BODY_NONE;
	if (!kk_head_forward(&h, &fwd))
		return "(no room)";
	for (i = 0; i < h.nadd; i++)	/* the forwarding rules' own */
		if (h.text[h.add[i].name.off] == 'X' && h.text[h.add[i].name.off + 2] == 'F')
			h.add[i].fwd = 0;
	if (!kk_edit_request(&h, actions))
		return "(no room)";
	out[0] = 0;
	cat_kept(out, sizeof out, h.fl.base, h.fl.f, h.fl.n);
	cat_kept(out, sizeof out, h.text, h.add, h.nadd);
	return out;
}

static const char *
response(unsigned status, const char *lines, const char *actions)
{
	static char out[2048];
	parse(&rh.fl, lines);
	rh.status = (unsigned short)status;
	kk_head_forward_response(&rh);
	kk_edit_response(&rh, actions);
	out[0] = 0;
	cat_kept(out, sizeof out, rh.fl.base, rh.fl.f, rh.fl.n);
	cat_kept(out, sizeof out, rh.abase ? rh.abase : "", rh.add, rh.nadd);
	return out;
}

/* h's target as the writer sends it. */
static const char *
target(const kk_reqhead *q)
{
	static char t[256];
	snprintf(t, sizeof t, "%.*s", (int)q->path.len,
	    (q->flags & KK_HEAD_F_PATH_TEXT ? q->text : q->fl.base) + q->path.off);
	return t;
}

/* The request target t in in[], its path the first pathlen bytes, as a
 * parser leaves it: no rewrite yet. */
static void
set_target(const char *t, uint32_t pathlen)
{
	snprintf(in, sizeof in, "%s", t);
	h.path.off = 0;
	h.path.len = (uint32_t)strlen(in);
	h.pathlen = pathlen;
	h.flags = 0;
	h.textlen = 0;
}

int
main(void)
{
	static char many[KK_HEAD_ADDMAX], loc[256];
	size_t n = 0;
	is_str(request("A: 1\n", NULL), "A: 1\n", "no actions: the fields as they are");
	is_str(request("A: 1\nx-drop: 2\nX-DROP: 3\nB: 4\n", "qdX-Drop"), "A: 1\nB: 4\n",
	    "a delete drops every field of the name, in any case");
	is_str(request("X-Set: c\nA: 1\n", "qsx-set:mine"), "A: 1\nx-set: mine\n",
	    "a set replaces the client's field");
	is_str(request("A: 1\n", "qaX-A:1\nqaX-A:2\nqsX-B:b"), "A: 1\nX-A: 1\nX-A: 2\nX-B: b\n",
	    "adds in their order");
	is_str(request("", "qaX-A:1\nqsx-a:2"), "x-a: 2\n", "a set replaces an earlier add");
	is_str(request("", "qaX-A:1\nqdx-a\nqaX-A:3"), "X-A: 3\n",
	    "a delete drops an earlier add, not a later one");
	is_str(request("A: 1\n", "rsA:2\nrdA"), "A: 1\n", "response edits leave the request");
	is_str(request("Host: a.test\nA: 1\n", "qHb.test"), "A: 1\nHost: b.test\n",
	    "--rewrite-host: the client's Host replaced");
	is_int(!!(h.flags & KK_HEAD_F_HOST_FIELD), 1, "and the writer told a Host field goes");
	is_str(request("", "qaX-E:"), "X-E: \n", "an empty value");
	for (int i = 0; i < KK_ACTION_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof many - n, "%sqaX-%d:%01020d", i ? "\n" : "",
		    i, 0);
	is_str(request("", many), "(no room)", "more than a head has room for: refused (431)");

	is_int(kk_edit_answer(NULL), 0, "no actions: no answer");
	is_int(kk_edit_answer("qaX-A:1"), 0, "header edits: no answer");
	is_int(kk_edit_answer("nD451"), 451, "--deny: its status");
	is_int(kk_edit_answer("nR308:/x"), 308, "--redirect: its status");

	/* Locations, from a head whose target is in in[]. */
	snprintf(in, sizeof in, "/a b/\r\n\xc3?q=\x01&r");
	h.fl.base = in;
	h.path.off = 0;
	h.path.len = (uint32_t)strlen(in);
	h.pathlen = (uint32_t)(strchr(in, '?') - in);
	memcpy(h.host, "x.test", 7);
	h.hostlen = 6;
	h.scheme = KK_SCHEME_HTTPS;
	is_int((int)kk_edit_location("qaX:1", &h, loc, sizeof loc), 0, "no redirect: none");
	is_int((int)kk_edit_location("nR301:${scheme}://${host}${path}${query}", &h, loc,
	    sizeof loc), 38, "the whole template");
	is_str(loc, "https://x.test/a%20b/%0D%0A%C3?q=%01&r", "controls, blanks and bytes "
	    "past ASCII escaped");
	h.path.len = h.pathlen;
	kk_edit_location("qaX:1\nnR302:/n${query}/$", &h, loc, sizeof loc);
	is_str(loc, "/n/$", "no query: nothing; the text around the variables as it is");
	is_int((int)kk_edit_location("nR301:/abcd", &h, loc, 5), 0, "too long: none");
	is_int((int)kk_edit_location("nR301:/abc", &h, loc, 5), 4, "just fits, with its NUL");

	/* Path prefixes, the target in in[], the new one in the text. */
	snprintf(in, sizeof in, "/api/x?q=1");
	h.path.off = 0;
	h.path.len = (uint32_t)strlen(in);
	h.pathlen = 6;
	h.flags = 0;
	h.textlen = 0;
	h.nadd = 0;
	h.fl.n = 0;
	ok(kk_edit_request(&h, "qP/apix /no\nqP/api/ /v2/"), "a prefix rewritten");
	is_int((int)h.pathlen, 5, "the path's length moves with it");
	is_str(target(&h), "/v2/x?q=1", "one that does not match leaves it, one that does "
	    "replaces the prefix and keeps the query");
	ok(kk_edit_request(&h, "qP/v2/ /\nqP/x /y/z"), "twice, the second on the first's");
	is_str(target(&h), "/y/z?q=1", "each rewrite sees the one before");

	/* Regex rewrites: compiled once for their text, found by its place. */
	{
		static char acts[] = "qX^/users/([0-9]+)/(\\w+)$\t/u/$2/$1/$$/$0\n"
		    "qX^/none(x)?$\t/n[$1]";
		set_target("/users/42/edit?a=b", 14);
		ok(kk_edit_compile(acts), "--rewrite-path regexes compile");
		ok(kk_edit_request(&h, acts), "a regex rewrite");
		is_str(target(&h), "/u/edit/42/$//users/42/edit?a=b",
		    "groups in any order, $$ and $0; the query kept");
		is_int((int)h.pathlen, 27, "the path's length is the new one");
		set_target("/none", 5);
		ok(kk_edit_request(&h, acts), "a group that took no part");
		is_str(target(&h), "/n[]", "is empty");
		set_target("/other", 6);
		ok(kk_edit_request(&h, acts) && !strcmp(target(&h), "/other"),
		    "no match: the path as it was");
		kk_edit_release(acts);
		is_int((int)compiled.n, 0, "released with their text");
		set_target("/users/1/x", 10);
		ok(kk_edit_request(&h, acts) && !strcmp(target(&h), "/users/1/x"),
		    "a text not compiled rewrites nothing");
	}

	is_str(response(200, "Server: s\nContent-Type: t\n", "rdserver\nraX-R:1\nrsContent-Type:u"),
	    "X-R: 1\nContent-Type: u\n", "response: delete, add, set");
	is_str(response(200, "A: 1\n", "qdA\nqaB:2"), "A: 1\n", "request edits leave the response");
	is_str(response(100, "A: 1\n", "rdA\nraB:2"), "A: 1\n", "a 1xx response is left alone");
	is_str(response(204, "", "raB:2\nrdb\nraC:3"), "C: 3\n",
	    "a response delete drops an earlier add");
	is_str(response(200, "A: 1\n", NULL), "A: 1\n", "no actions: the response as it is");
	return done();
}
