/* ISC license. */
/* What the h2 server and the h2 client share of moving HTTP/2 bytes,
 * without their sessions' logic: a stream's ring of received body
 * buffers, nghttp2's frames written into a connection's output, a data
 * source reading a stream's output buffer, and a session sent as the
 * socket takes it. The callbacks, the streams and what ends them are
 * each side's own (h2server.c, h2client.c). */
#ifndef KK_WORKER_H2IO_H
#define KK_WORKER_H2IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <nghttp2/nghttp2.h>
#include "buf.h"
#include "conn.h"

/* Body buffers a stream holds at most: the window each side gives a
 * stream is this many buffers, so what the peer may send before the
 * stream's reader takes it always fits. Four: a client may send 65535
 * bytes on a stream before it has read our SETTINGS (RFC 9113 §6.9.2),
 * four default buffers. */
#define KK_H2_RING 4

/* Received body bytes of one stream, in order: the first buffer at at,
 * n of them. All-zero is the empty ring. Bytes a reader took from the
 * first buffer (taken) have left, but their window opens only when that
 * buffer goes: the space they leave in it takes no new bytes while
 * another buffer follows it, so a window opened at once would let the
 * peer send more than the ring holds. */
typedef struct kk_h2ring kk_h2ring;
struct kk_h2ring {
	kk_buf b[KK_H2_RING];
	unsigned char at, n;
	uint32_t taken;
};

/* Copies len bytes in, taking buffers as needed: the count of those
 * that did not fit (more than the window, or no buffer in the pool), 0
 * when all did; those that fit stay. */
size_t kk_h2ring_put(kk_h2ring *r, const uint8_t *data, size_t len);
/* The first buffer with bytes, NULL when there is none. */
static inline kk_buf *
kk_h2ring_first(kk_h2ring *r)
{
	return r->n && r->b[r->at].len ? &r->b[r->at] : NULL;
}
/* n bytes of the first buffer went: the bytes whose window opens now,
 * those taken from it and these n when they emptied it (it is given
 * back), 0 when bytes are left in it. */
size_t kk_h2ring_used(kk_h2ring *r, size_t n);
/* The first buffer handed whole to dst (empty): its byte count, 0 when
 * there is none; *open, the bytes whose window opens now (these and
 * those taken from the buffer before). */
size_t kk_h2ring_take(kk_h2ring *r, kk_buf *dst, size_t *open);
/* Gives every buffer back: the bytes whose window they held, those
 * taken included. */
size_t kk_h2ring_drop(kk_h2ring *r);

/* nghttp2's send callback: frame bytes into c's output, as much as fits
 * (taking its buffer, parking on the pool). The count, or
 * NGHTTP2_ERR_WOULDBLOCK. */
ssize_t kk_h2_out(kk_conn *c, const uint8_t *data, size_t len);
/* nghttp2's send_data callback: the frame header and length bytes of
 * src, consumed from it, into c's output; src given back once drained.
 * 0, or NGHTTP2_ERR_WOULDBLOCK (the frame must fit whole). */
int kk_h2_out_data(kk_conn *c, const uint8_t *framehd, kk_buf *src, size_t length);
/* A data source reading src, the body's last bytes when end: the count
 * nghttp2 may send now of at most length (NO_COPY; EOF with the last),
 * 0 with EOF at the end, or NGHTTP2_ERR_DEFERRED while src is empty. */
ssize_t kk_h2_data_read(const kk_buf *src, size_t length, int end, uint32_t *flags);
/* Sends what session has through c, as the socket takes it: -1 a send
 * or write failed, 1 done or the socket is full (its edge comes), 0 more
 * is left after a round's worth (wake c). */
int kk_h2_send(nghttp2_session *session, kk_conn *c);
/* A block stored as h2head.c stores them, as at most max entries of nv
 * (pointing into blk): the count. */
size_t kk_h2_block_nv(const kk_buf *blk, nghttp2_nv *nv, size_t max);

#endif
