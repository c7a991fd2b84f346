/* ISC license. */
/* The read-ahead socket BIO of TLS connections (tlsbio.h). One buffer of
 * the worker receives every read; the connection it was read for owns
 * it until its library call returns, then kk_tlsbio_settle copies what
 * is left (usually nothing, or the request that came with the client's
 * Finished) to the connection. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "tlsbio.h"

/* A record and then some: 16 KiB of plaintext, its header and the
 * largest expansion a cipher may add (RFC 8446 §5.2). */
#define AHEAD (16384 + 5 + 256 + 1024)

static char ahead[AHEAD];
static size_t ahead_off, ahead_len;
static kk_tlsbio *ahead_of;	/* whose bytes ahead holds; NULL: none */

static BIO_METHOD *method;

static int
take(char *out, int outl, const char *p, uint32_t *off, uint32_t len)
{
	size_t n = len - *off;
	if (n > (size_t)outl)
		n = (size_t)outl;
	memcpy(out, p + *off, n);
	*off += (uint32_t)n;
	return (int)n;
}

static int
bio_read(BIO *b, char *out, int outl)
{
	kk_tlsbio *st = BIO_get_data(b);
	ssize_t r;

	BIO_clear_retry_flags(b);
	if (outl <= 0)
		return 0;
	if (st->left) {
		int n = take(out, outl, st->left, &st->left_off, st->left_len);
		if (st->left_off == st->left_len) {
			free(st->left);
			st->left = NULL;
			st->left_off = st->left_len = 0;
		}
		return n;
	}
	if (ahead_of == st && ahead_off < ahead_len) {
		uint32_t off = (uint32_t)ahead_off;
		int n = take(out, outl, ahead, &off, (uint32_t)ahead_len);
		ahead_off = off;
		return n;
	}
	/* Every library call settles its connection's bytes: the buffer is
	 * free, unless a call went without (then they move now). */
	if (ahead_of && ahead_of != st && !kk_tlsbio_settle(ahead_of))
		return -1;
	do
		r = read(st->c->io.fd, ahead, sizeof ahead);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_read(b);
		return -1;
	}
	if (r == 0)
		return 0;
	ahead_of = st;
	ahead_off = 0;
	ahead_len = (size_t)r;
	{
		uint32_t off = 0;
		int n = take(out, outl, ahead, &off, (uint32_t)ahead_len);
		ahead_off = off;
		return n;
	}
}

static int
bio_write(BIO *b, const char *in, int inl)
{
	kk_tlsbio *st = BIO_get_data(b);
	ssize_t r;

	BIO_clear_retry_flags(b);
	do
		r = send(st->c->io.fd, in, (size_t)inl, MSG_NOSIGNAL | (st->more ? MSG_MORE : 0));
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(b);
	return (int)r;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	/* Writes are not buffered: a flush has nothing to do. */
	return cmd == BIO_CTRL_FLUSH;
}

static int
bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

BIO *
kk_tlsbio_new(kk_tlsbio *st, const kk_conn *c)
{
	BIO *b;

	if (!method) {
		if (!(method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
		    "kakehi socket")))
			return NULL;
		BIO_meth_set_read(method, bio_read);
		BIO_meth_set_write(method, bio_write);
		BIO_meth_set_ctrl(method, bio_ctrl);
		BIO_meth_set_create(method, bio_create);
	}
	memset(st, 0, sizeof *st);
	st->c = c;
	if (!(b = BIO_new(method)))
		return NULL;
	BIO_set_data(b, st);
	return b;
}

int
kk_tlsbio_settle(kk_tlsbio *st)
{
	size_t n;

	if (ahead_of != st)
		return 1;
	ahead_of = NULL;
	n = ahead_len - ahead_off;
	if (!n)
		return 1;
	/* Bytes of its own come first: none are, since the library read
	 * them all before it read the socket again. */
	if (!(st->left = malloc(n)))
		return 0;
	memcpy(st->left, ahead + ahead_off, n);
	st->left_off = 0;
	st->left_len = (uint32_t)n;
	ahead_off = ahead_len = 0;
	return 1;
}

size_t
kk_tlsbio_pending(const kk_tlsbio *st)
{
	size_t n = st->left ? st->left_len - st->left_off : 0;
	if (ahead_of == st)
		n += ahead_len - ahead_off;
	return n;
}

void
kk_tlsbio_end(kk_tlsbio *st)
{
	if (ahead_of == st) {
		ahead_of = NULL;
		ahead_off = ahead_len = 0;
	}
	free(st->left);
	st->left = NULL;
	st->left_off = st->left_len = 0;
}
