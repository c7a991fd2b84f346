/* ISC license. */
/* kk_cert_parse and the life cycle of a kk_certificate. Certificates are
 * checked here, once, when a verb adds them, so that a bad file is
 * refused by the supervisor with a message, not by every worker. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <kakehi/cert.h>
#include <kakehi/state.h>
#include <kakehi/str.h>

/* A chain longer than this is a mistake (real ones have two or three). */
#define CHAIN_MAX 16
#define NAME_MAX_LEN 253

void
kk_blob_free(kk_blob *b)
{
	if (b->p) OPENSSL_cleanse(b->p, b->len);
	free(b->p);
	b->p = 0;
	b->len = 0;
}

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++) free(names[i]);
	free(names);
}

void
kk_cert_free(kk_certificate *x)
{
	free(x->listener);
	kk_blob_free(&x->cert);
	kk_blob_free(&x->key);
	kk_blob_free(&x->chain);
	kk_blob_free(&x->ocsp);
	free_names(x->names, x->nnames);
	memset(x, 0, sizeof *x);
}

static int
copy_blob(kk_blob *d, const kk_blob *s)
{
	d->len = s->len;
	if (!s->len) {
		d->p = 0;
		return 1;
	}
	if (!(d->p = malloc(s->len))) return 0;
	memcpy(d->p, s->p, s->len);
	return 1;
}

int
kk_cert_copy(kk_certificate *d, const kk_certificate *s)
{
	memset(d, 0, sizeof *d);
	memcpy(d->fingerprint, s->fingerprint, sizeof d->fingerprint);
	d->not_before = s->not_before;
	d->not_after = s->not_after;
	d->key_kind = s->key_kind;
	if ((s->listener && !(d->listener = strdup(s->listener)))
	    || !copy_blob(&d->cert, &s->cert) || !copy_blob(&d->key, &s->key)
	    || !copy_blob(&d->chain, &s->chain) || !copy_blob(&d->ocsp, &s->ocsp)
	    || (s->nnames && !(d->names = calloc(s->nnames, sizeof *d->names))))
		goto fail;
	for (; d->nnames < s->nnames; d->nnames++)
		if (!(d->names[d->nnames] = strdup(s->names[d->nnames]))) goto fail;
	return 1;
fail:
	kk_cert_free(d);
	errno = ENOMEM;
	return 0;
}

static int
same_blob(const kk_blob *a, const kk_blob *b)
{
	return a->len == b->len && (!a->len || !memcmp(a->p, b->p, a->len));
}

int
kk_cert_same_blobs(const kk_certificate *a, const kk_certificate *b)
{
	return same_blob(&a->cert, &b->cert) && same_blob(&a->key, &b->key)
	    && same_blob(&a->chain, &b->chain) && same_blob(&a->ocsp, &b->ocsp);
}

int
kk_fingerprint_canon(const char *in, char *out)
{
	size_t n = 0;
	int colons = strlen(in) == 95;
	for (const char *p = in; *p; p++) {
		char c = *p;
		if (colons && (p - in) % 3 == 2) {
			if (c != ':') return 0;
			continue;
		}
		if (c >= 'A' && c <= 'F') c = (char)(c + 32);
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || n >= 64) return 0;
		out[n++] = c;
	}
	out[n] = 0;
	return n == 64;
}

/* Whether the n bytes at w are an option naming a file's data. */
static int
data_option(const char *w, size_t n)
{
	return n > 7 && !memcmp(w, "--", 2) && !memcmp(w + n - 5, "-data", 5);
}

int
kk_cert_redact(kk_str *out, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	int hide = 0;
	while (p < end) {
		const char *w = p, *eq;
		size_t n;
		while (p < end && *p != ' ' && *p != '\n') p++;
		n = (size_t)(p - w);
		eq = memchr(w, '=', n);
		if (hide && n) {
			if (!kk_str_cats(out, "(hidden)")) return 0;
		} else if (eq && data_option(w, (size_t)(eq - w))) {
			if (!kk_str_catb(out, w, (size_t)(eq - w) + 1)
			    || !kk_str_cats(out, "(hidden)"))
				return 0;
		} else if (!kk_str_catb(out, w, n))
			return 0;
		if (n) hide = !eq && data_option(w, n);
		if (p < end && *p == '\n') hide = 0;
		if (p < end && !kk_str_catb(out, p++, 1)) return 0;
	}
	return kk_str_ready(out, 1);
}

