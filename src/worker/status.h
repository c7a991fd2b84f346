/* ISC license. */
/* The worker's counters and the one list of reasons a connection ends
 * for. Every front and back connection closes through a function taking
 * one of these reasons (front.c, back.c), which counts it here; the status
 * answer prints them all. */
#ifndef KK_WORKER_STATUS_H
#define KK_WORKER_STATUS_H

#include <stdint.h>
#include <kakehi/hist.h>
#include <kakehi/str.h>
#include "clienthello.h"
#include "h1.h"
#include "h2head.h"
#include "loop.h"
#include "proxyhdr.h"

enum kk_close {
	KK_CLOSE_DONE = 0,	/* response sent, no keep-alive */
	KK_CLOSE_CLIENT,	/* client closed between requests */
	KK_CLOSE_CLIENT_ABORT,	/* client closed during a request */
	KK_CLOSE_IDLE_TIMEOUT,	/* keep-alive idle timeout */
	KK_CLOSE_REQUEST_TIMEOUT,	/* request head too slow: 408 */
	KK_CLOSE_SEND_TIMEOUT,	/* client stopped reading */
	KK_CLOSE_BODY_TIMEOUT,	/* client stopped sending its request body */
	KK_CLOSE_BAD_REQUEST,	/* refused head or body: 4xx */
	KK_CLOSE_READ_ERROR,
	KK_CLOSE_WRITE_ERROR,
	KK_CLOSE_BACKEND_ERROR,	/* backend failed after the response began */
	KK_CLOSE_DRAIN,		/* idle connection closed by drain */
	KK_CLOSE_STOP,		/* worker exiting */
	KK_CLOSE_NOMEM,
	KK_CLOSE_H2_REFUSED,	/* HTTP/2 preface on an HTTP/1 listener */
	KK_CLOSE_NO_ROUTE,	/* tcp: no frontend, or a cluster without backends */
	KK_CLOSE_BAD_HELLO,	/* tcp: the ClientHello could not be read (see hello) */
	KK_CLOSE_BAD_PROXY,	/* the PROXY header could not be read (see proxy) */
	KK_CLOSE_HANDSHAKE,	/* the transport's start (a TLS handshake) failed */
	KK_CLOSE_HANDSHAKE_TIMEOUT,	/* ... or took longer than --handshake-timeout */
	KK_CLOSE_TUNNEL_DONE,	/* tunnel after an upgrade: both sides closed */
	KK_CLOSE_TUNNEL_TIMEOUT,	/* tunnel idle for the listener's tunnel timeout */
	KK_CLOSE_TUNNEL_ERROR,	/* tunnel: a read or write failed on either side */
	KK_CLOSE_H2_FLOOD,	/* h2: a flood, answered GOAWAY ENHANCE_YOUR_CALM (see h2-flood) */
	KK_CLOSE_H2_ERROR,	/* h2: the client broke the protocol, answered GOAWAY */
	/* back connections */
	KK_CLOSE_BACK_DONE,	/* response complete, not reusable */
	KK_CLOSE_BACK_CONNECT,	/* connect failed */
	KK_CLOSE_BACK_CONNECT_TIMEOUT,
	KK_CLOSE_BACK_TIMEOUT,	/* response too slow: 504 */
	KK_CLOSE_BACK_RESET,	/* closed or failed before the response ended */
	KK_CLOSE_BACK_INVALID,	/* invalid response: 502 */
	KK_CLOSE_BACK_IDLE,	/* pooled connection closed by the backend */
	KK_CLOSE_BACK_IDLE_TIMEOUT,	/* pooled connection unused too long */
	KK_CLOSE_BACK_ABORT,	/* its stream ended (client gone) */
	KK_CLOSE_BACK_TUNNEL,	/* its tunnel ended (closes-tunnel-* say why) */
	KK_CLOSE_COUNT
};

/* The floods an h2 server bounds (h2server.c): frames that make the
 * server work without a request to show for it, each with its budget. */
enum kk_h2_flood {
	KK_H2_FLOOD_RESET = 0,	/* streams the client resets (rapid reset, CVE-2023-44487) */
	KK_H2_FLOOD_CONTINUATION,	/* CONTINUATION frames of one header block */
	KK_H2_FLOOD_SETTINGS,
	KK_H2_FLOOD_PING,
	KK_H2_FLOOD_PRIORITY,
	KK_H2_FLOOD_WINDOW_UPDATE,	/* small window increments */
	KK_H2_FLOOD_EMPTY_DATA,	/* DATA frames with no byte and no END_STREAM */
	KK_H2_FLOOD_HEADER_LIST,	/* a decoded header list past the limit (HPACK bomb) */
	KK_H2_FLOOD_ACKS,	/* answers (SETTINGS, PING acks) the client does not read */
	/* streams the client makes the server reset, with malformed frames
	 * or requests ("MadeYouReset", CVE-2025-8671) */
	KK_H2_FLOOD_PROVOKED,
	KK_H2_FLOOD_COUNT
};

