/* ISC license. */
/* A cluster's TLS to its backends, as the state holds it: the CA file's
 * bytes, checked once here so that a bad file is refused by whoever reads
 * the line (kakehi-ctl's supervisor, a config load), not by each worker;
 * the server name; whether certificates are verified. The worker's side
 * (contexts, sessions) is src/worker/tlsclient.c. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <kakehi/cert.h>
#include <kakehi/state.h>
#include <kakehi/verb.h>
#include "clustertls.h"
#include "statecert.h"

static int
no_passphrase(char *buf, int size, int rw, void *u)
{
	(void)buf; (void)size; (void)rw; (void)u;
	return 0;
}

/* How many PEM certificates b holds; -1 when anything else is in it (a
 * key, a block that does not parse). A bundle may be long (a copy of the
 * system store): no bound but the file's size. */
static long
count_certs(const kk_blob *b)
{
	BIO *bio = BIO_new_mem_buf(b->p, (int)b->len);
	long n = 0;
	X509 *x;
	if (!bio) return -1;
	while ((x = PEM_read_bio_X509(bio, 0, no_passphrase, 0))) {
		X509_free(x);
		n++;
	}
	BIO_free(bio);
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) n = -1;
	ERR_clear_error();
	return n;
}

static void
hex_hash(const kk_blob *b, char *out65)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(b->p, b->len, md);
	for (unsigned i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(out65 + 2 * i, 3, "%02x", md[i]);
}

int
kk_clustertls_from_verb(kk_cluster_tls **out, const kk_verb *v, const char *filedir,
    char *err, size_t errlen)
{
	const char *sni = kk_verb_opt(v, "--sni");
	kk_cluster_tls *t = calloc(1, sizeof *t);
	char msg[KK_ERRLEN];
	*out = 0;
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	t->verify = !kk_verb_opt(v, "--no-verify");
	if (!kk_statecert_take_blob(v, "ca", 0, filedir, &t->ca, msg, sizeof msg)) {
		snprintf(err, errlen, "--ca: %s", msg);
		goto fail;
	}
	if (t->ca.len) {
		long n = count_certs(&t->ca);
		if (n <= 0) {
			snprintf(err, errlen, "--ca: %s", n ? "the file holds something other "
			    "than PEM certificates (give only the CA certificates, no key)"
			    : "no PEM certificate in the file");
			goto fail;
		}
		hex_hash(&t->ca, t->ca_hash);
	}
	if (sni) {
		if (!(t->sni = strdup(sni))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		for (char *p = t->sni; *p; p++)
			if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
	}
	*out = t;
	return 1;
fail:
	kk_clustertls_free(t);
	return 0;
}

int
kk_clustertls_copy(kk_cluster_tls **dst, const kk_cluster_tls *src)
{
	kk_cluster_tls *t;
	*dst = 0;
	if (!src) return 1;
	if (!(t = calloc(1, sizeof *t))) return 0;
	*t = *src;
	t->ca.p = 0;
	t->sni = 0;
	if ((src->ca.len && !(t->ca.p = malloc(src->ca.len)))
	    || (src->sni && !(t->sni = strdup(src->sni)))) {
		t->ca.len = t->ca.p ? t->ca.len : 0;
		kk_clustertls_free(t);
		return 0;
	}
	if (src->ca.len) memcpy(t->ca.p, src->ca.p, src->ca.len);
	*dst = t;
	return 1;
}

void
kk_clustertls_free(kk_cluster_tls *t)
{
	if (!t) return;
	kk_blob_free(&t->ca);
	free(t->sni);
	free(t);
}

int
kk_clustertls_same(const kk_cluster_tls *a, const kk_cluster_tls *b)
{
	if (!a || !b) return a == b;
	return a->verify == b->verify && !strcmp(a->ca_hash, b->ca_hash)
	    && (a->sni ? b->sni && !strcmp(a->sni, b->sni) : !b->sni);
}
