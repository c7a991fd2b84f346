/* ISC license. */
/* Length-prefixed frames: building and parsing headers, request (words)
 * and reply payloads, and blocking read/write helpers with a deadline for
 * short-lived clients. Non-blocking channel I/O is in chan.c. */

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kakehi/frame.h>
#include <kakehi/wait.h>

void
kk_frame_put_header(unsigned char *hdr, uint32_t n)
{
	hdr[0] = (unsigned char)(n >> 24);
	hdr[1] = (unsigned char)(n >> 16);
	hdr[2] = (unsigned char)(n >> 8);
	hdr[3] = (unsigned char)n;
}

int
kk_frame_parse(const char *buf, size_t len, uint32_t max, uint32_t *plen)
{
	const unsigned char *b = (const unsigned char *)buf;
	uint32_t n;

	if (len < KK_FRAME_HDRLEN)
		return 0;
	n = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	/* Checked before the payload arrives, so a peer cannot make us
	 * buffer a huge frame. */
	if (n > max) {
		errno = EMSGSIZE;
		return -1;
	}
	if (len - KK_FRAME_HDRLEN < n)
		return 0;
	*plen = n;
	return 1;
}

int
kk_words_frame(kk_str *out, unsigned argc, const char *const *argv)
{
	size_t total = 0;
	unsigned char hdr[KK_FRAME_HDRLEN];
	unsigned i;

	for (i = 0; i < argc; i++)
		total += strlen(argv[i]) + 1;
	if (total > UINT32_MAX) {
		errno = EMSGSIZE;
		return 0;
	}
	if (!kk_str_ready(out, KK_FRAME_HDRLEN + total))
		return 0;
	/* Room is reserved above, so the appends below cannot fail. */
	kk_frame_put_header(hdr, (uint32_t)total);
	kk_str_catb(out, (const char *)hdr, KK_FRAME_HDRLEN);
	for (i = 0; i < argc; i++)
		kk_str_catb(out, argv[i], strlen(argv[i]) + 1);
	return 1;
}

int
kk_reply_frame(kk_str *out, char status, const char *body, size_t len)
{
	unsigned char hdr[KK_FRAME_HDRLEN];

	if (len >= UINT32_MAX) {
		errno = EMSGSIZE;
		return 0;
	}
	if (!kk_str_ready(out, KK_FRAME_HDRLEN + 1 + len))
		return 0;
	kk_frame_put_header(hdr, (uint32_t)(len + 1));
	kk_str_catb(out, (const char *)hdr, KK_FRAME_HDRLEN);
	kk_str_catb(out, &status, 1);
	kk_str_catb(out, body, len);
	return 1;
}

int
kk_words_split(char *payload, size_t len, char **argv, unsigned max, unsigned *argc)
{
	size_t i, start = 0;
	unsigned n = 0;

	if (!len || payload[len - 1] != 0) {
		errno = EPROTO;
		return 0;
	}
	for (i = 0; i < len; i++) {
		if (payload[i])
			continue;
		if (n >= max) {
			errno = EPROTO;
			return 0;
		}
		argv[n++] = payload + start;
		start = i + 1;
	}
	*argc = n;
	return 1;
}

static long long
deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : kk_clock_ms() + timeout_ms;
}

int
kk_frame_write(int fd, const char *buf, size_t len, int timeout_ms)
{
	long long deadline = deadline_of(timeout_ms);
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, buf + done, len - done);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return 0;
			if (!kk_fd_wait(fd, POLLOUT, deadline))
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
read_exact(int fd, char *dst, size_t n, long long deadline, int eof_ok)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r;

		if (!kk_fd_wait(fd, POLLIN, deadline))
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
	long long deadline = deadline_of(timeout_ms);
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
