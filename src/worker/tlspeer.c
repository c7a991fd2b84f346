/* ISC license. */
/* Client certificate verification, with the X509 API both libraries
 * share. The verification itself is the library's (chain to a CA of the
 * bundle, dates, purpose); what is kakehi's is the policy, the counter
 * and the header value. */
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "tlspeer.h"

/* Longer than any real chain; a longer one is refused, not followed. */
#define VERIFY_DEPTH 8

/* The session id context: a session resumes only on a listener with the
 * same client CA and mode, so a ticket made where no certificate was
 * asked for never skips the check of one that asks (tickets are shared
 * by every listener, tlskeys.h). */
static int
set_session_context(SSL_CTX *ctx, const kk_tls_policy *p)
{
	unsigned char md[EVP_MAX_MD_SIZE], mode = (unsigned char)p->client_auth;
	unsigned mdlen = 0;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	int ok = h && EVP_DigestInit_ex(h, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(h, &mode, 1) &&
	    EVP_DigestUpdate(h, p->client_ca.p, p->client_ca.len) &&
	    EVP_DigestFinal_ex(h, md, &mdlen) &&
	    SSL_CTX_set_session_id_context(ctx, md, mdlen > 32 ? 32 : mdlen);
	EVP_MD_CTX_free(h);
	return ok;
}

int
kk_tlspeer_setup(SSL_CTX *ctx, const kk_tls_policy *p, char *err, size_t errlen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	BIO *bio = BIO_new_mem_buf(p->client_ca.p, (int)p->client_ca.len);
	X509 *x;
	int n = 0, mode = SSL_VERIFY_PEER;
	if (!bio)
		goto nomem;
	/* Each CA is trusted, and named in the CertificateRequest so that a
	 * client holding several certificates picks one of ours. */
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		int ok = X509_STORE_add_cert(store, x) && SSL_CTX_add_client_CA(ctx, x);
		X509_free(x);
		if (!ok) {
			BIO_free(bio);
			goto nomem;
		}
		n++;
	}
	BIO_free(bio);
	ERR_clear_error();
	if (!n) {
		snprintf(err, errlen, "the client CA holds no PEM certificate");
		return 0;
	}
	if (!set_session_context(ctx, p))
		goto nomem;
	if (p->client_auth == KK_CLIENT_AUTH_REQUIRED)
		mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	SSL_CTX_set_verify(ctx, mode, NULL);
	SSL_CTX_set_verify_depth(ctx, VERIFY_DEPTH);
	return 1;
nomem:
	ERR_clear_error();
	snprintf(err, errlen, "unable to load the client CA: out of memory");
	return 0;
}

int
kk_tlspeer_refused(const SSL *ssl)
{
	unsigned long e = ERR_peek_error();
	int r = ERR_GET_REASON(e);
	if (SSL_get_verify_result(ssl) != X509_V_OK)
		return 1;
	return ERR_GET_LIB(e) == ERR_LIB_SSL && (r == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE
	    || r == SSL_R_CERTIFICATE_VERIFY_FAILED);
}

char *
kk_tlspeer_subject(SSL *ssl)
{
	X509 *peer = SSL_get_peer_certificate(ssl);
	BIO *bio;
	char *s = NULL, *data;
	long n;
	if (!peer)
		return NULL;
	if (!(bio = BIO_new(BIO_s_mem())))
		goto end;
	/* RFC 2253 flags escape control bytes and bytes past ASCII (\XX),
	 * so the value is a header field's printable text. */
	if (X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_get_mem_data(bio, &data)) >= 0 && (s = malloc((size_t)n + 1))) {
		for (long i = 0; i < n; i++)	/* never a byte a field may not hold */
			s[i] = data[i] >= 0x20 && data[i] < 0x7f ? data[i] : '?';
		s[n] = 0;
	}
	BIO_free(bio);
end:
	X509_free(peer);
	ERR_clear_error();
	return s;
}
