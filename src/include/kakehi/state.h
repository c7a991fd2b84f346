/* ISC license. */
/* The state model: settings, listeners, clusters, frontends, backends. The
 * supervisor owns the authoritative copy; each worker rebuilds its router
 * from a copy received as verb lines. The canonical printer makes the
 * saved state a config file: load, save, load, save is byte-identical. */
#ifndef KAKEHI_STATE_H
#define KAKEHI_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <kakehi/addr.h>
#include <kakehi/cidr.h>
#include <kakehi/index.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>

/* A listener's kind, fixed for its life: an http listener parses
 * requests and routes them by host, path and method; a tcp listener
 * tunnels each connection whole, routed by the server name of a TLS
 * ClientHello (SNI) or by its default frontend. */
enum kk_proto { KK_PROTO_HTTP = 0, KK_PROTO_TCP };
/* A listener's --service (kk_listener.service). */
enum kk_service { KK_SERVICE_NONE = 0, KK_SERVICE_PROMETHEUS, KK_SERVICE_STATS };
/* The --service word of each (kk_service_name(KK_SERVICE_NONE) is ""). */
const char *kk_service_name(enum kk_service);
enum kk_lb {
	KK_LB_ROUND_ROBIN = 0, KK_LB_RANDOM, KK_LB_LEAST_CONNECTIONS, KK_LB_P2C, KK_LB_HASH
};
/* What --lb hash hashes: the client's address, the path (query left
 * out), a request field's value or a cookie's (the name in hash_name). */
enum kk_hash_key { KK_HASH_SOURCE = 0, KK_HASH_PATH, KK_HASH_HEADER, KK_HASH_COOKIE };
/* The cookie of a --sticky cluster without --sticky-cookie. */
#define KK_STICKY_COOKIE "KKSID"
/* The PROXY protocol header sent first on each backend connection. */
enum kk_send_proxy { KK_SEND_PROXY_NONE = 0, KK_SEND_PROXY_V1, KK_SEND_PROXY_V2 };
/* How a frontend matches the path: any, by prefix, whole, or by a regex
 * (PCRE2, kakehi/regex.h). */
enum kk_path_kind { KK_PATH_ANY = 0, KK_PATH_PREFIX, KK_PATH_EXACT, KK_PATH_REGEX };

#define KK_MAX_WORKERS 64
/* A backend's --max-connections at most: past a million connections a
 * worker runs out of descriptors long before the limit would bite. */
#define KK_MAX_CONNS_MAX 1000000
/* A cluster's --queue: a waiting request holds a stream and its head's
 * bytes in a buffer, so the default stays small; the bound keeps a
 * typo from promising more than the buffer pool can hold. */
#define KK_DEFAULT_QUEUE 128
#define KK_QUEUE_MAX 100000
/* A cluster's --max-fails: three in a row, as nginx's max_fails and
 * HAProxy's fall count, tells a dead server from a lost packet. */
#define KK_DEFAULT_MAX_FAILS 3
#define KK_MAX_FAILS_MAX 1000
/* cluster health-check's defaults: HAProxy's inter 2s, rise 2, fall 3,
 * and a timeout of half the interval. */
#define KK_HC_INTERVAL_MS 2000
#define KK_HC_TIMEOUT_MS 1000
#define KK_HC_RISE 2
#define KK_HC_FALL 3
#define KK_HC_EXPECT_LO 200
#define KK_HC_EXPECT_HI 399
#define KK_HC_COUNT_MAX 100
#define KK_MAX_UIDS 32
/* Prefixes of `set trusted-proxies`: each request is matched against
 * all of them, so the list stays short (a proxy tier is a few networks). */
#define KK_MAX_TRUSTED 32

