/* ISC license. */
/* HTTP/2 byte moving shared by the h2 server and client (h2io.h). */
#include <string.h>
#include "h2head.h"
#include "h2io.h"

/* Send rounds per call: fairness between connections. */
#define KK_H2_SEND_ROUNDS 64

size_t
kk_h2ring_put(kk_h2ring *r, const uint8_t *data, size_t len)
{
	while (len) {
		kk_buf *b = r->n ? &r->b[(r->at + r->n - 1) % KK_H2_RING] : NULL;
		size_t room = b ? kk_buf_room(b) : 0, n;
		if (!room) {
			if (r->n == KK_H2_RING)
				return len;
			b = &r->b[(r->at + r->n) % KK_H2_RING];
			if (!kk_buf_take(b, NULL))
				return len;
			r->n++;
			room = kk_buf_room(b);
		}
		n = len < room ? len : room;
		memcpy(kk_buf_tail(b), data, n);
		b->len += (uint32_t)n;
		data += n;
		len -= n;
	}
	return 0;
}

static void
pop(kk_h2ring *r)
{
	r->at = (unsigned char)((r->at + 1) % KK_H2_RING);
	r->n--;
}

size_t
kk_h2ring_used(kk_h2ring *r, size_t n)
{
	kk_buf *b = &r->b[r->at];
	kk_buf_consume(b, n);
	n += r->taken;
	if (b->len) {
		r->taken = (uint32_t)n;
		return 0;
	}
	r->taken = 0;
	kk_buf_give(b);
	pop(r);
	return n;
}

size_t
kk_h2ring_take(kk_h2ring *r, kk_buf *dst, size_t *open)
{
	kk_buf *b = kk_h2ring_first(r);
	size_t n;
	*open = 0;
	if (!b)
		return 0;
	n = b->len;
	*dst = *b;
	memset(b, 0, sizeof *b);
	pop(r);
	*open = n + r->taken;
	r->taken = 0;
	return n;
}

size_t
kk_h2ring_drop(kk_h2ring *r)
{
	size_t n = r->taken;
	r->taken = 0;
	while (r->n) {
		n += r->b[r->at].len;
		kk_buf_give(&r->b[r->at]);
		pop(r);
	}
	return n;
}

ssize_t
kk_h2_out(kk_conn *c, const uint8_t *data, size_t len)
{
	size_t room;
	if (!kk_buf_take(&c->out, &c->bufwait) || !(room = kk_buf_room(&c->out)))
		return NGHTTP2_ERR_WOULDBLOCK;
	if (len > room)
		len = room;
	memcpy(kk_buf_tail(&c->out), data, len);
	c->out.len += (uint32_t)len;
	return (ssize_t)len;
}

int
kk_h2_out_data(kk_conn *c, const uint8_t *framehd, kk_buf *src, size_t length)
{
	if (!kk_buf_take(&c->out, &c->bufwait) || kk_buf_room(&c->out) < 9 + length)
		return NGHTTP2_ERR_WOULDBLOCK;
	memcpy(kk_buf_tail(&c->out), framehd, 9);
	if (length)
		memcpy(kk_buf_tail(&c->out) + 9, src->data + src->off, length);
	c->out.len += (uint32_t)(9 + length);
	if (length) {
		kk_buf_consume(src, length);
		kk_buf_trim(src);
	}
	return 0;
}

ssize_t
kk_h2_data_read(const kk_buf *src, size_t length, int end, uint32_t *flags)
{
	size_t n = src->len;
	if (n > length)
		n = length;
	/* A frame must fit an empty output buffer whole (kk_h2_out_data). */
	if (src->data && n > src->cap - 9)
		n = src->cap - 9;
	if (n) {
		*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
		if (n == src->len && end)
			*flags |= NGHTTP2_DATA_FLAG_EOF;
		return (ssize_t)n;
	}
	if (end) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		return 0;
	}
	return NGHTTP2_ERR_DEFERRED;
}

int
kk_h2_send(nghttp2_session *session, kk_conn *c)
{
	int round;
	for (round = 0; round < KK_H2_SEND_ROUNDS; round++) {
		if (nghttp2_session_send(session))
			return -1;
		if (!c->out.len)
			return 1;
		if (kk_conn_flush(c, 0, 0) < 0)
			return -1;
		if (c->out.len)
			return 1;	/* the socket is full: its edge runs us again */
		if (!nghttp2_session_want_write(session))
			return 1;
	}
	return 0;
}

size_t
kk_h2_block_nv(const kk_buf *blk, nghttp2_nv *nv, size_t max)
{
	kk_span name, value;
	uint32_t pos = 0;
	size_t n = 0;
	while (n < max && kk_h2head_next(blk, &pos, &name, &value)) {
		nv[n].name = (uint8_t *)blk->data + name.off;
		nv[n].namelen = name.len;
		nv[n].value = (uint8_t *)blk->data + value.off;
		nv[n].valuelen = value.len;
		nv[n++].flags = NGHTTP2_NV_FLAG_NONE;
	}
	return n;
}
