/* ISC license. */
/* Basic authentication (auth.h; RFC 7617). Memory: a route's users are
 * one block and an index made when the route is built; a request
 * allocates nothing, its credentials decoded on the stack. */
#include <crypt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/sha.h>
#include <kakehi/action.h>
#include <kakehi/base64.h>
#include <kakehi/htpasswd.h>
#include <kakehi/index.h>
#include "auth.h"
#include "loop.h"
#include "status.h"

typedef struct rauth rauth;
struct rauth {
	kk_index users;		/* user -> offset of its hash in file */
	char *file;		/* the password file, each hash NUL ended in place */
	size_t len;
	unsigned char digest[SHA256_DIGEST_LENGTH];	/* of the file, for the cache */
};

/* The routes' auth, by the address of their item's realm (edit.c's way
 * with regexes). */
static kk_index compiled;
#define KEY(a) ((const char *)&(a)->name), sizeof (a)->name

static int
item(const char *actions, kk_action *a)
{
	size_t pos = 0;
	while (actions && kk_action_next(actions, &pos, a))
		if (a->kind == KK_ACTION_AUTH)
			return 1;
	return 0;
}

static void
rauth_free(rauth *r)
{
	kk_index_free(&r->users);
	if (r->file) {
		explicit_bzero(r->file, r->len);
		free(r->file);
	}
	free(r);
}

int
kk_auth_compile(const char *actions)
{
	const char *user, *hash;
	size_t ulen, hlen, pos = 0;
	kk_action a;
	rauth *r;
	if (!item(actions, &a))
		return 1;
	if (!(r = calloc(1, sizeof *r)))
		return 0;
	if (!kk_base64_decode(a.value + 1, a.vlen - 1, (unsigned char **)&r->file, &r->len))
		goto fail;
	SHA256((const unsigned char *)r->file, r->len, r->digest);
	/* The state checked the file: every entry is user:hash. */
	while (kk_htpasswd_next(r->file, r->len, &pos, &user, &ulen, &hash, &hlen)) {
		if (!kk_index_put(&r->users, user, ulen, (size_t)(hash - r->file)))
			goto fail;
		((char *)hash)[hlen] = 0;	/* the line's end: CR, LF, or the last byte */
	}
	if (!kk_index_put(&compiled, KEY(&a), (size_t)(uintptr_t)r))
		goto fail;
	return 1;
fail:
	rauth_free(r);
	return 0;
}

void
kk_auth_release(const char *actions)
{
	kk_action a;
	size_t *v;
	if (!item(actions, &a) || !(v = kk_index_get(&compiled, KEY(&a))))
		return;
	rauth_free((rauth *)(uintptr_t)*v);
	kk_index_del(&compiled, KEY(&a));
}

/* The cache of credentials that passed: SHA-256 of the file's digest,
 * the user and the password. A password never stays in memory. */
static unsigned char cache[KK_AUTH_CACHE][SHA256_DIGEST_LENGTH];
/* The verifying budget: microseconds spent in the current second. */
static uint64_t budget_second, budget_spent;

/* Whether a and b, n bytes each, are equal, in time that does not
 * depend on where they differ. */
static int
same(const char *a, const char *b, size_t n)
{
	unsigned char d = 0;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return !d;
}

/* Whether password matches hash; costs the budget. -1 the budget is
 * spent: not tried. */
static int
verify(const char *password, const char *hash)
{
	static struct crypt_data data;	/* 32 KiB: static, one at a time */
	uint64_t t0, t1;
	const char *out;
	int ok;
	/* The clock now, not the turn's: the budget is of real time, and
	 * the timers after a costly hash should see it passed too. */
	kk_loop_clock();
	t0 = kk_now_us;
	if (t0 / 1000000 != budget_second) {
		budget_second = t0 / 1000000;
		budget_spent = 0;
	}
	if (budget_spent >= KK_AUTH_BUDGET_US)
		return -1;
	data.initialized = 0;
	out = crypt_r(password, hash, &data);
	/* crypt_r fails with a string starting with '*', never a hash. */
	ok = out && out[0] != '*' && strlen(out) == strlen(hash) && same(out, hash, strlen(hash));
	kk_loop_clock();
	t1 = kk_now_us;
	budget_spent += t1 - t0;
	explicit_bzero(&data, sizeof data);
	return ok;
}

int
kk_auth_request(const char *actions, const kk_reqhead *h, const char **realm,
    size_t *realmlen)
{
	/* user:password, from at most this much base64; longer: refused. */
	unsigned char cred[KK_HTPASSWD_USERMAX + 1 + 256 + 1], key[SHA256_DIGEST_LENGTH];
	const char *v, *colon;
	size_t n, vlen, *slot;
	kk_span span;
	kk_action a;
	rauth *r;
	unsigned char keyed[SHA256_DIGEST_LENGTH + sizeof cred];
	int ok;
	if (!item(actions, &a))
		return 0;
	*realm = a.name;
	*realmlen = a.nlen;
	if (!(slot = kk_index_get(&compiled, KEY(&a)))) {	/* no memory at build */
		kk_stats.auth_refused++;
		return 401;
	}
	r = (rauth *)(uintptr_t)*slot;
	if (!kk_fields_find(&h->fl, "authorization", &span))
		goto refused;
	v = h->fl.base + span.off;
	vlen = span.len;
	/* RFC 7617 §2: the scheme, any case, one or more spaces, token68. */
	if (vlen < 7 || strncasecmp(v, "Basic ", 6))
		goto refused;
	v += 6;
	vlen -= 6;
	while (vlen && *v == ' ') {
		v++;
		vlen--;
	}
	if (vlen > (sizeof cred - 1) / 3 * 4 || !kk_base64_decode_into(v, vlen, cred,
	    sizeof cred - 1, &n))
		goto refused;
	cred[n] = 0;
	if (!(colon = memchr(cred, ':', n)) || memchr(cred, 0, n)
	    || !(slot = kk_index_get(&r->users, (const char *)cred,
		(size_t)(colon - (const char *)cred))))
		goto wipe;
	memcpy(keyed, r->digest, sizeof r->digest);
	memcpy(keyed + sizeof r->digest, cred, n);
	SHA256(keyed, sizeof r->digest + n, key);
	explicit_bzero(keyed, sizeof keyed);
	{
		unsigned char *c = cache[(key[0] | (unsigned)key[1] << 8) % KK_AUTH_CACHE];
		if (!memcmp(c, key, sizeof key)) {
			explicit_bzero(cred, sizeof cred);
			kk_stats.auth_cached++;
			return 0;
		}
		ok = verify(colon + 1, r->file + *slot);
		explicit_bzero(cred, sizeof cred);
		if (ok < 0) {
			kk_stats.auth_budget++;
			return 429;
		}
		if (ok) {
			memcpy(c, key, sizeof key);
			kk_stats.auth_ok++;
			return 0;
		}
	}
	goto refused;
wipe:
	explicit_bzero(cred, sizeof cred);
refused:
	kk_stats.auth_refused++;
	return 401;
}