typedef struct kk_settings kk_settings;
enum kk_log_format { KK_LOG_TEXT, KK_LOG_JSON };
enum kk_log_level { KK_LOG_INFO, KK_LOG_WARNING };
struct kk_settings {
	unsigned workers;		/* default 2 */
	char *command_socket;		/* NULL: the supervisor's -s or default */
	unsigned nuids;			/* allowed-uids besides the owner; 0: owner only */
	uid_t uids[KK_MAX_UIDS];
	unsigned max_connections;	/* per worker, default 10000 */
	unsigned buffer_size;		/* bytes, default 16384 */
	unsigned backlog;		/* listen(2) backlog, default 1024 */
	unsigned long worker_timeout_ms;	/* ack deadline, default 5s */
	unsigned long drain_timeout_ms;		/* graceful stop bound, default 30s */
	unsigned long ping_timeout_ms;		/* liveness ping answer bound, default 5s */
	unsigned long tls_ticket_rotation_ms;	/* session-ticket key life, default 12h */
	/* Clients whose forwarding fields (X-Forwarded-*, Forwarded, the
	 * request id) are kept and extended; 0: none, the default. */
	unsigned ntrusted;
	kk_cidr trusted[KK_MAX_TRUSTED];
	/* Access log: NULL off (the default), "stderr", or an absolute file
	 * path; the format, NULL for the default template (logfmt.h); one
	 * request in access_log_sample is logged. */
	char *access_log;
	char *access_log_format;
	unsigned access_log_sample;
	/* The programs' own log lines (set log-format, set log-level). */
	enum kk_log_format log_format;
	enum kk_log_level log_level;
	/* statsd push from the supervisor (set statsd, statsd-prefix,
	 * statsd-interval): the address text, NULL off; the prefix, NULL
	 * for "kakehi"; the period. */
	char *statsd;
	char *statsd_prefix;
	unsigned long statsd_interval_ms;
};

/* HTTP/2 on an http listener: h2c with prior knowledge (the preface
 * detected on the first bytes), and the settings the worker's h2 server
 * announces and holds its peers to (doc/http2.html). */
typedef struct kk_h2opts kk_h2opts;
struct kk_h2opts {
	int no_h2c;			/* --no-h2c: the preface is refused */
	unsigned max_streams;		/* SETTINGS_MAX_CONCURRENT_STREAMS, default 100 */
	unsigned window;		/* SETTINGS_INITIAL_WINDOW_SIZE, default 65535 */
	unsigned max_frame;		/* SETTINGS_MAX_FRAME_SIZE, default 16384 */
	unsigned max_header_list;	/* SETTINGS_MAX_HEADER_LIST_SIZE, default 65536 */
	unsigned max_resets;		/* streams reset a second, by either side, default 200 */
	/* Flood budgets: frames a second that cost the server work and
	 * bring no request (CONTINUATION: per header block). */
	unsigned max_settings;		/* SETTINGS, default 50 */
	unsigned max_pings;		/* PING, default 50 */
	unsigned max_priority;		/* PRIORITY, default 500 */
	unsigned max_window_updates;	/* WINDOW_UPDATE below 1024 bytes, default 1000 */
	unsigned max_empty_data;	/* DATA with no byte and no END_STREAM, default 100 */
	unsigned max_continuations;	/* CONTINUATION frames of one header block, default 16 */
};

/* An https listener is an http listener (KK_PROTO_HTTP) whose tls is
 * set: everything the http path does applies to it unchanged. */
#define KK_TLS_1_2 0x1
#define KK_TLS_1_3 0x2
#define KK_HSTS_SUBDOMAINS 0x1
#define KK_HSTS_PRELOAD 0x2
/* The ALPN list of an https listener without --alpn: HTTP/2 first, for
 * the clients that offer it (RFC 9113 §3.2), HTTP/1.1 for the others. A
 * listener given exactly this list stores none, so the canonical printer
 * leaves it out. */
#define KK_DEFAULT_ALPN "h2,http/1.1"
/* Whether an https listener with a client CA refuses a client that
 * sends no certificate (one that fails verification is always refused). */
