/* ISC license. */
/* kk_clientca_check, kk_clientca_name: what the state needs of a client
 * CA bundle before any worker builds a verification store from it. */

#include <stdio.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <kakehi/clientca.h>

/* Enough for any real CA bundle (the system's has about 150). */
#define CLIENTCA_MAX 1024

int
kk_clientca_check(const kk_blob *b, char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(b->p, (int)b->len);
	X509 *x;
	size_t n = 0;
	int end;
	if (!bio) {
		snprintf(err, errlen, "out of memory reading the client CA");
		return 0;
	}
	while (n <= CLIENTCA_MAX && (x = PEM_read_bio_X509(bio, 0, 0, 0))) {
		X509_free(x);
		n++;
	}
	BIO_free(bio);
	/* The end of the data is the one failure that is not an error. */
	end = ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE;
	ERR_clear_error();
	if (n > CLIENTCA_MAX)
		snprintf(err, errlen, "the client CA holds more than %d certificates",
		    CLIENTCA_MAX);
	else if (!end)
		snprintf(err, errlen, "the client CA is not a list of PEM certificates "
		    "(a block is damaged or is not a certificate)");
	else if (!n)
		snprintf(err, errlen, "the client CA holds no PEM certificate");
	else
		return 1;
	return 0;
}

int
kk_clientca_name(const kk_blob *b, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (!EVP_Digest(b->p, b->len, md, &mdlen, EVP_sha256(), 0) || mdlen != 32) {
		ERR_clear_error();
		return 0;
	}
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = 0;
	return 1;
}
