/* ISC license. */
/* Preamble steps: what a front connection's first bytes are checked for
 * before a protocol is chosen (DESIGN.md §5). A listener's chain is a
 * NULL-ended list of steps run in order over the bytes read so far, each
 * until it is done; the last one done picks the protocol. The only step
 * today detects the HTTP/2 connection preface on plain HTTP listeners;
 * the PROXY header (proxyhdr.h) and the ClientHello peek (clienthello.h)
 * join the chain as steps of their own when a listener asks for them.
 * No sockets and no timers here: the front connection feeds the bytes and
 * owns the deadline. */
#ifndef KK_WORKER_PREAMBLE_H
#define KK_WORKER_PREAMBLE_H

#include <stddef.h>

/* What the preamble decided. */
enum kk_preamble_result {
	KK_PREAMBLE_MORE = 0,	/* the bytes so far cannot decide: read more */
	KK_PREAMBLE_H1,		/* HTTP/1.x: the h1 server takes the bytes */
	KK_PREAMBLE_H2,		/* the HTTP/2 preface (RFC 9113 §3.4) */
	/* Neither: a first line that ends in no HTTP/1 version, so no
	 * HTTP/1 client sent it. A listener that serves h2c treats it as an
	 * invalid preface (RFC 9113 §3.4: a connection error); one that
	 * does not, as the HTTP/1 request it refuses. */
	KK_PREAMBLE_NOT_H1,
	KK_PREAMBLE_REFUSE	/* a step refused the connection */
};

typedef struct kk_preamble_step kk_preamble_step;
struct kk_preamble_step {
	const char *name;
	/* Looks at p[0, len), the connection's first bytes (what earlier
	 * steps consumed is gone). Returns a result; *used is how many bytes
	 * the step consumed (a PROXY header is dropped, a preface is not). */
	enum kk_preamble_result (*step)(const char *p, size_t len, size_t *used);
};

/* The chain of a plain HTTP listener. */
extern const kk_preamble_step *const kk_preamble_http[];

/* Runs chain from step *at over p[0, len): returns the result of the
 * step that decided, or MORE with *at left on the step to resume; *used
 * is the bytes consumed by the steps done. */
enum kk_preamble_result kk_preamble_run(const kk_preamble_step *const *chain,
    unsigned char *at, const char *p, size_t len, size_t *used);

/* Writes the answer to an HTTP/2 preface on a listener that does not
 * speak it: an empty SETTINGS frame (the server preface, RFC 9113 §3.4)
 * and a GOAWAY with HTTP_1_1_REQUIRED (§6.8, §7). Returns its length, 0
 * when cap is too small. */
size_t kk_preamble_h2_refusal(char *out, size_t cap);

#endif