enum kk_client_auth { KK_CLIENT_AUTH_REQUIRED = 0, KK_CLIENT_AUTH_OPTIONAL };
typedef struct kk_blob kk_blob;
struct kk_blob { unsigned char *p; size_t len; };	/* len 0: none */
typedef struct kk_tls_policy kk_tls_policy;
struct kk_tls_policy {			/* an https listener's; NULL on a plain one */
	unsigned versions;		/* KK_TLS_1_2 | KK_TLS_1_3 */
	char *ciphers;			/* NULL: kakehi's default */
	char *groups;			/* NULL: kakehi's default */
	char *alpn;			/* comma-separated; NULL: KK_DEFAULT_ALPN */
	unsigned long handshake_timeout_ms;
	unsigned long hsts_max_age;	/* seconds; 0: none */
	unsigned hsts_flags;		/* KK_HSTS_* */
	int strict_sni;			/* default 1 */
	char *default_cert;		/* fingerprint; NULL: the first added */
	/* The PEM certificates client certificates are verified against,
	 * the operator's file byte for byte; len 0: none asked for. */
	kk_blob client_ca;
	enum kk_client_auth client_auth;
};

/* What an http listener accepts of a request (doc/grammar.html), the
 * same for HTTP/1.1 and HTTP/2: 0 in each means no limit of its own
 * (head: the buffer still bounds it; fields: KK_HEAD_MAXFIELDS, 100,
 * still applies; uri: the head bounds it; body: none). */
typedef struct kk_limits kk_limits;
struct kk_limits {
	unsigned long head;		/* --max-request-head: 431 past it */
	unsigned long fields;		/* --max-headers: 431 past it */
	unsigned long uri;		/* --max-uri: 414 past it */
	unsigned long body;		/* --max-body: 413 past it */
};

/* What an http listener tells its backends of each request's hop
 * (--forward, --no-forward, --request-id; doc/grammar.html): which
 * forwarding fields it writes, and the name of the request id field. */
#define KK_FORWARD_XFF 0x1		/* X-Forwarded-For */
#define KK_FORWARD_XFP 0x2		/* X-Forwarded-Proto */
#define KK_FORWARD_XFPORT 0x4		/* X-Forwarded-Port */
#define KK_FORWARD_XFHOST 0x8		/* X-Forwarded-Host */
#define KK_FORWARD_FORWARDED 0x10	/* Forwarded (RFC 7239) */
#define KK_FORWARD_ALL 0x1f
/* What listeners wrote before the switches existed. */
#define KK_FORWARD_DEFAULT (KK_FORWARD_XFF | KK_FORWARD_XFP | KK_FORWARD_XFPORT)
/* A field name: letters, digits and '-', at most this long. */
#define KK_REQUEST_ID_NAMEMAX 64
typedef struct kk_forwarding kk_forwarding;
struct kk_forwarding {
	unsigned fields;		/* KK_FORWARD_*; 0: --no-forward */
	char request_id[KK_REQUEST_ID_NAMEMAX + 1];	/* "": no request id */
};

typedef struct kk_listener kk_listener;
struct kk_listener {
	char *addr_text;		/* canonical, the listener's identity */
	kk_addr addr;
	enum kk_proto proto;
	char *public_address;		/* NULL: none */
	unsigned long front_timeout_ms;	/* client idle (keep-alive), default 60s */
	unsigned long request_timeout_ms; /* whole request head, default 10s */
	unsigned long back_timeout_ms;	/* backend response idle, default 30s */
	unsigned long connect_timeout_ms; /* backend connect, default 3s */
	/* Idle timeout of a tunnel (WebSocket or other upgrade) on an http
	 * listener, default 1h; a tcp listener has none: every connection is
	 * a tunnel and front_timeout_ms is its idle timeout. */
	unsigned long tunnel_timeout_ms;
	int expect_proxy;		/* a PROXY v1/v2 header opens each connection */
	kk_h2opts h2;			/* http listeners only */
	kk_limits limits;		/* http listeners only */
	kk_forwarding forward;		/* http listeners only */
	size_t nfrontends;		/* frontends on it, kept by apply */
	kk_tls_policy *tls;		/* an https listener's; NULL on a plain one */
	size_t ncertificates;		/* certificates on it, kept by apply */
	/* --service: what the proxy answers itself on it, routing nothing;
	 * KK_SERVICE_NONE: a proxying listener. http and https only. */
	enum kk_service service;
	/* Custom answers, the text of kakehi/answer.h; NULL: none. */
	char *answers;
};

