/* ISC license. */
/* One HTTP probe as kakehi-check makes it, without its socket: the
 * request written, the status line of the answer read, and the rise/fall
 * count that turns results into transitions. Pure functions of their
 * arguments, so the unit tests drive them byte by byte. */
#ifndef KK_CHECK_PROBE_H
#define KK_CHECK_PROBE_H

#include <stddef.h>

/* A request fits this: a path and a host of the grammar's limits. */
#define KK_PROBE_REQMAX 2048
/* Bytes of an answer read at most: a status line is short, and a
 * backend that sends this much without one is not speaking HTTP. */
#define KK_PROBE_INMAX 256

/* Writes "GET PATH HTTP/1.1" with Host, User-Agent and Connection: close
 * into buf (max bytes). The length, or 0 when it does not fit. */
size_t kk_probe_request(char *buf, size_t max, const char *path, const char *host);
/* Reads the status line at the start of buf (len bytes so far): 1 it is
 * whole, *status set; 0 more bytes are needed; -1 it is not an HTTP/1.x
 * status line (RFC 9112 section 4), or none within KK_PROBE_INMAX. */
int kk_probe_status(const char *buf, size_t len, unsigned *status);

/* What the probes of a backend concluded: nothing yet, up or down. A
 * verdict is reported only once rise or fall results in a row agree, so
 * a checker that starts again reports nothing it has not seen. */
enum kk_probe_state { KK_PROBE_UNKNOWN = 0, KK_PROBE_UP, KK_PROBE_DOWN };
typedef struct kk_probe_count kk_probe_count;
struct kk_probe_count {
	enum kk_probe_state state;
	unsigned good, bad;	/* results in a row */
};
/* Folds one result (good or not) into c. KK_PROBE_UP or KK_PROBE_DOWN
 * when the state changes to it (to report), else KK_PROBE_UNKNOWN. */
enum kk_probe_state kk_probe_tally(kk_probe_count *c, int good, unsigned rise, unsigned fall);

#endif
