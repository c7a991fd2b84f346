/* ISC license. */
/* The certificate index of an https listener: the selection order of
 * tlsctx.h (exact name, one-label wildcard, default; a usable key, ECDSA
 * before RSA, the later expiry), the default as the oldest certificate
 * still linked or the policy's, a certificate linked back where it was,
 * host coverage for 421, and the key kinds read from ClientHello bytes.
 * The certificates are made here, self-signed, with libcrypto. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include "tap.h"
#include "worker/tlsctx.c"
#include "worker/tls.c"
#include "worker/tlsbio.c"
#include "worker/transport.c"
#include "worker/tlsclient.c"
#include "worker/log.c"
#include "worker/tlshello.c"
#include "worker/tlskeys.c"
#include "worker/tlspeer.c"

struct kk_stats kk_stats;

static EVP_PKEY *ec_key, *rsa_key;

/* A new key of type id (EVP_PKEY_EC: P-256, EVP_PKEY_RSA: 2048 bits),
 * through the EVP calls both libraries have. */
static EVP_PKEY *
keygen(int id)
{
	EVP_PKEY_CTX *k = EVP_PKEY_CTX_new_id(id, NULL);
	EVP_PKEY *key = NULL;
	EVP_PKEY_keygen_init(k);
	if (id == EVP_PKEY_EC)
		EVP_PKEY_CTX_set_ec_paramgen_curve_nid(k, NID_X9_62_prime256v1);
	else
		EVP_PKEY_CTX_set_rsa_keygen_bits(k, 2048);
	EVP_PKEY_keygen(k, &key);
	EVP_PKEY_CTX_free(k);
	return key;
}

/* Bytes of what the PEM writer wrote into a memory BIO. */
static void
take_bio(BIO *b, kk_blob *out)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);
	out->p = malloc((size_t)n);
	memcpy(out->p, p, (size_t)n);
	out->len = (size_t)n;
	BIO_free(b);
}

/* A certificate for names (the first as CN), with that key, expiring
 * days from now, under fingerprint fp (the index takes it as given). */
static kk_certificate
make(const char *fp, EVP_PKEY *key, int days, const char *n1, const char *n2)
{
	kk_certificate c;
	X509 *x = X509_new();
	BIO *b;
	memset(&c, 0, sizeof c);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), days);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)n1, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	X509_sign(x, key, EVP_sha256());
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, x);
	take_bio(b, &c.cert);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
	take_bio(b, &c.key);
	X509_free(x);
	snprintf(c.fingerprint, sizeof c.fingerprint, "%s", fp);
	c.names = calloc(2, sizeof *c.names);
	c.names[c.nnames++] = strdup(n1);
	if (n2)
		c.names[c.nnames++] = strdup(n2);
	c.not_after = days;
	c.key_kind = key == ec_key ? KK_KEY_EC : KK_KEY_RSA;
	return c;
}

/* Prepared and linked; the index keeps nothing of c. */
static kk_tlscert *
add(kk_tlsctx *x, kk_certificate c)
{
	char err[256];
	kk_tlscert *t = kk_tlsctx_prepare(x, &c, err, sizeof err);
	size_t i;
	if (!t)
		printf("# prepare: %s\n", err);
	else
		kk_tlsctx_link(x, t, NULL);
	free(c.cert.p);
	free(c.key.p);
	for (i = 0; i < c.nnames; i++)
		free(c.names[i]);
	free(c.names);
	return t;
}

static const char *
pick(const kk_tlsctx *x, const char *name, unsigned mask)
{
	kk_tlscert *c = kk_tlsctx_select(x, name, name ? strlen(name) : 0, mask);
	return c ? kk_tlscert_fingerprint(c) : "(none)";
}

/* The key kinds of a ClientHello's extensions and suites, as bytes. */
static unsigned
kinds(const kk_tlsctx *x, const char *sigalgs, size_t sl, const char *vers, size_t vl,
    const char *suites, size_t cl)
{
	kk_tlshello h;
	memset(&h, 0, sizeof h);
	h.sigalgs = (const unsigned char *)sigalgs;
	h.sigalgslen = sl;
	h.versions = (const unsigned char *)vers;
	h.versionslen = vl;
	h.suites = (const unsigned char *)suites;
	h.suiteslen = cl;
	return client_kinds(x, &h);
}