/* A cluster's health check (doc/health.html): what kakehi-check asks
 * each backend, GET path with Host host (NULL: the backend's address),
 * every interval_ms, waiting timeout_ms; rise answers in [expect_lo,
 * expect_hi] in a row put a backend back, fall others in a row take it
 * out. */
typedef struct kk_hcheck kk_hcheck;
struct kk_hcheck {
	char *path, *host;
	unsigned long interval_ms, timeout_ms;
	unsigned rise, fall, expect_lo, expect_hi;
};

typedef struct kk_cluster kk_cluster;
struct kk_cluster {
	char *id;			/* NULL: a removed slot */
	enum kk_lb lb;
	enum kk_send_proxy send_proxy;	/* for both kinds of listener */
	size_t nfrontends, nbackends;	/* objects using it, kept by apply */
	/* A status (301 or 308) that sends its requests on plain http
	 * listeners to https://HOST[:https_port]; 0: proxied as they come. */
	unsigned https_redirect;
	unsigned https_port;		/* default 443 */
	struct kk_cluster_tls *tls;	/* --tls: TLS to its backends; NULL: plain */
	/* --lb hash: what the key is, and for a field or a cookie its name
	 * (a field's in lower case); NULL for the others. */
	enum kk_hash_key hash_key;
	char *hash_name;
	/* --sticky: a cookie names each client's backend; sticky_cookie
	 * NULL is KK_STICKY_COOKIE. */
	int sticky;
	char *sticky_cookie;
	int h2;				/* --h2: HTTP/2 to its backends */
	/* --queue: requests a worker holds waiting for a backend under its
	 * --max-connections (0: none, 503 at once); --queue-timeout: how
	 * long one waits, 0: its listener's connect timeout, as HAProxy's
	 * timeout queue defaults to timeout connect. */
	unsigned queue;
	unsigned long queue_timeout_ms;
	/* Custom answers, the text of kakehi/answer.h, which win over its
	 * listener's; NULL: none. */
	char *answers;
	/* Passive health (doc/health.html): --max-fails, the consecutive
	 * failures (connects, and answers of 500 and above with --fail-5xx)
	 * that take a backend out until a retry succeeds; 0: never out. */
	unsigned max_fails;
	int fail_5xx;
	kk_hcheck hc;			/* cluster health-check; hc.path NULL: none */
};

/* A frontend of an http listener matches host, path, method and its
 * extra matches (header, cookie, query), and every field is its identity. A frontend of a tcp listener matches
 * only sni (NULL: the listener's default route), and its identity is
 * listener and sni: a tcp listener has at most one route per name and
 * one default, so the cluster is where it goes, not what it is. */
typedef struct kk_frontend kk_frontend;
struct kk_frontend {
	char *cluster;			/* NULL: a removed slot */
	char *listener;			/* canonical address text */
	enum kk_proto proto;		/* its listener's kind, which never changes */
	char *host;			/* NULL: any; lower case; "*.example.com" wildcard */
	enum kk_path_kind path_kind;
	char *path;			/* NULL when KK_PATH_ANY */
	char *method;			/* NULL: any */
	/* --header, --cookie, --query: the canonical text of kakehi/fmatch.h;
	 * NULL: none. */
	char *extra;
	char *sni;			/* tcp only; lower case; "*.example.com" wildcard */
	/* An attribute, not part of the identity: its header edits, the
	 * text of kakehi/action.h; NULL: none. */
	char *actions;
	/* An attribute, not part of the identity: the HSTS max-age its
	 * responses carry on an https listener; 0: the listener's. */
	unsigned long hsts_max_age;
};

typedef struct kk_backend kk_backend;
struct kk_backend {
	char *cluster;			/* NULL: a removed slot */
	char *id;
	char *addr_text;		/* canonical */
	kk_addr addr;
	unsigned weight;		/* default 100; 0 never chosen */
	int backup;			/* used only when no primary is usable */
	/* --max-connections: back connections serving a request that each
	 * worker opens to it at most; 0: no limit. */
	unsigned max_conns;
	/* --slow-start: over how long its weight ramps up from nearly 0
	 * when it comes back up or joins a running cluster; 0: at once. */
	unsigned long slow_start_ms;
};

