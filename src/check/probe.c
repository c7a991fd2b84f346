/* ISC license. */
/* The request and the status line of a probe, and the rise/fall count.
 * The answer's headers and body are never read: the status decides, and
 * the connection closes once it is known. */
#include <stdio.h>
#include <string.h>
#include "probe.h"

size_t
kk_probe_request(char *buf, size_t max, const char *path, const char *host)
{
	int n = snprintf(buf, max, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: kakehi-check\r\n"
	    "Accept: */*\r\nConnection: close\r\n\r\n", path, host);
	return n > 0 && (size_t)n < max ? (size_t)n : 0;
}

int
kk_probe_status(const char *buf, size_t len, unsigned *status)
{
	/* status-line = HTTP-version SP status-code SP [ reason-phrase ]:
	 * "HTTP/1.", a digit, a space, three digits, then the space (or,
	 * from lenient servers, the end of the line). */
	static const char lead[] = "HTTP/1.";
	size_t i, n = len < sizeof lead - 1 ? len : sizeof lead - 1;
	if (memcmp(buf, lead, n))
		return -1;
	if (len >= 8 && (buf[7] < '0' || buf[7] > '9'))
		return -1;
	if (len >= 9 && buf[8] != ' ')
		return -1;
	for (i = 9; i < 12 && i < len; i++)
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
	if (len < 13)
		return len >= KK_PROBE_INMAX ? -1 : 0;
	if (buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n')
		return -1;
	*status = (unsigned)(buf[9] - '0') * 100 + (unsigned)(buf[10] - '0') * 10
	    + (unsigned)(buf[11] - '0');
	return *status >= 100 && *status <= 599 ? 1 : -1;
}

enum kk_probe_state
kk_probe_tally(kk_probe_count *c, int good, unsigned rise, unsigned fall)
{
	if (good) {
		c->bad = 0;
		if (c->good < rise)
			c->good++;
		if (c->state != KK_PROBE_UP && c->good >= rise)
			return c->state = KK_PROBE_UP;
	} else {
		c->good = 0;
		if (c->bad < fall)
			c->bad++;
		if (c->state != KK_PROBE_DOWN && c->bad >= fall)
			return c->state = KK_PROBE_DOWN;
	}
	return KK_PROBE_UNKNOWN;
}