struct kk_stats {
	uint64_t accepted, active;
	uint64_t back_connects, back_reused, back_active, back_idle;
	uint64_t requests, responses[6];	/* [1..5]: 1xx..5xx */
	uint64_t retries;
	/* Requests that waited in a cluster's queue, found it full (503),
	 * or waited past its --queue-timeout (503). */
	uint64_t queued, queue_full, queue_timeouts;
	/* Upgrades switched to a tunnel, tunnels open, and the client's bytes
	 * through them (read from, written to the client). */
	uint64_t upgrades, tunnels, tunnel_bytes_in, tunnel_bytes_out;
	uint64_t tunnel_splices;	/* tunnel directions switched to splice (bulk) */
	uint64_t closes[KK_CLOSE_COUNT];
	uint64_t refused[KK_H1_E_COUNT];	/* refused heads by reason */
	uint64_t hello[KK_CLIENTHELLO_E_COUNT];	/* refused ClientHello peeks by reason */
	uint64_t proxy[KK_PROXYHDR_E_COUNT];	/* refused PROXY headers by reason */
	uint64_t accept_errors;
	/* Regex matches of routes that the bound of kakehi/regex.h stopped
	 * (taken as no match): a pattern, or requests, to look at. */
	uint64_t regex_stopped;
	/* HTTP/2: connections served, streams, refused header blocks by
	 * reason, floods by kind. */
	uint64_t h2_conns, h2_streams;
	uint64_t h2_refused[KK_H2HEAD_E_COUNT];
	uint64_t h2_floods[KK_H2_FLOOD_COUNT];
	/* Keeping to a share of the listeners (lsock.c): times this worker
	 * stepped aside, came back as its share grew, or took a batch anyway
	 * because the others left the queue waiting. */
	uint64_t accept_share_held, accept_share_resumed, accept_share_grace;
	/* Times this worker went to the tail of a listener's wait queue so
	 * that another takes the next connection (lsock.c, requeue); never
	 * while it accepts alone. */
	uint64_t accept_requeues;
	/* TLS handshakes done (resumed: of those, with a session resumed),
	 * failed (an alert, a cut, no certificate to serve) and too slow
	 * (--handshake-timeout). */
	uint64_t tls_handshakes, tls_resumed, tls_handshake_failures, tls_handshake_timeouts;
	/* Of the failures, those refused for the client certificate: none
	 * where the listener requires one, or one that does not verify. */
	uint64_t tls_client_cert_refused;
	/* The same to backends (--tls clusters): handshakes done, resumed,
	 * failed, and of those failed the ones whose certificate did not
	 * verify. */
	uint64_t back_tls_handshakes, back_tls_resumed, back_tls_failures;
	uint64_t back_tls_verify_failures;
	uint64_t bytes_in, bytes_out;
	/* Latencies of requests passed to a backend, from the stream's start
	 * (head read and routed, the request handed to the back endpoint, so
	 * a connect counts): to the turn that read the first byte of the
	 * response (ttfb), and to the turn that queued its end for the client
	 * (total). A 502 or 504 the proxy makes after the backend failed
	 * counts in total only. */
	kk_hist latency_ttfb, latency_total;
	/* Answers the proxy made with a custom body (--answer...), and those
	 * whose expansion outgrew the buffer and went out built-in. */
	uint64_t answers_custom, answers_too_large;
	/* Basic authentication: credentials verified, found in the cache,
	 * refused (401), and not verified for the spent budget (429). */
	uint64_t auth_ok, auth_cached, auth_refused, auth_budget;
};
extern struct kk_stats kk_stats;

/* Counts the latencies of a stream that started at start_us, now ended:
 * first_us is when its response began, 0 for an answer the proxy made
 * itself (counted in total only). */
static inline void
kk_status_latency(uint64_t start_us, uint64_t first_us)
{
	if (first_us)
		kk_hist_record(&kk_stats.latency_ttfb, first_us - start_us);
	kk_hist_record(&kk_stats.latency_total, kk_now_us - start_us);
}

const char *kk_status_close_name(enum kk_close);
const char *kk_status_h2_flood_name(enum kk_h2_flood);
/* The status answer: "key value" lines. */
int kk_status_print(kk_str *out, const char *id, uint64_t generation);

#endif
