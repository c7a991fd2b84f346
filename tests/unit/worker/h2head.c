/* ISC license. */
/* HTTP/2 header blocks without nghttp2: blocks stored field by field as
 * the decoder hands them over, validated per RFC 9113 §8 into neutral
 * request heads and trailer blocks, and responses written as HTTP/2
 * fields. */
#include <string.h>
#include "tap.h"
#include "worker/h2head.c"
#include "worker/head.c"
#include "worker/reqid.c"
#include "worker/buf.c"
#include "worker/loop.c"
#include "worker/timer.c"

static kk_buf blk;
static kk_reqhead h;

/* A block from "name: value" lines (the first ": " splits), stored as the
 * h2 server stores them; then the request conversion's verdict. */
static int
req(const char *lines, int end_stream)
{
	char copy[4096], *line, *save = NULL;
	kk_buf_give(&blk);
	kk_buf_take(&blk, NULL);
	strcpy(copy, lines);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sep = strstr(line + 1, ": ");
		if (!sep)
			sep = line + strlen(line) - 1;	/* "name:" with an empty value */
		if (!kk_h2head_add(&blk, line, (size_t)(sep - line), sep + 2, strlen(sep + 2)))
			return -1;
	}
	return kk_h2head_request(&h, &blk, end_stream, KK_SCHEME_HTTP);
}

static const char base[] = ":method: GET\n:scheme: http\n:authority: Example.com:8080\n"
    ":path: /a/b?q=1\n";

static int
with(const char *extra, int end_stream)
{
	char s[2048];
	snprintf(s, sizeof s, "%s%s", base, extra);
	return req(s, end_stream);
}

static const char *
span(kk_span s)
{
	static char out[512];
	memcpy(out, h.fl.base + s.off, s.len);
	out[s.len] = 0;
	return out;
}

