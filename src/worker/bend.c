/* ISC license. */
/* The registry of backends by address and TLS context: an index, as a
 * state of 100 000 backends would make a scan per backend added the
 * square of that at every full build. The list keeps them for walks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kakehi/index.h>
#include "back.h"
#include "bend.h"
#include "h2client.h"
#include "log.h"
#include "tls.h"
#include "tlsclient.h"

static kk_link all = { &all, &all };
static kk_index by_key;

/* The index key: the address text, a NUL, the TLS context's pointer,
 * the protocol (a byte). */
#define BEND_KEYMAX (KK_ADDR_FMTLEN + sizeof(struct kk_tlsclient *) + 1)
static size_t
bend_key(char *key, const char *addr_text, const struct kk_tlsclient *tls, int h2)
{
	size_t n = strlen(addr_text) + 1;
	memcpy(key, addr_text, n);
	memcpy(key + n, &tls, sizeof tls);
	key[n + sizeof tls] = (char)(h2 != 0);
	return n + sizeof tls + 1;
}

kk_link *
kk_bend_all(void)
{
	return &all;
}

kk_bend *
kk_bend_get(const char *addr_text, const kk_addr *addr, struct kk_tlsclient *tls, int h2)
{
	char key[BEND_KEYMAX];
	size_t klen, *slot;
	kk_bend *b;
	int added;
	if (strlen(addr_text) >= KK_ADDR_FMTLEN) {
		errno = EINVAL;
		return NULL;
	}
	klen = bend_key(key, addr_text, tls, h2);
	if (!(slot = kk_index_add(&by_key, key, klen, 0, &added)))
		return NULL;
	if (!added) {
		b = (kk_bend *)*slot;
		b->refs++;
		return b;
	}
	if (!(b = calloc(1, sizeof *b))) {
		kk_index_del(&by_key, key, klen);
		return NULL;
	}
	*slot = (size_t)b;
	kk_list_init(&b->avail);
	memcpy(b->addr_text, addr_text, strlen(addr_text) + 1);
	b->tp = tls ? &kk_transport_tls : &kk_transport_plain;
	if ((b->tls = tls))
		kk_tlsclient_ref(tls);
	b->proto = h2 ? &kk_h2_client_ops : &kk_h1_client_ops;
	b->addr = *addr;
	b->refs = 1;
	kk_list_push(&all, &b->link);
	return b;
}

static void
maybe_free(kk_bend *b)
{
	char key[BEND_KEYMAX];
	if (b->refs || b->nconns)
		return;
	kk_index_del(&by_key, key, bend_key(key, b->addr_text, b->tls,
	    b->proto == &kk_h2_client_ops));
	if (!by_key.n)
		kk_index_free(&by_key);
	kk_list_unlink(&b->link);
	if (b->session)
		SSL_SESSION_free(b->session);
	if (b->tls)
		kk_tlsclient_unref(b->tls);
	free(b);
}

void
kk_bend_start_failed(kk_bend *b, const kk_conn *c, uint64_t now)
{
	const char *why = kk_tls_failure(c);
	if (kk_bend_is_down(b, now))
		return;
	kk_log_warning("TLS to backend %s failed: %s", b->addr_text,
	    why ? why : strerror(c->err ? c->err : ECONNABORTED));
}

int
kk_bend_attach(kk_bend *b, kk_conn *c)
{
	return !b->tls || kk_tls_attach_client(c, b->tls, &b->addr, &b->session);
}

void
kk_bend_put(kk_bend *b)
{
	b->refs--;
	maybe_free(b);
}

void
kk_bend_conn_gone(kk_bend *b)
{
	b->nconns--;
	maybe_free(b);
}

void
kk_bend_mark_down(kk_bend *b, uint64_t now)
{
	unsigned n = b->refusals < KK_BEND_DOWN_DOUBLINGS ? b->refusals : KK_BEND_DOWN_DOUBLINGS;
	b->down_until = now + ((uint64_t)KK_BEND_DOWN_MS << n);
	b->refusals++;
	b->connect_failures++;
}
