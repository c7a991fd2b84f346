/* ISC license. */
/* Client TLS contexts for back connections, by setting: one per
 * distinct --tls setting in the state, found by an index on the setting
 * (100 000 clusters each with its own --sni are as many contexts, and a
 * snapshot looks one up per cluster). Sessions are not kept here but
 * per backend (bend.h): a context serves many backends, and a session
 * resumes only with the server that issued it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <kakehi/index.h>
#include <kakehi/str.h>
#include "log.h"
#include "tls.h"
#include "tlsclient.h"

/* The protocol back connections speak, in ALPN wire form; the h2
 * client offers its own on each connection (kk_tls_offer_alpn). */
static const unsigned char alpn_h1[] = "\x08http/1.1";

/* The CA stores contexts verify with, one per CA (the system bundle, or
 * a --ca file's certificates), shared by every context that names it:
 * read for each context, the bundle cost 11 ms and some 200 KiB, so 10 000
 * backends each with a --sni of its own took a worker 110 s to load. */
typedef struct castore castore;
struct castore {
	X509_STORE *store;
	unsigned users;		/* contexts verifying with it */
	char key[66];		/* in the index: the CA's hash, or "system" */
};

struct kk_tlsclient {
	unsigned refs;
	SSL_CTX *ctx;
	int verify;
	char *sni;		/* NULL: none sent */
	castore *ca;		/* NULL: no verification */
	kk_str key;		/* in the index (setting_key) */
};

/* Setting key to context (its address); CA key to castore. */
static kk_index clients, stores;

/* The index key of a setting: verify, the CA's hash, whether a name is
 * sent, the name. 1 ok, 0 ENOMEM. */
static int
setting_key(kk_str *k, const kk_cluster_tls *t)
{
	kk_str_reset(k);
	return kk_str_catf(k, "%c%s%c", t->verify ? 'v' : '-', t->ca_hash, t->sni ? '+' : '-')
	    && (!t->sni || kk_str_cats(k, t->sni));
}

static int
no_passphrase(char *buf, int size, int rw, void *u)
{
	(void)buf; (void)size; (void)rw; (void)u;
	return 0;
}

/* The certificates of PEM bytes into store. 1 ok, 0 none taken (the
 * state checked the bytes, so only memory fails). */
static int
load_ca(X509_STORE *store, const kk_blob *ca)
{
	BIO *bio = BIO_new_mem_buf(ca->p, (int)ca->len);
	unsigned n = 0;
	X509 *x;
	if (!bio)
		return 0;
	while ((x = PEM_read_bio_X509(bio, 0, no_passphrase, 0))) {
		n += X509_STORE_add_cert(store, x) == 1;
		X509_free(x);
	}
	BIO_free(bio);
	ERR_clear_error();
	return n > 0;
}

static void
store_put(castore *s)
{
	if (--s->users)
		return;
	kk_index_del(&stores, s->key, strlen(s->key));
	X509_STORE_free(s->store);
	free(s);
}

/* The shared store of t's CA, one user more; NULL: ENOMEM. */
static castore *
store_get(const kk_cluster_tls *t)
{
	const char *key = t->ca.len ? t->ca_hash : "system";
	size_t *v = kk_index_get(&stores, key, strlen(key));
	castore *s;
	if (v) {
		s = (castore *)(uintptr_t)*v;
		s->users++;
		return s;
	}
	if (!(s = calloc(1, sizeof *s)) || !(s->store = X509_STORE_new()))
		goto fail;
	snprintf(s->key, sizeof s->key, "%s", key);
	if (t->ca.len) {
		if (!load_ca(s->store, &t->ca))
			goto fail;
	} else if (!X509_STORE_load_locations(s->store, KK_TLSCLIENT_SYSTEM_CA, NULL)) {
		/* Not fatal: every verification then fails, each with its
		 * reason, and this says why. */
		kk_log_warning("unable to read the system CA store %s: backends of clusters "
		    "without --ca cannot be verified; install ca-certificates or give --ca FILE",
		    KK_TLSCLIENT_SYSTEM_CA);
		ERR_clear_error();
	}
	if (!kk_index_put(&stores, s->key, strlen(s->key), (size_t)(uintptr_t)s))
		goto fail;
	s->users = 1;
	return s;
fail:
	if (s) {
		if (s->store)
			X509_STORE_free(s->store);
		free(s);
	}
	ERR_clear_error();
	return NULL;
}