/* A certificate of an https listener, its identity listener and
 * fingerprint. The blobs are the operator's files byte for byte (what a
 * state save writes back); kk_cert_parse (cert.h) fills the rest from
 * them. The key is wiped when the certificate is freed. */
enum kk_key_kind { KK_KEY_RSA = 0, KK_KEY_EC, KK_KEY_OTHER };

/* How a --tls cluster talks to its backends; on the heap even in a
 * scratch state, like a listener's TLS policy. The CA file crosses as
 * its bytes, as certificates do, and a saved state keeps it beside the
 * state as FILE.certs/HASH.ca. */
typedef struct kk_cluster_tls kk_cluster_tls;
struct kk_cluster_tls {
	kk_blob ca;			/* PEM CA certificates; len 0: the system store */
	char ca_hash[65];		/* lower-case hex SHA-256 of ca's bytes; "" without */
	char *sni;			/* lower case; NULL: none sent, the IP address checked */
	int verify;			/* 0: --no-verify */
};
typedef struct kk_certificate kk_certificate;
struct kk_certificate {
	char *listener;			/* canonical address; NULL: a removed slot */
	char fingerprint[65];		/* lower-case hex SHA-256 of the leaf's DER */
	kk_blob cert, key, chain, ocsp;	/* the files' bytes as given (PEM; ocsp DER) */
	/* the leaf's DNS names (its CN when it has none), lower case */
	char **names; size_t nnames;
	int64_t not_before, not_after;	/* seconds since the epoch */
	enum kk_key_kind key_kind;
};

/* Objects are kept in insertion order; the printer keeps that order,
 * except that it groups backends by cluster (clusters in their order): a
 * cluster's backends in insertion order are its round-robin order, and
 * the order between clusters' backends means nothing. Each kind has an index from
 * its identity to its slot: listeners by address, clusters by id,
 * frontends by their whole match, backends by cluster and id.
 *
 * Listeners are always dense: there are few (each is a bound socket),
 * and programs walk them to pass their fds. Clusters, frontends and
 * backends are removed by emptying their slot (id or cluster NULL), so a
 * removal costs O(1) instead of a shift of every later object and a
 * re-index of each; the removed slots are squeezed out once they
 * outnumber the live ones, which keeps the cost amortised O(1) and
 * iteration O(live objects). Walks of those three arrays skip the NULL
 * slots; kk_state_load_text and kk_state_copy give dense arrays, and
 * kk_state_compact makes them dense on demand. */
typedef struct kk_state kk_state;
struct kk_state {
	kk_settings set;
	kk_listener *listeners; size_t nlisteners, alisteners;
	kk_cluster *clusters; size_t nclusters, aclusters;	/* n counts slots */
	kk_frontend *frontends; size_t nfrontends, afrontends;
	kk_backend *backends; size_t nbackends, abackends;
	size_t dclusters, dfrontends, dbackends;	/* removed slots among n */
	kk_index lindex, cindex, findex, bindex;	/* identity to slot */
	/* Removed like backends (listener NULL); always on the heap, even
	 * in a scratch state, so a key is wiped wherever it was held. */
	kk_certificate *certificates; size_t ncertificates, acertificates, dcertificates;
	kk_index xindex;			/* listener and fingerprint to slot */
	/* While a file loads: the directory its relative certificate FILEs
	 * are in; NULL: the current directory. */
	const char *filedir;
	/* 1 while a text a supervisor checked applies (kk_state_load_checked,
	 * a worker's delta): its certificates are only described
	 * (kk_cert_describe), not checked again. */
	int certs_checked;
	unsigned journals;		/* open kk_journals: removed slots stay put */
	/* NULL; in a scratch state (kk_state_load_scratch), where its object
	 * strings and index keys live, freed whole by kk_state_free. */
	struct kk_arena *arena;
	/* A scratch state's last load (the kk_state_reuse_* calls): its
	 * text, kept so that a next text which only changes backend lines
	 * in place has just those lines parsed (a quick reload); NULL when
	 * replaying the text would not give this state again (it removed or
	 * replaced an object, or read a file). loaded_waste: the arena bytes
	 * quick reloads left behind, bounded by a full load. lines_parsed:
	 * how many lines the last load parsed. */
	char *loaded;
	size_t loaded_len, loaded_waste, lines_parsed;
};

