/* ISC license. */
/* The transport seam: how bytes move on a connection's socket. Protocol
 * code calls only these operations, so TLS slots in as a second table that
 * decrypts into the same buffers. The plain table is read/writev/shutdown
 * on the fd. */
#ifndef KK_WORKER_TRANSPORT_H
#define KK_WORKER_TRANSPORT_H

#include <sys/types.h>
#include <sys/uio.h>

typedef struct kk_sock kk_sock;
typedef struct kk_transport kk_transport;
struct kk_transport {
	const char *name;
	/* Like read(2)/writev(2): >0 bytes, 0 end of file (read), -1 with
	 * errno (EAGAIN: not now). more: further bytes follow at once, so
	 * the transport may hold a partial packet back (MSG_MORE). */
	ssize_t (*read)(kk_sock *, char *, size_t);
	ssize_t (*writev)(kk_sock *, const struct iovec *, int, int more);
	/* Sends at once what a write with more held back. */
	void (*push)(kk_sock *);
	/* Ends the write side once everything queued is sent. */
	void (*shutdown)(kk_sock *);
	/* Releases transport state and the fd. */
	void (*close)(kk_sock *);
};

extern const kk_transport kk_transport_plain;

#endif
