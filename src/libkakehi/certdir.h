/* ISC license. */
/* Private to libkakehi: the certificates directory of a saved state. */
#ifndef KAKEHI_CERTDIR_H
#define KAKEHI_CERTDIR_H

#include <stddef.h>
#include <kakehi/state.h>
#include <kakehi/str.h>

/* Writes the files of st's certificates and of its --tls clusters' CAs
 * (kk_stateprint_ca_file) into the directory path.certs
 * (made mode 0700), each file mode 0600 and atomic (temporary file,
 * fsync, rename), then syncs the directory and removes the files of
 * certificates it no longer holds. rel gets the directory's name
 * relative to path's directory, for the state's lines. With no
 * certificate and no such directory, nothing is made. 1 ok, 0 with err. */
int kk_certdir_save(const kk_state *st, const char *path, kk_str *rel, char *err,
    size_t errlen);

#endif