void
kk_cert_fmt_time(char *buf, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, KK_CERT_TIMELEN, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, KK_CERT_TIMELEN, "%lld", (long long)t);
}

int
kk_cert_check_dates(const kk_certificate *x, time_t now, char *err, size_t errlen)
{
	char when[KK_CERT_TIMELEN];
	if ((int64_t)now < x->not_before) {
		kk_cert_fmt_time(when, x->not_before);
		snprintf(err, errlen, "the certificate is not valid before %s", when);
		return 0;
	}
	if ((int64_t)now > x->not_after) {
		kk_cert_fmt_time(when, x->not_after);
		snprintf(err, errlen, "the certificate expired on %s", when);
		return 0;
	}
	return 1;
}

/* Seconds since the epoch of an ASN1_TIME, by difference from the
 * epoch: the one conversion both libraries have. */
static int
asn1_seconds(const ASN1_TIME *t, int64_t *out)
{
	ASN1_TIME *epoch = ASN1_TIME_set(0, 0);
	int days, secs, ok;
	if (!epoch) return 0;
	ok = ASN1_TIME_diff(&days, &secs, epoch, t);
	ASN1_TIME_free(epoch);
	if (ok) *out = (int64_t)days * 86400 + secs;
	return ok;
}

/* The passphrase callback of every PEM read: none. The library's own
 * would prompt on a terminal, and a supervisor run by hand has one. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* The certificates of a PEM blob, appended to c (n so far, CHAIN_MAX at
 * most). 1 ok; 0 when a PEM block is not a certificate or there are too
 * many; *found counts those read. */
static int
read_certs(const kk_blob *b, X509 **c, size_t *n, size_t *found)
{
	BIO *bio;
	X509 *x;
	*found = 0;
	if (!b->len) return 1;
	if (!(bio = BIO_new_mem_buf(b->p, (int)b->len))) return 0;
	while ((x = PEM_read_bio_X509(bio, 0, no_passphrase, 0))) {
		if (*n >= CHAIN_MAX) {
			X509_free(x);
			BIO_free(bio);
			return 0;
		}
		c[(*n)++] = x;
		++*found;
	}
	BIO_free(bio);
	/* The end of the data is the one failure that is not an error. */
	if (ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE) {
		ERR_clear_error();
		return 1;
	}
	ERR_clear_error();
	return 0;
}

/* The leaf's DNS names from subjectAltName, else its common name, in
 * lower case. 1 ok; 0 with err. */
static int
leaf_names(X509 *leaf, char ***names, size_t *nnames, char *err, size_t errlen)
{
	GENERAL_NAMES *san = X509_get_ext_d2i(leaf, NID_subject_alt_name, 0, 0);
	const unsigned char *raw[64];
	size_t len[64], n = 0;
	char **out;
	if (san) {
		for (size_t i = 0; i < (size_t)sk_GENERAL_NAME_num(san) && n < 64; i++) {
			const GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
			if (g->type != GEN_DNS) continue;
			raw[n] = ASN1_STRING_get0_data(g->d.dNSName);
			len[n++] = (size_t)ASN1_STRING_length(g->d.dNSName);
		}
	}
	if (!n) {
		X509_NAME *subject = X509_get_subject_name(leaf);
		int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
		if (i >= 0) {
			ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
			raw[n] = ASN1_STRING_get0_data(cn);
			len[n++] = (size_t)ASN1_STRING_length(cn);
		}
	}
	if (!n) {
		GENERAL_NAMES_free(san);
		snprintf(err, errlen, "the certificate names no DNS name and no common name");
		return 0;
	}
	if (!(out = calloc(n, sizeof *out))) goto nomem;
	for (size_t i = 0; i < n; i++) {
		if (!len[i] || len[i] > NAME_MAX_LEN || memchr(raw[i], 0, len[i])) {
			free_names(out, i);
			GENERAL_NAMES_free(san);
			snprintf(err, errlen, "the certificate names a host that is not a DNS "
			    "name");
			return 0;
		}
		if (!(out[i] = malloc(len[i] + 1))) {
			free_names(out, i);
			goto nomem;
		}
		for (size_t k = 0; k < len[i]; k++) {
			char ch = (char)raw[i][k];
			out[i][k] = ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
		}
		out[i][len[i]] = 0;
	}
	GENERAL_NAMES_free(san);
	*names = out;
	*nnames = n;
	return 1;
nomem:
	GENERAL_NAMES_free(san);
	snprintf(err, errlen, "out of memory");
	return 0;
}

