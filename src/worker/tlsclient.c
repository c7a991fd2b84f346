/* ISC license. */
/* Client TLS clients for back connections, by setting. Few exist (one
 * per distinct --tls setting in the state), looked up only while a
 * snapshot is built: a list is enough. Sessions are not kept here but
 * per backend (bend.h): a context serves many backends, and a session
 * resumes only with the server that issued it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "list.h"
#include "tls.h"
#include "tlsclient.h"

/* The protocol back connections speak, in ALPN wire form; the h2
 * client offers its own on each connection (kk_tls_offer_alpn). */
static const unsigned char alpn_h1[] = "\x08http/1.1";

struct kk_tlsclient {
	kk_link link;		/* all contexts */
	unsigned refs;
	SSL_CTX *ctx;
	int verify;
	char ca_hash[65];
	char *sni;		/* NULL: none sent */
};

static kk_link clients = { &clients, &clients };

static int
no_passphrase(char *buf, int size, int rw, void *u)
{
	(void)buf; (void)size; (void)rw; (void)u;
	return 0;
}

/* The certificates of PEM bytes into the context's store. 1 ok, 0 none
 * taken (the state checked the bytes, so only memory fails). */
static int
load_ca(SSL_CTX *ctx, const kk_blob *ca)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
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

static int
same_setting(const kk_tlsclient *x, const kk_cluster_tls *t)
{
	return x->verify == t->verify && !strcmp(x->ca_hash, t->ca_hash)
	    && (x->sni ? t->sni && !strcmp(x->sni, t->sni) : !t->sni);
}

static kk_tlsclient *
context_new(const kk_cluster_tls *t, char *err, size_t errlen)
{
	kk_tlsclient *x = calloc(1, sizeof *x);
	if (!x || (t->sni && !(x->sni = strdup(t->sni))) ||
	    !(x->ctx = SSL_CTX_new(TLS_client_method())))
		goto nomem;
	x->refs = 1;
	x->verify = t->verify;
	memcpy(x->ca_hash, t->ca_hash, sizeof x->ca_hash);
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
		if (t->ca.len) {
			if (!load_ca(x->ctx, &t->ca))
				goto nomem;
		} else if (!SSL_CTX_load_verify_locations(x->ctx, KK_TLSCLIENT_SYSTEM_CA, NULL)) {
			/* Not fatal: every verification then fails, each with
			 * its reason, and this says why. */
			fprintf(stderr, "kakehi-worker: warning: unable to read the system CA "
			    "store %s: backends of clusters without --ca cannot be verified; "
			    "install ca-certificates or give --ca FILE\n",
			    KK_TLSCLIENT_SYSTEM_CA);
			ERR_clear_error();
		}
	} else
		SSL_CTX_set_verify(x->ctx, SSL_VERIFY_NONE, NULL);
	kk_tls_client_hook(x->ctx);
	kk_list_push(&clients, &x->link);
	return x;
nomem:
	snprintf(err, errlen, "unable to make a TLS context for backends: out of memory");
	if (x) {
		if (x->ctx)
			SSL_CTX_free(x->ctx);
		free(x->sni);
		free(x);
	}
	ERR_clear_error();
	return NULL;
}

kk_tlsclient *
kk_tlsclient_get(const kk_cluster_tls *t, char *err, size_t errlen)
{
	kk_link *l;
	for (l = clients.next; l != &clients; l = l->next) {
		kk_tlsclient *x = KK_CONTAINER(l, kk_tlsclient, link);
		if (same_setting(x, t)) {
			x->refs++;
			return x;
		}
	}
	return context_new(t, err, errlen);
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
	kk_list_unlink(&x->link);
	SSL_CTX_free(x->ctx);
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
