/* ISC license. */
/* libFuzzer target for the ClientHello peek: any input is parsed whole
 * with a fresh state, then again in two segments cut where its first
 * bytes say, with the state carried over as the worker carries it; both
 * must give the same answer. Each segment is parsed from a buffer of its
 * exact size, so ASan sees a read past the end. The server name must come
 * out lower case LDH and dots. Build and run: see tests/fuzz/README. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "worker/clienthello.c"

static void
check_name(const kk_clienthello *ch)
{
	size_t i;
	if (ch->namelen > KK_CLIENTHELLO_NAME_MAX || strlen(ch->name) != ch->namelen ||
	    ch->alpn_len > KK_CLIENTHELLO_ALPN_MAX)
		abort();
	for (i = 0; i < ch->namelen; i++) {
		char c = ch->name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			abort();
	}
}

static int
parse_copy(kk_clienthello *ch, const uint8_t *data, size_t len)
{
	unsigned char *p = malloc(len ? len : 1);
	int r;
	memcpy(p, data, len);
	r = kk_clienthello_parse(ch, p, len, KK_CLIENTHELLO_MAX);
	free(p);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kk_clienthello whole, split;
	size_t cut;
	int r, rs;
	kk_clienthello_init(&whole);
	r = kk_clienthello_parse(&whole, data, size, KK_CLIENTHELLO_MAX);
	if (r == KK_CLIENTHELLO_DONE) {
		check_name(&whole);
		if (whole.len > size)
			abort();
	}
	cut = size > 8 ? ((size_t)data[size - 1] << 8 | data[size - 2]) % size : 0;
	kk_clienthello_init(&split);
	rs = parse_copy(&split, data, cut);
	if (rs != KK_CLIENTHELLO_MORE) {
		/* Decided early: the whole must agree, or be a refusal too. */
		if (rs == KK_CLIENTHELLO_DONE && (r != rs || split.len != whole.len))
			abort();
		if (rs == KK_CLIENTHELLO_ERROR && (r != rs || split.err != whole.err))
			abort();
		return 0;
	}
	rs = parse_copy(&split, data, size);
	if (rs != r)
		abort();
	if (r == KK_CLIENTHELLO_DONE && (split.len != whole.len ||
	    strcmp(split.name, whole.name) || split.alpn_len != whole.alpn_len ||
	    memcmp(split.alpn, whole.alpn, whole.alpn_len)))
		abort();
	if (r == KK_CLIENTHELLO_ERROR && split.err != whole.err)
		abort();
	return 0;
}