int
main(void)
{
	kk_resphead rh;
	kk_h2field f[8];
	char text[256];
	int n;

	kk_buf_setup(4096, 0);
	is_int(with("user-agent: t\naccept: */*\n", 1), KK_H2HEAD_OK, "a plain GET is accepted");
	is_str(span(h.method), "GET", "method");
	is_str(span(h.path), "/a/b?q=1", "path with its query goes upstream");
	is_int(h.pathlen, 4, "the path without its query is routed");
	is_str(h.host, "example.com", ":authority: host lower case, port stripped");
	ok(h.flags & KK_HEAD_F_TARGET_AUTHORITY, ":authority goes up as Host");
	is_int(h.body, KK_BODY_NONE, "END_STREAM on the head: no body");
	is_int(h.fl.n, 2, "regular fields kept");

	is_int(with("content-length: 5\n", 0), KK_H2HEAD_OK, "a length");
	is_int(h.body, KK_BODY_LENGTH, "content-length: the body's length is known");
	is_int(h.clen, 5, "content-length value");
	is_int(with("", 0), KK_H2HEAD_OK, "no length");
	is_int(h.body, KK_BODY_UNKNOWN, "no content-length: goes up chunked");
	ok(h.flags & KK_HEAD_F_TRAILERS, "and its trailers may follow");
	is_int(with("content-length: 5\n", 1), KK_H2HEAD_E_CL, "END_STREAM belies the length");
	is_int(with("content-length: 5\ncontent-length: 6\n", 0), KK_H2HEAD_E_CL,
	    "conflicting lengths");
	is_int(with("content-length: 5x\n", 0), KK_H2HEAD_E_CL, "a length not a number");

	/* Pseudo-headers (§8.3). */
	is_int(req(":method: GET\n:scheme: http\n", 1), KK_H2HEAD_E_PSEUDO, ":path missing");
	is_int(req(":scheme: http\n:path: /\n", 1), KK_H2HEAD_E_PSEUDO, ":method missing");
	is_int(with(":path: /again\n", 1), KK_H2HEAD_E_PSEUDO, ":path repeated");
	is_int(with("x: 1\n:foo: bar\n", 1), KK_H2HEAD_E_PSEUDO, "a pseudo-header after fields");
	is_int(with(":status: 200\n", 1), KK_H2HEAD_E_PSEUDO, "a response pseudo-header");
	is_int(req(":method: GET\n:scheme: http\n:path: a\n", 1), KK_H2HEAD_E_PATH,
	    "a path not origin-form");
	is_int(req(":method: OPTIONS\n:scheme: http\n:path: *\n", 1), KK_H2HEAD_OK,
	    "OPTIONS *");
	is_int(req(":method: CONNECT\n:authority: a:1\n", 1), KK_H2HEAD_E_METHOD,
	    "CONNECT is answered 501");
	is_int(kk_h2head_err_status(KK_H2HEAD_E_METHOD), 501, "501 for CONNECT");
	/* The extended CONNECT of WebSocket (RFC 8441) as an upgrade. */
	is_int(req(":method: CONNECT\n:protocol: websocket\n:scheme: http\n:path: /chat?x=1\n"
	    ":authority: a:1\nsec-websocket-version: 13\n", 0), KK_H2HEAD_OK,
	    "extended CONNECT for websocket");
	ok(!strcmp(span(h.method), "GET") && !strcmp(span(h.path), "/chat?x=1"),
	    "goes as a GET of its :path");
	ok((h.flags & KK_HEAD_F_UPGRADE) && (h.flags & KK_HEAD_F_CONNECT_PROTOCOL) &&
	    h.body == KK_BODY_NONE, "an upgrade, no body: what follows is the tunnel's");
	{
		unsigned i, up = 0, key = 0;
		for (i = 0; i < h.fl.n; i++) {
			if (h.fl.f[i].id == KK_FLD_UPGRADE && !strcmp(span(h.fl.f[i].value),
			    "websocket"))
				up++;
			if (!strcmp(span(h.fl.f[i].name), "sec-websocket-key") &&
			    h.fl.f[i].value.len == 24 && !strcmp(span(h.fl.f[i].value) + 21, "A=="))
				key++;
		}
		ok(up == 1, "Upgrade: websocket");
		ok(key == 1, "a Sec-WebSocket-Key of 16 bytes in base64");
	}
	is_int(req(":method: CONNECT\n:protocol: chat\n:scheme: http\n:path: /\n"
	    ":authority: a:1\n", 0), KK_H2HEAD_E_METHOD, "another :protocol: 501");
	is_int(req(":method: CONNECT\n:protocol: websocket\n:scheme: http\n:path: /\n", 0),
	    KK_H2HEAD_E_PSEUDO, "extended CONNECT without :authority");
	is_int(req(":method: CONNECT\n:protocol: websocket\n:scheme: http\n:path: /\n"
	    ":authority: a:1\n", 1), KK_H2HEAD_E_PSEUDO, "extended CONNECT that ends the stream");
	is_int(req(":method: GET\n:protocol: websocket\n:scheme: http\n:path: /\n"
	    ":authority: a:1\n", 1), KK_H2HEAD_E_PSEUDO, ":protocol on another method");

	/* Fields (§8.2). */
	is_int(with("Accept: x\n", 1), KK_H2HEAD_E_NAME, "an upper-case name");
	is_int(with("a b: x\n", 1), KK_H2HEAD_E_NAME, "a name that is not a token");
	is_int(with("x: v \n", 1), KK_H2HEAD_E_VALUE, "white space ending a value");
	is_int(with("connection: close\n", 1), KK_H2HEAD_E_CONNECTION, "connection");
	is_int(with("keep-alive: 1\n", 1), KK_H2HEAD_E_CONNECTION, "keep-alive");
	is_int(with("transfer-encoding: chunked\n", 0), KK_H2HEAD_E_CONNECTION,
	    "transfer-encoding");
	is_int(with("upgrade: h2c\n", 1), KK_H2HEAD_E_CONNECTION, "upgrade");
	is_int(with("te: trailers\n", 1), KK_H2HEAD_OK, "te: trailers is allowed");
	is_int(with("te: gzip\n", 1), KK_H2HEAD_E_TE, "any other te is not");
	is_int(with("content_length: 1\n", 1), KK_H2HEAD_E_LOOKALIKE, "a look-alike name");

	/* :authority and Host (§8.3.1). */
	is_int(with("host: example.com:8080\n", 1), KK_H2HEAD_OK, "Host that agrees");
	is_int(with("host: other.example\n", 1), KK_H2HEAD_E_AUTHORITY, "Host that differs");
	is_int(req(":method: GET\n:scheme: http\n:path: /\nhost: H.example\n", 1), KK_H2HEAD_OK,
	    "Host alone");
	is_str(h.host, "h.example", "Host alone names the host");
	ok(!(h.flags & KK_HEAD_F_TARGET_AUTHORITY), "and goes up as it is");
	is_int(req(":method: GET\n:scheme: http\n:path: /\nhost: a\nhost: a\n", 1),
	    KK_H2HEAD_E_AUTHORITY, "Host repeated");
	is_int(with(":authority: a b\n", 1), KK_H2HEAD_E_PSEUDO, ":authority repeated");
	is_int(req(":method: GET\n:scheme: http\n:authority: a b\n:path: /\n", 1),
	    KK_H2HEAD_E_AUTHORITY, "an :authority that is no host");

	/* Cookies are joined for HTTP/1.1 (§8.2.3). */
	is_int(with("cookie: a=1\nx: y\ncookie: b=2\n", 1), KK_H2HEAD_OK, "cookie crumbs");
	is_int(h.fl.n, 2, "one cookie field");
	is_str(span(h.fl.f[1].value), "a=1; b=2", "crumbs joined with \"; \"");

	/* Trailers. */
	req("x-sum: 9\n", 0);
	is_int(kk_h2head_trailers(&h.fl, &blk), KK_H2HEAD_OK, "trailer fields");
	req(":path: /\n", 0);
	is_int(kk_h2head_trailers(&h.fl, &blk), KK_H2HEAD_E_PSEUDO, "no pseudo-header in trailers");

	/* A response for HTTP/2: lower-case names, a length of its own. */
	memset(&rh, 0, sizeof rh);
	rh.fl.base = "Content-Type" "text/plain" "Connection" "close";
	rh.fl.n = 2;
	rh.fl.f[0].name = (kk_span){ 0, 12 };
	rh.fl.f[0].value = (kk_span){ 12, 10 };
	rh.fl.f[0].fwd = 1;
	rh.fl.f[1].name = (kk_span){ 22, 10 };
	rh.fl.f[1].value = (kk_span){ 32, 5 };
	rh.status = 200;
	rh.body = KK_BODY_LENGTH;
	rh.clen = 1234;
	n = kk_h2head_response(&rh, f, 8, text, sizeof text);
	is_int(n, 3, "status, the field kept, content-length");
	ok(n == 3 && !memcmp(f[0].name, ":status", 7) && !memcmp(f[0].value, "200", 3),
	    ":status first");
	ok(n == 3 && f[1].namelen == 12 && !memcmp(f[1].name, "content-type", 12),
	    "names in lower case");
	ok(n == 3 && f[2].valuelen == 4 && !memcmp(f[2].value, "1234", 4), "content-length");
	is_int(kk_h2head_response(&rh, f, 2, text, sizeof text), -1, "too many for out: -1");
	rh.set_cookie = "KKSID=00ff; Path=/; HttpOnly";
	n = kk_h2head_response(&rh, f, 8, text, sizeof text);
	ok(n == 4 && f[3].namelen == 10 && !memcmp(f[3].name, "set-cookie", 10)
	    && f[3].valuelen == 28 && !memcmp(f[3].value, rh.set_cookie, 28),
	    "the proxy's set-cookie last");
	rh.status = 100;
	rh.body = KK_BODY_NONE;
	rh.clen = 0;
	is_int(kk_h2head_response(&rh, f, 8, text, sizeof text), 2, "none on a 1xx");

	/* The client's side: a request going to an HTTP/2 backend. */
	{
		kk_fwd fwd = { .client = "192.0.2.1", .port = NULL, .fields = KK_FORWARD_DEFAULT };
		kk_h2field o[16];
		char t[256];
		is_int(with("x-kept: 1\nte: trailers\n", 1), KK_H2HEAD_OK, "a head to forward");
		kk_head_forward(&h, &fwd);
		n = kk_h2head_request_fields(&h, "http", "10.0.0.1:80", o, 16, t, sizeof t);
		ok(n >= 5 && !memcmp(o[0].name, ":method", 7) && !memcmp(o[1].value, "http", 4)
		    && o[2].valuelen == 16 && !memcmp(o[2].value, "Example.com:8080", 16)
		    && !memcmp(o[3].value, "/a/b?q=1", 8), "pseudo-headers first, from the head");
		ok(n >= 5 && o[4].namelen == 6 && !memcmp(o[4].name, "x-kept", 6),
		    "a forwarded field");
		ok(n == 8 && !memcmp(o[5].name, "x-forwarded-for", 15) &&
		    !memcmp(o[6].name, "x-forwarded-proto", 17), "the added fields after");
		ok(n == 8 && o[7].namelen == 2 && !memcmp(o[7].name, "te", 2) &&
		    o[7].valuelen == 8 && !memcmp(o[7].value, "trailers", 8),
		    "te: trailers again for this hop, once");
		is_int(with("te: trailers\nte: trailers\n", 1), KK_H2HEAD_OK, "te twice");
		kk_head_forward(&h, &fwd);
		n = kk_h2head_request_fields(&h, "http", "10.0.0.1:80", o, 16, t, sizeof t);
		ok(n > 0 && o[n - 1].namelen == 2 && !memcmp(o[n - 1].name, "te", 2) &&
		    o[n - 2].namelen != 2, "goes up once");
		is_int(with("x-kept: 1\n", 1), KK_H2HEAD_OK, "no te");
		kk_head_forward(&h, &fwd);
		n = kk_h2head_request_fields(&h, "http", "10.0.0.1:80", o, 16, t, sizeof t);
		ok(n > 0 && o[n - 1].namelen != 2, "none goes up");
		is_int(kk_h2head_request_fields(&h, "http", "o", o, 3, t, sizeof t), -1,
		    "too many for out: -1");
	}

	/* A backend's response block. */
	req(":status: 200\ncontent-length: 3\nx-a: b\n", 0);
	is_int(kk_h2head_response_in(&rh, &blk, 0, 0), KK_H2HEAD_OK, "a response head");
	ok(rh.status == 200 && rh.body == KK_BODY_LENGTH && rh.clen == 3 && rh.fl.n == 2,
	    "status, its length, its fields");
	req(":status: 200\n", 0);
	kk_h2head_response_in(&rh, &blk, 0, 0);
	ok(rh.body == KK_BODY_UNKNOWN && (rh.flags & KK_HEAD_F_TRAILERS),
	    "no length: the end of the stream tells, trailers may follow");
	kk_h2head_response_in(&rh, &blk, 1, 0);
	ok(rh.body == KK_BODY_LENGTH && rh.clen == 0, "ended with the head: an empty body");
	req(":status: 304\ncontent-length: 9\n", 0);
	kk_h2head_response_in(&rh, &blk, 1, 0);
	ok(rh.body == KK_BODY_NONE && rh.clen == 9, "304: no body, the representation's length");
	req(":status: 200\nconnection: close\n", 0);
	is_int(kk_h2head_response_in(&rh, &blk, 0, 0), KK_H2HEAD_E_CONNECTION,
	    "a connection-specific field is refused");
	req("x-a: b\n:status: 200\n", 0);
	is_int(kk_h2head_response_in(&rh, &blk, 0, 0), KK_H2HEAD_E_PSEUDO, ":status first");
	req(":status: 20\n", 0);
	is_int(kk_h2head_response_in(&rh, &blk, 0, 0), KK_H2HEAD_E_PSEUDO, ":status of 3 digits");
	req(":status: 200\ncontent-length: 4\n", 0);
	is_int(kk_h2head_response_in(&rh, &blk, 1, 0), KK_H2HEAD_E_CL,
	    "END_STREAM belies the length");
	req(":status: 200\nhost: x\n", 0);
	kk_h2head_response_in(&rh, &blk, 0, 0);
	is_int(rh.fl.f[0].id, KK_FLD_OTHER, "a request field is ordinary in a response");
	return done();
}
