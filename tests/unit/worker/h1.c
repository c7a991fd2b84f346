/* ISC license. */
/* HTTP/1.1 heads and chunked bodies: finding the end, validation of what
 * llhttp 8.1 lets through, re-serialisation upstream and downstream, the
 * strict chunked decoder. */
#include <string.h>
#include <kakehi/str.h>
#include "tap.h"
#include "worker/h1.c"
#include "worker/answer.c"

struct kk_stats kk_stats;
#include "worker/head.c"
#include "worker/reqid.c"
#include "worker/buf.c"
#include "worker/loop.c"
#include "worker/timer.c"

static kk_reqhead h;
static kk_resphead rh;
static kk_h1info info;

/* Parses raw as a request; the error code. */
static int
req(const char *raw)
{
	size_t scan = 0, len = strlen(raw);
	long n = kk_h1_head_end(raw, len, &scan);
	if (n < 0)
		return (int)-n;
	if (n == 0)
		return -1;
	return kk_h1_parse_request(&h, &info, raw, (size_t)n);
}

static const char *
upstream(const char *raw)
{
	static char out[4096];
	kk_fwd fwd = { .client = "192.0.2.1", .port = "8080", .fields = KK_FORWARD_DEFAULT };
	size_t n;
	if (req(raw) != KK_H1_OK)
		return "(refused)";
	kk_head_forward(&h, &fwd);
	n = kk_h1_write_request(&h, "198.51.100.7:80", out, sizeof out - 1);
	out[n] = 0;
	return out;
}

/* The Set-Cookie value downstream adds, as a sticky cluster's stream
 * would; NULL: none. */
static const char *set_cookie;

static const char *
downstream(const char *raw, int head_req, int keep, int minor)
{
	static char out[4096];
	size_t scan = 0, n;
	long e = kk_h1_head_end(raw, strlen(raw), &scan);
	if (e <= 0 || kk_h1_parse_response(&rh, &info, raw, (size_t)e, head_req) != KK_H1_OK)
		return "(invalid)";
	kk_head_forward_response(&rh);
	rh.set_cookie = set_cookie;
	n = kk_h1_write_response(&rh, info.body == KK_H1_BODY_CHUNKED ||
	    (info.body == KK_H1_BODY_CLOSE && minor), keep, minor, NULL, out, sizeof out - 1);
	out[n] = 0;
	return out;
}

/* Decodes a whole chunked body; the data, or "(error)" / "(incomplete)".
 * step: bytes fed per call, to cross every boundary. */
static const char *
dechunk(const char *raw, size_t step)
{
	static char out[1024];
	kk_h1chunk d;
	size_t len = strlen(raw), pos = 0, o = 0, avail = 0;
	kk_h1_chunk_init(&d);
	for (;;) {
		size_t used;
		int r;
		avail = pos + step < len ? step : len - pos;
		r = kk_h1_chunk_next(&d, raw + pos, avail, &used);
		pos += used;
		if (r == KK_H1_CHUNK_ERR)
			return "(error)";
		if (r == KK_H1_CHUNK_TRAILERS) {
			/* The section is read whole, as the body reader does. */
			kk_fields fl;
			long t = kk_h1_parse_trailers(&fl, raw + pos, len - pos);
			if (t < 0)
				return "(error)";
			if (!t)
				return "(incomplete)";
			pos += (size_t)t;
			kk_h1_chunk_trailers_done(&d);
			continue;
		}
		if (r == KK_H1_CHUNK_END) {
			out[o] = 0;
			return pos == len ? out : "(trailing)";
		}
		if (r == KK_H1_CHUNK_DATA) {
			size_t n = len - pos;
			if (n > step)
				n = step;
			if (n > d.left)
				n = (size_t)d.left;
			memcpy(out + o, raw + pos, n);
			o += n;
			pos += n;
			d.left -= n;
		} else if (pos >= len)
			return "(incomplete)";
	}
}

