/* ISC license. */
/* The forwarding rules on neutral heads, without any protocol: heads are
 * built here by hand, as a parser would fill them, spans into one string.
 * Field names and look-alikes, hop-by-hop fields and those Connection
 * names, Host, X-Forwarded-*, announced trailers, and trailer fields;
 * finding a field and a cookie for the balancer. */
#include <string.h>
#include "tap.h"
#include "worker/head.c"
#include "worker/reqid.c"

static kk_reqhead h;
static kk_resphead rh;
static char text[KK_HEAD_ADDMAX + 128];

/* Fills fl from "name: value" lines of s (copied to text), each field
 * named by kk_field_id, as a parser leaves them. */
static void
fields(kk_fields *fl, const char *s)
{
	uint32_t pos = 0, len;
	strcpy(text, s);
	len = (uint32_t)strlen(text);
	fl->base = text;
	fl->n = 0;
	while (pos < len) {
		kk_field *f = &fl->f[fl->n++];
		const char *nl = strchr(text + pos, '\n'), *colon = strchr(text + pos, ':');
		uint32_t end = (uint32_t)(nl - text);
		f->name.off = pos;
		f->name.len = (uint32_t)(colon - text) - pos;
		f->value.off = f->name.off + f->name.len + 2;
		f->value.len = end - f->value.off;
		f->id = (unsigned char)kk_field_id(text + pos, f->name.len);
		f->fwd = 0;
		pos = end + 1;
	}
}

/* The fields that pass, then the added ones, as "name=value;" each. */
static const char *
passed(const kk_fields *fl, const kk_reqhead *req)
{
	static char out[8192];
	unsigned i;
	size_t o = 0;
	for (i = 0; i < fl->n; i++)
		if (fl->f[i].fwd)
			o += (size_t)snprintf(out + o, sizeof out - o, "%.*s=%.*s;",
			    (int)fl->f[i].name.len, fl->base + fl->f[i].name.off,
			    (int)fl->f[i].value.len, fl->base + fl->f[i].value.off);
	for (i = 0; req && i < req->nadd; i++)
		o += (size_t)snprintf(out + o, sizeof out - o, "+%.*s=%.*s;",
		    (int)req->add[i].name.len, req->text + req->add[i].name.off,
		    (int)req->add[i].value.len, req->text + req->add[i].value.off);
	out[o] = 0;
	return out;
}

/* What forward() tells kk_head_forward besides the head. */
static kk_fwd fwd_with = { .client = "192.0.2.1", .fields = KK_FORWARD_DEFAULT };

static const char *
forward(const char *s, unsigned flags, unsigned body, const char *port)
{
	kk_fwd fwd = fwd_with;
	fwd.port = port;
	fields(&h.fl, s);
	h.flags = flags;
	h.body = (unsigned char)body;
	h.scheme = KK_SCHEME_HTTP;
	if (!kk_head_forward(&h, &fwd))
		return "(too long)";
	return passed(&h.fl, &h);
}

/* The value kk_fields_cookie finds for name in the fields s, or "-". */
static const char *
cookie(const char *s, const char *name)
{
	static char out[256];
	kk_span v;
	fields(&h.fl, s);
	if (!kk_fields_cookie(&h.fl, name, strlen(name), &v))
		return "-";
	snprintf(out, sizeof out, "%.*s", (int)v.len, h.fl.base + v.off);
	return out;
}