void kk_state_init(kk_state *);		/* empty state, default settings */
void kk_state_free(kk_state *);
int kk_state_copy(kk_state *dst, const kk_state *src);	/* 1 ok, 0 ENOMEM */
/* Drops the removed slots, O(slots); nothing while a journal is open.
 * 1 ok; 0 ENOMEM, the state as it was (still whole: removed slots are a
 * cost, not an error). */
int kk_state_compact(kk_state *);

/* Applies one parsed verb (flags KK_VERB_F_CONFIG) to the state. 1 ok; 0
 * with a message for the operator in err, and the state unchanged. */
int kk_state_apply(kk_state *, const kk_verb *, char *err, size_t errlen);
/* A journal undoes a batch without a copy of the state. Each verb goes
 * through kk_state_apply_journal, which applies it as kk_state_apply does
 * and records how to undo it (a removed object is kept, not freed, and
 * its slot stays empty). Then either kk_journal_commit (the changes
 * stand) or kk_journal_undo (the state prints byte for byte as before the
 * first journaled verb, in O(changes), allocating nothing, so it cannot
 * fail). While a journal is open, every change to the state goes through
 * it and no removed slot is squeezed out; it is committed or undone
 * before the state is freed or copied into. All-zero is an empty journal. */
struct kk_journal_entry;
typedef struct kk_journal kk_journal;
struct kk_journal {
	struct kk_journal_entry *e;	/* in order applied; state.c */
	size_t n, a;
};
#define KK_JOURNAL_ZERO { 0, 0, 0 }
/* 1 ok; 0 with err, and the state and journal unchanged. */
int kk_state_apply_journal(kk_state *, const kk_verb *, kk_journal *, char *err,
    size_t errlen);
void kk_journal_undo(kk_state *, kk_journal *);		/* and empties the journal */
void kk_journal_commit(kk_state *, kk_journal *);	/* and empties the journal */
/* The i-th change of an open journal (i < j->n), for a reader that
 * follows the state change by change, as a worker's router does: the
 * verb, and the object it added (in the state; all-NULL fields when a
 * later change of the batch removed it again) or removed (kept by the
 * journal until commit). Pointers are valid until the journal closes. */
typedef struct kk_change kk_change;
struct kk_change {
	enum kk_verb_id id;
	const kk_listener *l;	/* listener remove */
	const kk_cluster *c;	/* cluster add, remove */
	const kk_frontend *f;	/* frontend add, remove */
	const kk_backend *b;	/* backend add, remove */
	/* certificate add, remove, replace (the new one, in its old slot) */
	const kk_certificate *x;
};
void kk_journal_change(const kk_state *, const kk_journal *, size_t i, kk_change *);

/* Applies a batch of verb lines (a config file, a state file, the payload
 * of a worker update) as one transaction: on any error the state is
 * unchanged and err reads "SOURCE:LINE: message". Runtime verbs (status,
 * reload...) in a batch are errors. 1 ok, 0 error. */
int kk_state_load_text(kk_state *, const char *text, size_t len, const char *source,
    char *err, size_t errlen);
int kk_state_load_file(kk_state *, const char *path, char *err, size_t errlen);
/* kk_state_load_text for a text whose certificates a supervisor already
 * checked with kk_cert_parse (a worker's state and updates): each is
 * only described, which costs a leaf's parse instead of a key's and a
 * signature's. Never for a text from a client or a file. */
int kk_state_load_checked(kk_state *, const char *text, size_t len, const char *source,
    char *err, size_t errlen);
/* kk_state_load_checked of the whole text of fd (a state memfd from the
 * supervisor, read from its start). */
int kk_state_load_fd_checked(kk_state *, int fd, const char *source, char *err,
    size_t errlen);
