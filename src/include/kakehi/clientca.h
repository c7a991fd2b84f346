/* ISC license. */
/* The client CA of an https listener (state.h, kk_tls_policy): a PEM
 * bundle of the certificates client certificates are verified against,
 * kept as the operator's bytes like a certificate's files. */
#ifndef KAKEHI_CLIENTCA_H
#define KAKEHI_CLIENTCA_H

#include <stddef.h>
#include <kakehi/state.h>

/* Whether b holds one or more PEM certificates and nothing else. 1 ok;
 * 0 with a message for the operator in err. */
int kk_clientca_check(const kk_blob *b, char *err, size_t errlen);
/* The lower-case hex SHA-256 of b's bytes: the name of its file in a
 * saved state's certificates directory. 1 ok, 0 the library failed. */
int kk_clientca_name(const kk_blob *b, char out65[65]);

#endif