static EVP_PKEY *
read_key(const kk_blob *b)
{
	BIO *bio = BIO_new_mem_buf(b->p, (int)b->len);
	EVP_PKEY *k;
	if (!bio) return 0;
	k = PEM_read_bio_PrivateKey(bio, 0, no_passphrase, 0);
	BIO_free(bio);
	return k;
}

/* Each certificate after the first signed the one before it. 1 ok; 0
 * with err naming the link that breaks. */
static int
check_links(X509 **c, size_t n, size_t in_cert, char *err, size_t errlen)
{
	for (size_t i = 0; i + 1 < n; i++) {
		EVP_PKEY *issuer = X509_get_pubkey(c[i + 1]);
		int ok = X509_check_issued(c[i + 1], c[i]) == X509_V_OK && issuer
		    && X509_verify(c[i], issuer) == 1;
		EVP_PKEY_free(issuer);
		if (!ok) {
			const char *where = i + 1 < in_cert ? "the certificate file" : "the chain";
			ERR_clear_error();
			if (!i)
				snprintf(err, errlen, "%s does not link to the leaf: its first "
				    "certificate did not sign it; give the issuer's certificate "
				    "(the intermediate) first", where);
			else
				snprintf(err, errlen, "%s does not link: certificate %zu of the "
				    "chain did not sign the one before it", where, i + 1);
			return 0;
		}
	}
	return 1;
}

/* Chains already checked, by the SHA-256 of their bytes: thousands of
 * leaves usually share one intermediate, and parsing its PEM and
 * verifying its own links once per leaf was most of a large config's
 * load. An entry holds the chain's certificates, parsed, and stands for
 * "these bytes are certificates each signed by the next"; the link from
 * a leaf to the chain's first certificate is verified for every leaf,
 * so a cached chain proves nothing about a leaf it did not sign. Kept
 * for the process's life; a full cache replaces its entries in turn. */
#define CHAIN_CACHE 8
static struct {
	unsigned char digest[32];
	X509 *c[CHAIN_MAX];
	size_t n;
} chain_cache[CHAIN_CACHE];
static size_t chain_cache_next;

static int
chain_digest(const kk_blob *chain, unsigned char *digest)
{
	unsigned mdlen = 0;
	return EVP_Digest(chain->p, chain->len, digest, &mdlen, EVP_sha256(), 0) && mdlen == 32;
}

/* The chain's certificates, up-referenced into c after the leaf (*n is
 * 1), when those bytes were checked before. 1 found, 0 not. */
static int
chain_cached(const unsigned char *digest, X509 **c, size_t *n)
{
	for (size_t i = 0; i < CHAIN_CACHE; i++) {
		if (!chain_cache[i].n || memcmp(chain_cache[i].digest, digest, 32)) continue;
		for (size_t k = 0; k < chain_cache[i].n; k++) {
			X509_up_ref(chain_cache[i].c[k]);
			c[(*n)++] = chain_cache[i].c[k];
		}
		return 1;
	}
	return 0;
}

/* Remembers c[1..n-1], a chain whose links were all verified. */
static void
chain_remember(const unsigned char *digest, X509 **c, size_t n)
{
	size_t i = chain_cache_next++ % CHAIN_CACHE;
	while (chain_cache[i].n) X509_free(chain_cache[i].c[--chain_cache[i].n]);
	memcpy(chain_cache[i].digest, digest, 32);
	for (size_t k = 1; k < n; k++) {
		X509_up_ref(c[k]);
		chain_cache[i].c[chain_cache[i].n++] = c[k];
	}
}

/* What kk_cert_parse fills, from the leaf c of key kind kind. 1 ok, 0
 * with err and f's names freed. */
static int
describe(X509 *leaf, enum kk_key_kind kind, kk_certificate *f, char *err, size_t errlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (!asn1_seconds(X509_get0_notBefore(leaf), &f->not_before)
	    || !asn1_seconds(X509_get0_notAfter(leaf), &f->not_after)) {
		snprintf(err, errlen, "the certificate's validity dates cannot be read");
		return 0;
	}
	if (!X509_digest(leaf, EVP_sha256(), md, &mdlen) || mdlen != 32) {
		snprintf(err, errlen, "unable to compute the certificate's fingerprint");
		return 0;
	}
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(f->fingerprint + 2 * i, 3, "%02x", md[i]);
	f->key_kind = kind;
	return leaf_names(leaf, &f->names, &f->nnames, err, errlen);
}