static kk_tlsclient *
context_new(const kk_cluster_tls *t, kk_str *key, char *err, size_t errlen)
{
	kk_tlsclient *x = calloc(1, sizeof *x);
	if (!x || (t->sni && !(x->sni = strdup(t->sni))) ||
	    !(x->ctx = SSL_CTX_new(TLS_client_method())))
		goto nomem;
	x->refs = 1;
	x->verify = t->verify;
	SSL_CTX_set_min_proto_version(x->ctx, TLS1_2_VERSION);
	/* As on the front (tlsctx.c): partial writes, a moving buffer, no
	 * record buffer held by an idle pooled connection. */
	SSL_CTX_set_mode(x->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(x->ctx, SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_set_alpn_protos(x->ctx, alpn_h1, sizeof alpn_h1 - 1))
		goto nomem;
	if (t->verify) {
		SSL_CTX_set_verify(x->ctx, SSL_VERIFY_PEER, NULL);
		if (!(x->ca = store_get(t)))
			goto nomem;
		/* The context takes a reference of its own. */
		X509_STORE_up_ref(x->ca->store);
		SSL_CTX_set_cert_store(x->ctx, x->ca->store);
	} else
		SSL_CTX_set_verify(x->ctx, SSL_VERIFY_NONE, NULL);
	kk_tls_client_hook(x->ctx);
	if (!kk_index_put(&clients, key->s, key->len, (size_t)(uintptr_t)x))
		goto nomem;
	x->key = *key;
	*key = (kk_str)KK_STR_ZERO;
	return x;
nomem:
	snprintf(err, errlen, "unable to make a TLS context for backends: out of memory");
	if (x) {
		if (x->ctx)
			SSL_CTX_free(x->ctx);
		if (x->ca)
			store_put(x->ca);
		free(x->sni);
		free(x);
	}
	ERR_clear_error();
	return NULL;
}

kk_tlsclient *
kk_tlsclient_get(const kk_cluster_tls *t, char *err, size_t errlen)
{
	kk_str key = KK_STR_ZERO;
	kk_tlsclient *x;
	size_t *v;
	if (!setting_key(&key, t)) {
		snprintf(err, errlen, "unable to make a TLS context for backends: out of memory");
		return NULL;
	}
	if ((v = kk_index_get(&clients, key.s, key.len))) {
		x = (kk_tlsclient *)(uintptr_t)*v;
		x->refs++;
	} else
		x = context_new(t, &key, err, errlen);
	kk_str_free(&key);
	return x;
}

void
kk_tlsclient_ref(kk_tlsclient *x)
{
	x->refs++;
}

void
kk_tlsclient_unref(kk_tlsclient *x)
{
	if (--x->refs)
		return;
	kk_index_del(&clients, x->key.s, x->key.len);
	kk_str_free(&x->key);
	SSL_CTX_free(x->ctx);
	if (x->ca)
		store_put(x->ca);
	free(x->sni);
	free(x);
}

SSL *
kk_tlsclient_ssl(kk_tlsclient *x, const kk_addr *addr, SSL_SESSION *session)
{
	SSL *ssl = SSL_new(x->ctx);
	X509_VERIFY_PARAM *p;
	int ok = 1;
	if (!ssl)
		return NULL;
	p = SSL_get0_param(ssl);
	if (x->sni) {
		ok = SSL_set_tlsext_host_name(ssl, x->sni) == 1;
		if (x->verify)
			ok = ok && X509_VERIFY_PARAM_set1_host(p, x->sni, strlen(x->sni)) == 1;
	} else if (x->verify) {
		/* No name given: the certificate must carry the address the
		 * backend was reached at (an IP SAN, RFC 5280 §4.2.1.6). */
		if (addr->ss.ss_family == AF_INET)
			ok = X509_VERIFY_PARAM_set1_ip(p, (const unsigned char *)
			    &((const struct sockaddr_in *)&addr->ss)->sin_addr, 4) == 1;
		else
			ok = X509_VERIFY_PARAM_set1_ip(p, (const unsigned char *)
			    &((const struct sockaddr_in6 *)&addr->ss)->sin6_addr, 16) == 1;
	}
	if (ok && session)
		ok = SSL_set_session(ssl, session) == 1;
	if (!ok) {
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	return ssl;
}