int
main(void)
{
	size_t scan;
	/* Finding the end of a head, across several reads. */
	scan = 0;
	is_int(kk_h1_head_end("GET / HTTP/1.1\r\nHo", 18, &scan), 0, "incomplete head");
	is_int(kk_h1_head_end("GET / HTTP/1.1\r\nHost: a\r\n\r\nXX", 29, &scan), 27,
	    "head end found after resuming");
	scan = 0;
	is_int(kk_h1_head_end("GET / HTTP/1.1\nHost: a\r\n\r\n", 26, &scan), -KK_H1_E_BARE_LF, "bare LF");
	scan = 0;
	is_int(kk_h1_head_end("GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", 27, &scan), -KK_H1_E_OBS_FOLD,
	    "obs-fold");

	/* Valid requests and their fields. */
	is_int(req("GET /a?b=c HTTP/1.1\r\nHost: Example.COM:8080\r\n\r\n"), KK_H1_OK, "simple GET");
	is_str(h.host, "example.com", "host lower-cased, port stripped");
	is_int(h.pathlen, 2, "path without the query");
	is_int(info.body, KK_H1_BODY_NONE, "no body");
	is_int(req("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), KK_H1_OK, "IPv6 literal host");
	is_str(h.host, "[::1]", "IPv6 host kept in brackets");
	is_int(req("GET / HTTP/1.1\r\nHost: example.com.\r\n\r\n"), KK_H1_OK, "absolute host name");
	is_str(h.host, "example.com", "trailing dot dropped");
	is_int(req("GET / HTTP/1.0\r\n\r\n"), KK_H1_OK, "HTTP/1.0 without Host");
	is_int(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n"), KK_H1_OK, "Content-Length");
	is_int(h.clen, 12, "its value");
	is_int(info.body, KK_H1_BODY_LENGTH, "length framing");
	is_int(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"), KK_H1_OK,
	    "chunked, any case");
	is_int(info.body, KK_H1_BODY_CHUNKED, "chunked framing");
	is_int(req("GET http://Other.example/p?q HTTP/1.1\r\nHost: a\r\n\r\n"), KK_H1_OK, "absolute-form");
	is_str(h.host, "other.example", "absolute-form authority wins over Host");
	ok(h.path.len == 4 && !memcmp(h.fl.base + h.path.off, "/p?q", 4), "origin-form sent upstream");
	is_int(req("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), KK_H1_OK, "asterisk-form for OPTIONS");

	/* Refused. */
	is_int(req("GET / HTTP/1.1\r\n\r\n"), KK_H1_E_HOST, "HTTP/1.1 without Host");
	is_int(req("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), KK_H1_E_HOST, "two Host fields");
	is_int(req("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), KK_H1_E_HOST, "slash in Host");
	is_int(req("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n"), KK_H1_E_HOST, "bad port in Host");
	is_int(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    KK_H1_E_SYNTAX, "CL and TE (llhttp refuses it already)");
	is_int(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"),
	    KK_H1_E_SYNTAX, "TE then CL");
	is_int(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n"), KK_H1_E_SYNTAX,
	    "Content-Length not a number");
	is_int(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"), KK_H1_E_TE,
	    "coding other than chunked");
	is_int(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    KK_H1_E_SYNTAX, "chunked twice (llhttp)");
	is_int(req("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), KK_H1_E_TE,
	    "chunked in HTTP/1.0");
	is_int(req("GET / HTTP/1.1\r\nHost: a\r\nX: \001\r\n\r\n"), KK_H1_E_SYNTAX, "control char in a value");
	is_int(req("GET / HTTP/1.1\r\nHost: a\r\nX: a\177\r\n\r\n"), KK_H1_E_SYNTAX, "DEL in a value");
	is_int(req("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), KK_H1_E_NAME,
	    "space before the colon: llhttp 8.1 lets it through, we do not");
	is_int(req("GET / HTTP/1.1\r\nHost: a\r\nX\"y: 1\r\n\r\n"), KK_H1_E_SYNTAX, "quote in a name");
	is_int(req("GET / HTTP/3.0\r\nHost: a\r\n\r\n"), KK_H1_E_SYNTAX, "HTTP/3.0 (llhttp)");
	is_int(req("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), KK_H1_E_SYNTAX, "HTTP/1.2 (llhttp)");
	is_int(req("CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\n"), KK_H1_E_METHOD, "CONNECT");
	is_int(req("GET a HTTP/1.1\r\nHost: a\r\n\r\n"), KK_H1_E_SYNTAX, "target of no known form");
	is_int(req("GET / HTTP/1.1\r\nHost: a\r\n X: 1\r\n\r\n"), KK_H1_E_OBS_FOLD, "field starting with a space");

	/* Look-alikes of the fields the proxy acts on: '_' for '-'. */
	is_int(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n"
	    "Content-Length: 3\r\n\r\n"), KK_H1_E_LOOKALIKE, "Transfer_Encoding");
	is_int(req("POST / HTTP/1.1\r\nHost: a\r\ncontent_length: 3\r\n\r\n"), KK_H1_E_LOOKALIKE,
	    "content_length, any case");
	is_int(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length_Extra: 3\r\n\r\n"), KK_H1_OK,
	    "a longer name is another field");
	is_int(req("GET / HTTP/1.1\r\nHost: a\r\nX_Forwarded_For: 10.0.0.9\r\n\r\n"), KK_H1_E_LOOKALIKE,
	    "X_Forwarded_For");
	is_int(req("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded_Proto: https\r\n\r\n"), KK_H1_E_LOOKALIKE,
	    "one '_' is enough");
	is_int(req("GET / HTTP/1.1\r\nHost: a\r\nKeep_Alive: 5\r\n\r\n"), KK_H1_E_LOOKALIKE,
	    "Keep_Alive");
	is_int(req("GET / HTTP/1.1\r\nHost: a\r\nX_Custom: 1\r\n\r\n"), KK_H1_OK, "other '_' names pass");
	is_int(kk_h1_err_status(KK_H1_E_LOOKALIKE), 400, "answered 400");
	is_str(kk_h1_err_name(KK_H1_E_LOOKALIKE), "field-look-alike", "counted as field-look-alike");
	is_str(downstream("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent_Length: 9\r\n\r\n", 0, 1, 1),
	    "HTTP/1.1 200 OK\r\nContent_Length: 9\r\nContent-Length: 2\r\n\r\n",
	    "a look-alike in a response is an ordinary field");

	/* The request line: exactly one SP between its three parts. */
	is_int(req("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), KK_H1_E_REQUEST_LINE,
	    "two SP after the method");
	is_int(req("GET /  HTTP/1.1\r\nHost: a\r\n\r\n"), KK_H1_E_REQUEST_LINE,
	    "two SP after the target");
	is_int(req("GET /a   HTTP/1.0\r\n\r\n"), KK_H1_E_REQUEST_LINE, "a run of SP in HTTP/1.0");
	is_int(req("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"), KK_H1_E_SYNTAX, "tab (llhttp)");
	is_int(req("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"), KK_H1_E_REQUEST_LINE,
	    "a tab in the target");
	is_int(req("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n"), KK_H1_E_SYNTAX,
	    "another control byte in the target (llhttp)");
	is_int(req("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"), KK_H1_OK,
	    "bytes above 0x7E pass");
	is_int(req("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), KK_H1_E_SYNTAX,
	    "SP after the version (llhttp)");
	is_int(req("GET / http/1.1\r\nHost: a\r\n\r\n"), KK_H1_E_SYNTAX, "lower-case version (llhttp)");
	is_int(req("GET /\r\n\r\n"), KK_H1_E_VERSION, "HTTP/0.9");
	is_int(req("PATCH /x?y=1 HTTP/1.1\r\nHost: a\r\n\r\n"), KK_H1_OK, "single SP passes");
	is_int(kk_h1_err_status(KK_H1_E_REQUEST_LINE), 400, "answered 400");
	is_str(kk_h1_err_name(KK_H1_E_REQUEST_LINE), "request-line", "counted as request-line");

	/* Host. */
	is_int(req("GET / HTTP/1.1\r\nHost: \r\n\r\n"), KK_H1_E_HOST, "empty Host");
	is_int(req("GET / HTTP/1.0\r\nHost:\r\n\r\n"), KK_H1_E_HOST, "empty Host in HTTP/1.0");
	is_int(req("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"), KK_H1_E_HOST, "userinfo in Host");
	is_int(req("GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n"), KK_H1_E_HOST,
	    "userinfo in an absolute-form target");
	{
		kk_str t = KK_STR_ZERO;
		int i;
		kk_str_cats(&t, "GET / HTTP/1.1\r\nHost: a\r\n");
		for (i = 0; i < KK_H1_MAXHDRS; i++)
			kk_str_catf(&t, "X-%d: v\r\n", i);
		kk_str_cats(&t, "\r\n");
		is_int(req(t.s), KK_H1_E_TOO_MANY, "too many fields");
		is_int(kk_h1_err_status(KK_H1_E_TOO_MANY), 431, "answered 431");
		kk_str_free(&t);
	}

	/* Re-serialisation upstream. */
	is_str(upstream("get / HTTP/1.1\r\nHost: a\r\n\r\n"), "(refused)", "lower-case method refused");
	is_str(upstream("POST /p HTTP/1.0\r\nHost: a\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
	    "Keep-Alive: 5\r\nProxy-Connection: x\r\nTE: trailers\r\nTrailer: X\r\nUpgrade: h2c\r\n"
	    "X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2\r\nX-Forwarded-Proto: https\r\n"
	    "X-Keep: yes  \r\nContent-Length: 3\r\n\r\n"),
	    "POST /p HTTP/1.1\r\nHost: a\r\nX-Keep: yes\r\n"
	    "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n"
	    "X-Forwarded-Port: 8080\r\nContent-Length: 3\r\n\r\n",
	    "head rebuilt: HTTP/1.1, hop-by-hop dropped, X-Forwarded-* ours, one framing field");
	is_str(upstream("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    "POST / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n"
	    "X-Forwarded-Port: 8080\r\nTransfer-Encoding: chunked\r\n\r\n", "chunked stays chunked");
	is_str(upstream("GET http://B.example:81/p?q HTTP/1.1\r\nX: 1\r\nHost: a\r\n\r\n"),
	    "GET /p?q HTTP/1.1\r\nHost: B.example:81\r\nX: 1\r\nX-Forwarded-For: 192.0.2.1\r\n"
	    "X-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\n\r\n",
	    "absolute-form: Host upstream is the authority that was routed");
	is_str(upstream("GET http://b/ HTTP/1.0\r\n\r\n"),
	    "GET / HTTP/1.1\r\nHost: b\r\nX-Forwarded-For: 192.0.2.1\r\n"
	    "X-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\n\r\n",
	    "absolute-form without Host gets one");
	is_str(upstream("GET /p HTTP/1.0\r\n\r\n"),
	    "GET /p HTTP/1.1\r\nHost: 198.51.100.7:80\r\nX-Forwarded-For: 192.0.2.1\r\n"
	    "X-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\n\r\n",
	    "HTTP/1.0 without Host goes up as HTTP/1.1 with the backend's address as Host");

	/* Upgrades (RFC 9110 §7.8): forwarded with Connection: upgrade,
	 * re-serialised, only when asked for properly; h2c never. */
#define XF "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n" \
	"X-Forwarded-Port: 8080\r\n\r\n"
	is_str(upstream("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
	    "Upgrade:  websocket \r\nSec-WebSocket-Key: k\r\n\r\n"),
	    "GET /ws HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Key: k\r\nUpgrade: websocket\r\n"
	    "Connection: upgrade\r\n" XF, "an upgrade goes upstream with Connection: upgrade");
	is_int(h.flags & KK_HEAD_F_UPGRADE, KK_HEAD_F_UPGRADE, "and is flagged");
	is_str(upstream("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"),
	    "GET / HTTP/1.1\r\nHost: a\r\n" XF, "Upgrade without Connection: upgrade is dropped");
	is_int(h.flags & KK_HEAD_F_UPGRADE, 0, "and asks for nothing");
	is_str(upstream("GET / HTTP/1.0\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n"),
	    "GET / HTTP/1.1\r\nHost: a\r\n" XF, "Upgrade in HTTP/1.0 is dropped");
	is_str(upstream("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
	    "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"),
	    "GET / HTTP/1.1\r\nHost: a\r\n" XF, "h2c: Upgrade and HTTP2-Settings dropped");
	is_int(h.flags & KK_HEAD_F_UPGRADE, 0, "served as HTTP/1.1");
	is_str(upstream("GET / HTTP/1.1\r\nHost: a\r\nHTTP2-Settings: AAMA\r\n\r\n"),
	    "GET / HTTP/1.1\r\nHost: a\r\n" XF, "HTTP2-Settings dropped on its own too");
	is_str(upstream("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
	    "Upgrade: h2c, foo/2\r\nUpgrade: bar\r\n\r\n"),
	    "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: foo/2, bar\r\nConnection: upgrade\r\n" XF,
	    "h2c left out of an offer of several, the rest in one field");
	is_int(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: a b\r\n\r\n"),
	    KK_H1_E_UPGRADE, "Upgrade that is not a list of protocols: refused");
	is_int(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: a/\r\n\r\n"),
	    KK_H1_E_UPGRADE, "protocol with an empty version: refused");
	is_str(upstream("POST / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n"
	    "Content-Length: 2\r\n\r\n"),
	    "POST / HTTP/1.1\r\nHost: a\r\nUpgrade: x\r\nConnection: upgrade\r\n"
	    "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\n"
	    "Content-Length: 2\r\n\r\n", "an upgrade with a body keeps its framing");
#undef XF
	is_str(upstream("GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	    "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.1\r\n"
	    "X-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\n\r\n",
	    "origin-form after absolute-form: no authority left over");
	is_str(upstream("POST / HTTP/1.1\r\nHost: a\r\nConnection: close, Transfer-Encoding, Host\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"),
	    "POST / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n"
	    "X-Forwarded-Port: 8080\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "Connection cannot drop the framing field or Host");
	{
		char small[32];
		kk_fwd fwd = { .client = "192.0.2.1", .port = NULL, .fields = KK_FORWARD_DEFAULT };
		req("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
		kk_head_forward(&h, &fwd);
		is_int(kk_h1_write_request(&h, "198.51.100.7:80", small, sizeof small), 0, "no room: 0, nothing half-written");
	}

	/* Responses. */
	is_str(downstream("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n"
	    "Transfer-Encoding: x\r\n\r\n", 0, 1, 1), "(invalid)", "response with CL and TE");
	is_str(downstream("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nKeep-Alive: timeout=5\r\nX-A: b\r\n\r\n",
	    0, 1, 1), "HTTP/1.1 200 OK\r\nX-A: b\r\nContent-Length: 5\r\n\r\n", "length response rebuilt");
	is_str(downstream("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 0, 0, 1),
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n", "closing client");
	set_cookie = "KKSID=00ff; Path=/; HttpOnly";
	is_str(downstream("HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nContent-Length: 5\r\n\r\n",
	    0, 1, 1),
	    "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nContent-Length: 5\r\n"
	    "Set-Cookie: KKSID=00ff; Path=/; HttpOnly\r\n\r\n",
	    "the proxy's Set-Cookie after the backend's own");
	is_str(downstream("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", 0, 1, 1),
	    "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", "and none on a 1xx");
	set_cookie = NULL;
	is_str(downstream("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 0, 1, 0),
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n",
	    "HTTP/1.0 client kept alive says so");
	is_str(downstream("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 1, 1),
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "chunked response");
	is_str(downstream("HTTP/1.0 200 OK\r\nX: y\r\n\r\n", 0, 1, 1),
	    "HTTP/1.1 200 OK\r\nX: y\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "close-delimited response chunked for HTTP/1.1");
	is_int(info.flags & KK_H1_F_CLOSE, KK_H1_F_CLOSE, "and its backend connection is not reusable");
	is_str(downstream("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", 1, 1, 1),
	    "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", "HEAD response keeps its length, no body");
	is_int(info.body, KK_H1_BODY_NONE, "HEAD response has no body");
	is_str(downstream("HTTP/1.1 204 No Content\r\n\r\n", 0, 1, 1),
	    "HTTP/1.1 204 No Content\r\n\r\n", "204 without framing");
	is_str(downstream("HTTP/1.1 100 Continue\r\n\r\n", 0, 1, 1),
	    "HTTP/1.1 100 Continue\r\n\r\n", "1xx passed as is");
	is_str(downstream("HTTP/1.1 101 Switching Protocols\r\n\r\n", 0, 1, 1), "(invalid)",
	    "101 without Upgrade");
	is_str(downstream("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
	    "Connection: Upgrade\r\n\r\n", 0, 1, 1), "(invalid)", "101 to h2c");
	is_str(downstream("HTTP/1.0 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", 0, 1, 1),
	    "(invalid)", "101 in HTTP/1.0");
	is_str(downstream("HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: s\r\n\r\n", 0, 1, 1),
	    "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: s\r\nUpgrade: WebSocket\r\n"
	    "Connection: upgrade\r\n\r\n", "101 passed with its Upgrade, re-serialised");
	is_int(rh.flags & KK_HEAD_F_UPGRADE, KK_HEAD_F_UPGRADE, "and flagged");
	is_str(downstream("HTTP/1.1 426 Upgrade Required\r\nUpgrade: x\r\nConnection: Upgrade\r\n"
	    "Content-Length: 0\r\n\r\n", 0, 1, 1),
	    "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n",
	    "Upgrade in another response is hop-by-hop: dropped");
	is_str(downstream("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 0, 1, 1),
	    "(invalid)", "conflicting lengths");

	/* Chunked bodies, fed whole and byte by byte. */
	is_str(dechunk("3\r\nabc\r\n0\r\n\r\n", 1000), "abc", "one chunk");
	is_str(dechunk("3\r\nabc\r\n0\r\n\r\n", 1), "abc", "one chunk, byte by byte");
	is_str(dechunk("3;a=b;c=\"d e\"\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: 1\r\nU: 2\r\n\r\n", 1),
	    "abc0123456789", "extensions and trailers dropped");
	is_str(dechunk("003\r\nabc\r\n0000\r\n\r\n", 2), "abc", "leading zeros");
	is_str(dechunk("3\nabc\r\n0\r\n\r\n", 1000), "(error)", "bare LF after the size");
	is_str(dechunk("3\r\nabc\n0\r\n\r\n", 1000), "(error)", "bare LF after the data");
	is_str(dechunk("3;a\nb\r\nabc\r\n0\r\n\r\n", 1000), "(error)", "LF inside an extension");
	is_str(dechunk("3;a\001\r\nabc\r\n0\r\n\r\n", 1000), "(error)", "control char in an extension");
	is_str(dechunk("3x\r\nabc\r\n0\r\n\r\n", 1000), "(error)", "junk after the size");
	is_str(dechunk("\r\nabc\r\n0\r\n\r\n", 1000), "(error)", "missing size");
	is_str(dechunk("1000000000000000\r\n", 1000), "(error)", "size overflow");
	is_str(dechunk("3\r\nabcd\r\n0\r\n\r\n", 1000), "(error)", "more data than the size");
	is_str(dechunk("0\r\n X: folded\r\n\r\n", 1000), "(error)", "folded trailer");
	is_str(dechunk("3\r\nabc\r\n0\r\n", 1000), "(incomplete)", "end not reached without the last CRLF");
	is_str(dechunk("3 \r\nabc\r\n0\r\n\r\n", 1000), "(error)", "SP after the size");
	is_str(dechunk("3\t\r\nabc\r\n0\r\n\r\n", 1), "(error)", "tab after the size");
	is_str(dechunk("3\r\nabc\r\n0 \r\n\r\n", 1000), "(error)", "SP after the last size");
	is_str(dechunk(" 3\r\nabc\r\n0\r\n\r\n", 1000), "(error)", "SP before the size");
	is_str(dechunk("3 \t ;a=b\r\nabc\r\n0\r\n\r\n", 1), "abc", "BWS before an extension");
	is_str(dechunk("3; a = \"x\\\"y;z\"\r\nabc\r\n0\r\n\r\n", 1), "abc",
	    "quoted extension value with an escape and a ';'");
	is_str(dechunk("3;a=\"b\r\nc\"\r\nabc\r\n0\r\n\r\n", 1000), "(error)",
	    "CRLF inside a quoted extension");
	is_str(dechunk("3;a=\"b\r\nabc\r\n0\r\n\r\n", 1000), "(error)", "unterminated quote");
	is_str(dechunk("3;a=b/c\r\nabc\r\n0\r\n\r\n", 1000), "(error)", "'/' in an unquoted extension");
	is_str(dechunk("0\r\nGET /x HTTP/1.1\r\n\r\n", 1000), "(error)",
	    "trailer that is not a field line");
	is_str(dechunk("0\r\n: x\r\n\r\n", 1000), "(error)", "trailer without a name");
	is_str(dechunk("0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 1), "",
	    "framing fields in trailers are dropped with the rest");

	/* Trailer sections, read whole. */
	{
		kk_fields fl;
		char out[256], big[KK_H1_CHUNK_TRAILERMAX + 64];
		size_t n;
		is_int(kk_h1_parse_trailers(&fl, "X-Sum:  42 \r\nX-B:\r\n\r\nGET", 24), 21,
		    "a trailer section: its length");
		is_int(fl.n, 2, "two fields");
		ok(fl.f[0].value.len == 2 && !memcmp(fl.base + fl.f[0].value.off, "42", 2),
		    "value trimmed");
		is_int(fl.f[1].value.len, 0, "an empty value");
		is_int(kk_h1_parse_trailers(&fl, "X-Sum: 42\r\n", 11), 0, "incomplete: 0");
		is_int(kk_h1_parse_trailers(&fl, "X-Sum: 4\x01\r\n\r\n", 14), -1,
		    "control char in a value");
		is_int(kk_h1_parse_trailers(&fl, "X-Sum: 42\n\r\n", 12), -1, "bare LF");
		memset(big, 'a', sizeof big);
		memcpy(big, "X: ", 3);
		is_int(kk_h1_parse_trailers(&fl, big, sizeof big), -1, "larger than the limit");
		kk_h1_parse_trailers(&fl, "X-Sum: 42\r\nContent-Length: 3\r\n\r\n", 35);
		fl.f[0].fwd = 1;
		n = kk_h1_write_trailers(&fl, out, sizeof out - 1);
		out[n] = 0;
		is_str(out, "0\r\nX-Sum: 42\r\n\r\n", "written with the last chunk, as kept");
		is_int(kk_h1_write_trailers(&fl, out, 10), 0, "no room: 0");
	}

	/* --https-redirect: the status and the Location given (front.c
	 * makes it, for h1 and h2 alike). */
	{
		char out[256];
		size_t n = kk_h1_write_redirect(301, 1, "https://a.test/p?q=1", 20, out,
		    sizeof out - 1);
		out[n] = 0;
		is_str(out, "HTTP/1.1 301 Moved Permanently\r\nLocation: https://a.test/p?q=1\r\n"
		    "Content-Length: 0\r\n\r\n", "a 301 with its Location");
		n = kk_h1_write_redirect(308, 0, "https://a.test:8443/", 20, out, sizeof out - 1);
		out[n] = 0;
		is_str(out, "HTTP/1.1 308 Permanent Redirect\r\nLocation: https://a.test:8443/\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n", "a 308, closing");
		is_int(kk_h1_write_redirect(301, 1, "https://a.test/", 15, out, 20), 0,
		    "no room: 0");
	}
	return done();
}