/* Moves what describe filled from f into x. */
static void
take_description(kk_certificate *x, kk_certificate *f)
{
	memcpy(x->fingerprint, f->fingerprint, sizeof x->fingerprint);
	free_names(x->names, x->nnames);
	x->names = f->names;
	x->nnames = f->nnames;
	x->not_before = f->not_before;
	x->not_after = f->not_after;
	x->key_kind = f->key_kind;
}

static enum kk_key_kind
kind_of_nid(int nid)
{
	switch (nid) {
	case EVP_PKEY_RSA: return KK_KEY_RSA;
	case EVP_PKEY_EC: return KK_KEY_EC;
	default: return KK_KEY_OTHER;
	}
}

int
kk_cert_describe(kk_certificate *x, char *err, size_t errlen)
{
	BIO *bio = x->cert.len ? BIO_new_mem_buf(x->cert.p, (int)x->cert.len) : 0;
	X509 *leaf = bio ? PEM_read_bio_X509(bio, 0, no_passphrase, 0) : 0;
	ASN1_OBJECT *alg = 0;
	kk_certificate f;
	int ok = 0;
	memset(&f, 0, sizeof f);
	BIO_free(bio);
	/* The key kind from the leaf's public key algorithm: the same as the
	 * private key's, which kk_cert_parse matched, without decoding a key. */
	if (!leaf || !X509_PUBKEY_get0_param(&alg, 0, 0, 0,
	    X509_get_X509_PUBKEY(leaf))) {
		snprintf(err, errlen, "the certificate is not a PEM certificate (BEGIN "
		    "CERTIFICATE)");
		goto end;
	}
	if (!describe(leaf, kind_of_nid(OBJ_obj2nid(alg)), &f, err, errlen)) goto end;
	take_description(x, &f);
	ok = 1;
end:
	if (!ok) free_names(f.names, f.nnames);
	X509_free(leaf);
	ERR_clear_error();
	return ok;
}

int
kk_cert_parse(kk_certificate *x, time_t now, char *err, size_t errlen)
{
	X509 *c[CHAIN_MAX];
	size_t n = 0, in_cert, in_chain = 0;
	EVP_PKEY *key = 0;
	unsigned char digest[32];
	int cached = 0, ok = 0;
	kk_certificate f;
	memset(&f, 0, sizeof f);
	if (!x->cert.len || !read_certs(&x->cert, c, &n, &in_cert) || !n) {
		snprintf(err, errlen, "the certificate is not a PEM certificate (BEGIN "
		    "CERTIFICATE)");
		goto end;
	}
	/* Only a chain given apart from a bare leaf is cached: the rest of a
	 * certificate file is that leaf's own. */
	if (x->chain.len && in_cert == 1 && chain_digest(&x->chain, digest))
		cached = chain_cached(digest, c, &n);
	if (x->chain.len && !cached
	    && (!read_certs(&x->chain, c, &n, &in_chain) || !in_chain)) {
		snprintf(err, errlen, "the chain is not a list of PEM certificates (at most %d)",
		    CHAIN_MAX - 1);
		goto end;
	}
	if (!x->key.len || !(key = read_key(&x->key))) {
		ERR_clear_error();
		snprintf(err, errlen, "the key is not a PEM private key (unencrypted)");
		goto end;
	}
	if (X509_check_private_key(c[0], key) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "the key does not match the certificate: give the "
		    "private key of this certificate");
		goto end;
	}
	/* A cached chain's own links were verified when it was remembered. */
	if (!check_links(c, cached && n > 2 ? 2 : n, in_cert, err, errlen)) goto end;
	if (x->chain.len && in_cert == 1 && !cached && in_chain) chain_remember(digest, c, n);
	if (x->ocsp.len && (x->ocsp.len < 2 || x->ocsp.p[0] != 0x30)) {
		snprintf(err, errlen, "the OCSP response is not DER (give the response as "
		    "fetched, not base64 or PEM)");
		goto end;
	}
	if (!describe(c[0], kind_of_nid(EVP_PKEY_id(key)), &f, err, errlen)) goto end;
	if (now && !kk_cert_check_dates(&f, now, err, errlen)) goto end;
	take_description(x, &f);
	ok = 1;
end:
	if (!ok) free_names(f.names, f.nnames);
	EVP_PKEY_free(key);
	while (n) X509_free(c[--n]);
	ERR_clear_error();
	return ok;
}
