/* ISC license. */
/* Basic authentication of a frontend (frontend add --htpasswd FILE,
 * --htpasswd-data B64, --auth-realm R, --auth-forward): the password
 * file checked, and kept in the frontend's actions text (action.h) as
 * one more item, last: kind 'a', operation 'B', the realm as its name,
 * a tab, then 'f' (--auth-forward) or '-', then the file in base64. The
 * file is an htpasswd file: "user:hash" lines, '#' comments and blank
 * lines; hashes bcrypt ($2y$, $2b$, $2a$) or SHA-crypt ($5$, $6$), which
 * libcrypt's crypt_r verifies. Not here: verifying (the worker's
 * auth.c), printing (stateprint.c). */
#ifndef KAKEHI_HTPASSWD_H
#define KAKEHI_HTPASSWD_H

#include <stddef.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>

enum { KK_ACTION_AUTH = 'a', KK_ACTION_BASIC = 'B' };
#define KK_AUTH_DEFAULT_REALM "restricted"
#define KK_AUTH_REALMMAX 64
#define KK_HTPASSWD_USERMAX 64
#define KK_HTPASSWD_HASHMAX 128
#define KK_HTPASSWD_MAXUSERS 10000

/* Whether opt is one of the four options. */
int kk_auth_is_option(const char *opt);
/* Checks an htpasswd file's bytes: each entry a user (1 to
 * KK_HTPASSWD_USERMAX printable bytes, no ':'), a ':', a hash of a kind
 * above; no user twice; at least one. Its user count in *users. 1 ok;
 * 0 with the line and the fix in err. */
int kk_htpasswd_check(const char *p, size_t n, unsigned *users, char *err, size_t errlen);
/* The entry of p[0, n) at *pos, which moves past it: user and hash
 * spans. 1 with one, 0 at the end. p must have passed the check. */
int kk_htpasswd_next(const char *p, size_t n, size_t *pos, const char **user, size_t *ulen,
    const char **hash, size_t *hlen);
/* Appends the auth item of v, if it has --htpasswd or --htpasswd-data
 * (a relative FILE in filedir, or the current directory when NULL), to
 * the actions text out, after a newline when out is not empty. 1 ok (or
 * none); 0 with err. */
int kk_auth_canon(const kk_verb *v, const char *filedir, kk_str *out, char *err,
    size_t errlen);
/* Checks the auth options of v as the verb gives them, reading no file:
 * a realm of printable ASCII without '"' or '\', the qualifiers with a
 * file. 1 ok; 0 with err. */
int kk_auth_check(const kk_verb *v, char *err, size_t errlen);

/* The SHA-256 of the password file an auth item holds (value: the item's
 * value, 'f' or '-' then base64), as 64 hex digits: the name state save
 * gives its file, and what state dump shows instead of the bytes. 1 ok,
 * 0 ENOMEM or not base64. */
int kk_auth_digest(const char *value, size_t vlen, char out65[65]);
/* The file of an auth item in certdir, "CERTDIR/HEX.htpasswd". */
int kk_auth_file(kk_str *out, const char *value, size_t vlen, const char *certdir);

#endif
