/* ISC license. */
/* kk_frame_write and kk_frame_read: blocking frame I/O under a deadline,
 * for the control-plane programs (kakehi-ctl, the supervisor's last
 * replies). On skalibs iopause and tain, so kept out of frame.c, which
 * the worker links. */

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include <skalibs/iopause.h>
#include <skalibs/tai.h>

#include <kakehi/frame.h>

/* The deadline of a call: timeout_ms from now, or none (NULL) when < 0. */
static const tain *
deadline_of(tain *d, int timeout_ms)
{
	if (timeout_ms < 0)
		return 0;
	tain_now_g();
	tain_from_millisecs(d, timeout_ms);
	tain_add_g(d, d);
	return d;
}

/* Waits for events on fd until deadline (NULL: forever), retrying on
 * EINTR. 1 when ready, or in error or hung up (the next read or write
 * reports it); 0 with errno, ETIMEDOUT when the deadline passed. */
static int
wait_fd(int fd, short events, const tain *deadline)
{
	for (;;) {
		iopause_fd x = { .fd = fd, .events = events, .revents = 0 };
		int r = iopause_g(&x, 1, deadline ? deadline : &tain_infinite);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (r > 0)
			return 1;
		errno = ETIMEDOUT;
		return 0;
	}
}

int
kk_frame_write(int fd, const char *buf, size_t len, int timeout_ms)
{
	tain d;
	const tain *deadline = deadline_of(&d, timeout_ms);
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, buf + done, len - done);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return 0;
			if (!wait_fd(fd, IOPAUSE_WRITE, deadline))
				return 0;
			continue;
		}
		done += (size_t)w;
	}
	return 1;
}

/* Reads exactly n bytes into dst. 1 ok, 0 with errno (0 on EOF before the
 * first byte when eof_ok, EPROTO on EOF in the middle). */
static int
read_exact(int fd, char *dst, size_t n, const tain *deadline, int eof_ok)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r;

		if (!wait_fd(fd, IOPAUSE_READ, deadline))
			return 0;
		r = read(fd, dst + got, n - got);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return 0;
		}
		if (r == 0) {
			errno = (eof_ok && !got) ? 0 : EPROTO;
			return 0;
		}
		got += (size_t)r;
	}
	return 1;
}

int
kk_frame_read(int fd, kk_str *out, uint32_t max, int timeout_ms)
{
	tain d;
	const tain *deadline = deadline_of(&d, timeout_ms);
	char hdr[KK_FRAME_HDRLEN];
	uint32_t n;

	if (!read_exact(fd, hdr, sizeof hdr, deadline, 1))
		return 0;
	n = (uint32_t)(unsigned char)hdr[0] << 24 | (uint32_t)(unsigned char)hdr[1] << 16 |
	    (uint32_t)(unsigned char)hdr[2] << 8 | (unsigned char)hdr[3];
	if (n > max) {
		errno = EMSGSIZE;
		return 0;
	}
	kk_str_reset(out);
	if (!kk_str_ready(out, n))
		return 0;
	if (!read_exact(fd, out->s, n, deadline, 0))
		return 0;
	out->len = n;
	out->s[n] = 0;
	return 1;
}
