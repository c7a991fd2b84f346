/* ISC license. */
/* The transport seam: how bytes move on a connection's socket. Protocol
 * code calls only these operations (through conn.h), so TLS slots in as a
 * second table that decrypts into the same buffers, with its state in the
 * connection's transport context. Readiness is the transport's to report:
 * what it waits on after EAGAIN (want) and whether it holds bytes no epoll
 * edge will announce (pending). The plain table is recv/send/shutdown on
 * the fd. */
#ifndef KK_WORKER_TRANSPORT_H
#define KK_WORKER_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct kk_conn kk_conn;
typedef struct kk_transport kk_transport;
struct kk_transport {
	const char *name;
	/* One turn of the start (a TLS handshake takes several): 1 done, 0
	 * not yet (the readiness want names will run it again), -1 failed
	 * with errno. Called before any read or write. */
	int (*start)(kk_conn *);
	/* Like read(2)/writev(2): >0 bytes, 0 end of file (read), -1 with
	 * errno (EAGAIN: not now). more: further bytes follow at once, so
	 * the transport may hold a partial packet back (MSG_MORE). */
	ssize_t (*read)(kk_conn *, char *, size_t);
	ssize_t (*writev)(kk_conn *, const struct iovec *, int, int more);
	/* Sends at once what a write with more held back. */
	void (*push)(kk_conn *);
	/* Ends the write side once everything queued is sent. */
	void (*shutdown)(kk_conn *);
	/* Releases transport state and the fd. */
	void (*close)(kk_conn *);
	/* After an operation in direction dir (KK_CONN_F_READABLE or
	 * KK_CONN_F_WRITABLE) failed with EAGAIN: the readiness flags it
	 * waits for, cleared until the next edge. */
	unsigned (*want)(const kk_conn *, unsigned dir);
	/* Bytes held inside the transport, readable without a new edge. */
	size_t (*pending)(const kk_conn *);
	/* The protocol the peer agreed to (ALPN), NULL when none; *len is
	 * its length. */
	const char *(*alpn)(const kk_conn *, size_t *len);
};

extern const kk_transport kk_transport_plain;

/* Sends the partial packet that writes with MSG_MORE held back on fd:
 * the push of both transports. */
void kk_transport_push_fd(int fd);
/* Closes fd; held: a write with MSG_MORE may have left bytes queued.
 * Those leave first, with the FIN in their segment (shutdown): close
 * alone would also send them, unless bytes the peer sent are unread, and
 * then its reset discards them. */
void kk_transport_close_fd(int fd, int held);

#endif
