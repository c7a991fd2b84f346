/* ISC license. */
/* Where BoringSSL and OpenSSL differ for the worker: how the ClientHello
 * is seen before the handshake goes on (BoringSSL's select-certificate
 * callback, OpenSSL's client-hello callback), and how an OCSP response
 * is stapled. Both hand the same raw extension bytes to kk_tlsctx_hello,
 * which does the rest once for both. */
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/tls1.h>
#include <kakehi/config.h>
#include "tlsctx.h"

/* The host_name of a server_name extension (RFC 6066 §3): a list of
 * (type, length, name); the first host_name counts. */
static void
read_sni(kk_tlshello *h, const unsigned char *p, size_t n)
{
	size_t list, i;
	if (n < 2 || (list = (size_t)p[0] << 8 | p[1]) > n - 2)
		return;
	for (i = 2; i + 3 <= 2 + list; ) {
		size_t len = (size_t)p[i + 1] << 8 | p[i + 2];
		if (i + 3 + len > 2 + list)
			return;
		if (p[i] == 0) {	/* host_name */
			h->sni = p + i + 3;
			h->snilen = len;
			return;
		}
		i += 3 + len;
	}
}

/* A vector with a two-byte length (signature_algorithms, RFC 8446 §4.2.3). */
static void
read_vec16(const unsigned char **out, size_t *outlen, const unsigned char *p, size_t n)
{
	size_t len;
	if (n < 2 || (len = (size_t)p[0] << 8 | p[1]) > n - 2)
		return;
	*out = p + 2;
	*outlen = len;
}

/* A vector with a one-byte length (supported_versions, §4.2.1). */
static void
read_vec8(const unsigned char **out, size_t *outlen, const unsigned char *p, size_t n)
{
	if (n < 1 || p[0] > n - 1)
		return;
	*out = p + 1;
	*outlen = p[0];
}

#ifdef KAKEHI_TLS_BORINGSSL

static enum ssl_select_cert_result_t
select_cert(const SSL_CLIENT_HELLO *ch)
{
	kk_tlshello h;
	const uint8_t *p;
	size_t n;
	memset(&h, 0, sizeof h);
	if (SSL_early_callback_ctx_extension_get(ch, TLSEXT_TYPE_server_name, &p, &n))
		read_sni(&h, p, n);
	if (SSL_early_callback_ctx_extension_get(ch, TLSEXT_TYPE_signature_algorithms, &p, &n))
		read_vec16(&h.sigalgs, &h.sigalgslen, p, n);
	if (SSL_early_callback_ctx_extension_get(ch, TLSEXT_TYPE_supported_versions, &p, &n))
		read_vec8(&h.versions, &h.versionslen, p, n);
	h.suites = ch->cipher_suites;
	h.suiteslen = ch->cipher_suites_len;
	return kk_tlsctx_hello(ch->ssl, &h) ? ssl_select_cert_success : ssl_select_cert_error;
}

void
kk_tlshello_hook(SSL_CTX *ctx)
{
	SSL_CTX_set_select_certificate_cb(ctx, select_cert);
}

/* BoringSSL sends it only to a client that asked. */
int
kk_tlshello_staple(SSL *ssl, const unsigned char *der, size_t len)
{
	return SSL_set_ocsp_response(ssl, der, len);
}

#else	/* OpenSSL */

static int
hello(SSL *ssl, int *alert, void *arg)
{
	kk_tlshello h;
	const unsigned char *p;
	size_t n;
	(void)arg;
	memset(&h, 0, sizeof h);
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &n))
		read_sni(&h, p, n);
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_signature_algorithms, &p, &n))
		read_vec16(&h.sigalgs, &h.sigalgslen, p, n);
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &p, &n))
		read_vec8(&h.versions, &h.versionslen, p, n);
	h.suiteslen = SSL_client_hello_get0_ciphers(ssl, &h.suites);
	if (kk_tlsctx_hello(ssl, &h))
		return SSL_CLIENT_HELLO_SUCCESS;
	*alert = SSL_AD_INTERNAL_ERROR;
	return SSL_CLIENT_HELLO_ERROR;
}

/* OpenSSL staples what the status callback finds set on the connection. */
static int
status(SSL *ssl, void *arg)
{
	const unsigned char *p;
	(void)arg;
	return SSL_get_tlsext_status_ocsp_resp(ssl, &p) > 0 ? SSL_TLSEXT_ERR_OK :
	    SSL_TLSEXT_ERR_NOACK;
}

void
kk_tlshello_hook(SSL_CTX *ctx)
{
	SSL_CTX_set_client_hello_cb(ctx, hello, NULL);
	SSL_CTX_set_tlsext_status_cb(ctx, status);
	/* Served bytes are framed by HTTP: a cut without close_notify reads
	 * as an end of file, as with BoringSSL (tls.c). */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
}

/* Only for a client that sent status_request: the copy is the
 * connection's, freed by OpenSSL. */
int
kk_tlshello_staple(SSL *ssl, const unsigned char *der, size_t len)
{
	const unsigned char *p;
	size_t n;
	unsigned char *copy;
	if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_status_request, &p, &n))
		return 1;
	if (!(copy = OPENSSL_malloc(len)))
		return 0;
	memcpy(copy, der, len);
	SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)len);
	return 1;
}

#endif
