/* ISC license. */
/* Private to libkakehi: the index keys of state objects, shared by
 * state.c (which keeps the indexes) and statediff.c (which looks objects
 * of one state up in the other). Parts are joined with NUL bytes, which no
 * part can hold, so distinct identities give distinct keys. */
#ifndef KAKEHI_STATEKEY_H
#define KAKEHI_STATEKEY_H

#include <stddef.h>
#include <kakehi/state.h>

/* Keys up to the buffer's size need no allocation. */
typedef struct kk_statekey kk_statekey;
struct kk_statekey {
	char buf[512];
	char *s;		/* buf, or a heap copy when longer */
	size_t len;
};

/* Each fills k; 1 ok, 0 ENOMEM. kk_statekey_done frees what they took. */
int kk_statekey_frontend(kk_statekey *k, const kk_frontend *);
int kk_statekey_backend(kk_statekey *k, const char *cluster, const char *id);
int kk_statekey_certificate(kk_statekey *k, const char *listener, const char *fingerprint);
void kk_statekey_done(kk_statekey *k);

#endif
