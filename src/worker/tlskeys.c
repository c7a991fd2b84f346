/* ISC license. */
/* The worker's session-ticket keys (tlskeys.h). Tickets are AES-256-CBC
 * with HMAC-SHA256 over the ciphertext, the construction of RFC 5077
 * section 4 that both TLS libraries implement behind the callback; only
 * the keys are ours. The libraries differ in one argument of the callback
 * (an HMAC_CTX, or OpenSSL 3's EVP_MAC_CTX), set up in one place below. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <kakehi/config.h>
#include <kakehi/handoff.h>
#include <kakehi/proto.h>
#include <kakehi/verb.h>
#ifdef KAKEHI_TLS_OPENSSL
#include <openssl/core_names.h>
#else
#include <openssl/hmac.h>
#endif
#include "tlskeys.h"

typedef struct ticket_key ticket_key;
struct ticket_key {
	unsigned char name[KK_TLS_KEY_NAME_LEN];
	unsigned char hmac[KK_TLS_KEY_HMAC_LEN];
	unsigned char aes[KK_TLS_KEY_AES_LEN];
};

/* ring[0] encrypts; nkeys 0: none yet. serial 0 with a key: the worker's
 * own, made at the first ticket it had to issue. */
static ticket_key ring[KK_TLS_KEYS_MAX];
static unsigned nkeys;
static unsigned long long serial;
/* Seconds a ticket lives, from the supervisor; 0: the library's default. */
static unsigned long lifetime;

/* The contexts installed, so a ring with another lifetime reaches the
 * ones built before it (a worker builds its first before its channel
 * brings the ring). A context leaves the list when the library frees it,
 * through the free callback of its ex_data slot. */
typedef struct installed installed;
struct installed {
	SSL_CTX *ctx;
	installed *prev, *next;
};
static installed contexts = { 0, &contexts, &contexts };
static int slot = -1;

static void
forget_ctx(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int index, long argl, void *argp)
{
	installed *x = ptr;
	(void)parent; (void)ad; (void)index; (void)argl; (void)argp;
	if (!x)
		return;
	x->prev->next = x->next;
	x->next->prev = x->prev;
	free(x);
}

static const ticket_key *
find_key(const unsigned char *name, unsigned *at)
{
	for (unsigned i = 0; i < nkeys; i++)
		if (!CRYPTO_memcmp(ring[i].name, name, KK_TLS_KEY_NAME_LEN)) {
			*at = i;
			return &ring[i];
		}
	return 0;
}

static int
own_key(void)
{
	if (RAND_bytes((unsigned char *)&ring[0], sizeof ring[0]) != 1)
		return 0;
	nkeys = 1;
	serial = 0;
	return 1;
}

#ifdef KAKEHI_TLS_OPENSSL
typedef EVP_MAC_CTX mac_ctx;

static int
mac_init(mac_ctx *m, const ticket_key *k)
{
	OSSL_PARAM p[2];
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
	p[1] = OSSL_PARAM_construct_end();
	return EVP_MAC_init(m, k->hmac, sizeof k->hmac, p) == 1;
}
#else
typedef HMAC_CTX mac_ctx;

static int
mac_init(mac_ctx *m, const ticket_key *k)
{
	return HMAC_Init_ex(m, k->hmac, sizeof k->hmac, EVP_sha256(), 0) == 1;
}
#endif

/* The libraries' convention: encrypting, 1 done and -1 failed (OpenSSL
 * also takes 0 as "issue no ticket"); decrypting, 0 an unknown key (a full
 * handshake follows), 1 resumed, 2 resumed and to be re-issued under the
 * current key, -1 abort the handshake. */