/* Backend TLS contexts (tlsclient.c), one per setting and found by an
 * index: many --sni names are as many contexts, the same setting shares
 * one, and the last unref frees it. */
static void
test_backend_contexts(void)
{
	enum { N = 2000 };
	static kk_tlsclient *x[N];
	kk_tlsclient *none;
	kk_cluster_tls t;
	char name[64], err[256];
	unsigned i, shared = 0, distinct = 1;
	memset(&t, 0, sizeof t);
	t.sni = name;		/* --no-verify: no CA store to read for each */
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof name, "b%u.test", i);
		x[i] = kk_tlsclient_get(&t, err, sizeof err);
	}
	is_int(clients.n, N, "a context per --sni name");
	for (i = 1; i < N; i++)
		distinct &= x[i] && x[i] != x[i - 1];
	ok(distinct, "each its own");
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof name, "b%u.test", i);
		shared += kk_tlsclient_get(&t, err, sizeof err) == x[i];
	}
	is_int(shared, N, "the same setting again: the same context");
	t.sni = NULL;
	none = kk_tlsclient_get(&t, err, sizeof err);
	ok(none && none != x[0] && clients.n == N + 1, "no name is another setting");
	kk_tlsclient_unref(none);
	for (i = 0; i < N; i++) {
		kk_tlsclient_unref(x[i]);
		kk_tlsclient_unref(x[i]);
	}
	ok(!clients.n, "the last unref of each frees it");

	/* Verifying contexts share the store of their CA: the system
	 * bundle is read once for all the names. */
	t.verify = 1;
	t.sni = name;
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof name, "v%u.test", i);
		x[i] = kk_tlsclient_get(&t, err, sizeof err);
	}
	ok(x[0] && x[49] && x[0] != x[49] && clients.n == 50 && stores.n == 1
	    && x[0]->ca == x[49]->ca && SSL_CTX_get_cert_store(x[0]->ctx) == x[0]->ca->store,
	    "50 names verified against the system store: 50 contexts, one store");
	{
		static char pem[] = "-----BEGIN CERTIFICATE-----\n";
		kk_tlsclient *own;
		t.ca.p = (unsigned char *)pem;
		t.ca.len = sizeof pem - 1;
		snprintf(t.ca_hash, sizeof t.ca_hash, "%064d", 1);
		/* Bytes no certificate reads from: no store, no context. */
		own = kk_tlsclient_get(&t, err, sizeof err);
		ok(!own && stores.n == 1 && strstr(err, "out of memory"),
		    "a CA that gives no certificate makes no store");
	}
	for (i = 0; i < 50; i++)
		kk_tlsclient_unref(x[i]);
	ok(!clients.n && !stores.n, "the last context of a store frees it");
}

