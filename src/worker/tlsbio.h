/* ISC license. */
/* The socket under a TLS connection, as the library's BIO: a read takes
 * all the socket has (into one buffer of the worker), so a flight of
 * records costs one system call instead of two a record (the library asks
 * for a record's header, then its body). A short read is not taken for
 * the socket drained: a record and the peer's end in one segment come
 * with one edge, and only a further read sees the end. Bytes read ahead that
 * the library did not take by the end of its call move to the
 * connection's own buffer (kk_tlsbio_settle): an idle connection holds
 * none. Writes go straight to the socket, with MSG_MORE while more is
 * set: the records of a last response, then close_notify, then the FIN
 * leave in one segment. */
#ifndef KK_WORKER_TLSBIO_H
#define KK_WORKER_TLSBIO_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/bio.h>

#include "conn.h"

typedef struct kk_tlsbio kk_tlsbio;
struct kk_tlsbio {
	const kk_conn *c;	/* whose socket */
	char *left;		/* read ahead, not yet taken; NULL: none */
	uint32_t left_off, left_len;
	unsigned char more;	/* more bytes follow at once: writes say MSG_MORE */
};

/* A BIO over c's socket, its state in st (both outlive it; kk_tlsbio_end
 * frees what st holds). NULL: out of memory. */
BIO *kk_tlsbio_new(kk_tlsbio *st, const kk_conn *c);
/* After every library call on the connection: what was read ahead for it
 * and not taken moves to its own buffer. 1 ok, 0 out of memory (the bytes
 * are lost: the connection must fail). */
int kk_tlsbio_settle(kk_tlsbio *st);
/* Bytes read ahead and not taken yet. */
size_t kk_tlsbio_pending(const kk_tlsbio *st);
void kk_tlsbio_end(kk_tlsbio *st);

#endif
