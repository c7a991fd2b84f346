/* ISC license. */
/* Tests frame.c: header parsing (partial, oversized), request and reply
 * frames, word splitting of malformed payloads, and the blocking helpers
 * over a socketpair (timeouts, EOF, oversized frames). */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <kakehi/frame.h>
#include "tap.h"

int
main(void)
{
	unsigned char hdr[KK_FRAME_HDRLEN];
	char buf[64];
	char *argv[8];
	unsigned argc;
	uint32_t plen = 0;
	kk_str sa = KK_STR_ZERO;
	kk_str in = KK_STR_ZERO;
	int sp[2];

	kk_frame_put_header(hdr, 0x01020304);
	ok(hdr[0] == 1 && hdr[1] == 2 && hdr[2] == 3 && hdr[3] == 4, "header is big-endian");

	/* Header parsing. */
	memcpy(buf, "\0\0\0\3abc", 7);
	is_int(kk_frame_parse(buf, 0, 100, &plen), 0, "empty buffer: need more");
	is_int(kk_frame_parse(buf, 3, 100, &plen), 0, "partial header: need more");
	is_int(kk_frame_parse(buf, 6, 100, &plen), 0, "partial payload: need more");
	is_int(kk_frame_parse(buf, 7, 100, &plen), 1, "whole frame");
	is_int(plen, 3, "payload length");
	is_int(kk_frame_parse(buf, 7, 3, &plen), 1, "length equal to max accepted");
	errno = 0;
	is_int(kk_frame_parse(buf, 7, 2, &plen), -1, "length over max refused");
	is_int(errno, EMSGSIZE, "EMSGSIZE");
	memcpy(buf, "\xff\xff\xff\xff", 4);
	is_int(kk_frame_parse(buf, 4, KK_FRAME_MAX_CONTROL, &plen), -1,
	    "oversized refused from the header alone");
	memcpy(buf, "\0\0\0\0", 4);
	is_int(kk_frame_parse(buf, 4, 100, &plen), 1, "empty payload is a whole frame");
	is_int(plen, 0, "empty payload length");

	/* Word frames. */
	{
		const char *w[] = { "backend", "add", "", "b 1" };

		ok(kk_words_frame(&sa, 4, w), "words_frame");
		is_int(sa.len, 4 + 8 + 4 + 1 + 4, "words frame length");
		ok(!memcmp(sa.s, "\0\0\0\x11" "backend\0add\0\0b 1\0", sa.len), "words frame bytes");
		ok(kk_frame_parse(sa.s, sa.len, 100, &plen) == 1 && plen == 17, "parses back");
		ok(kk_words_split(sa.s + 4, plen, argv, 8, &argc), "split");
		is_int(argc, 4, "four words");
		is_str(argv[0], "backend", "word 0");
		is_str(argv[2], "", "empty word kept");
		is_str(argv[3], "b 1", "word with blank");
	}
	kk_str_reset(&sa);
	ok(kk_words_frame(&sa, 0, 0) && sa.len == 4, "zero words: header only");

	/* Malformed payloads. */
	memcpy(buf, "ab\0cd", 5);
	ok(!kk_words_split(buf, 5, argv, 8, &argc) && errno == EPROTO, "missing final NUL refused");
	ok(!kk_words_split(buf, 0, argv, 8, &argc), "empty payload refused");
	memcpy(buf, "a\0b\0c\0", 6);
	ok(!kk_words_split(buf, 6, argv, 2, &argc), "too many words refused");
	ok(kk_words_split(buf, 6, argv, 3, &argc) && argc == 3, "exactly max words accepted");
	memcpy(buf, "\0", 1);
	ok(kk_words_split(buf, 1, argv, 3, &argc) && argc == 1 && !argv[0][0], "one empty word");

	/* Reply frames. */
	kk_str_reset(&sa);
	ok(kk_reply_frame(&sa, KK_REPLY_OK, "hi\n", 3), "reply_frame");
	ok(sa.len == 8 && !memcmp(sa.s, "\0\0\0\4Ohi\n", 8), "reply frame bytes");
	kk_str_reset(&sa);
	ok(kk_reply_frame(&sa, KK_REPLY_ERROR, 0, 0) && sa.len == 5 && sa.s[4] == 'E',
	    "empty error reply");

	/* Blocking helpers over a socketpair. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	kk_str_reset(&sa);
	kk_reply_frame(&sa, KK_REPLY_MORE, "part", 4);
	kk_reply_frame(&sa, KK_REPLY_OK, "end", 3);
	ok(kk_frame_write(sp[0], sa.s, sa.len, 1000), "frame_write two frames");
	ok(kk_frame_read(sp[1], &in, 100, 1000), "frame_read first");
	ok(in.len == 5 && !memcmp(in.s, "Mpart", 5) && in.s[5] == 0, "first frame payload");
	ok(kk_frame_read(sp[1], &in, 100, 1000), "frame_read second");
	is_str(in.s, "Oend", "second frame payload");
	errno = 0;
	ok(!kk_frame_read(sp[1], &in, 100, 50) && errno == ETIMEDOUT, "read times out");
	/* A header split across writes, then EOF in the payload. */
	ok(write(sp[0], "\0\0", 2) == 2 && write(sp[0], "\0\5ab", 4) == 4, "header in two writes");
	shutdown(sp[0], SHUT_WR);
	errno = 0;
	ok(!kk_frame_read(sp[1], &in, 100, 1000) && errno == EPROTO, "EOF inside a frame: EPROTO");
	errno = 1;
	ok(!kk_frame_read(sp[1], &in, 100, 1000) && errno == 0, "clean EOF: errno 0");
	close(sp[0]);
	close(sp[1]);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	ok(write(sp[0], "\0\1\0\0", 4) == 4, "header of a 64 KiB frame");
	errno = 0;
	ok(!kk_frame_read(sp[1], &in, 1000, 1000) && errno == EMSGSIZE, "oversized frame: EMSGSIZE");
	close(sp[0]);
	close(sp[1]);

	/* A write larger than the socket buffer times out when nobody reads,
	 * even on a non-blocking socket. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	fcntl(sp[0], F_SETFL, O_NONBLOCK);
	{
		static char big[4 << 20];

		errno = 0;
		ok(!kk_frame_write(sp[0], big, sizeof big, 100) && errno == ETIMEDOUT,
		    "write times out when the peer does not read");
	}
	close(sp[0]);
	close(sp[1]);

	kk_str_free(&sa);
	kk_str_free(&in);
	return done();
}