static int
on_ticket(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *c,
    mac_ctx *m, int encrypt)
{
	const ticket_key *k;
	unsigned at = 0;
	(void)ssl;
	if (encrypt) {
		if (!nkeys && !own_key())
			return -1;
		k = &ring[0];
		if (RAND_bytes(iv, EVP_CIPHER_iv_length(EVP_aes_256_cbc())) != 1)
			return -1;
		memcpy(name, k->name, sizeof k->name);
		if (EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), 0, k->aes, iv) != 1
		    || !mac_init(m, k))
			return -1;
		return 1;
	}
	k = find_key(name, &at);
	if (!k)
		return 0;
	if (!mac_init(m, k) || EVP_DecryptInit_ex(c, EVP_aes_256_cbc(), 0, k->aes, iv) != 1)
		return -1;
	return at ? 2 : 1;
}

void
kk_tls_keys_install(SSL_CTX *ctx)
{
	installed *x;
	if (slot < 0)
		slot = SSL_CTX_get_ex_new_index(0, 0, 0, 0, forget_ctx);
	/* Without its entry a context keeps the lifetime it gets here. */
	if (slot >= 0 && !SSL_CTX_get_ex_data(ctx, slot) && (x = malloc(sizeof *x))) {
		if (SSL_CTX_set_ex_data(ctx, slot, x) == 1) {
			x->ctx = ctx;
			x->next = contexts.next;
			x->prev = &contexts;
			contexts.next->prev = x;
			contexts.next = x;
		} else
			free(x);
	}
#ifdef KAKEHI_TLS_OPENSSL
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket);
#else
	SSL_CTX_set_tlsext_ticket_key_cb(ctx, on_ticket);
#endif
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (lifetime)
		SSL_CTX_set_timeout(ctx, lifetime);
}

static int
take_key(ticket_key *k, const char *hex)
{
	kk_str raw = KK_STR_ZERO;
	int ok = strlen(hex) == 2 * sizeof *k && strspn(hex, "0123456789abcdef") == 2 * sizeof *k
	    && kk_handoff_unhex(&raw, hex) && raw.len == sizeof *k;
	if (ok)
		memcpy(k, raw.s, sizeof *k);
	if (raw.s)
		OPENSSL_cleanse(raw.s, raw.cap);
	kk_str_free(&raw);
	return ok;
}

int
kk_tls_keys_set(unsigned argc, const char *const *argv, char *err, size_t errlen)
{
	ticket_key next[KK_TLS_KEYS_MAX];
	unsigned long long s;
	unsigned long life;
	unsigned n = argc > 3 ? argc - 3 : 0, i;
	char *end;

	if (argc < 4 || n > KK_TLS_KEYS_MAX) {
		snprintf(err, errlen, "tls-keys: want SERIAL LIFETIME and 1 to %d keys, got %u"
		    " words", KK_TLS_KEYS_MAX, argc);
		return 0;
	}
	s = strtoull(argv[1], &end, 10);
	if (!*argv[1] || *end || !kk_scan_uint(argv[2], 1, 7 * 86400, &life)) {
		snprintf(err, errlen, "tls-keys: serial \"%.30s\" or lifetime \"%.30s\" is not"
		    " a number", argv[1], argv[2]);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (!take_key(&next[i], argv[3 + i])) {
			OPENSSL_cleanse(next, sizeof next);
			snprintf(err, errlen, "tls-keys: key %u is not %d bytes in lower-case"
			    " hex", i + 1, KK_TLS_KEY_LEN);
			return 0;
		}
	OPENSSL_cleanse(ring, sizeof ring);
	memcpy(ring, next, n * sizeof *ring);
	OPENSSL_cleanse(next, sizeof next);
	nkeys = n;
	serial = s;
	if (life != lifetime)
		for (installed *x = contexts.next; x != &contexts; x = x->next)
			SSL_CTX_set_timeout(x->ctx, life);
	lifetime = life;
	return 1;
}

int
kk_tls_keys_status(kk_str *out)
{
	if (!kk_str_catf(out, "tls-ticket-serial %llu\ntls-ticket-key ", serial))
		return 0;
	if (!nkeys)
		return kk_str_cats(out, "none\n");
	return kk_handoff_cathex(out, (const char *)ring[0].name, sizeof ring[0].name)
	    && kk_str_cats(out, "\n");
}
