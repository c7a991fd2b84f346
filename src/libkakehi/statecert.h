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
/* One file of a line, from --NAME FILE or its data form --NAME-data B64
 * (a relative FILE is in filedir), into b (zeroed by the caller): the
 * same reading for certificates and a cluster's --ca. Absent and not
 * required: 1, b left empty. 1 ok; 0 with err. */
int kk_statecert_blob(const kk_verb *v, const char *name, int required, const char *filedir,
    kk_blob *b, char *err, size_t errlen);

#endif
