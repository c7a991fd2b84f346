/* ISC license. */
/* The registry of backends by address. Few entries, touched only when a
 * snapshot is built or a connection closes: a list is enough. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "back.h"
#include "bend.h"
#include "tls.h"
#include "tlsclient.h"

static kk_link all = { &all, &all };

kk_link *
kk_bend_all(void)
{
	return &all;
}

kk_bend *
kk_bend_get(const char *addr_text, const kk_addr *addr, struct kk_tlsclient *tls)
{
	kk_link *l;
	kk_bend *b;
	for (l = all.next; l != &all; l = l->next) {
		b = KK_CONTAINER(l, kk_bend, link);
		if (b->tls == tls && !strcmp(b->addr_text, addr_text)) {
			b->refs++;
			return b;
		}
	}
	b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	kk_list_init(&b->avail);
	strncpy(b->addr_text, addr_text, sizeof b->addr_text - 1);
	b->tp = tls ? &kk_transport_tls : &kk_transport_plain;
	if ((b->tls = tls))
		kk_tlsclient_ref(tls);
	b->proto = &kk_h1_client_ops;	/* HTTP/2 to backends: a later table */
	b->addr = *addr;
	b->refs = 1;
	kk_list_push(&all, &b->link);
	return b;
}

static void
maybe_free(kk_bend *b)
{
	if (b->refs || b->nconns)
		return;
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
	fprintf(stderr, "kakehi-worker: warning: TLS to backend %s failed: %s\n", b->addr_text,
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
	b->down_until = now + KK_BEND_DOWN_MS;
	b->connect_failures++;
}
