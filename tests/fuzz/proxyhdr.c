/* ISC license. */
/* libFuzzer target for the PROXY header parser: any input is parsed
 * whole and as every prefix (each in a buffer of its exact size, so ASan
 * sees a read past the end), and the answers must agree: a prefix shorter
 * than a parsed header says MORE, a longer one gives the same header. A
 * parsed TCP header is built again and must parse to the same addresses.
 * Build and run: see tests/fuzz/README. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "worker/proxyhdr.c"

static int
same_addr(const kk_addr *a, const kk_addr *b)
{
	return a->len == b->len && !memcmp(&a->ss, &b->ss, a->len);
}

static void
round_trip(const kk_proxyhdr *h)
{
	unsigned char out[KK_PROXYHDR_BUILD_MAX];
	kk_proxyhdr back;
	int v;
	if (!h->src.len || h->src.ss.ss_family == AF_UNIX)
		return;
	for (v = 1; v <= 2; v++) {
		size_t n = kk_proxyhdr_build(out, sizeof out, v,
		    (const struct sockaddr *)&h->src.ss, (const struct sockaddr *)&h->dst.ss);
		if (!n || kk_proxyhdr_parse(&back, out, n, sizeof out) != KK_PROXYHDR_DONE ||
		    back.len != n || !same_addr(&back.src, &h->src) ||
		    !same_addr(&back.dst, &h->dst))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kk_proxyhdr whole, part;
	/* The caller's room, from the first byte: the cap path as well. */
	size_t max = size ? 16 + (size_t)data[0] * 32 : 16384, k;
	int r = kk_proxyhdr_parse(&whole, data, size, max);
	if (r == KK_PROXYHDR_DONE) {
		if (!whole.len || whole.len > size || whole.len > max)
			abort();
		round_trip(&whole);
	}
	if (r == KK_PROXYHDR_ERROR && (whole.err == KK_PROXYHDR_E_NONE ||
	    whole.err >= KK_PROXYHDR_E_TRUNCATED))
		abort();
	for (k = 0; k < size; k++) {
		unsigned char *p = malloc(k ? k : 1);
		int rp;
		memcpy(p, data, k);
		rp = kk_proxyhdr_parse(&part, p, k, max);
		free(p);
		if (r == KK_PROXYHDR_DONE) {
			if (k < whole.len ? rp != KK_PROXYHDR_MORE :
			    rp != KK_PROXYHDR_DONE || part.len != whole.len)
				abort();
		} else if (r == KK_PROXYHDR_MORE && rp != KK_PROXYHDR_MORE)
			abort();
		else if (r == KK_PROXYHDR_ERROR && rp == KK_PROXYHDR_DONE)
			abort();
	}
	return 0;
}
