/* ISC license. */
/* Length-prefixed frames: building and parsing headers, request (words)
 * and reply payloads. Libc only: the worker links it. The blocking
 * helpers of the control plane are in frameio.c, non-blocking channel
 * I/O in chan.c. */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <kakehi/frame.h>

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
