/* ISC license. */
/* kakehi-check's probe: the request it writes, status lines whole, cut
 * at every byte, and malformed, and the rise/fall count's transitions. */
#include <string.h>
#include "tap.h"
#include "check/probe.c"

/* Fed one byte more at a time: 0 (more) until the byte after the code,
 * then its result; -2 when an earlier prefix decided. */
static int
bytewise(const char *s, unsigned *status)
{
	size_t i;
	for (i = 0; i < 13; i++)
		if (kk_probe_status(s, i, status) != 0)
			return -2;
	return kk_probe_status(s, 13, status);
}

int
main(void)
{
	char buf[KK_PROBE_REQMAX], big[KK_PROBE_REQMAX];
	unsigned st = 0;
	size_t n;
	kk_probe_count c;
	int i;

	n = kk_probe_request(buf, sizeof buf, "/health?x=1", "app.example");
	is_str(buf, "GET /health?x=1 HTTP/1.1\r\nHost: app.example\r\nUser-Agent: kakehi-check\r\n"
	    "Accept: */*\r\nConnection: close\r\n\r\n", "the request");
	ok(n == strlen(buf), "its length");
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	ok(!kk_probe_request(buf, sizeof buf, big, "h"), "a request that does not fit: 0");

	ok(kk_probe_status("HTTP/1.1 200 OK\r\n", 17, &st) == 1 && st == 200, "200 OK");
	ok(bytewise("HTTP/1.1 503 Service Unavailable\r\n", &st) == 1 && st == 503,
	    "503, byte by byte: more needed until the byte after the code");
	ok(kk_probe_status("HTTP/1.0 204\r\n", 14, &st) == 1 && st == 204,
	    "no reason phrase, HTTP/1.0");
	ok(kk_probe_status("HTTP/1.1 301", 12, &st) == 0, "the code without what follows: more");
	ok(kk_probe_status("", 0, &st) == 0, "nothing yet: more");
	ok(kk_probe_status("HTTP/2 200 OK\r\n", 15, &st) == -1, "not HTTP/1.x");
	ok(kk_probe_status("SSH-2.0-OpenSSH\r\n", 17, &st) == -1, "another protocol, at once");
	ok(kk_probe_status("HTTP/1.1 2x0 OK\r\n", 17, &st) == -1, "a code that is not digits");
	ok(kk_probe_status("HTTP/1.1 2000 OK\r\n", 18, &st) == -1, "four digits");
	ok(kk_probe_status("HTTP/1.1 099 Low\r\n", 18, &st) == -1, "below 100");
	ok(kk_probe_status("HTTP/1.1 600 High\r\n", 19, &st) == -1, "above 599");
	ok(kk_probe_status("HTTP/1.1  200 OK\r\n", 18, &st) == -1, "two spaces");
	ok(kk_probe_status("http/1.1 200 OK\r\n", 17, &st) == -1, "the version is case-sensitive");

	memset(&c, 0, sizeof c);
	ok(kk_probe_tally(&c, 0, 2, 3) == KK_PROBE_UNKNOWN
	    && kk_probe_tally(&c, 0, 2, 3) == KK_PROBE_UNKNOWN
	    && kk_probe_tally(&c, 0, 2, 3) == KK_PROBE_DOWN, "fall 3: the third failure reports down");
	ok(kk_probe_tally(&c, 0, 2, 3) == KK_PROBE_UNKNOWN, "down stays down, reported once");
	ok(kk_probe_tally(&c, 1, 2, 3) == KK_PROBE_UNKNOWN && kk_probe_tally(&c, 0, 2, 3)
	    == KK_PROBE_UNKNOWN && kk_probe_tally(&c, 1, 2, 3) == KK_PROBE_UNKNOWN,
	    "rise 2: good answers not in a row put nothing back");
	ok(kk_probe_tally(&c, 1, 2, 3) == KK_PROBE_UP, "two in a row: up");
	memset(&c, 0, sizeof c);
	ok(kk_probe_tally(&c, 1, 1, 1) == KK_PROBE_UP, "from unknown, rise 1: up at once");
	memset(&c, 0, sizeof c);
	for (i = 0; i < 1000; i++)
		kk_probe_tally(&c, 0, 2, 3);
	ok(c.bad == 3 && c.state == KK_PROBE_DOWN, "the count stops at fall");
	return done();
}