int
main(void)
{
	kk_tls_policy p;
	kk_tlsctx *x;
	kk_tlscert *c, *after;
	char err[256];
	unsigned both = KK_TLS_KIND(KK_KEY_EC) | KK_TLS_KIND(KK_KEY_RSA);

	ec_key = keygen(EVP_PKEY_EC);
	rsa_key = keygen(EVP_PKEY_RSA);
	ok(ec_key && rsa_key, "an ECDSA and an RSA key");

	memset(&p, 0, sizeof p);
	p.versions = KK_TLS_1_2 | KK_TLS_1_3;
	p.strict_sni = 1;
	x = kk_tlsctx_new(&p, err, sizeof err);
	ok(x != NULL, "a context from the default policy");
	is_str(pick(x, "a.test", both), "(none)", "no certificate: none to serve");

	ok(add(x, make("dflt", ec_key, 30, "default.test", NULL)) != NULL, "added the first");
	add(x, make("a-ec", ec_key, 30, "a.test", "www.a.test"));
	add(x, make("a-rsa", rsa_key, 40, "a.test", "www.a.test"));
	add(x, make("a-late", ec_key, 50, "a.test", NULL));
	add(x, make("wild", ec_key, 30, "*.w.test", NULL));
	is_int(kk_tlsctx_count(x), 5, "five linked");

	is_str(pick(x, "a.test", both), "a-late", "of the ECDSA ones, the later expiry");
	is_str(pick(x, "www.a.test", both), "a-ec",
	    "ECDSA before RSA when the client takes both, though RSA expires later");
	is_str(pick(x, "www.a.test", KK_TLS_KIND(KK_KEY_RSA)), "a-rsa", "RSA for an RSA client");
	is_str(pick(x, "x.w.test", both), "wild", "a one-label wildcard");
	is_str(pick(x, "a.b.w.test", both), "dflt", "two labels: the default");
	is_str(pick(x, "w.test", both), "dflt", "the wildcard's own domain: the default");
	is_str(pick(x, NULL, both), "dflt", "no name: the default, the first added");
	is_str(pick(x, "x.w.test", KK_TLS_KIND(KK_KEY_RSA)), "wild",
	    "no usable key anywhere: the first step that had one decides");

	/* Linked back where it was, the default is the default again. */
	c = kk_tlsctx_unlink(x, "dflt", &after);
	ok(c && after && !strcmp(kk_tlscert_fingerprint(after), "a-ec"),
	    "unlink says which one followed");
	is_str(pick(x, NULL, both), "a-ec", "without it, the oldest left is the default");
	ok(!kk_tlsctx_has(x, "dflt"), "no longer linked");
	kk_tlsctx_link(x, c, after);
	is_str(pick(x, NULL, both), "dflt", "linked back before its follower: the default again");
	ok(kk_tlsctx_unlink(x, "nosuch", &after) == NULL, "an unknown fingerprint: NULL");

	/* Coverage, for 421. */
	c = kk_tlsctx_select(x, "www.a.test", 10, both);
	ok(kk_tlscert_covers(c, "www.a.test", 10) && kk_tlscert_covers(c, "a.test", 6),
	    "a certificate covers its names");
	ok(!kk_tlscert_covers(c, "b.test", 6), "and no other");
	c = kk_tlsctx_select(x, "x.w.test", 8, both);
	ok(kk_tlscert_covers(c, "y.w.test", 8), "a wildcard covers another name of one label");
	ok(!kk_tlscert_covers(c, "a.b.w.test", 10) && !kk_tlscert_covers(c, "w.test", 6),
	    "not two labels, not its own domain");

	/* Key kinds from the ClientHello. */
	is_int(kinds(x, "\x08\x04", 2, "\x03\x04\x03\x03", 4, "\x13\x01", 2),
	    KK_TLS_KIND(KK_KEY_RSA), "TLS 1.3 with rsa_pss_rsae_sha256 only: RSA");
	is_int(kinds(x, "\x04\x03\x08\x04", 4, "\x03\x04", 2, "\x13\x01", 2), (long long)both,
	    "TLS 1.3 with both schemes: both");
	is_int(kinds(x, "\x04\x03\x08\x04", 4, NULL, 0, "\xc0\x2f", 2),
	    KK_TLS_KIND(KK_KEY_RSA), "TLS 1.2, ECDHE-RSA suites only: RSA whatever the schemes");
	is_int(kinds(x, NULL, 0, NULL, 0, "\xc0\x2b", 2), KK_TLS_KIND(KK_KEY_EC),
	    "TLS 1.2 without signature_algorithms, ECDHE-ECDSA suites: ECDSA");

	kk_tlsctx_unref(x);
	/* The policy's default. */
	p.default_cert = "second";
	x = kk_tlsctx_new(&p, err, sizeof err);
	add(x, make("first", ec_key, 30, "one.test", NULL));
	add(x, make("second", ec_key, 30, "two.test", NULL));
	is_str(pick(x, "nowhere.test", both), "second", "--default-certificate names the default");
	kk_tlsctx_unref(x);
	p.default_cert = NULL;
	p.ciphers = "NO-SUCH-SUITE";
	ok(kk_tlsctx_new(&p, err, sizeof err) == NULL && strstr(err, "NO-SUCH-SUITE"),
	    "a cipher list the library refuses is named in the error");
	test_backend_contexts();
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(rsa_key);
	return done();
}
