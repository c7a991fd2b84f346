/* ISC license. */
/* kk_tls_check_lists: an https listener's cipher and group lists, tried
 * on the TLS library the workers use, so that a name it does not know is
 * refused where the line is given instead of in every worker. */

#include <stdio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <kakehi/config.h>
#include <kakehi/state.h>
#include <kakehi/tlslists.h>

/* BoringSSL's lenient call ignores unknown names, as OpenSSL's does
 * when some name matches: the strict one refuses a list with a typo. */
#ifdef KAKEHI_TLS_BORINGSSL
#define set_ciphers SSL_CTX_set_strict_cipher_list
#else
#define set_ciphers SSL_CTX_set_cipher_list
#endif

int
kk_tls_check_lists(const kk_tls_policy *t, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int ok = 0;
	if (!t->ciphers && !t->groups) return 1;
	if (!(ctx = SSL_CTX_new(TLS_method()))) {
		snprintf(err, errlen, "the TLS library (%s) could not make a context to check "
		    "--ciphers and --groups: out of memory", KAKEHI_TLS_NAME);
		goto end;
	}
	if (t->ciphers && set_ciphers(ctx, t->ciphers) != 1) {
		snprintf(err, errlen, "--ciphers \"%s\": the TLS library (%s) refuses it: a name "
		    "it does not know, or none that selects a suite (see: openssl ciphers)",
		    t->ciphers, KAKEHI_TLS_NAME);
		goto end;
	}
	if (t->groups && SSL_CTX_set1_curves_list(ctx, t->groups) != 1) {
		snprintf(err, errlen, "--groups \"%s\": the TLS library (%s) does not know all "
		    "of these groups (e.g. X25519:P-256:P-384)", t->groups, KAKEHI_TLS_NAME);
		goto end;
	}
	ok = 1;
end:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}
