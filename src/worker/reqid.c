/* ISC license. */
/* Request ids (reqid.h). The first 64 bits are drawn at random when the
 * worker starts: two workers, or a worker and its successor, share them
 * with probability 2^-64. The last 64 are a counter put through a
 * bijective mix keyed by more random bits: distinct counters give
 * distinct ids within a worker, and the ids do not show how many
 * requests came before. */
#include <errno.h>
#include <stdint.h>
#include <sys/random.h>
#include <kakehi/index.h>
#include "reqid.h"

static uint64_t prefix, key, counter;

int
kk_reqid_init(void)
{
	uint64_t r[2];
	size_t got = 0;
	while (got < sizeof r) {
		ssize_t n = getrandom((char *)r + got, sizeof r - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
	prefix = r[0];
	key = r[1];
	return 1;
}

static void
hex64(char *out, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 15; i >= 0; i--, v >>= 4)
		out[i] = digits[v & 0xf];
}

size_t
kk_reqid_next(char out[KK_REQID_LEN])
{
	hex64(out, prefix);
	hex64(out + 16, kk_index_mix64(counter++ ^ key));
	return KK_REQID_LEN;
}
