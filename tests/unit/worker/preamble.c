/* ISC license. */
/* The preamble chain: the HTTP/2 preface is told from HTTP/1 requests at
 * every length, including a preface that arrives a byte at a time, and
 * the refusal is the frames RFC 9113 asks for. */
#include <string.h>
#include "tap.h"
#include "worker/preamble.c"

static const char pf[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static int
run(const char *p, size_t len)
{
	unsigned char at = 0;
	size_t used = 99;
	int r = kk_preamble_run(kk_preamble_http, &at, p, len, &used);
	return used == 0 ? r : -1;	/* the preface step consumes nothing */
}

int
main(void)
{
	char out[128];
	size_t i, n;
	unsigned char *u = (unsigned char *)out;

	is_int(run(pf, 24), KK_PREAMBLE_H2, "the whole preface");
	is_int(run("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4", 28), KK_PREAMBLE_H2,
	    "the preface and what follows");
	for (i = 1; i < 24; i++)
		if (run(pf, i) != KK_PREAMBLE_MORE)
			break;
	is_int(i, 24, "every prefix of the preface asks for more");
	is_int(run("", 0), KK_PREAMBLE_MORE, "no bytes: more");
	is_int(run("GET / HTTP/1.1\r\n", 16), KK_PREAMBLE_H1, "GET is HTTP/1");
	is_int(run("P", 1), KK_PREAMBLE_MORE, "P could be either");
	is_int(run("PUT", 3), KK_PREAMBLE_MORE, "PUT: not the preface, its line still to come");
	is_int(run("PUT /x HTTP/1.0\n", 16), KK_PREAMBLE_H1, "a bare LF line is HTTP/1 (h1 refuses)");
	is_int(run("GET / HTTP/1.2\r\n", 16), KK_PREAMBLE_H1, "any HTTP/d.d is for h1 (505)");
	is_int(run("INVALID CONNECTION PREFACE\r\n\r\n", 30), KK_PREAMBLE_NOT_H1,
	    "a line with no HTTP version is neither");
	is_int(run("GET /\r\n", 7), KK_PREAMBLE_H1, "HTTP/0.9 is for h1 (505)");
	is_int(run("GET / http/1.1 \r\n", 17), KK_PREAMBLE_H1, "a version h1 refuses");
	is_int(run("\r\n\r\nGET / HTTP/1.1\r\n", 20), KK_PREAMBLE_H1,
	    "empty lines before the request line are skipped");
	is_int(run("PRI * HTTP/1.1\r\n", 16), KK_PREAMBLE_H1, "PRI in HTTP/1.1 is HTTP/1");

	n = kk_preamble_h2_refusal(out, sizeof out);
	ok(n > 26, "the refusal is written (%zu bytes)", n);
	ok(!memcmp(out, "\0\0\0\4\0\0\0\0\0", 9), "an empty SETTINGS on stream 0 first");
	is_int(u[12], 7, "then a GOAWAY");
	is_int(((size_t)u[9] << 16 | (size_t)u[10] << 8 | u[11]) + 18, n,
	    "whose length covers the rest");
	ok(!memcmp(out + 13, "\0\0\0\0\0\0\0\0", 8), "on stream 0, last stream id 0");
	is_int(u[25], 0xd, "error HTTP_1_1_REQUIRED");
	is_int(kk_preamble_h2_refusal(out, n - 1), 0, "too small a buffer: nothing written");
	return done();
}
