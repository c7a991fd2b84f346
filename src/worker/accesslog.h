/* ISC license. */
/* The access log: one line per request, rendered from what the stream
 * kept of it (kk_alog_req) in the format of `set access-log-format`, into
 * a bounded buffer that non-blocking writes drain when the destination
 * takes bytes. A full buffer drops lines and counts them: the loop never
 * waits for a log reader. The destination's setup and reopening are here
 * too; what a request carries is the stream's (stream.c). */
#ifndef KK_WORKER_ACCESSLOG_H
#define KK_WORKER_ACCESSLOG_H

#include <stdint.h>
#include <kakehi/addr.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include "bend.h"
#include "head.h"
#include "router.h"
#include "status.h"

/* Room for the method, host and path a line shows: longer ones are cut
 * (and the line says so with "..."); it lives in each stream, so it is
 * kept near what real requests need. */
#define KK_ALOG_METHODMAX 32
#define KK_ALOG_PATHMAX 1024

#define KK_ALOG_CUT_METHOD 0x1
#define KK_ALOG_CUT_HOST 0x2
#define KK_ALOG_CUT_PATH 0x4

/* What a stream keeps of its request for its line, filled at its start
 * (kk_accesslog_begin) only when the request is to be logged. */
typedef struct kk_alog_req kk_alog_req;
struct kk_alog_req {
	uint64_t start_ms;	/* monotonic, when the stream started */
	uint64_t first_ms;	/* the first response byte from the backend, 0: none */
	uint64_t bytes_in, bytes_out;	/* body bytes: upstream, to the client */
	uint16_t method_len, host_len, path_len;
	unsigned char version;	/* KK_VERSION_* */
	unsigned char cut;	/* KK_ALOG_CUT_*: fields longer than their room */
	char client[KK_ADDR_FMTLEN];	/* "ADDR:PORT", "[ADDR6]:PORT", "" unknown */
	char method[KK_ALOG_METHODMAX];
	char host[KK_HEAD_HOSTMAX];
	char path[KK_ALOG_PATHMAX];
};

/* Nonzero while the log is on: the only cost of a request when it is off
 * is the test of this. */
extern int kk_accesslog_on;

/* Whether the next request is logged (access-log-sample): call once per
 * request while kk_accesslog_on. */
int kk_accesslog_sampled(void);
/* Keeps what the line needs of h (before the forwarding rules change it)
 * and the client address (src, NULL when unknown) in r. */
void kk_accesslog_begin(kk_alog_req *r, const kk_reqhead *h, const kk_addr *src);
/* Writes the line of a request that ended: status sent (0: none reached
 * the client), reason it ended; c, backend_id and bend NULL when there
 * were none. */
void kk_accesslog_emit(const kk_alog_req *r, const kk_rlistener *rl, const kk_rcluster *c,
    const char *backend_id, const kk_bend *bend, unsigned status, enum kk_close reason);

/* Writes the line of a request answered without a stream (no route, a
 * redirect, a head over the limits): as begin and emit at once, with
 * what begin takes and the status it got. */
void kk_accesslog_answered(const kk_reqhead *h, const kk_addr *src, const kk_rlistener *rl,
    const kk_rcluster *c, unsigned status);

/* Settings: prepare compiles the format and opens the destination when
 * it changed (nothing else changes: 1 ok, 0 with err); then commit makes
 * it current, which cannot fail, or abandon closes what prepare opened. */
int kk_accesslog_prepare(const kk_settings *, char *err, size_t errlen);
void kk_accesslog_commit(void);
void kk_accesslog_abandon(void);
/* Opens a FILE destination again (after logrotate moved it): 1 (also
 * when the destination is no file); 0 with err set when it could not,
 * which keeps the one open and says so on stderr too. */
int kk_accesslog_reopen(char *err, size_t errlen);
/* "key value" lines for the status answer. 1 ok, 0 ENOMEM. */
int kk_accesslog_status(kk_str *out);

#endif
