/* ISC license. */
/* The router snapshot: one per generation, built whole from a kk_state or
 * derived from the previous snapshot and a change's journal, never changed
 * afterwards (only the load balancers' counters move), swapped in between
 * loop turns. Streams hold a reference, so a snapshot outlives the
 * generation that made it while requests still use it; the parts it
 * shares with later snapshots are refcounted and freed with the last.
 *
 * Matching, per listener: candidate host groups in order (the exact host
 * by hash; then wildcard "*.example.com" entries by suffix, longest first;
 * then frontends without a host); in the first group with a matching route
 * the first route wins, routes being ordered exact path, then path regexes,
 * then prefixes longest first, then any path; at equal path a route with
 * header, cookie or query matches before one without, then a method
 * before none, then in the order the frontends were added. A route
 * matches when all its conditions hold: one that fails leaves the request
 * to the next route, and past the group's last to the next group. Regexes
 * run only on the routes of the groups a request's host selects, so the
 * cost of a lookup does not grow with the number of frontends.
 *
 * A tcp listener is matched the same way with the TLS server name (SNI)
 * for the host and nothing else: the exact name by hash, then wildcards
 * by suffix, longest first, then the default route (the frontend without
 * --sni). Each name has one route at most (the state refuses a second),
 * so the first group found decides. */
#ifndef KK_WORKER_ROUTER_H
#define KK_WORKER_ROUTER_H

#include <stddef.h>
#include <stdint.h>
#include <kakehi/fmatch.h>
#include <kakehi/regex.h>
#include <kakehi/state.h>
#include "bend.h"
#include "head.h"
#include "queue.h"
#include "wmetrics.h"

typedef struct kk_rbackend kk_rbackend;
struct kk_rbackend {
	kk_bend *bend;
	const char *id;
	unsigned weight;	/* 0: never chosen */
	int backup;
	unsigned max_conns;	/* --max-connections; 0: none */
	/* --slow-start (0: none), and when it joined the cluster: 0 when
	 * the cluster came with it, KK_LB_SINCE_FIRST when a change added
	 * it to a running one (its first pick sets the time). */
	unsigned long slow_ms;
	uint64_t since;
	long cw;		/* smooth weighted round-robin current weight */
	/* --sticky: the opaque id its cookie carries (derived from id, so
	 * every worker and every generation agrees), and the Set-Cookie
	 * value naming it, in the cluster's lb tables. */
	uint64_t sid;
	const char *cookie;
	kk_mcount *m;		/* its counters (wmetrics.h) */
};

struct kk_lbx;

typedef struct kk_rcluster kk_rcluster;
struct kk_rcluster {
	const char *id;
	enum kk_lb lb;
	enum kk_hash_key hash_key;	/* --lb hash */
	int sticky;
	/* In lbx: the hash key's field or cookie name (NULL: none) and the
	 * sticky cookie's name. */
	const char *hash_name, *cookie_name;
	struct kk_lbx *lbx;	/* lb.c's tables (kk_lb_prepare), owned */
	enum kk_send_proxy send_proxy;	/* PROXY header first on each back connection */
	/* --https-redirect: the status (301, 308) requests on plain http
	 * listeners get instead of a backend, 0: none; the port of the
	 * Location. */
	unsigned https_redirect, https_port;
	/* --tls: its backends' TLS context (referenced); NULL: plain. */
	struct kk_tlsclient *tls;
	int h2;			/* --h2: its backends' bends speak HTTP/2 */
	/* --queue, --queue-timeout (0: the listener's connect timeout), and
	 * the streams waiting: the one thing besides the balancers'
	 * counters that moves in a snapshot. A copy of the cluster for a
	 * later snapshot starts with an empty queue of its own. */
	unsigned queue_max;
	unsigned long queue_ms;
	kk_queue queue;
	kk_rbackend *b;
	unsigned nb;
	/* Its custom answers (answer.h), referenced; NULL: none. */
	struct kk_ranswers *answers;
	/* Passive health (health.h): --max-fails (0: never out) and
	 * whether answers of 500 and above count (--fail-5xx). */
	unsigned max_fails;
	int fail_5xx;
	kk_mcount *m;		/* its counters (wmetrics.h) */
};

/* A header, cookie or query match of a route; name and value point into
 * the route's extra text. */
typedef struct kk_rmatch kk_rmatch;
struct kk_rmatch {
	kk_fmatch m;
	kk_regex *re;		/* KK_FMATCH_REGEX: the value compiled */
};

typedef struct kk_route kk_route;
struct kk_route {
	enum kk_path_kind kind;
	const char *path;	/* KK_PATH_REGEX: the pattern, compiled in re */
	size_t plen;
	kk_regex *re;
	const char *method;	/* NULL: any */
	size_t mlen;
	const char *extra;	/* the frontend's canonical extra matches; NULL: none */
	kk_rmatch *m;		/* extra, split; all must hold */
	unsigned nm;
	/* The cluster by name, found in the snapshot's cluster table when
	 * the route matches: a changed cluster is then one replaced table
	 * entry, and the host groups that name it stay shared. */
	const char *cluster;
	size_t clen;
	uint64_t chash;
	unsigned long order;	/* insertion order, to keep sorting stable */
	unsigned long hsts;	/* the frontend's --hsts max-age; 0: the listener's */
	const char *actions;	/* its header edits (kakehi/action.h); NULL: none */
};

