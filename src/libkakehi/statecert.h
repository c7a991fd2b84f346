/* ISC license. */
/* Private to libkakehi: the certificate a certificate add or replace
 * line names, read from its files or decoded from its data form. */
#ifndef KAKEHI_STATECERT_H
#define KAKEHI_STATECERT_H

#include <stddef.h>
#include <kakehi/state.h>
#include <kakehi/verb.h>

/* Fills x (zeroed first; listener left NULL) from the options of v:
 * --cert/--key/--chain/--ocsp FILE (a relative FILE is in filedir, or
 * the current directory when it is NULL) or their -data forms, then
 * checks it with kk_cert_parse (no date check). 1 ok; 0 with err, x
 * zeroed. */
int kk_statecert_from_verb(kk_certificate *x, const kk_verb *v, const char *filedir,
    char *err, size_t errlen);
/* One file of a line, from --NAME FILE (relative to filedir as above) or
 * --NAME-data B64, into b; absent, an error when required, else b stays
 * empty. The machinery of every file a line names (certificates, an
 * https listener's client CA). 1 ok; 0 with err. */
int kk_statecert_take_blob(const kk_verb *v, const char *name, int required,
    const char *filedir, kk_blob *b, char *err, size_t errlen);

#endif
