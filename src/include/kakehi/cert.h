/* ISC license. */
/* Certificates as the state keeps them (state.h, kk_certificate): the
 * files' bytes, checked and described once with libcrypto, which both
 * TLS libraries provide. The worker builds its TLS contexts from the
 * same bytes; nothing here holds a library object past a call. */
#ifndef KAKEHI_CERT_H
#define KAKEHI_CERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <kakehi/state.h>
#include <kakehi/str.h>

/* Checks the blobs of x (cert and key required, chain and ocsp
 * optional): the leaf is the first PEM certificate of cert; the key is
 * a PEM private key that matches it; every further certificate (the
 * rest of cert, then chain) signed the one before it; ocsp is a DER
 * structure. Then fills fingerprint, names, not_before, not_after and
 * key_kind. With now_or_0, the leaf must also be valid at that time.
 * 1 ok; 0 with a message for the operator in err, and x's filled fields
 * as they were. A chain given apart from a bare leaf is remembered by
 * its bytes' digest once its links are verified: the next leaf with the
 * same chain bytes has only its own link to the chain verified. */
int kk_cert_parse(kk_certificate *x, time_t now_or_0, char *err, size_t errlen);
/* What kk_cert_parse fills (fingerprint, names, dates, key kind), from
 * the leaf of cert alone, for bytes kk_cert_parse accepted before (a
 * supervisor checked them; its worker only needs their description):
 * no key is read and no link verified. 1 ok; 0 with err. */
int kk_cert_describe(kk_certificate *x, char *err, size_t errlen);
/* The date check of kk_cert_parse alone, on a parsed certificate: 1
 * valid at now, 0 with "expired on DATE" or "not valid before DATE". */
int kk_cert_check_dates(const kk_certificate *x, time_t now, char *err, size_t errlen);
/* "2027-01-31T12:00:00Z" for seconds since the epoch. */
#define KK_CERT_TIMELEN 32
void kk_cert_fmt_time(char *buf, int64_t t);
/* A deep copy of src into dst. 1 ok; 0 ENOMEM, dst all zero. */
int kk_cert_copy(kk_certificate *dst, const kk_certificate *src);
/* Wipes the key's bytes, frees what x holds, and zeroes x. */
void kk_cert_free(kk_certificate *x);
/* Whether a and b hold the same bytes in every blob. */
int kk_cert_same_blobs(const kk_certificate *a, const kk_certificate *b);
/* The canonical fingerprint (64 lower-case hex digits) of in, written
 * in either case, bare or with a ':' between bytes as openssl x509
 * -fingerprint prints it. 1 ok, 0 not a SHA-256 fingerprint. */
int kk_fingerprint_canon(const char *in, char *out65);
/* Verb lines as logs and replies may show them: the value of every
 * --*-data option (a certificate's files, its key among them) becomes
 * "(hidden)". 1 ok, 0 ENOMEM. */
int kk_cert_redact(kk_str *out, const char *text, size_t len);
/* The whole of a certificate's file (path relative to filedir unless
 * absolute or filedir is NULL) into b, at most KK_CERT_FILE_MAX bytes,
 * not empty. 1 ok; 0 with err naming the file ("unable to ..."). */
#define KK_CERT_FILE_MAX (1UL << 20)
int kk_cert_read_file(const char *path, const char *filedir, kk_blob *b, char *err,
    size_t errlen);
/* How many files kk_cert_read_file has opened in this process: a load
 * that read one depends on bytes its lines do not show (state.c keeps
 * no such load for a quick reload). */
unsigned long kk_cert_files_read(void);
/* Wipes and frees one blob (a key's memory is never left behind). */
void kk_blob_free(kk_blob *);

#endif
