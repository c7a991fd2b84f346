/* ISC license. */
/* A libFuzzer target for the HTTP/1 head parser and the chunked decoder.
 * Besides memory errors it checks what the proxy relies on: a request head
 * it accepts parses again, once re-serialised, to the same method, target,
 * host and framing, so the backend reads what was routed; and the chunked
 * decoder gives the same data and verdict whether its input comes whole or
 * one byte at a time. Build and run: make fuzz; build/fuzz/h1
 * -max_total_time=60 (tests/fuzz/README). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "worker/h1.c"
#include "worker/head.c"
#include "worker/reqid.c"
#include "worker/buf.c"
#include "worker/loop.c"
#include "worker/timer.c"

#define INMAX 16384

static kk_reqhead first, again;
static kk_h1info first_info, again_info;
static char out[INMAX * 2];
static char data1[INMAX], data2[INMAX];

static int
same_span(const kk_reqhead *x, kk_span a, const kk_reqhead *y, kk_span b)
{
	return a.len == b.len && !memcmp(x->fl.base + a.off, y->fl.base + b.off, a.len);
}

/* The re-serialised head reads as the original did. */
static void
check_request(const char *p, size_t n)
{
	static const kk_fwd fwd = { .client = "192.0.2.1", .port = "8080",
	    .fields = KK_FORWARD_DEFAULT };
	size_t scan = 0, w;
	long end = kk_h1_head_end(p, n, &scan);
	int e;
	if (end <= 0 || kk_h1_parse_request(&first, &first_info, p, (size_t)end) != KK_H1_OK)
		return;
	/* A client X-Forwarded-For list longer than the proxy's room for
	 * it is refused (431), not written. */
	if (!kk_head_forward(&first, &fwd))
		return;
	w = kk_h1_write_request(&first, "192.0.2.9:80", out, sizeof out);
	if (!w)
		abort();
	/* HTTP/1.0 without Host goes upstream with the backend's address,
	 * which routing never saw: nothing to compare. */
	if (!first.hostlen && !first.authority.len)
		return;
	scan = 0;
	if (kk_h1_head_end(out, w, &scan) != (long)w)
		abort();
	e = kk_h1_parse_request(&again, &again_info, out, w);
	/* What the proxy adds (X-Forwarded-*, a Host for an HTTP/1.0
	 * absolute-form) may take a head past the field limit. */
	if (e == KK_H1_E_TOO_MANY && first.fl.n + 4 > KK_H1_MAXHDRS)
		return;
	if (e != KK_H1_OK)
		abort();
	/* The authority upstream is the Host field written for it. */
	if (!same_span(&again, again.method, &first, first.method) ||
	    again.body != first.body || again.clen != first.clen ||
	    strcmp(again.host, first.host) || !same_span(&again, again.path, &first, first.path) ||
	    (again.flags & KK_HEAD_F_TARGET_AUTHORITY))
		abort();
}

/* Decodes p[0, n) feeding step bytes at a time; the data in buf, its
 * length in *len; returns the last verdict. */
static int
dechunk(const char *p, size_t n, size_t step, char *buf, size_t *len)
{
	kk_h1chunk d;
	size_t pos = 0, o = 0;
	kk_h1_chunk_init(&d);
	for (;;) {
		size_t avail = n - pos < step ? n - pos : step, used;
		int r = kk_h1_chunk_next(&d, p + pos, avail, &used);
		if (used > avail)
			abort();
		pos += used;
		if (r == KK_H1_CHUNK_DATA) {
			size_t k = n - pos < step ? n - pos : step;
			if (!d.left)
				abort();
			if (k > d.left)
				k = (size_t)d.left;
			if (!k)
				break;
			memcpy(buf + o, p + pos, k);
			o += k;
			pos += k;
			d.left -= k;
			continue;
		}
		if (r == KK_H1_CHUNK_TRAILERS) {
			kk_fields fl;
			long t = kk_h1_parse_trailers(&fl, p + pos, n - pos);
			if (t <= 0) {
				*len = o;
				return t < 0 ? KK_H1_CHUNK_ERR : KK_H1_CHUNK_MORE;
			}
			pos += (size_t)t;
			kk_h1_chunk_trailers_done(&d);
			continue;
		}
		if (r != KK_H1_CHUNK_MORE || pos == n) {
			*len = o;
			return r;
		}
	}
	*len = o;
	return KK_H1_CHUNK_MORE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	const char *p = (const char *)data;
	size_t l1, l2;
	int r1, r2;
	if (n > INMAX)
		return 0;
	check_request(p, n);
	r1 = dechunk(p, n, n ? n : 1, data1, &l1);
	r2 = dechunk(p, n, 1, data2, &l2);
	if (r1 != r2 || (r1 != KK_H1_CHUNK_ERR && (l1 != l2 || memcmp(data1, data2, l1))))
		abort();
	return 0;
}
