/* ISC license. */
/* The worker's TLS contexts, one per https listener of the state served,
 * by listener address: built whole from a state (the first one, a
 * resync), then following each change's journal, certificate by
 * certificate, so that a change of one certificate costs that one. The
 * contexts themselves are tlsctx.h; the listeners take theirs at attach
 * (lsock.c). */
#ifndef KK_WORKER_TLSSTATE_H
#define KK_WORKER_TLSSTATE_H

#include <stddef.h>
#include <kakehi/state.h>
#include "tlsctx.h"

/* Makes the contexts those of st: built from it whole (j NULL), or moved
 * by the open journal j that changed the served state into st. 1 ok;
 * 0 with err filled, and the contexts as they were. Nothing is freed that
 * a connection still uses: contexts and certificates are referenced. */
int kk_tlsstate_apply(const kk_state *st, const kk_journal *j, char *err, size_t errlen);
/* The context of listener addr, NULL when it is not https. Borrowed. */
kk_tlsctx *kk_tlsstate_find(const char *addr);

#endif