/* The same load into a scratch state, for one that is read and dropped
 * (the target of a reload's diff): st is made empty first, its strings
 * and index keys go in one arena and its arrays and indexes are sized
 * from the batch once, so a load costs no allocation per string and
 * kk_state_free a few calls whatever the size. It prints, diffs and
 * copies like any state; changed afterwards, it keeps what a removal
 * drops until it is freed. 1 ok; 0 with err, st empty. */
int kk_state_load_scratch(kk_state *, const char *text, size_t len, const char *source,
    char *err, size_t errlen);
int kk_state_load_file_scratch(kk_state *, const char *path, char *err, size_t errlen);
/* The same loads into st, a state from kk_state_init or a scratch state
 * from an earlier load, whose memory they reuse (the arena's largest
 * chunk, the arrays, the index tables): a reload of a file of the same
 * size then faults in no new page, where a fresh scratch state of 100 000
 * sites faults in some 40 MiB, zeroed by the kernel (a quarter of the
 * first reload). 1 ok; 0 with err, st empty and its memory kept. Freed
 * by kk_state_free. */
int kk_state_reuse_scratch(kk_state *, const char *text, size_t len, const char *source,
    char *err, size_t errlen);
int kk_state_reuse_file_scratch(kk_state *, const char *path, char *err, size_t errlen);

/* Canonical verb lines for the whole state: settings that differ from the
 * defaults, then listeners, certificates, clusters, frontends, backends.
 * Certificates print in the data form (their files in base64, key
 * included): what workers receive. 1 ok, 0 ENOMEM. */
int kk_state_print(const kk_state *, kk_str *out);
/* How certificates print: the data form; naming files "CERTDIR/FP.crt"
 * (.key, .chain, .ocsp; see kk_state_save_file); or as comments that
 * show no key byte (state dump). */
enum kk_cert_form { KK_CERT_DATA = 0, KK_CERT_FILES, KK_CERT_HIDDEN };
int kk_state_print_form(const kk_state *, enum kk_cert_form, const char *certdir,
    kk_str *out);
/* The same state as one JSON object. */
int kk_state_print_json(const kk_state *, kk_str *out);
/* Writes the state to path atomically: temporary file in the same
 * directory, fsync, rename, fsync of the directory. Certificates go
 * first into the directory path.certs (mode 0700), each file (0600)
 * written the same way, and the state names them relative to path's
 * directory; files of that directory no certificate names any more are
 * removed. 1 ok, 0 with err. */
int kk_state_save_file(const kk_state *, const char *path, char *err, size_t errlen);
/* Verb lines that turn `from` into `to` (removals first, then additions;
 * a changed object is removed and re-added, and so are the objects after
 * it in the printed order of its kind, or for a backend of its cluster).
 * Empty when they are equal. */
int kk_state_diff(const kk_state *from, const kk_state *to, kk_str *out);
/* Output of the list verbs (listener/cluster/frontend/backend list, with
 * the verb's filter), as verb lines or as a JSON array. 1 ok, 0 with err. */
int kk_state_list(const kk_state *, const kk_verb *, int json, kk_str *out,
    char *err, size_t errlen);

/* Lookups by hash, NULL when absent. */
kk_listener *kk_state_listener(const kk_state *, const char *addr_text);
kk_cluster *kk_state_cluster(const kk_state *, const char *id);
kk_backend *kk_state_backend(const kk_state *, const char *cluster, const char *id);
kk_certificate *kk_state_certificate(const kk_state *, const char *listener,
    const char *fingerprint);
/* The frontend with the identity of f, NULL when absent: on an http
 * listener the same cluster, listener, host, path and its kind, method,
 * extra matches;
 * on a tcp listener (f->proto) the same listener and sni, whatever its
 * cluster. */
kk_frontend *kk_state_frontend(const kk_state *, const kk_frontend *f);
/* Checks the indexes and counts against the arrays. 1 good; 0 with the
 * first violation in err. For the unit tests; O(state). */
int kk_state_check(const kk_state *, char *err, size_t errlen);

#endif