/* A host group: the routes of one host (http) or server name (tcp). */
typedef struct kk_rhost kk_rhost;
struct kk_rhost {
	const char *key;	/* exact name, or ".example.com" for a wildcard */
	size_t klen;
	kk_route *routes;
	unsigned nroutes;
	unsigned char wild;
};

typedef struct kk_rlistener kk_rlistener;
struct kk_rlistener {
	const char *addr;
	char port[8];
	enum kk_proto proto;	/* which match function applies */
	int expect_proxy;	/* a PROXY v1/v2 header opens each connection */
	/* On tcp listeners front_ms is the idle timeout of the whole
	 * connection and request_ms, back_ms mean nothing. */
	unsigned long front_ms, request_ms, back_ms, connect_ms;
	/* Idle timeout of any tunnel: after an upgrade on http listeners
	 * (--tunnel-timeout), every connection on tcp ones (--front-timeout). */
	unsigned long tunnel_ms;
	kk_h2opts h2;		/* the listener's HTTP/2 options (http) */
	kk_limits limits;	/* what it accepts of a request (http) */
	/* Its forwarding (http): KK_FORWARD_* fields, and the --request-id
	 * field as kk_fwd takes it (name and ": "; the name in lower case;
	 * the name's length, 0: none). */
	unsigned fwd_fields;
	char reqid[KK_REQUEST_ID_NAMEMAX + 3], reqid_lower[KK_REQUEST_ID_NAMEMAX + 1];
	uint32_t reqidlen;
	/* Persistent tables of router.c, shared with other snapshots:
	 * exact hosts, wildcard suffixes, and the group without a host (http)
	 * or the default route (tcp); clusters is the snapshot's own. */
	void *exact, *wild, *any;
	const void *clusters;
	/* Its custom answers (answer.h), referenced; NULL: none. */
	struct kk_ranswers *answers;
	kk_mcount *m;		/* its counters (wmetrics.h) */
	enum kk_service service;	/* --service: answered by service.c */
};

/* A snapshot never changes once built, except the load balancers'
 * counters; what an update leaves alone it shares with its base. */
typedef struct kk_router kk_router;
struct kk_router {
	unsigned refs;
	uint64_t generation;
	kk_rlistener *l;
	unsigned nl;
	unsigned nc;		/* clusters */
	void *clusters;		/* persistent table, id to kk_rcluster */
	unsigned long seq;	/* the order of the next route added */
	/* set trusted-proxies, as of this snapshot's generation */
	unsigned ntrusted;
	kk_cidr trusted[KK_MAX_TRUSTED];
};

/* Builds a snapshot (refs 1) from the whole state: the first one, and
 * after a resync. NULL on ENOMEM. */
kk_router *kk_router_build(const kk_state *, uint64_t generation);
/* The snapshot after base for st, which is base's state changed by the
 * open journal j: it shares with base every cluster and host group the
 * journal did not touch, so it costs O(changes x log(objects)) plus
 * O(listeners); base stays as it was. Routes as kk_router_build(st) would.
 * A journal that adds or removes a listener takes the full build. NULL
 * base: the full build. Refs 1; NULL on ENOMEM. */
kk_router *kk_router_update(const kk_router *base, const kk_state *st, const kk_journal *j,
    uint64_t generation);
void kk_router_ref(kk_router *);
void kk_router_unref(kk_router *);	/* frees at zero */
kk_rlistener *kk_router_listener(const kk_router *, const char *addr);
/* The snapshot's cluster id, NULL: none. */
kk_rcluster *kk_router_cluster(const kk_router *, const char *id);
/* What of a request the router looks at, whatever protocol carried it. */
typedef struct kk_rreq kk_rreq;
struct kk_rreq {
	const char *host;	/* lower case, no port, no final dot (kk_head_set_host) */
	size_t hlen;
	const char *path;	/* without the query */
	size_t plen;
	const char *query;	/* after the '?', as received; NULL: none */
	size_t qlen;
	const char *method;	/* upper case as received */
	size_t mlen;
	const kk_fields *fl;	/* the request's fields; NULL: none */
};
/* An http listener's route for r; *hsts: the matching frontend's --hsts
 * max-age (0: none, the listener's applies); *actions: its header edits,
 * valid as long as the snapshot (NULL: none). NULL: no frontend matches
 * (404), or l is a tcp listener. */
kk_rcluster *kk_router_match(const kk_rlistener *, const kk_rreq *r, unsigned long *hsts,
    const char **actions);
/* A tcp listener's route for a connection. name: the ClientHello's
 * server name, lower case; NULL (or len 0) when it sent none, which takes
 * the default route. NULL: no name matches and there is no default
 * (close the connection), or l is an http listener. */
kk_rcluster *kk_router_match_sni(const kk_rlistener *, const char *name, size_t len);
/* Whether l has routes by name (hosts on http, --sni on tcp) besides its
 * default group. */
int kk_router_has_names(const kk_rlistener *l);

#endif
