/* ISC license. */
/* Private to libkakehi: the defaults of object options and the printers
 * of one object as a verb line, shared by the state printer, the diff and
 * the error messages of apply (which quote the line that would help). */
#ifndef KAKEHI_STATEPRINT_H
#define KAKEHI_STATEPRINT_H

#include <kakehi/state.h>
#include <kakehi/str.h>

#define KK_DEFAULT_FRONT_TIMEOUT_MS 60000UL
#define KK_DEFAULT_REQUEST_TIMEOUT_MS 10000UL
#define KK_DEFAULT_BACK_TIMEOUT_MS 30000UL
#define KK_DEFAULT_CONNECT_TIMEOUT_MS 3000UL
/* An idle WebSocket may wait long for its next message; an hour is what
 * operators of other proxies usually set for tunnels. */
#define KK_DEFAULT_TUNNEL_TIMEOUT_MS 3600000UL
/* HTTP/2 settings of an http listener (RFC 9113 §6.5.2). */
#define KK_DEFAULT_H2_MAX_STREAMS 100UL
#define KK_DEFAULT_H2_WINDOW 65535UL
#define KK_DEFAULT_H2_MAX_FRAME 16384UL
#define KK_DEFAULT_H2_MAX_HEADER_LIST 65536UL
#define KK_DEFAULT_H2_MAX_RESETS 200UL
#define KK_DEFAULT_H2_MAX_SETTINGS 50UL
#define KK_DEFAULT_H2_MAX_PINGS 50UL
#define KK_DEFAULT_H2_MAX_PRIORITY 500UL
#define KK_DEFAULT_H2_MAX_WINDOW_UPDATES 1000UL
#define KK_DEFAULT_H2_MAX_EMPTY_DATA 100UL
#define KK_DEFAULT_H2_MAX_CONTINUATIONS 16UL
#define KK_DEFAULT_WEIGHT 100
#define KK_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000UL
#define KK_DEFAULT_HTTPS_PORT 443

extern const char *const kk_lb_names[];		/* indexed by enum kk_lb */
extern const char *const kk_proto_names[];	/* indexed by enum kk_proto */
/* Indexed by enum kk_send_proxy; [KK_SEND_PROXY_NONE] is NULL. */
extern const char *const kk_send_proxy_names[];

/* Each appends one verb line with action "add" or "remove", without the
 * final newline. 1 ok, 0 ENOMEM. */
int kk_stateprint_listener(kk_str *, const kk_listener *, const char *action);
int kk_stateprint_cluster(kk_str *, const kk_cluster *, const char *action);
int kk_stateprint_frontend(kk_str *, const kk_frontend *, const char *action);
int kk_stateprint_backend(kk_str *, const kk_backend *, const char *action);
/* A certificate's line: "remove" names it, "add" gives it in the data
 * form (kk_state_print_form prints the others). */
int kk_stateprint_certificate(kk_str *, const kk_certificate *, const char *action);
/* "CERTDIR/NAME.EXT", the file a saved certificate's blob goes in: NAME
 * its fingerprint, or FP-N for the N-th certificate of that fingerprint
 * whose blobs differ from the earlier ones' (the same certificate on
 * several listeners, with another chain). */
int kk_stateprint_cert_file(kk_str *, const kk_state *, const kk_certificate *,
    const char *certdir, const char *ext);
/* "CERTDIR/HASH.ca", the file a saved --tls cluster's CA goes in: HASH
 * the SHA-256 of its bytes, so clusters that trust the same CA share it. */
int kk_stateprint_ca_file(kk_str *, const kk_cluster_tls *, const char *certdir);
/* The live backends' slots grouped by cluster, clusters in state order,
 * each cluster's backends in state order (their round-robin order): the
 * printed order, which a diff must reach. *n gets the count; the caller
 * frees. NULL: ENOMEM. */
size_t *kk_stateprint_backend_order(const kk_state *, size_t *n);

#endif
