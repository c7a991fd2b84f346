/* ISC license. */
/* Framing shared by the control socket and the supervisor-worker channel:
 * a 4-byte big-endian length, then the payload. A request payload is an
 * argv: words, each terminated by a NUL. A reply payload is a status byte
 * then a body (text or JSON). */
#ifndef KAKEHI_FRAME_H
#define KAKEHI_FRAME_H

#include <stdint.h>
#include <stddef.h>
#include <kakehi/str.h>

#define KK_FRAME_HDRLEN 4
/* Control socket limit: a verb line, or a reply such as a state dump. A
 * larger frame closes the connection. */
#define KK_FRAME_MAX_CONTROL (4u << 20)
/* Supervisor-worker limit: a whole state (verb lines) fits in it. */
#define KK_FRAME_MAX_CHANNEL (64u << 20)
#define KK_FRAME_MAXWORDS 256

/* Reply status bytes. */
#define KK_REPLY_OK 'O'
#define KK_REPLY_ERROR 'E'
#define KK_REPLY_MORE 'M'	/* more frames follow (streams) */

void kk_frame_put_header(unsigned char *hdr, uint32_t payload_len);
/* Looks at the start of buf: 1 when a whole frame is there (*plen set, the
 * payload starts at buf + KK_FRAME_HDRLEN), 0 when more bytes are needed,
 * -1 when the announced length exceeds max (errno EMSGSIZE). */
int kk_frame_parse(const char *buf, size_t len, uint32_t max, uint32_t *plen);

/* Appends a whole frame (header and NUL-terminated words). 1 ok, 0 ENOMEM. */
int kk_words_frame(kk_str *out, unsigned argc, const char *const *argv);
/* Appends a whole reply frame: status byte and body. 1 ok, 0 ENOMEM. */
int kk_reply_frame(kk_str *out, char status, const char *body, size_t len);
/* Splits a payload into words, in place. 1 ok; 0 when the payload is
 * empty, does not end with a NUL, or has more than max words. */
int kk_words_split(char *payload, size_t len, char **argv, unsigned max, unsigned *argc);

/* Blocking helpers for the control plane (frameio.c, on skalibs: the
 * worker never calls them, so it does not link skalibs).
 * kk_frame_write writes everything or fails (1/0, errno). kk_frame_read
 * reads exactly one frame into out (payload only): 1 ok, 0 on error or EOF
 * (errno 0 on clean EOF, EMSGSIZE on an oversized frame). timeout_ms < 0
 * waits forever. */
int kk_frame_write(int fd, const char *buf, size_t len, int timeout_ms);
int kk_frame_read(int fd, kk_str *out, uint32_t max, int timeout_ms);

#endif
