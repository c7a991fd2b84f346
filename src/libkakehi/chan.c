/* ISC license. */
/* kk_chan: the supervisor-worker channel. Non-blocking reads that collect
 * frames and SCM_RIGHTS fds, and one write queue for every message, those
 * that carry an fd included: nothing here waits for the peer. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <kakehi/chan.h>
#include <kakehi/frame.h>

/* How much one fill reads at most: bounds the work per loop turn. */
#define CHAN_READ_CHUNK 65536

void
kk_chan_init(kk_chan *c, int fd)
{
	kk_str zero = KK_STR_SECRET;

	c->fd = fd;
	c->in = zero;
	c->in_off = 0;
	c->out = zero;
	c->out_off = 0;
	c->ofds = 0;
	c->nofds = c->aofds = 0;
	c->nfds = 0;
}

void
kk_chan_free(kk_chan *c)
{
	unsigned i;

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	for (i = 0; i < c->nfds; i++)
		close(c->fds[i]);
	c->nfds = 0;
	for (i = 0; i < c->nofds; i++)
		close(c->ofds[i].fd);
	free(c->ofds);
	c->ofds = 0;
	c->nofds = c->aofds = 0;
	kk_str_free(&c->in);
	kk_str_free(&c->out);
	c->in_off = 0;
	c->out_off = 0;
}

/* A channel carries certificates' keys (the supervisor's deltas): its
 * buffers wipe the blocks they leave (KK_STR_SECRET), and the bytes it
 * is done with are wiped in place. */
static void
wipe_tail(kk_str *s, size_t gone)
{
	explicit_bzero(s->s + s->len, gone);
}

/* Keeps the fds of one received control message; those beyond the queue's
 * room are closed, since nothing could ever claim them. */
static void
take_rights(kk_chan *c, struct msghdr *msg)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		size_t n, i;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
			if (c->nfds < KK_CHAN_MAXFDS)
				c->fds[c->nfds++] = fd;
			else
				close(fd);
		}
	}
}

int
kk_chan_fill(kk_chan *c)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * KK_CHAN_MAXFDS)];
	} cbuf;
	struct msghdr msg;
	struct iovec iov;
	ssize_t r;

	/* Drop the decoded frames first: the argv of earlier messages is
	 * documented as invalid from here on. */
	if (c->in_off) {
		memmove(c->in.s, c->in.s + c->in_off, c->in.len - c->in_off);
		c->in.len -= c->in_off;
		wipe_tail(&c->in, c->in_off);
		c->in_off = 0;
	}
	if (!kk_str_ready(&c->in, CHAN_READ_CHUNK))
		return -1;
	iov.iov_base = c->in.s + c->in.len;
	iov.iov_len = CHAN_READ_CHUNK;
	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof cbuf.buf;
	do
		r = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	take_rights(c, &msg);
	c->in.len += (size_t)r;
	c->in.s[c->in.len] = 0;
	return r > INT_MAX ? INT_MAX : (int)r;
}

int
kk_chan_next(kk_chan *c, char **argv, unsigned max, unsigned *argc)
{
	uint32_t n;
	int r;

	if (!c->in.s)
		return 0;
	r = kk_frame_parse(c->in.s + c->in_off, c->in.len - c->in_off,
	    KK_FRAME_MAX_CHANNEL, &n);
	if (r <= 0)
		return r;
	if (!kk_words_split(c->in.s + c->in_off + KK_FRAME_HDRLEN, n, argv, max, argc)) {
		errno = EPROTO;
		return -1;
	}
	c->in_off += KK_FRAME_HDRLEN + (size_t)n;
	return 1;
}

int
kk_chan_take_fd(kk_chan *c)
{
	int fd;

	if (!c->nfds)
		return -1;
	fd = c->fds[0];
	c->nfds--;
	memmove(c->fds, c->fds + 1, c->nfds * sizeof(int));
	return fd;
}

/* The queue's sent prefix is dropped when it is at least this large and
 * half the buffer, so a channel that is never quite empty stays bounded
 * and the copy is amortised over what was sent. */
#define CHAN_COMPACT_MIN 65536

static void
compact(kk_chan *c)
{
	size_t i;

	if (c->out_off == c->out.len) {
		if (c->out.s)
			explicit_bzero(c->out.s, c->out.len);
		c->out.len = 0;
		c->out_off = 0;
		return;
	}
	if (c->out_off < CHAN_COMPACT_MIN || 2 * c->out_off < c->out.len)
		return;
	memmove(c->out.s, c->out.s + c->out_off, c->out.len - c->out_off);
	c->out.len -= c->out_off;
	wipe_tail(&c->out, c->out_off);
	for (i = 0; i < c->nofds; i++)
		c->ofds[i].off -= c->out_off;
	c->out_off = 0;
}

int
kk_chan_put(kk_chan *c, unsigned argc, const char *const *argv)
{
	compact(c);
	return kk_words_frame(&c->out, argc, argv);
}

int
kk_chan_put_fd(kk_chan *c, unsigned argc, const char *const *argv, int fd)
{
	size_t off;
	int dup;

	compact(c);
	if (c->nofds == c->aofds) {
		size_t a = c->aofds ? 2 * c->aofds : 4;
		kk_chan_outfd *p = realloc(c->ofds, a * sizeof *p);
		if (!p)
			return 0;
		c->ofds = p;
		c->aofds = a;
	}
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return 0;
	off = c->out.len;
	if (!kk_words_frame(&c->out, argc, argv)) {
		close(dup);
		return 0;
	}
	c->ofds[c->nofds].off = off;
	c->ofds[c->nofds].fd = dup;
	c->nofds++;
	return 1;
}

/* Sends out[out_off, end) with fd attached: one sendmsg, so the fd rides
 * on the first byte of its frame. */
static ssize_t
send_with_fd(kk_chan *c, size_t end, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cm;

	iov.iov_base = c->out.s + c->out_off;
	iov.iov_len = end - c->out_off;
	memset(&msg, 0, sizeof msg);
	memset(&cbuf, 0, sizeof cbuf);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof cbuf.buf;
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	return sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

int
kk_chan_flush(kk_chan *c)
{
	while (c->out_off < c->out.len) {
		/* Bytes before the next fd go plainly; the fd's own frame
		 * starts a sendmsg of its own, up to the fd after it. */
		int attach = c->nofds && c->ofds[0].off == c->out_off;
		size_t end = c->out.len;
		ssize_t w;

		if (c->nofds > (size_t)attach)
			end = c->ofds[attach].off;
		if (attach)
			w = send_with_fd(c, end, c->ofds[0].fd);
		else
			w = send(c->fd, c->out.s + c->out_off, end - c->out_off,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		if (attach) {
			close(c->ofds[0].fd);
			c->nofds--;
			memmove(c->ofds, c->ofds + 1, c->nofds * sizeof *c->ofds);
		}
		c->out_off += (size_t)w;
	}
	if (c->out.s)
		explicit_bzero(c->out.s, c->out.len);
	c->out.len = 0;
	c->out_off = 0;
	return 1;
}

int
kk_chan_pending(const kk_chan *c)
{
	size_t n = c->out.len - c->out_off;

	return n > INT_MAX ? INT_MAX : (int)n;
}