int
main(void)
{
	/* Names. */
	is_int(kk_field_id("Content-Length", 14), KK_FLD_CONTENT_LENGTH, "Content-Length");
	is_int(kk_field_id("CONTENT-LENGTH", 14), KK_FLD_CONTENT_LENGTH, "in any case");
	is_int(kk_field_id("content_length", 14), KK_FLD_LOOKALIKE, "content_length: a look-alike");
	is_int(kk_field_id("Content-Lengtx", 14), KK_FLD_OTHER, "one byte off: another field");
	is_int(kk_field_id("HTTP2-Settings", 14), KK_FLD_HOP, "HTTP2-Settings is hop-by-hop");
	is_int(kk_field_id("X-Forwarded-Proto", 17), KK_FLD_XFP, "X-Forwarded-Proto");
	is_int(kk_field_id("x-forwarded-port", 16), KK_FLD_XFPORT, "X-Forwarded-Port");
	is_int(kk_field_id("X-Forwarded-Host", 16), KK_FLD_XFHOST, "X-Forwarded-Host");
	is_int(kk_field_id("X_Forwarded_Host", 16), KK_FLD_LOOKALIKE,
	    "X_Forwarded_Host: a look-alike");
	is_int(kk_field_id("Proxy-Connection", 16), KK_FLD_HOP, "Proxy-Connection: hop-by-hop");
	is_int(kk_field_id("FORWARDED", 9), KK_FLD_FORWARDED, "Forwarded");
	is_int(kk_field_id("x-client-cert-subject", 21), KK_FLD_XF_OTHER,
	    "X-Client-Cert-Subject is the proxy's");
	is_int(kk_field_id("X-Client-Cert-Verified", 22), KK_FLD_XF_OTHER,
	    "X-Client-Cert-Verified is the proxy's");
	is_int(kk_field_id("X_Client_Cert_Subject", 21), KK_FLD_LOOKALIKE,
	    "X_Client_Cert_Subject: a look-alike");
	is_int(kk_field_id("Transfer_Encoding", 17), KK_FLD_LOOKALIKE, "Transfer_Encoding");
	is_int(kk_field_id("Trailer", 7), KK_FLD_TRAILER, "Trailer");
	is_int(kk_field_id("User-Agent", 10), KK_FLD_OTHER, "User-Agent is ordinary");

	/* Requests. */
	is_str(forward("Host: a\nX-A: 1\nKeep-Alive: 5\nTE: trailers\nX-Forwarded-Port: 1\n", 0,
	    KK_BODY_NONE, "8080"),
	    "Host=a;X-A=1;+X-Forwarded-For=192.0.2.1;+X-Forwarded-Proto=http;"
	    "+X-Forwarded-Port=8080;", "hop-by-hop dropped, ours added");
	ok(h.flags & KK_HEAD_F_HOST_FIELD, "the Host field carries the authority");
	is_str(forward("Host: a\nX-Forwarded-For: 10.0.0.1\nX-Forwarded-Proto: https\n"
	    "Forwarded: for=10.0.0.1\nX-Forwarded-Host: evil\n", 0, KK_BODY_NONE, NULL),
	    "Host=a;+X-Forwarded-For=192.0.2.1;+X-Forwarded-Proto=http;",
	    "an untrusted client's forwarding fields are dropped, ours alone sent");
	fwd_with.trusted = 1;
	is_str(forward("Connection: close, X-B, Host, X-Forwarded-For\nX-B: 1\nHost: a\n"
	    "X-Forwarded-For: 10.0.0.1\n", 0, KK_BODY_NONE, NULL),
	    "Host=a;+X-Forwarded-For=10.0.0.1, 192.0.2.1;+X-Forwarded-Proto=http;",
	    "Connection drops what it names, never Host or a trusted client's list");
	is_str(forward("Host: a\nX-Forwarded-For: 10.0.0.1\nX-Forwarded-For: 10.0.0.2\n", 0,
	    KK_BODY_NONE, NULL),
	    "Host=a;+X-Forwarded-For=10.0.0.1, 10.0.0.2, 192.0.2.1;+X-Forwarded-Proto=http;",
	    "one X-Forwarded-For: the trusted client's list, then this hop");
	is_str(forward("Host: a\nX-Forwarded-Proto: https\nX-Forwarded-Host: b\n", 0,
	    KK_BODY_NONE, "8080"),
	    "Host=a;X-Forwarded-Proto=https;X-Forwarded-Host=b;+X-Forwarded-For=192.0.2.1;"
	    "+X-Forwarded-Port=8080;", "a trusted client's -Proto and -Host kept, ours not added");
	fwd_with.fields = 0;
	is_str(forward("Host: a\nX-Forwarded-For: 10.0.0.1\nForwarded: for=10.0.0.1\n", 0,
	    KK_BODY_NONE, "8080"),
	    "Host=a;X-Forwarded-For=10.0.0.1;Forwarded=for=10.0.0.1;",
	    "--no-forward: a trusted client's fields pass as they are");
	fwd_with.trusted = 0;
	is_str(forward("Host: a\nX-Forwarded-For: 10.0.0.1\nForwarded: for=10.0.0.1\n", 0,
	    KK_BODY_NONE, "8080"), "Host=a;", "--no-forward: an untrusted client's dropped");
	fwd_with.fields = KK_FORWARD_ALL;
	is_str(forward("X-A: 1\n", 0, KK_BODY_NONE, "8080"),
	    "X-A=1;+X-Forwarded-For=192.0.2.1;+X-Forwarded-Proto=http;+X-Forwarded-Port=8080;"
	    "+Forwarded=for=192.0.2.1;proto=http;", "every field; no host without an authority");
	fwd_with.fields = KK_FORWARD_DEFAULT;
	is_str(forward("Host: a\n", KK_HEAD_F_TARGET_AUTHORITY, KK_BODY_NONE, NULL),
	    "+X-Forwarded-For=192.0.2.1;+X-Forwarded-Proto=http;",
	    "an authority from the target replaces Host");
	ok(!(h.flags & KK_HEAD_F_HOST_FIELD), "and the writer sends the authority");
	is_str(forward("Host: a\nUpgrade: websocket\n", 0, KK_BODY_NONE, NULL),
	    "Host=a;+X-Forwarded-For=192.0.2.1;+X-Forwarded-Proto=http;",
	    "Upgrade never passes as it is (an upgrade's writer rebuilds it)");
	is_str(forward("Host: a\nTrailer: X-Sum\n", KK_HEAD_F_TRAILERS, KK_BODY_UNKNOWN, NULL),
	    "Host=a;Trailer=X-Sum;+X-Forwarded-For=192.0.2.1;+X-Forwarded-Proto=http;",
	    "Trailer goes with a body of unknown length");
	is_str(forward("Host: a\nTrailer: X-Sum\n", KK_HEAD_F_TRAILERS, KK_BODY_LENGTH, NULL),
	    "Host=a;+X-Forwarded-For=192.0.2.1;+X-Forwarded-Proto=http;",
	    "not with a length, which carries no trailers");
	h.scheme = KK_SCHEME_HTTPS;
	{
		kk_fwd fwd = { .client = "192.0.2.1", .port = NULL, .fields = KK_FORWARD_DEFAULT };
		fields(&h.fl, "Host: a\n");
		h.flags = 0;
		h.body = KK_BODY_NONE;
		kk_head_forward(&h, &fwd);
		is_str(passed(&h.fl, &h), "Host=a;+X-Forwarded-For=192.0.2.1;"
		    "+X-Forwarded-Proto=https;", "the scheme is the proto forwarded");
		/* A verified client certificate: its subject and SUCCESS,
		 * the client's own fields of those names dropped. */
		fwd.cert = KK_FWD_CERT_VERIFIED;
		fwd.subject = "CN=client.test,O=Example";
		fields(&h.fl, "Host: a\nX-Client-Cert-Subject: CN=admin\n"
		    "x-client-cert-verified: SUCCESS\n");
		kk_head_forward(&h, &fwd);
		is_str(passed(&h.fl, &h), "Host=a;+X-Forwarded-For=192.0.2.1;"
		    "+X-Forwarded-Proto=https;+X-Client-Cert-Subject=CN=client.test,O=Example;"
		    "+X-Client-Cert-Verified=SUCCESS;", "a verified certificate: subject, SUCCESS");
		fwd.cert = KK_FWD_CERT_NONE;
		fwd.subject = NULL;
		fields(&h.fl, "Host: a\nX-Client-Cert-Subject: CN=admin\n");
		kk_head_forward(&h, &fwd);
		is_str(passed(&h.fl, &h), "Host=a;+X-Forwarded-For=192.0.2.1;"
		    "+X-Forwarded-Proto=https;+X-Client-Cert-Verified=NONE;",
		    "no certificate: NONE, no subject");
	}
	{
		/* A long list from a trusted client that fits a buffer goes
		 * on whole, as it did before heads had text of their own. */
		static char list[6100];
		fwd_with.trusted = 1;
		const char *got;
		memcpy(list, "X-Forwarded-For: ", 17);
		memset(list + 17, '7', 6000);
		strcpy(list + 17 + 6000, "\n");
		got = forward(list, 0, KK_BODY_NONE, NULL);
		ok(strlen(got) > 6000 && strstr(got, "7, 192.0.2.1;"),
		    "a 6000-byte X-Forwarded-For list is extended, not refused");
	}
	{
		/* A client list that overflows the added fields' room: 431. */
		static char big[KK_HEAD_ADDMAX + 64];
		memcpy(big, "X-Forwarded-For: ", 17);
		memset(big + 17, '1', KK_HEAD_ADDMAX);
		strcpy(big + 17 + KK_HEAD_ADDMAX - 40, "\n");
		is_str(forward(big, 0, KK_BODY_NONE, NULL), "(too long)",
		    "an X-Forwarded-For longer than the room: refused");
	}
	fwd_with.trusted = 0;
	/* X-Forwarded-Host and Forwarded's host= carry the authority as
	 * received; Forwarded brackets and quotes an IPv6 client and quotes
	 * a host that is not a token (RFC 7239 §4, §6). */
	{
		kk_fwd fwd = { .client = "2001:db8::7", .client_v6 = 1,
		    .fields = KK_FORWARD_XFHOST | KK_FORWARD_FORWARDED };
		fields(&h.fl, "Host: a.test:8080\nForwarded: for=10.9.9.9\n");
		h.flags = 0;
		h.body = KK_BODY_NONE;
		h.scheme = KK_SCHEME_HTTPS;
		h.authority = h.fl.f[0].value;
		kk_head_forward(&h, &fwd);
		is_str(passed(&h.fl, &h), "Host=a.test:8080;+X-Forwarded-Host=a.test:8080;"
		    "+Forwarded=for=\"[2001:db8::7]\";proto=https;host=\"a.test:8080\";",
		    "Forwarded for an IPv6 client, untrusted: its own element dropped");
		fwd.client = "192.0.2.1";
		fwd.client_v6 = 0;
		fwd.trusted = 1;
		fields(&h.fl, "Host: a.test\nForwarded: for=192.0.2.9;proto=https\n"
		    "Forwarded: for=\"[2001:db8::1]\"\n");
		h.scheme = KK_SCHEME_HTTP;
		h.authority = h.fl.f[0].value;
		kk_head_forward(&h, &fwd);
		is_str(passed(&h.fl, &h), "Host=a.test;+X-Forwarded-Host=a.test;"
		    "+Forwarded=for=192.0.2.9;proto=https, for=\"[2001:db8::1]\", "
		    "for=192.0.2.1;proto=http;host=a.test;",
		    "a trusted client's Forwarded elements, then this hop's");
		h.authority.len = 0;
	}
	/* Request ids: a new one unless a trusted client sent a sane one;
	 * a look-alike of the name never passes. */
	{
		kk_fwd fwd = { .client = "192.0.2.1", .reqid = "X-Request-Id: ",
		    .reqid_lower = "x-request-id", .reqidlen = 12 };
		char first[KK_REQID_LEN];
		const char *got;
		int hex = 1;
		ok(kk_reqid_init(), "the id secret is drawn");
		fields(&h.fl, "Host: a\nX-Request-Id: abc\nx_request_id: def\n");
		kk_head_forward(&h, &fwd);
		for (uint32_t i = 0; i < h.reqidlen; i++)
			hex &= (h.reqid[i] >= '0' && h.reqid[i] <= '9') ||
			    (h.reqid[i] >= 'a' && h.reqid[i] <= 'f');
		ok(h.reqidlen == KK_REQID_LEN && hex, "untrusted: a new id of 32 hex digits");
		got = passed(&h.fl, &h);
		ok(!strncmp(got, "Host=a;+X-Request-Id=", 21) && strlen(got) == 21 + 33,
		    "the client's id and its look-alike dropped, ours sent");
		memcpy(first, h.reqid, KK_REQID_LEN);
		kk_head_forward(&h, &fwd);
		ok(!memcmp(first, h.reqid, 16) && memcmp(first + 16, h.reqid + 16, 16),
		    "the next id: the worker's prefix, another tail");
		fwd.trusted = 1;
		kk_head_forward(&h, &fwd);
		is_str(passed(&h.fl, &h), "Host=a;+X-Request-Id=abc;",
		    "trusted: the client's id kept, the look-alike still dropped");
		ok(h.reqidlen == 3 && !memcmp(h.reqid, "abc", 3), "and it is the stream's");
		fields(&h.fl, "Host: a\nX-Request-Id: a\x01b\n");
		kk_head_forward(&h, &fwd);
		ok(h.reqidlen == KK_REQID_LEN, "trusted, with a control byte: replaced");
	}
	/* Added fields are whole lines in the head's text. */
	{
		static const char want[] = "X-Forwarded-For: 192.0.2.1\r\n"
		    "X-Forwarded-Proto: http\r\nX-Forwarded-Port: 81\r\n";
		forward("Host: a\n", 0, KK_BODY_NONE, "81");
		ok(h.textlen == sizeof want - 1 && !memcmp(h.text, want, sizeof want - 1),
		    "added fields kept as field lines");
	}

	/* Responses. */
	fields(&rh.fl, "X-A: 1\nConnection: X-B\nX-B: 2\nTransfer-Encoding: chunked\n"
	    "Keep-Alive: 1\nContent-Length: 3\n");
	rh.flags = 0;
	rh.body = KK_BODY_UNKNOWN;
	kk_head_forward_response(&rh);
	is_str(passed(&rh.fl, NULL), "X-A=1;", "response: hop-by-hop and framing fields dropped");

	/* Trailers: framing, routing and the proxy's fields never pass. */
	fields(&rh.fl, "X-Sum: 42\nContent-Length: 9\nHost: b\nX-Forwarded-For: 1\nTE: x\n"
	    "Content_Length: 9\nX-Other: v\n");
	kk_head_forward_trailers(&rh.fl);
	is_str(passed(&rh.fl, NULL), "X-Sum=42;X-Other=v;", "trailers: only ordinary fields pass");
	/* Fields and cookies, as the balancer looks them up. */
	{
		kk_span v;
		fields(&h.fl, "Host: a\nX-User: alice\nx-user: bob\n");
		ok(kk_fields_find(&h.fl, "x-user", &v) && v.len == 5
		    && !memcmp(h.fl.base + v.off, "alice", 5),
		    "a field by name, any case: the first");
		ok(!kk_fields_find(&h.fl, "x-use", &v), "a name's prefix is another field");
	}
	is_str(cookie("Cookie: a=1; KKSID=00ff; b=2\n", "KKSID"), "00ff", "a cookie among others");
	is_str(cookie("Cookie: a=1\ncookie: KKSID=x \n", "KKSID"), "x",
	    "in a second Cookie field, trailing blanks left out");
	is_str(cookie("Cookie: xKKSID=1; KKSIDx=2; kksid=3\n", "KKSID"), "-",
	    "names match whole, case matters");
	is_str(cookie("Cookie: KKSID; KKSID=\n", "KKSID"), "", "a pair without '=' is skipped");
	is_str(cookie("Set-Cookie: KKSID=1\n", "KKSID"), "-", "only Cookie fields count");
	return done();
}
