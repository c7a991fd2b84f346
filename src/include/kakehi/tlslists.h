/* ISC license. */
/* The cipher and group lists of an https listener, checked on the TLS
 * library kakehi is built with (libssl: the one file of libkakehi that
 * needs more than libcrypto). */
#ifndef KAKEHI_TLSLISTS_H
#define KAKEHI_TLSLISTS_H

#include <stddef.h>
#include <kakehi/state.h>

/* 1 when the library takes t's --ciphers and --groups (NULL ones are
 * kakehi's defaults, not checked); 0 with a message naming the list. */
int kk_tls_check_lists(const kk_tls_policy *t, char *err, size_t errlen);

#endif
