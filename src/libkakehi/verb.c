/* ISC license. */
/* The verb table and the one parser of verb lines, the config line
 * splitter and the value scanners. Nothing here looks at a state: whether
 * a cluster exists is for state.c to say. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <kakehi/action.h>
#include <kakehi/addr.h>
#include <kakehi/answer.h>
#include <kakehi/cert.h>
#include <kakehi/fmatch.h>
#include <kakehi/htpasswd.h>
#include <kakehi/regex.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>
#include "setting.h"

#define DURATION_MAX (24UL * 3600 * 1000)
#define ID_MAX 64
#define HOST_MAX 253
#define PATH_MAX_LEN 1024
#define METHOD_MAX 32
/* A --hash-key field or cookie name, a --sticky-cookie: real ones are short. */
#define TOKEN_MAX 64
/* Ten years: longer than any HSTS policy anyone asks browsers to keep. */
#define HSTS_MAX 315360000UL
#define ALPN_MAX 255
#define TLS_LIST_MAX 1024

static const kk_opt_def opts_none[] = { { 0 } };

/* set statsd ADDR may name its other two settings on the same line; each
 * is checked and applied as its own set. */
static const struct {
	const char *opt, *key;
} set_statsd_opts[] = {
	{ "--prefix", "statsd-prefix" },
	{ "--interval", "statsd-interval" },
};
static const kk_opt_def opts_set[] = {
	{ "--prefix", KK_OPT_STRING, 0, 0, 0, "set statsd only: also set statsd-prefix" },
	{ "--interval", KK_OPT_STRING, 0, 0, 0, "set statsd only: also set statsd-interval" },
	{ 0 }
};

/* The custom answer options of listener add and cluster add, their help
 * prefixed with scope. */
#define ANSWER_OPTS(scope) \
	{ "--answer", KK_OPT_STRINGS, 0, 0, 0, \
	    scope "STATUS:FILE, the body of the proxy's own answers of STATUS (301 302 400 " \
	    "401 403 404 408 413 414 421 429 431 500 502 503 504); repeatable" }, \
	{ "--answer-text", KK_OPT_STRINGS, 0, 0, 0, \
	    scope "STATUS:TEXT, the same given inline; repeatable" }, \
	{ "--answer-data", KK_OPT_STRINGS, 0, 0, 0, \
	    scope "STATUS:B64, the --answer file's bytes in base64; repeatable" }, \
	{ "--answer-type", KK_OPT_STRINGS, 0, 0, 0, \
	    scope "STATUS:TYPE, the answer's Content-Type, default " \
	    KK_ANSWER_DEFAULT_TYPE "; repeatable" }

static const kk_opt_def opts_listener_add[] = {
	{ "--public-address", KK_OPT_ADDR, 0, 0, 0,
	    "address the listener is reached at from outside, when it differs" },
	{ "--front-timeout", KK_OPT_DURATION, 0, 1, DURATION_MAX,
	    "idle client connection timeout (http: keep-alive; tcp: the whole tunnel), "
	    "default 60s" },
	{ "--request-timeout", KK_OPT_DURATION, 0, 1, DURATION_MAX,
	    "time allowed for a whole request head, default 10s" },
	{ "--back-timeout", KK_OPT_DURATION, 0, 1, DURATION_MAX,
	    "idle backend response timeout, default 30s" },
	{ "--connect-timeout", KK_OPT_DURATION, 0, 1, DURATION_MAX,
	    "backend connect timeout, default 3s" },
	{ "--tunnel-timeout", KK_OPT_DURATION, 0, 1, DURATION_MAX,
	    "http: idle timeout of a tunnel (WebSocket, upgrade), default 1h; on tcp "
	    "listeners --front-timeout is the tunnel's idle timeout" },
	{ "--expect-proxy", KK_OPT_FLAG, 0, 0, 0,
	    "each connection starts with a PROXY v1 or v2 header naming the client" },
	{ "--no-h2c", KK_OPT_FLAG, 0, 0, 0,
	    "plain http: refuse HTTP/2 with prior knowledge (h2c) instead of serving it" },
	{ "--h2-max-streams", KK_OPT_UINT, 0, 1, 1000,
	    "http: HTTP/2 streams a client may open at once, default 100" },
	{ "--h2-window", KK_OPT_UINT, 0, 1, 2147483647,
	    "http: HTTP/2 initial stream window in bytes, default 65535 (at most buffer-size "
	    "is used)" },
	{ "--h2-max-frame", KK_OPT_UINT, 0, 16384, 16777215,
	    "http: largest HTTP/2 frame payload a client may send, default 16384" },
	{ "--h2-max-header-list", KK_OPT_UINT, 0, 1024, 16777216,
	    "http: largest decoded HTTP/2 header list (RFC 9113 §6.5.2), default 65536" },
	{ "--h2-max-resets", KK_OPT_UINT, 0, 1, 800,
	    "http: HTTP/2 streams a connection may have reset a second, by the client "
	    "or the server, before GOAWAY; default 200" },
	/* The other flood budgets (doc/http2.html): a second each, but for
	 * CONTINUATION. At most 60000, what the worker's counters hold. */
	{ "--h2-max-settings", KK_OPT_UINT, 0, 1, 60000,
	    "http: HTTP/2 SETTINGS frames a connection may send a second before GOAWAY; "
	    "default 50" },
	{ "--h2-max-pings", KK_OPT_UINT, 0, 1, 60000,
	    "http: HTTP/2 PING frames a second before GOAWAY; default 50" },
	{ "--h2-max-priority", KK_OPT_UINT, 0, 1, 60000,
	    "http: HTTP/2 PRIORITY frames a second before GOAWAY; default 500" },
	{ "--h2-max-window-updates", KK_OPT_UINT, 0, 1, 60000,
	    "http: HTTP/2 WINDOW_UPDATE frames under 1024 bytes a second before GOAWAY; "
	    "default 1000" },
	{ "--h2-max-empty-data", KK_OPT_UINT, 0, 1, 60000,
	    "http: HTTP/2 DATA frames with no byte and no end a second before GOAWAY; "
	    "default 100" },
	{ "--h2-max-continuations", KK_OPT_UINT, 0, 1, 1000,
	    "http: HTTP/2 CONTINUATION frames in one header block before GOAWAY; "
	    "default 16" },
	/* Request limits, for HTTP/1.1 and HTTP/2 alike; 0 or absent: none
	 * of the listener's own. */
	{ "--max-request-head", KK_OPT_UINT, 0, 0, 16777216,
	    "http: largest request head in bytes (431), default none (an HTTP/1.1 head "
	    "fits one buffer anyway)" },
	{ "--max-headers", KK_OPT_UINT, 0, 0, 100,
	    "http: most header fields in a request (431), default and at most 100" },
	{ "--max-uri", KK_OPT_UINT, 0, 0, 16777216,
	    "http: longest request target in bytes (414), default bounded by the head only" },
	{ "--max-body", KK_OPT_UINT, 0, 0, 4294967295UL,
	    "http: largest request body in bytes (413, also mid-body), default unlimited" },
	/* What the backends are told of the hop, HTTP/1.1 and HTTP/2 alike. */
	{ "--forward", KK_OPT_STRING, 0, 0, 0,
	    "http: forwarding fields written, ','-separated from xff, xfp, xfport, xfhost, "
	    "forwarded; default xff,xfp,xfport" },
	{ "--no-forward", KK_OPT_FLAG, 0, 0, 0,
	    "http: write no forwarding field (a client's are still dropped unless it is a "
	    "trusted proxy)" },
	{ "--request-id", KK_OPT_STRING, 0, 0, 0,
	    "http: give each request an id in this field (e.g. X-Request-Id), to the backend "
	    "and in the response; default none" },
	/* The options of https listeners alone (https_only below), from here on. */
	{ "--tls-versions", KK_OPT_ENUM, "1.2,1.3|1.2|1.3", 0, 0,
	    "https: TLS versions offered, default 1.2,1.3" },
	{ "--ciphers", KK_OPT_STRING, 0, 0, 0,
	    "https: TLS 1.2 cipher suites, OpenSSL syntax; default ECDHE with AEAD only" },
	{ "--groups", KK_OPT_STRING, 0, 0, 0,
	    "https: key exchange groups, ':'-separated, default X25519:P-256:P-384" },
	{ "--alpn", KK_OPT_STRING, 0, 0, 0,
	    "https: application protocols offered, ','-separated, default h2,http/1.1" },
	{ "--handshake-timeout", KK_OPT_DURATION, 0, 1, DURATION_MAX,
	    "https: time allowed for a TLS handshake, default 10s" },
	{ "--hsts", KK_OPT_UINT, 0, 0, HSTS_MAX,
	    "https: Strict-Transport-Security max-age in seconds; 0 or absent: no header" },
	{ "--hsts-subdomains", KK_OPT_FLAG, 0, 0, 0, "https: HSTS with includeSubDomains" },
	{ "--hsts-preload", KK_OPT_FLAG, 0, 0, 0, "https: HSTS with preload" },
	{ "--no-strict-sni", KK_OPT_FLAG, 0, 0, 0,
	    "https: serve a request whose Host no certificate of its connection covers "
	    "(default: 421)" },
	{ "--default-certificate", KK_OPT_STRING, 0, 0, 0,
	    "https: fingerprint of the certificate for clients naming no known server; "
	    "default the first added" },
	{ "--client-ca", KK_OPT_STRING, 0, 0, 0,
	    "https: PEM file of the CA certificates client certificates are verified against" },
	{ "--client-ca-data", KK_OPT_STRING, 0, 0, 0,
	    "https: the --client-ca file's bytes in base64" },
	{ "--client-auth", KK_OPT_ENUM, "required|optional", 0, 0,
	    "https, with a client CA: whether a client without a certificate is refused, "
	    "default required" },
	{ "--service", KK_OPT_ENUM, "prometheus|stats", 0, 0,
	    "http, https: the proxy answers every request itself instead of routing it; "
	    "prometheus: GET /metrics in the Prometheus text format; "
	    "stats: GET / a live HTML page of the metrics, GET /stats.json their JSON" },
	/* Custom answers (kakehi/answer.h); a cluster's win over its
	 * listener's. */
	ANSWER_OPTS("http: "),
	{ 0 }
};

/* cluster health-check (doc/health.html). */
static const kk_opt_def opts_cluster_hc[] = {
	{ "--path", KK_OPT_STRING, 0, 0, 0, "the path each probe asks for (GET)" },
	{ "--interval", KK_OPT_DURATION, 0, 100, DURATION_MAX,
	    "time between two probes of a backend, default 2s" },
	{ "--timeout", KK_OPT_DURATION, 0, 10, DURATION_MAX,
	    "how long a probe may take, connect included, default 1s; at most the interval" },
	{ "--rise", KK_OPT_UINT, 0, 1, KK_HC_COUNT_MAX,
	    "good answers in a row that put a backend out back in, default 2" },
	{ "--fall", KK_OPT_UINT, 0, 1, KK_HC_COUNT_MAX,
	    "failed probes in a row that take a backend out, default 3" },
	{ "--expect", KK_OPT_STRING, 0, 0, 0,
	    "the statuses that are good, N or LO-HI, default 200-399" },
	{ "--host", KK_OPT_STRING, 0, 0, 0,
	    "the Host the probes send, default the backend's address" },
	{ "--off", KK_OPT_FLAG, 0, 0, 0, "remove the cluster's health check" },
	{ 0 }
};

static const kk_opt_def opts_cluster_add[] = {
	{ "--lb", KK_OPT_ENUM, "round-robin|random|least-connections|p2c|hash", 0, 0,
	    "load-balancing algorithm, default round-robin" },
	{ "--hash-key", KK_OPT_STRING, 0, 0, 0,
	    "--lb hash: what is hashed, source, path, header:NAME or cookie:NAME; "
	    "default source" },
	{ "--sticky", KK_OPT_FLAG, 0, 0, 0,
	    "a cookie sends each client back to the backend that first served it" },
	{ "--sticky-cookie", KK_OPT_STRING, 0, 0, 0,
	    "--sticky: the cookie's name, default " KK_STICKY_COOKIE },
	{ "--send-proxy", KK_OPT_ENUM, "v1|v2", 0, 0,
	    "send a PROXY header of this version first on each backend connection" },
	{ "--https-redirect", KK_OPT_ENUM, "301|308", 0, 0,
	    "answer requests arriving on plain http listeners with this redirect to https" },
	{ "--https-port", KK_OPT_UINT, 0, 1, 65535,
	    "the port of the https redirect's target, default 443" },
	{ "--h2", KK_OPT_FLAG, 0, 0, 0,
	    "speak HTTP/2 to the backends: prior knowledge on plain connections, ALPN h2 "
	    "with --tls; streams share connections" },
	{ "--queue", KK_OPT_UINT, 0, 0, KK_QUEUE_MAX,
	    "requests each worker holds waiting when every backend is at its "
	    "--max-connections, default 128; 0: none, 503 at once" },
	{ "--queue-timeout", KK_OPT_DURATION, 0, 1, DURATION_MAX,
	    "how long a request waits in the queue before its 503, default the "
	    "listener's connect timeout" },
	/* Passive health (doc/health.html). */
	{ "--max-fails", KK_OPT_UINT, 0, 0, KK_MAX_FAILS_MAX,
	    "consecutive failures that take a backend out until a retry succeeds, "
	    "default 3; 0: never" },
	{ "--fail-5xx", KK_OPT_FLAG, 0, 0, 0,
	    "count answers of status 500 and above as failures too" },
	/* TLS to the backends: --tls, then what qualifies it (with_tls below). */
	{ "--tls", KK_OPT_FLAG, 0, 0, 0,
	    "connect to the backends over TLS, verifying their certificates" },
	{ "--ca", KK_OPT_STRING, 0, 0, 0,
	    "--tls: PEM file of the CA certificates the backends' chains lead to; default "
	    "the system store (/etc/ssl/certs)" },
	{ "--ca-data", KK_OPT_STRING, 0, 0, 0, "the --ca file's bytes in base64" },
	{ "--sni", KK_OPT_STRING, 0, 0, 0,
	    "--tls: server name sent, and the name the certificate must carry; default "
	    "none sent, the backend's IP address checked" },
	{ "--no-verify", KK_OPT_FLAG, 0, 0, 0,
	    "--tls: accept any certificate the backends show (no authentication)" },
	ANSWER_OPTS(""),
	{ 0 }
};

/* frontend add's; frontend remove takes them from --listener on, as the
 * actions and --hsts are attributes, not part of the identity a removal
 * names. */
#define FRONTEND_ATTRS 17
static const kk_opt_def opts_frontend[] = {
	{ "--rewrite-path-prefix", KK_OPT_STRING, 0, 0, 0,
	    "FROM=TO: a path starting with FROM goes to the backend starting with TO" },
	{ "--rewrite-path", KK_OPT_PAIR, 0, 0, 0,
	    "REGEX TEMPLATE: a path matching REGEX (PCRE2) goes to the backend as TEMPLATE, "
	    "$1..$9 its captures, $0 the match, $$ a '$'" },
	{ "--rewrite-host", KK_OPT_STRING, 0, 0, 0,
	    "the Host the backend receives instead of the request's" },
	{ "--redirect", KK_OPT_ENUM, "301|302|307|308", 0, 0,
	    "answer the requests with this redirect to --location instead of a backend" },
	{ "--location", KK_OPT_STRING, 0, 0, 0,
	    "--redirect: the target, a template with ${scheme} ${host} ${path} ${query}" },
	{ "--deny", KK_OPT_UINT, 0, 400, 599,
	    "answer the requests with this status (403, 404...) instead of a backend" },
	{ "--request-header-add", KK_OPT_STRINGS, 0, 0, 0,
	    "add the request field NAME=VALUE sent to the backend; repeatable, "
	    "edits apply in the order given" },
	{ "--request-header-set", KK_OPT_STRINGS, 0, 0, 0,
	    "replace the request's fields NAME by NAME=VALUE; repeatable" },
	{ "--request-header-delete", KK_OPT_STRINGS, 0, 0, 0,
	    "remove the request's fields NAME; repeatable" },
	{ "--response-header-add", KK_OPT_STRINGS, 0, 0, 0,
	    "add the response field NAME=VALUE sent to the client; repeatable" },
	{ "--response-header-set", KK_OPT_STRINGS, 0, 0, 0,
	    "replace the response's fields NAME by NAME=VALUE; repeatable" },
	{ "--response-header-delete", KK_OPT_STRINGS, 0, 0, 0,
	    "remove the response's fields NAME; repeatable" },
	{ "--hsts", KK_OPT_UINT, 0, 1, HSTS_MAX,
	    "https listeners: HSTS max-age in seconds for this frontend's responses, "
	    "instead of the listener's" },
	/* Basic authentication (kakehi/htpasswd.h). */
	{ "--htpasswd", KK_OPT_STRING, 0, 0, 0,
	    "htpasswd file (bcrypt or SHA-crypt hashes): requests must authenticate as one "
	    "of its users (401 otherwise)" },
	{ "--htpasswd-data", KK_OPT_STRING, 0, 0, 0, "the --htpasswd file's bytes in base64" },
	{ "--auth-realm", KK_OPT_STRING, 0, 0, 0,
	    "--htpasswd: the realm the 401's challenge names, default " KK_AUTH_DEFAULT_REALM },
	{ "--auth-forward", KK_OPT_FLAG, 0, 0, 0,
	    "--htpasswd: send the Authorization field on to the backend (default: removed)" },
	{ "--listener", KK_OPT_ADDR, 0, 0, 0, "the listener's address (required)" },
	{ "--host", KK_OPT_STRING, 0, 0, 0,
	    "Host to match, exact or *.suffix wildcard, no port; default any" },
	{ "--path", KK_OPT_STRING, 0, 0, 0, "path prefix to match, starting with /" },
	{ "--path-exact", KK_OPT_STRING, 0, 0, 0, "exact path to match, starting with /" },
	{ "--path-regex", KK_OPT_STRING, 0, 0, 0,
	    "regex (PCRE2) the path must match, without its query; unanchored" },
	{ "--method", KK_OPT_STRING, 0, 0, 0, "request method to match (GET...); default any" },
	{ "--header", KK_OPT_STRINGS, 0, 0, 0,
	    "request field NAME present, with value VALUE, or matching REGEX: "
	    "NAME[=VALUE|~REGEX]; repeatable, all must hold" },
	{ "--cookie", KK_OPT_STRINGS, 0, 0, 0,
	    "cookie NAME present, or with value VALUE: NAME[=VALUE]; repeatable" },
	{ "--query", KK_OPT_STRINGS, 0, 0, 0,
	    "query parameter NAME present, or with value VALUE (bytes as sent, not "
	    "percent-decoded): NAME[=VALUE]; repeatable" },
	{ "--sni", KK_OPT_STRING, 0, 0, 0,
	    "tcp listeners: TLS server name to match, exact or *.suffix wildcard; "
	    "default: the listener's default route" },
	{ 0 }
};

/* certificate replace's; certificate add takes them from the second on. */
static const kk_opt_def opts_certificate[] = {
	{ "--old", KK_OPT_STRING, 0, 0, 0,
	    "fingerprint of the certificate replaced (see: certificate list)" },
	{ "--cert", KK_OPT_STRING, 0, 0, 0,
	    "PEM file: the certificate, then optionally its chain" },
	{ "--key", KK_OPT_STRING, 0, 0, 0, "PEM file: the certificate's private key" },
	{ "--chain", KK_OPT_STRING, 0, 0, 0, "PEM file: the intermediate certificates" },
	{ "--ocsp", KK_OPT_STRING, 0, 0, 0, "DER file: an OCSP response to staple" },
	{ "--cert-data", KK_OPT_STRING, 0, 0, 0, "the --cert file's bytes in base64" },
	{ "--key-data", KK_OPT_STRING, 0, 0, 0, "the --key file's bytes in base64" },
	{ "--chain-data", KK_OPT_STRING, 0, 0, 0, "the --chain file's bytes in base64" },
	{ "--ocsp-data", KK_OPT_STRING, 0, 0, 0, "the --ocsp file's bytes in base64" },
	{ 0 }
};

static const kk_opt_def opts_backend_add[] = {
	{ "--weight", KK_OPT_UINT, 0, 0, 1000,
	    "share of the traffic, 0..1000, default 100; 0 is never chosen" },
	{ "--backup", KK_OPT_FLAG, 0, 0, 0, "used only when no primary backend is usable" },
	{ "--max-connections", KK_OPT_UINT, 0, 1, KK_MAX_CONNS_MAX,
	    "connections serving requests that each worker opens to it at once, at most; "
	    "default no limit" },
	{ "--slow-start", KK_OPT_DURATION, 0, 1, DURATION_MAX,
	    "ramp its weight up over this long when it comes back up or is added to a "
	    "running cluster; default at once" },
	{ 0 }
};

static const kk_opt_def opts_status[] = {
	{ "--workers", KK_OPT_FLAG, 0, 0, 0,
	    "also every worker's own counters, after the summary" },
	{ 0 }
};
static const kk_opt_def opts_metrics[] = {
	{ "--prometheus", KK_OPT_FLAG, 0, 0, 0,
	    "in the Prometheus text exposition format (as GET /metrics of a "
	    "--service prometheus listener)" },
	{ "--cluster", KK_OPT_STRING, 0, 0, 0, "only this cluster and its backends" },
	{ "--backend", KK_OPT_STRING, 0, 0, 0, "only backends of this id" },
	{ 0 }
};
static const kk_opt_def opts_shutdown[] = {
	{ "--hard", KK_OPT_FLAG, 0, 0, 0, "stop now instead of draining connections" },
	{ 0 }
};

static const kk_opt_def opts_upgrade[] = {
	{ "--binary", KK_OPT_STRING, 0, 0, 0,
	    "the kakehi-supervisor to run; default the one running now, as installed" },
	{ "--no-workers", KK_OPT_FLAG, 0, 0, 0,
	    "upgrade the supervisor only: the workers keep running as they are" },
	{ 0 }
};

#define MC (KK_VERB_F_MUTATES | KK_VERB_F_CONFIG)

const kk_verb_def kk_verb_table[] = {
	{ KK_V_SET, "set", 0, 2, 2, MC, "KEY VALUE [--prefix NAME] [--interval D] (the two: set statsd only)",
	    "change a global setting (VALUE default restores the default)", opts_set },
	{ KK_V_LISTENER_ADD, "listener", "add", 2, 2, MC,
	    "PROTO ADDR [--public-address ADDR] [--front-timeout D] [--request-timeout D] "
	    "[--back-timeout D] [--connect-timeout D] [--tunnel-timeout D] [--expect-proxy] "
	    "[--no-h2c] [--h2-max-streams N] [--h2-window N] [--h2-max-frame N] "
	    "[--h2-max-header-list N] [--h2-max-resets N] [--h2-max-settings N] "
	    "[--h2-max-pings N] [--h2-max-priority N] [--h2-max-window-updates N] "
	    "[--h2-max-empty-data N] [--h2-max-continuations N] "
	    "[--max-request-head B] [--max-headers N] [--max-uri B] [--max-body B] "
	    "[--forward LIST | --no-forward] [--request-id NAME] "
	    "[https: --tls-versions V] [--ciphers L] [--groups L] [--alpn L] "
	    "[--handshake-timeout D] [--hsts S] [--hsts-subdomains] [--hsts-preload] "
	    "[--no-strict-sni] [--default-certificate FP] "
	    "[--client-ca FILE (or --client-ca-data B64) [--client-auth required|optional]] "
	    "[--answer STATUS:FILE | --answer-text STATUS:TEXT | --answer-data STATUS:B64]... "
	    "[--answer-type STATUS:TYPE]... [--service prometheus|stats]",
	    "add a listener on ADDR (IPV4:PORT or [IPV6]:PORT); PROTO is http, https or tcp",
	    opts_listener_add },
	{ KK_V_LISTENER_REMOVE, "listener", "remove", 1, 1, MC, "ADDR",
	    "remove the listener on ADDR (its frontends first)", opts_none },
	{ KK_V_LISTENER_LIST, "listener", "list", 0, 0, 0, "",
	    "list listeners", opts_none },
	{ KK_V_CLUSTER_ADD, "cluster", "add", 1, 1, MC,
	    "ID [--lb round-robin|random|least-connections|p2c|hash] "
	    "[--hash-key source|path|header:NAME|cookie:NAME] "
	    "[--sticky [--sticky-cookie NAME]] [--send-proxy v1|v2] "
	    "[--https-redirect 301|308 [--https-port PORT]] [--h2] [--queue N] [--queue-timeout D] "
	    "[--max-fails N] [--fail-5xx] "
	    "[--tls [--ca FILE | --ca-data B64] [--sni NAME] [--no-verify]] "
	    "[--answer STATUS:FILE | --answer-text STATUS:TEXT | --answer-data STATUS:B64]... "
	    "[--answer-type STATUS:TYPE]...",
	    "add a cluster of backends", opts_cluster_add },
	{ KK_V_CLUSTER_REMOVE, "cluster", "remove", 1, 1, MC, "ID",
	    "remove a cluster (its frontends and backends first)", opts_none },
	{ KK_V_CLUSTER_LIST, "cluster", "list", 0, 0, 0, "",
	    "list clusters", opts_none },
	{ KK_V_CLUSTER_HEALTH_CHECK, "cluster", "health-check", 1, 1, MC,
	    "ID --path P [--interval D] [--timeout D] [--rise N] [--fall N] "
	    "[--expect 200-399] [--host H] | ID --off",
	    "probe the cluster's backends over HTTP (kakehi-check), or stop", opts_cluster_hc },
	{ KK_V_FRONTEND_ADD, "frontend", "add", 1, 1, MC,
	    "CLUSTER --listener ADDR [--host H] [--path P | --path-exact P | --path-regex R] "
	    "[--method M] [--header NAME[=VALUE|~REGEX]]... [--cookie NAME[=VALUE]]... "
	    "[--query NAME[=VALUE]]... "
	    "[--sni NAME] [--hsts SECONDS] [--request-header-add NAME=VALUE]... "
	    "[--request-header-set NAME=VALUE]... [--request-header-delete NAME]... "
	    "[--response-header-add NAME=VALUE]... [--response-header-set NAME=VALUE]... "
	    "[--response-header-delete NAME]... [--rewrite-path-prefix FROM=TO | "
	    "--rewrite-path REGEX TEMPLATE] "
	    "[--rewrite-host NAME] [--deny STATUS | --redirect 301|302|307|308 "
	    "--location TEMPLATE] [--htpasswd FILE (or --htpasswd-data B64) "
	    "[--auth-realm R] [--auth-forward]]",
	    "route requests matching a listener, host, path and method (http), or "
	    "connections by TLS server name (tcp), to a cluster", opts_frontend },
	{ KK_V_FRONTEND_REMOVE, "frontend", "remove", 1, 1, MC,
	    "CLUSTER --listener ADDR [--host H] [--path P | --path-exact P | --path-regex R] "
	    "[--method M] [--header NAME[=VALUE|~REGEX]]... [--cookie NAME[=VALUE]]... "
	    "[--query NAME[=VALUE]]... "
	    "[--sni NAME]",
	    "remove the frontend with exactly these match options",
	    opts_frontend + FRONTEND_ATTRS },
	{ KK_V_FRONTEND_LIST, "frontend", "list", 0, 1, 0, "[CLUSTER]",
	    "list frontends, all or a cluster's", opts_none },
	{ KK_V_BACKEND_ADD, "backend", "add", 3, 3, MC,
	    "CLUSTER BACKEND-ID HOST:PORT [--weight N] [--backup] [--max-connections N] "
	    "[--slow-start D]",
	    "add a backend server to a cluster", opts_backend_add },
	{ KK_V_BACKEND_REMOVE, "backend", "remove", 2, 2, MC,
	    "CLUSTER BACKEND-ID", "remove a backend from a cluster", opts_none },
	{ KK_V_BACKEND_LIST, "backend", "list", 0, 1, 0, "[CLUSTER]",
	    "list backends, all or a cluster's", opts_none },
	{ KK_V_CERTIFICATE_ADD, "certificate", "add", 1, 1, MC,
	    "LISTENER --cert FILE --key FILE [--chain FILE] [--ocsp FILE] (or each as "
	    "--cert-data B64, --key-data B64, --chain-data B64, --ocsp-data B64)",
	    "add a certificate to an https listener", opts_certificate + 1 },
	{ KK_V_CERTIFICATE_REPLACE, "certificate", "replace", 1, 1, MC,
	    "LISTENER --old FINGERPRINT --cert FILE --key FILE [--chain FILE] [--ocsp FILE] "
	    "(or each as --cert-data B64, --key-data B64, --chain-data B64, --ocsp-data B64)",
	    "replace a certificate of an https listener in one transaction, in its place",
	    opts_certificate },
	{ KK_V_CERTIFICATE_REMOVE, "certificate", "remove", 2, 2, MC, "LISTENER FINGERPRINT",
	    "remove a certificate from an https listener", opts_none },
	{ KK_V_CERTIFICATE_LIST, "certificate", "list", 0, 1, 0, "[LISTENER]",
	    "list certificates (listener, fingerprint, names, not-after, key kind); never "
	    "key bytes", opts_none },
	{ KK_V_STATUS, "status", 0, 0, 0, 0, "[--workers]",
	    "show the supervisor, its workers, the totals of their counters and the "
	    "backends avoided now; --workers: each worker's counters too", opts_status },
	{ KK_V_EVENTS, "events", 0, 0, 0, 0, "",
	    "follow what changes, one line (--json: one object) each, until interrupted: "
	    "changes applied or refused, workers started, ready, draining and gone, upgrades",
	    opts_none },
	{ KK_V_STATE_SAVE, "state", "save", 1, 1, 0, "FILE",
	    "write the running state to FILE as verb lines, atomically", opts_none },
	{ KK_V_STATE_LOAD, "state", "load", 1, 1, KK_VERB_F_MUTATES, "FILE",
	    "replace the running state with the one in FILE, as one transaction", opts_none },
	{ KK_V_STATE_DUMP, "state", "dump", 0, 0, 0, "",
	    "print the running state as verb lines", opts_none },
	{ KK_V_RELOAD, "reload", 0, 0, 1, KK_VERB_F_MUTATES, "[FILE]",
	    "apply the difference between FILE (default: the config file) and the "
	    "running state", opts_none },
	{ KK_V_SHUTDOWN, "shutdown", 0, 0, 0, KK_VERB_F_MUTATES, "[--hard]",
	    "stop the proxy, draining connections unless --hard", opts_shutdown },
	/* Before any verb whose first word is "upgrade" alone: the parser
	 * takes the first row whose words match. */
	{ KK_V_UPGRADE_WORKERS, "upgrade", "workers", 0, 0, 0, "",
	    "replace every worker, one at a time, by one exec'd from the worker "
	    "binary opened again; each old one drains", opts_none },
	{ KK_V_UPGRADE, "upgrade", 0, 0, 0, KK_VERB_F_MUTATES, "[--binary PATH] [--no-workers]",
	    "replace the supervisor in place (same pid), keeping its workers, listeners "
	    "and state; back to the running binary if the new one fails", opts_upgrade },
	{ KK_V_LOG_REOPEN, "log", "reopen", 0, 0, 0, "",
	    "have every worker open its access-log file again (after logrotate "
	    "moved it); SIGUSR1 to the supervisor does the same", opts_none },
	{ KK_V_LOG_LEVEL, "log", "level", 0, 1, KK_VERB_F_MUTATES, "[info|warning]",
	    "print the least severe level logged, or change it (the same as set "
	    "log-level LEVEL, kept by state save)", opts_none },
	{ KK_V_METRICS, "metrics", 0, 0, 0, 0, "[--prometheus] [--cluster ID] [--backend ID]",
	    "the counters and latencies of each listener, cluster and backend, summed "
	    "over the workers, and the retired totals of removed ones", opts_metrics },
	{ 0 }
};

/* Message for a verb: "WORD1 WORD2: problem; usage: WORD1 WORD2 USAGE". */
static int
fail(char *err, size_t errlen, const kk_verb_def *d, const char *fmt, ...)
{
	char msg[KK_ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s%s%s: %s; usage: %s%s%s%s%s", d->word1, d->word2 ? " " : "",
	    d->word2 ? d->word2 : "", msg, d->word1, d->word2 ? " " : "",
	    d->word2 ? d->word2 : "", *d->usage ? " " : "", d->usage);
	return 0;
}

int
kk_scan_uint(const char *s, unsigned long min, unsigned long max, unsigned long *v)
{
	unsigned long n = 0;
	if (!*s) return 0;
	for (; *s; s++) {
		unsigned long digit = (unsigned long)(*s - '0');
		if (*s < '0' || *s > '9') return 0;
		if (n > (~0UL - digit) / 10) return 0;
		n = n * 10 + digit;
	}
	if (n < min || n > max) return 0;
	*v = n;
	return 1;
}

int
kk_scan_duration_ms(const char *s, unsigned long *ms)
{
	unsigned long n = 0, unit;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (unsigned long)(*p - '0');
		if (n > DURATION_MAX) return 0;	/* early, so no overflow */
	}
	if (p == s) return 0;
	if (!*p || !strcmp(p, "s")) unit = 1000;
	else if (!strcmp(p, "ms")) unit = 1;
	else if (!strcmp(p, "m")) unit = 60 * 1000;
	else if (!strcmp(p, "h")) unit = 3600 * 1000;
	else return 0;
	if (n > DURATION_MAX / unit) return 0;
	*ms = n * unit;
	return 1;
}

void
kk_fmt_duration_ms(char *buf, unsigned long ms)
{
	if (ms % 1000) snprintf(buf, KK_DURATION_FMTLEN, "%lums", ms);
	else snprintf(buf, KK_DURATION_FMTLEN, "%lus", ms / 1000);
}

/* What ends a run of bytes kk_line_split copies as they are: the end, a
 * blank or a quoting character. A table, not strcspn: most words are a
 * few bytes, and strcspn's setup for each was a sixth of a 100 000-site
 * reload. */
static const unsigned char plain_stop[256] = {
	[0] = 1, [' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\n'] = 1, ['\''] = 1, ['"'] = 1,
	['\\'] = 1,
};

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
kk_line_split(char *line, char **argv, unsigned max, unsigned *argc, char *err, size_t errlen)
{
	char *r = line;
	unsigned n = 0;
	for (;;) {
		char *w;
		while (is_blank(*r)) r++;
		if (!*r || *r == '#') break;
		if (n >= max) {
			snprintf(err, errlen, "too many words on one line (at most %u)", max);
			return 0;
		}
		/* Words shrink as quotes and escapes go, so the write pointer
		 * never passes the read pointer. */
		argv[n] = w = r;
		while (*r && !is_blank(*r)) {
			/* A run of plain bytes at once: most words have no
			 * quote, and a load of 100 000 sites spent a sixth of
			 * its time here a byte at a time. */
			size_t plain = 0;
			while (!plain_stop[(unsigned char)r[plain]])
				plain++;
			if (plain) {
				if (w != r) memmove(w, r, plain);
				w += plain;
				r += plain;
				continue;
			}
			if (*r == '\'') {
				for (r++; *r && *r != '\''; ) *w++ = *r++;
				if (!*r) {
					snprintf(err, errlen, "unterminated single quote");
					return 0;
				}
				r++;
			} else if (*r == '"') {
				for (r++; *r != '"'; ) {
					if (!*r) {
						snprintf(err, errlen, "unterminated double quote");
						return 0;
					}
					if (*r == '\\' && (r[1] == '"' || r[1] == '\\' || r[1] == '$'))
						r++;
					*w++ = *r++;
				}
				r++;
			} else if (*r == '\\') {
				if (!r[1]) {
					snprintf(err, errlen, "backslash at the end of the line");
					return 0;
				}
				r++;
				*w++ = *r++;
			} else
				*w++ = *r++;
		}
		if (*r) r++;
		*w = 0;
		n++;
	}
	*argc = n;
	return 1;
}

/* Cluster and backend ids: printable without quotes, and never taken
 * for an option, so no leading '-'. */
static int
check_id(const kk_verb_def *d, const char *what, const char *id, char *err, size_t errlen)
{
	size_t len = strlen(id);
	int good = len >= 1 && len <= ID_MAX && id[0] != '-';
	for (const char *p = id; good && *p; p++)
		good = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
		    || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-';
	if (!good)
		return fail(err, errlen, d, "%s \"%s\" is not valid: use 1 to %d of "
		    "A-Z a-z 0-9 _ . - (not starting with -)", what, id, ID_MAX);
	return 1;
}

static int
check_addr(const kk_verb_def *d, const char *what, const char *s, char *err, size_t errlen)
{
	kk_addr a;
	if (!kk_addr_parse(&a, s))
		return fail(err, errlen, d, "%s \"%s\" is not an address: use IPV4:PORT "
		    "or [IPV6]:PORT, numeric, port 1..65535", what, s);
	return 1;
}

/* A Host or TLS server name to match (opt says which): DNS letters,
 * digits, '-' and '.', labels of 1..63, optionally "*." first for a
 * wildcard and, when dot_ok (a Host, which may be written absolute), a
 * final dot; no port, so one frontend matches whatever port a client
 * wrote (and a ClientHello names no port, nor a final dot, RFC 6066
 * section 3). Case is folded when applied. */
static int
check_host(const kk_verb_def *d, const char *opt, const char *host, int dot_ok, char *err,
    size_t errlen)
{
	const char *p = host;
	size_t label = 0, len = strlen(host);
	if (strchr(host, ':'))
		return fail(err, errlen, d, "%s \"%s\": give the host without a port "
		    "(the listener decides the port)", opt, host);
	if (!strncmp(p, "*.", 2)) p += 2;
	if (!*p || len > HOST_MAX) goto bad;
	for (; *p; p++) {
		char c = *p;
		if (c == '.') {
			if (!label) goto bad;
			/* A final dot names the same host (its absolute form):
			 * a frontend's, which the state drops, may have one. */
			if (!p[1] && dot_ok) break;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		    || c == '-'))
			goto bad;
		if (++label > 63) goto bad;
	}
	if (!label) goto bad;
	return 1;
bad:
	return fail(err, errlen, d, "%s \"%s\" is not a host name: use letters, digits, "
	    "'-' and '.', optionally starting with *. for a wildcard", opt, host);
}

static int
check_path(const kk_verb_def *d, const char *opt, const char *path, char *err, size_t errlen)
{
	if (path[0] != '/')
		return fail(err, errlen, d, "%s \"%s\" must start with /", opt, path);
	if (strlen(path) > PATH_MAX_LEN)
		return fail(err, errlen, d, "%s is longer than %d bytes", opt, PATH_MAX_LEN);
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return fail(err, errlen, d, "%s \"%s\" contains a blank or control "
			    "character; write it percent-encoded", opt, path);
	return 1;
}

static int
check_method(const kk_verb_def *d, const char *m, char *err, size_t errlen)
{
	size_t len = strlen(m);
	int good = len >= 1 && len <= METHOD_MAX;
	for (const char *p = m; good && *p; p++)
		good = (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_';
	if (!good)
		return fail(err, errlen, d, "--method \"%s\" is not a method: use an upper-case "
		    "token such as GET or POST", m);
	return 1;
}

static int
check_set(const kk_verb *v, char *err, size_t errlen)
{
	char msg[KK_ERRLEN];
	size_t i;
	if (!kk_setting_check(v->pos[0], v->pos[1], msg, sizeof msg))
		return fail(err, errlen, v->def, "%s", msg);
	for (i = 0; i < sizeof set_statsd_opts / sizeof set_statsd_opts[0]; i++) {
		const char *val = kk_verb_opt(v, set_statsd_opts[i].opt);
		if (!val)
			continue;
		if (strcmp(v->pos[0], "statsd"))
			return fail(err, errlen, v->def, "%s goes with set statsd only; write "
			    "set %s VALUE", set_statsd_opts[i].opt, set_statsd_opts[i].key);
		if (!kk_setting_check(set_statsd_opts[i].key, val, msg, sizeof msg))
			return fail(err, errlen, v->def, "%s", msg);
	}
	return 1;
}

int
kk_verb_set_extra(const kk_verb *v, size_t i, const char **key, const char **value)
{
	if (i >= sizeof set_statsd_opts / sizeof set_statsd_opts[0])
		return 0;
	*key = set_statsd_opts[i].key;
	*value = kk_verb_opt(v, set_statsd_opts[i].opt);
	return 1;
}

/* Options of an http listener that a tcp listener has no use for, and
 * what to write instead. */
static const struct {
	const char *opt, *why;
} tcp_refused[] = {
	{ "--request-timeout", "a tcp listener reads no request; drop it" },
	{ "--back-timeout", "a tcp connection is a tunnel, idle as a whole: use --front-timeout" },
	{ "--tunnel-timeout", "on a tcp listener every connection is a tunnel, and its idle "
	    "timeout is --front-timeout" },
	{ "--no-h2c", "a tcp listener speaks no HTTP; drop it" },
	{ "--h2-max-streams", "a tcp listener speaks no HTTP/2; drop it" },
	{ "--h2-window", "a tcp listener speaks no HTTP/2; drop it" },
	{ "--h2-max-frame", "a tcp listener speaks no HTTP/2; drop it" },
	{ "--h2-max-header-list", "a tcp listener speaks no HTTP/2; drop it" },
	{ "--h2-max-resets", "a tcp listener speaks no HTTP/2; drop it" },
	{ "--h2-max-settings", "a tcp listener speaks no HTTP/2; drop it" },
	{ "--h2-max-pings", "a tcp listener speaks no HTTP/2; drop it" },
	{ "--h2-max-priority", "a tcp listener speaks no HTTP/2; drop it" },
	{ "--h2-max-window-updates", "a tcp listener speaks no HTTP/2; drop it" },
	{ "--h2-max-empty-data", "a tcp listener speaks no HTTP/2; drop it" },
	{ "--h2-max-continuations", "a tcp listener speaks no HTTP/2; drop it" },
	{ "--max-request-head", "a tcp listener reads no request; drop it" },
	{ "--max-headers", "a tcp listener reads no request; drop it" },
	{ "--max-uri", "a tcp listener reads no request; drop it" },
	{ "--max-body", "a tcp listener reads no request; drop it" },
	{ "--forward", "a tcp listener writes no HTTP fields; use a cluster's --send-proxy "
	    "to tell the backend the client's address" },
	{ "--no-forward", "a tcp listener writes no HTTP fields; drop it" },
	{ "--request-id", "a tcp listener writes no HTTP fields; drop it" },
	{ "--answer", "a tcp listener answers nothing itself; drop it" },
	{ "--answer-text", "a tcp listener answers nothing itself; drop it" },
	{ "--answer-data", "a tcp listener answers nothing itself; drop it" },
	{ "--answer-type", "a tcp listener answers nothing itself; drop it" },
};

const char *const kk_forward_names[] = { "xff", "xfp", "xfport", "xfhost", "forwarded", 0 };

int
kk_scan_forward(const char *list, unsigned *fields)
{
	const char *p = list;
	unsigned bits = 0;
	for (;;) {
		size_t n = strcspn(p, ","), i;
		for (i = 0; kk_forward_names[i]; i++)
			if (strlen(kk_forward_names[i]) == n && !strncmp(kk_forward_names[i], p, n))
				break;
		if (!kk_forward_names[i])
			return 0;
		bits |= 1u << i;
		p += n;
		if (!*p)
			break;
		p++;
	}
	*fields = bits;
	return 1;
}

/* The fields the proxy writes or acts on itself: a request id under one
 * of their names would be overwritten, dropped or taken for framing. */
static const char *const proxy_fields[] = {
	"host", "connection", "content-length", "transfer-encoding", "te", "trailer",
	"upgrade", "keep-alive", "proxy-connection", "http2-settings", "expect", "forwarded",
	"x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-forwarded-host",
	"x-client-cert-subject", "x-client-cert-verified",
};

/* --forward and --request-id of an http listener. */
static int
check_forwarding(const kk_verb *v, char *err, size_t errlen)
{
	const char *list = kk_verb_opt(v, "--forward"), *name = kk_verb_opt(v, "--request-id");
	unsigned fields;
	if (list && kk_verb_opt(v, "--no-forward"))
		return fail(err, errlen, v->def, "--forward and --no-forward contradict each "
		    "other; give one");
	if (list && !kk_scan_forward(list, &fields))
		return fail(err, errlen, v->def, "--forward \"%s\": give a ','-separated list "
		    "of xff, xfp, xfport, xfhost, forwarded (or --no-forward for none)", list);
	if (!name)
		return 1;
	if (strlen(name) > KK_REQUEST_ID_NAMEMAX)
		return fail(err, errlen, v->def, "--request-id: a field name of at most %d bytes",
		    KK_REQUEST_ID_NAMEMAX);
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
		    || (*p >= '0' && *p <= '9') || *p == '-'))
			return fail(err, errlen, v->def, "--request-id \"%s\": '%c' is not part of "
			    "a field name here (letters, digits and '-', e.g. X-Request-Id)", name,
			    *p);
	for (size_t i = 0; i < sizeof proxy_fields / sizeof *proxy_fields; i++)
		if (!strcasecmp(name, proxy_fields[i]))
			return fail(err, errlen, v->def, "--request-id %s: the proxy writes or "
			    "acts on that field itself; pick another name, e.g. X-Request-Id",
			    name);
	return 1;
}

/* The options of listener add that only an https listener takes, and
 * those of cluster add that qualify --tls: named, not found by their
 * place in the tables, which options added before them would move. */
static const char *const https_only[] = {
	"--tls-versions", "--ciphers", "--groups", "--alpn", "--handshake-timeout", "--hsts",
	"--hsts-subdomains", "--hsts-preload", "--no-strict-sni", "--default-certificate",
	"--client-ca", "--client-ca-data", "--client-auth",
};
static const char *const with_tls[] = { "--ca", "--ca-data", "--sni", "--no-verify" };

/* The first option of v that names lists, or NULL. */
static const char *
first_of(const kk_verb *v, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (kk_verb_opt(v, names[i]))
			return names[i];
	return NULL;
}

/* A list of TLS names (cipher suites, groups) in OpenSSL's syntax:
 * what the TLS library will accept or refuse by name is for the worker's
 * library to say; here only bytes no such list holds are refused. */
static int
check_tls_list(const kk_verb_def *d, const char *opt, const char *list, char *err,
    size_t errlen)
{
	if (strlen(list) > TLS_LIST_MAX)
		return fail(err, errlen, d, "%s is longer than %d bytes", opt, TLS_LIST_MAX);
	for (const char *p = list; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
		    || (*p >= '0' && *p <= '9') || strchr(":+-!@=_.,", *p)))
			return fail(err, errlen, d, "%s \"%s\": '%c' is not part of an OpenSSL "
			    "list (names separated by ':', with + - ! @ = _ .)", opt, list, *p);
	return 1;
}

/* ALPN protocol ids (RFC 7301): 1 to 255 printable bytes each, here
 * separated by commas, so no comma and no blank inside one. */
static int
check_alpn(const kk_verb_def *d, const char *list, char *err, size_t errlen)
{
	const char *p = list;
	for (;;) {
		size_t n = strcspn(p, ",");
		if (!n || n > ALPN_MAX)
			return fail(err, errlen, d, "--alpn \"%s\": give protocol ids of 1 to %d "
			    "bytes separated by ',', e.g. h2,http/1.1", list, ALPN_MAX);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
				return fail(err, errlen, d, "--alpn \"%s\": a protocol id holds no "
				    "blank or control byte", list);
		if (!p[n]) return 1;
		p += n + 1;
	}
}

static int
check_tls_options(const kk_verb *v, char *err, size_t errlen)
{
	const char *s, *hsts = kk_verb_opt(v, "--hsts");
	char fp[65];
	if ((s = kk_verb_opt(v, "--ciphers")) && !check_tls_list(v->def, "--ciphers", s, err,
	    errlen))
		return 0;
	if ((s = kk_verb_opt(v, "--groups")) && !check_tls_list(v->def, "--groups", s, err,
	    errlen))
		return 0;
	if ((s = kk_verb_opt(v, "--alpn")) && !check_alpn(v->def, s, err, errlen)) return 0;
	if (kk_verb_opt(v, "--client-ca") && kk_verb_opt(v, "--client-ca-data"))
		return fail(err, errlen, v->def, "give --client-ca FILE or --client-ca-data B64, "
		    "not both");
	if (kk_verb_opt(v, "--client-auth") && !kk_verb_opt(v, "--client-ca")
	    && !kk_verb_opt(v, "--client-ca-data"))
		return fail(err, errlen, v->def, "--client-auth says what the client CA "
		    "demands: give --client-ca FILE too");
	if ((s = kk_verb_opt(v, "--default-certificate")) && !kk_fingerprint_canon(s, fp))
		return fail(err, errlen, v->def, "--default-certificate \"%s\" is not a "
		    "fingerprint: give the 64 hex digits of its SHA-256 (see: certificate "
		    "list)", s);
	if ((!hsts || !strcmp(hsts, "0")) && (kk_verb_opt(v, "--hsts-subdomains")
	    || kk_verb_opt(v, "--hsts-preload")))
		return fail(err, errlen, v->def, "--hsts-%s qualifies the HSTS header: give "
		    "--hsts SECONDS too", kk_verb_opt(v, "--hsts-subdomains") ? "subdomains"
		    : "preload");
	return 1;
}

/* The values of the answer options (kakehi/answer.h); a file is read,
 * and a status given twice found, when the line is applied. */
static int
check_answers(const kk_verb *v, char *err, size_t errlen)
{
	char msg[KK_ERRLEN];
	for (unsigned i = 0; i < v->nopt; i++)
		if (kk_answer_is_option(v->opt[i].def->name)
		    && !kk_answer_check(v->opt[i].def->name, v->opt[i].value, msg, sizeof msg))
			return fail(err, errlen, v->def, "%s", msg);
	return 1;
}

static int
check_listener_add(const kk_verb *v, char *err, size_t errlen)
{
	const char *proto = v->pos[0];
	if (strcmp(proto, "http") && strcmp(proto, "https") && strcmp(proto, "tcp"))
		return fail(err, errlen, v->def, "unknown protocol \"%s\"; use http, https or "
		    "tcp", proto);
	if (!strcmp(proto, "tcp"))
		for (size_t i = 0; i < sizeof tcp_refused / sizeof *tcp_refused; i++)
			if (kk_verb_opt(v, tcp_refused[i].opt))
				return fail(err, errlen, v->def, "%s is for http listeners: %s",
				    tcp_refused[i].opt, tcp_refused[i].why);
	if (strcmp(proto, "https")) {
		const char *o = first_of(v, https_only, sizeof https_only / sizeof *https_only);
		if (o)
			return fail(err, errlen, v->def, "%s is for https listeners: a %s "
			    "listener %s", o, proto, !strcmp(proto, "tcp")
			    ? "passes TLS through whole (route it with frontends --sni)"
			    : "speaks plain HTTP");
	} else if (kk_verb_opt(v, "--no-h2c"))
		return fail(err, errlen, v->def, "--no-h2c is for plain http listeners: on https "
		    "ALPN chooses HTTP/2; leave h2 out of --alpn to refuse it");
	else if (!check_tls_options(v, err, errlen))
		return 0;
	if (!check_forwarding(v, err, errlen))
		return 0;
	if (!check_answers(v, err, errlen))
		return 0;
	return check_addr(v->def, "listener address", v->pos[1], err, errlen);
}

static int
check_listener_remove(const kk_verb *v, char *err, size_t errlen)
{
	return check_addr(v->def, "listener address", v->pos[0], err, errlen);
}

/* The options that qualify --tls, which they need. */
static int
check_back_tls(const kk_verb *v, char *err, size_t errlen)
{
	const char *sni = kk_verb_opt(v, "--sni");
	int ca = kk_verb_opt(v, "--ca") || kk_verb_opt(v, "--ca-data");
	if (!kk_verb_opt(v, "--tls")) {
		const char *o = first_of(v, with_tls, sizeof with_tls / sizeof *with_tls);
		if (o)
			return fail(err, errlen, v->def, "%s qualifies TLS to the backends: "
			    "give --tls too", o);
		return 1;
	}
	if (kk_verb_opt(v, "--ca") && kk_verb_opt(v, "--ca-data"))
		return fail(err, errlen, v->def, "give --ca FILE or --ca-data B64, not both");
	if (ca && kk_verb_opt(v, "--no-verify"))
		return fail(err, errlen, v->def, "--no-verify checks no certificate, so --ca "
		    "would mean nothing: give one or the other");
	if (sni && strchr(sni, '*'))
		return fail(err, errlen, v->def, "--sni \"%s\" is a wildcard: name the one "
		    "server the backends answer for", sni);
	return !sni || check_host(v->def, "--sni", sni, 0, err, errlen);
}

/* A field or cookie name: a token (RFC 9110 §5.1, RFC 6265 §4.1.1) of
 * at most TOKEN_MAX bytes. */
static int
is_token(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > TOKEN_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
		    || (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s)))
			return 0;
	return 1;
}

/* The balancing options: --hash-key qualifies --lb hash, --sticky-cookie
 * qualifies --sticky. */
static int
check_lb(const kk_verb *v, char *err, size_t errlen)
{
	const char *lb = kk_verb_opt(v, "--lb"), *key = kk_verb_opt(v, "--hash-key");
	const char *cookie = kk_verb_opt(v, "--sticky-cookie");
	if (key && (!lb || strcmp(lb, "hash")))
		return fail(err, errlen, v->def, "--hash-key says what --lb hash hashes: give "
		    "--lb hash too");
	if (key && strcmp(key, "source") && strcmp(key, "path")
	    && !((!strncmp(key, "header:", 7) && is_token(key + 7))
		|| (!strncmp(key, "cookie:", 7) && is_token(key + 7))))
		return fail(err, errlen, v->def, "--hash-key \"%s\" is not one of: source, path, "
		    "header:NAME, cookie:NAME (NAME a token of 1 to %d bytes)", key, TOKEN_MAX);
	if (cookie && !kk_verb_opt(v, "--sticky"))
		return fail(err, errlen, v->def, "--sticky-cookie names the cookie of --sticky: "
		    "give --sticky too");
	if (cookie && !is_token(cookie))
		return fail(err, errlen, v->def, "--sticky-cookie \"%s\" is not a cookie name: "
		    "use a token of 1 to %d bytes such as " KK_STICKY_COOKIE, cookie, TOKEN_MAX);
	return 1;
}

static int
check_cluster(const kk_verb *v, char *err, size_t errlen)
{
	if (kk_verb_opt(v, "--https-port") && !kk_verb_opt(v, "--https-redirect"))
		return fail(err, errlen, v->def, "--https-port is the port of the redirect: "
		    "give --https-redirect 301|308 too");
	if (!check_lb(v, err, errlen)) return 0;
	/* A PROXY header names one client, so its connection could carry
	 * no other client's streams: HTTP/2's sharing would be lost. */
	if (kk_verb_opt(v, "--h2") && kk_verb_opt(v, "--send-proxy"))
		return fail(err, errlen, v->def, "--send-proxy gives each client a backend "
		    "connection of its own, which --h2 shares between clients: give one or "
		    "the other");
	if (!check_back_tls(v, err, errlen)) return 0;
	if (!check_answers(v, err, errlen)) return 0;
	return check_id(v->def, "cluster id", v->pos[0], err, errlen);
}

int
kk_scan_status_range(const char *s, unsigned *lo, unsigned *hi)
{
	unsigned long a, b;
	char first[4];
	size_t n = strcspn(s, "-");
	if (n > 3)
		return 0;
	memcpy(first, s, n);
	first[n] = 0;
	if (!kk_scan_uint(first, 100, 599, &a))
		return 0;
	if (!s[n])
		b = a;
	else if (!kk_scan_uint(s + n + 1, a, 599, &b))
		return 0;
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return 1;
}

static int
check_cluster_hc(const kk_verb *v, char *err, size_t errlen)
{
	static const char *const others[] = { "--path", "--interval", "--timeout", "--rise",
	    "--fall", "--expect", "--host", 0 };
	const char *path = kk_verb_opt(v, "--path"), *expect = kk_verb_opt(v, "--expect");
	const char *host = kk_verb_opt(v, "--host");
	unsigned long iv = KK_HC_INTERVAL_MS, to = KK_HC_TIMEOUT_MS;
	unsigned lo, hi;
	if (!check_id(v->def, "cluster id", v->pos[0], err, errlen))
		return 0;
	if (kk_verb_opt(v, "--off")) {
		for (unsigned i = 0; others[i]; i++)
			if (kk_verb_opt(v, others[i]))
				return fail(err, errlen, v->def, "--off removes the check: give "
				    "it alone, not with %s", others[i]);
		return 1;
	}
	if (!path)
		return fail(err, errlen, v->def, "--path P is required: what the probes ask "
		    "for (or --off to remove the check)");
	if (!check_path(v->def, "--path", path, err, errlen))
		return 0;
	if (expect && !kk_scan_status_range(expect, &lo, &hi))
		return fail(err, errlen, v->def, "--expect \"%s\" is not a status or a range "
		    "LO-HI of statuses in 100..599", expect);
	if (host && !check_host(v->def, "--host", host, 0, err, errlen))
		return 0;
	if (kk_verb_opt(v, "--interval"))
		kk_scan_duration_ms(kk_verb_opt(v, "--interval"), &iv);
	if (kk_verb_opt(v, "--timeout"))
		kk_scan_duration_ms(kk_verb_opt(v, "--timeout"), &to);
	if (to > iv)
		return fail(err, errlen, v->def, "--timeout %lums is longer than --interval "
		    "%lums: a probe would still wait when the next is due", to, iv);
	return 1;
}

/* --rewrite-host's name, --rewrite-path-prefix's FROM=TO: two paths,
 * the first up to its first '=', so that a FROM holds no '=', and
 * --rewrite-path's REGEX and TEMPLATE (value2). */
static int
check_rewrite(const kk_verb_def *d, const char *opt, const char *value, const char *value2,
    char *err, size_t errlen)
{
	char from[PATH_MAX_LEN + 1], msg[KK_ERRLEN];
	size_t n = strcspn(value, "=");
	if (!strcmp(opt, "--rewrite-path"))
		return kk_action_check_rewrite(value, value2, msg, sizeof msg)
		    || fail(err, errlen, d, "%s", msg);
	if (!strcmp(opt, "--rewrite-host") && !strncmp(value, "*.", 2))
		return fail(err, errlen, d, "%s \"%s\": give one host: a wildcard matches hosts, "
		    "it names none", opt, value);
	if (!strcmp(opt, "--rewrite-host"))
		return check_host(d, opt, value, 0, err, errlen);
	if (!value[n])
		return fail(err, errlen, d, "%s \"%s\": give FROM=TO, the prefix and what "
		    "replaces it", opt, value);
	/* What the state keeps of an action's name and value (action.h). */
	if (n > KK_ACTION_NAMEMAX || strlen(value + n + 1) > KK_ACTION_VALUEMAX)
		return fail(err, errlen, d, "%s: FROM is longer than %d bytes or TO than %d", opt,
		    KK_ACTION_NAMEMAX, KK_ACTION_VALUEMAX);
	memcpy(from, value, n);
	from[n] = 0;
	return check_path(d, opt, from, err, errlen)
	    && check_path(d, opt, value + n + 1, err, errlen);
}

static int
check_frontend(const kk_verb *v, char *err, size_t errlen)
{
	const char *host = kk_verb_opt(v, "--host"), *path = kk_verb_opt(v, "--path");
	const char *exact = kk_verb_opt(v, "--path-exact"), *method = kk_verb_opt(v, "--method");
	const char *sni = kk_verb_opt(v, "--sni"), *regex = kk_verb_opt(v, "--path-regex");
	const char *extra = NULL;
	char msg[KK_ERRLEN];
	unsigned i, nedits[2] = { 0, 0 };
	const char *answer = kk_verb_opt(v, "--deny") ? "--deny" : kk_verb_opt(v, "--redirect")
	    ? "--redirect" : NULL;
	if (!check_id(v->def, "cluster id", v->pos[0], err, errlen)) return 0;
	if (kk_verb_opt(v, "--deny") && kk_verb_opt(v, "--redirect"))
		return fail(err, errlen, v->def, "--deny and --redirect exclude each other: a "
		    "frontend answers one way");
	if (!kk_verb_opt(v, "--redirect") != !kk_verb_opt(v, "--location"))
		return fail(err, errlen, v->def, "%s", kk_verb_opt(v, "--redirect")
		    ? "--redirect needs --location TEMPLATE, the target"
		    : "--location is the target of a redirect: give --redirect 301|302|307|308 too");
	if (!kk_verb_opt(v, "--listener"))
		return fail(err, errlen, v->def, "--listener ADDR is required");
	if (!!path + !!exact + !!regex > 1)
		return fail(err, errlen, v->def, "--path, --path-exact and --path-regex exclude "
		    "each other: a frontend matches its path one way");
	for (i = 0; i < v->nopt; i++) {
		const char *name = v->opt[i].def->name;
		if (v->opt[i].def->kind != KK_OPT_STRINGS && !kk_action_is_option(name))
			continue;
		extra = name;
		if (kk_action_is_option(name)) {
			if (!kk_action_check(name, v->opt[i].value, msg, sizeof msg))
				return fail(err, errlen, v->def, "%s", msg);
			if (!strcmp(name, "--deny") || !strcmp(name, "--redirect")
			    || !strcmp(name, "--location"))
				continue;
			int resp = !strncmp(name, "--response", 10);
			if (answer && !strncmp(name, "--rewrite", 9))
				return fail(err, errlen, v->def, "%s answers without a backend, so "
				    "%s would never apply: drop one or the other", answer, name);
			if (!strncmp(name, "--rewrite", 9)
			    && !check_rewrite(v->def, name, v->opt[i].value, v->opt[i].value2, err,
				errlen))
				return 0;
			if (!strncmp(name, "--rewrite", 9))
				continue;
			if (answer)
				return fail(err, errlen, v->def, "%s answers without a backend, so "
				    "the header edits would never apply: drop %s or %s", answer, name,
				    answer);
			if (++nedits[resp] > KK_ACTION_MAX)
				return fail(err, errlen, v->def, "more than %d %s header edits: a head "
				    "has room for that many", KK_ACTION_MAX, resp ? "response"
				    : "request");
			continue;
		}
		if (!kk_fmatch_check(name, v->opt[i].value, msg, sizeof msg))
			return fail(err, errlen, v->def, "%s", msg);
	}
	if (!kk_auth_check(v, msg, sizeof msg))
		return fail(err, errlen, v->def, "%s", msg);
	if (answer && (kk_verb_opt(v, "--htpasswd") || kk_verb_opt(v, "--htpasswd-data")))
		return fail(err, errlen, v->def, "%s answers every request alike, so --htpasswd "
		    "would never apply: drop one or the other", answer);
	if (sni && (kk_verb_opt(v, "--htpasswd") || kk_verb_opt(v, "--htpasswd-data")))
		return fail(err, errlen, v->def, "--htpasswd authenticates requests of an http "
		    "listener; a tcp listener's connections carry none");
	if (sni && (host || path || exact || regex || method || extra))
		return fail(err, errlen, v->def, "--sni matches connections of a tcp listener, "
		    "%s requests of an http listener: give one or the other",
		    host ? "--host" : path ? "--path" : exact ? "--path-exact" : regex
		    ? "--path-regex" : method ? "--method" : extra);
	if (regex && strlen(regex) > PATH_MAX_LEN)
		return fail(err, errlen, v->def, "--path-regex is longer than %d bytes",
		    PATH_MAX_LEN);
	for (const char *p = regex; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(err, errlen, v->def, "--path-regex holds a control character; "
			    "write it as an escape (\\t, \\x7f)");
	if (regex && !kk_regex_check(regex, msg, sizeof msg))
		return fail(err, errlen, v->def, "--path-regex \"%s\" is not a valid regex: %s",
		    regex, msg);
	if (host && !check_host(v->def, "--host", host, 1, err, errlen)) return 0;
	if (sni && !check_host(v->def, "--sni", sni, 0, err, errlen)) return 0;
	if (path && !check_path(v->def, "--path", path, err, errlen)) return 0;
	if (exact && !check_path(v->def, "--path-exact", exact, err, errlen)) return 0;
	if (method && !check_method(v->def, method, err, errlen)) return 0;
	return 1;
}

static int
check_optional_cluster(const kk_verb *v, char *err, size_t errlen)
{
	return !v->npos || check_id(v->def, "cluster id", v->pos[0], err, errlen);
}

static int
check_backend(const kk_verb *v, char *err, size_t errlen)
{
	if (!check_id(v->def, "cluster id", v->pos[0], err, errlen)) return 0;
	if (!check_id(v->def, "backend id", v->pos[1], err, errlen)) return 0;
	return v->npos < 3 || check_addr(v->def, "backend address", v->pos[2], err, errlen);
}

/* The files of a certificate, each given once, by name or as data. */
static int
check_certificate_files(const kk_verb *v, char *err, size_t errlen)
{
	static const char *const names[] = { "cert", "key", "chain", "ocsp" };
	for (unsigned i = 0; i < 4; i++) {
		char file[16], data[16];
		snprintf(file, sizeof file, "--%s", names[i]);
		snprintf(data, sizeof data, "--%s-data", names[i]);
		if (kk_verb_opt(v, file) && kk_verb_opt(v, data))
			return fail(err, errlen, v->def, "give %s FILE or %s B64, not both", file,
			    data);
		if (i < 2 && !kk_verb_opt(v, file) && !kk_verb_opt(v, data))
			return fail(err, errlen, v->def, "%s FILE is required", file);
	}
	return 1;
}

static int
check_fingerprint(const kk_verb *v, const char *what, const char *fp, char *err,
    size_t errlen)
{
	char canon[65];
	if (!kk_fingerprint_canon(fp, canon))
		return fail(err, errlen, v->def, "%s \"%s\" is not a fingerprint: give the 64 "
		    "hex digits of its SHA-256 (see: certificate list)", what, fp);
	return 1;
}

static int
check_certificate(const kk_verb *v, char *err, size_t errlen)
{
	const char *old = kk_verb_opt(v, "--old");
	if (v->npos && !check_addr(v->def, "listener address", v->pos[0], err, errlen))
		return 0;
	switch (v->def->id) {
	case KK_V_CERTIFICATE_ADD:
		return check_certificate_files(v, err, errlen);
	case KK_V_CERTIFICATE_REPLACE:
		if (!old)
			return fail(err, errlen, v->def, "--old FINGERPRINT is required: the "
			    "certificate replaced");
		return check_fingerprint(v, "--old", old, err, errlen)
		    && check_certificate_files(v, err, errlen);
	case KK_V_CERTIFICATE_REMOVE:
		return check_fingerprint(v, "fingerprint", v->pos[1], err, errlen);
	default:
		return 1;
	}
}

static int
check_file(const kk_verb *v, char *err, size_t errlen)
{
	if (v->npos && !*v->pos[0])
		return fail(err, errlen, v->def, "empty file name");
	return 1;
}

typedef int check_fn(const kk_verb *, char *, size_t);

/* What the option kinds cannot say: positional syntax, required and
 * exclusive options. Indexed like the verb ids. */
static check_fn *const checks[KK_V_COUNT] = {
	[KK_V_SET] = check_set,
	[KK_V_LISTENER_ADD] = check_listener_add,
	[KK_V_LISTENER_REMOVE] = check_listener_remove,
	[KK_V_CLUSTER_ADD] = check_cluster,
	[KK_V_CLUSTER_REMOVE] = check_cluster,
	[KK_V_CLUSTER_HEALTH_CHECK] = check_cluster_hc,
	[KK_V_FRONTEND_ADD] = check_frontend,
	[KK_V_FRONTEND_REMOVE] = check_frontend,
	[KK_V_FRONTEND_LIST] = check_optional_cluster,
	[KK_V_BACKEND_ADD] = check_backend,
	[KK_V_BACKEND_REMOVE] = check_backend,
	[KK_V_BACKEND_LIST] = check_optional_cluster,
	[KK_V_CERTIFICATE_ADD] = check_certificate,
	[KK_V_CERTIFICATE_REPLACE] = check_certificate,
	[KK_V_CERTIFICATE_REMOVE] = check_certificate,
	[KK_V_CERTIFICATE_LIST] = check_certificate,
	[KK_V_STATE_SAVE] = check_file,
	[KK_V_STATE_LOAD] = check_file,
	[KK_V_RELOAD] = check_file,
};

static int
enum_has(const char *choices, const char *value)
{
	size_t len = strlen(value);
	for (const char *p = choices; *p; ) {
		size_t n = strcspn(p, "|");
		if (n == len && !strncmp(p, value, n)) return 1;
		p += n;
		if (*p) p++;
	}
	return 0;
}

static int
check_value(const kk_verb_def *d, const kk_opt_def *o, const char *value, char *err,
    size_t errlen)
{
	unsigned long n;
	kk_addr a;
	switch (o->kind) {
	case KK_OPT_FLAG:
		return 1;
	case KK_OPT_STRING:
	case KK_OPT_STRINGS:
	case KK_OPT_PAIR:
		if (!*value) return fail(err, errlen, d, "%s needs a non-empty value", o->name);
		return 1;
	case KK_OPT_UINT:
		if (!kk_scan_uint(value, o->min, o->max, &n))
			return fail(err, errlen, d, "%s \"%s\" is not a number in %lu..%lu",
			    o->name, value, o->min, o->max);
		return 1;
	case KK_OPT_DURATION:
		if (!kk_scan_duration_ms(value, &n) || n < o->min || (o->max && n > o->max))
			return fail(err, errlen, d, "%s \"%s\" is not a duration from 1ms to 24h "
			    "(e.g. 500ms, 60s, 2m, 1h; a bare number is seconds)", o->name, value);
		return 1;
	case KK_OPT_ADDR:
		if (!kk_addr_parse(&a, value))
			return fail(err, errlen, d, "%s \"%s\" is not an address: use IPV4:PORT "
			    "or [IPV6]:PORT, numeric, port 1..65535", o->name, value);
		return 1;
	case KK_OPT_ENUM:
		if (!enum_has(o->choices, value)) {
			char list[256];
			size_t i, j = 0;
			for (i = 0; o->choices[i] && j + 3 < sizeof list; i++) {
				if (o->choices[i] == '|') {
					list[j++] = ',';
					list[j++] = ' ';
				} else
					list[j++] = o->choices[i];
			}
			list[j] = 0;
			return fail(err, errlen, d, "%s \"%s\" is not one of: %s", o->name, value,
			    list);
		}
		return 1;
	}
	return 1;
}

static const kk_verb_def *
find_verb(unsigned argc, const char *const *argv, unsigned *used, char *err, size_t errlen)
{
	const kk_verb_def *d;
	int known = 0;
	/* The first byte rules out most verbs without a call to strcmp. */
	for (d = kk_verb_table; d->word1; d++) {
		if (d->word1[0] != argv[0][0] || strcmp(d->word1, argv[0])) continue;
		known = 1;
		if (!d->word2) {
			*used = 1;
			return d;
		}
		if (argc > 1 && d->word2[0] == argv[1][0] && !strcmp(d->word2, argv[1])) {
			*used = 2;
			return d;
		}
	}
	if (known) {
		kk_str words = KK_STR_ZERO;
		for (d = kk_verb_table; d->word1; d++)
			if (!strcmp(d->word1, argv[0]))
				kk_str_catf(&words, "%s%s", words.len ? ", " : "", d->word2);
		if (argc > 1)
			snprintf(err, errlen, "%s: unknown action \"%s\"; use one of: %s", argv[0],
			    argv[1], words.s ? words.s : "");
		else
			snprintf(err, errlen, "%s: missing action; use one of: %s", argv[0],
			    words.s ? words.s : "");
		kk_str_free(&words);
	} else {
		kk_str words = KK_STR_ZERO;
		for (d = kk_verb_table; d->word1; d++)
			if (d == kk_verb_table || strcmp(d->word1, d[-1].word1))
				kk_str_catf(&words, "%s%s", words.len ? ", " : "", d->word1);
		snprintf(err, errlen, "unknown verb \"%s\"; verbs are: %s", argv[0],
		    words.s ? words.s : "");
		kk_str_free(&words);
	}
	return 0;
}

/* The usage word naming positional argument i, for "missing CLUSTER". */
static void
missing_name(const kk_verb_def *d, unsigned i, char *name, size_t len)
{
	const char *p = d->usage;
	snprintf(name, len, "argument");
	for (;;) {
		size_t n;
		while (*p == ' ') p++;
		n = strcspn(p, " ");
		if (!n || *p == '[' || *p == '-') return;
		if (!i--) {
			snprintf(name, len, "%.*s", (int)n, p);
			return;
		}
		p += n;
	}
}

int
kk_verb_parse(kk_verb *v, unsigned argc, const char *const *argv, char *err, size_t errlen)
{
	const kk_verb_def *d;
	unsigned i;
	if (!argc) {
		snprintf(err, errlen, "empty verb line");
		return 0;
	}
	if (!(d = find_verb(argc, argv, &i, err, errlen))) return 0;
	memset(v, 0, sizeof *v);
	v->def = d;
	for (; i < argc; i++) {
		const char *w = argv[i], *value = 0, *eq;
		const kk_opt_def *o;
		size_t namelen;
		if (strncmp(w, "--", 2) || !w[2]) {
			if (v->npos >= d->npos_max)
				return fail(err, errlen, d, "unexpected argument \"%s\"", w);
			v->pos[v->npos++] = w;
			continue;
		}
		eq = strchr(w, '=');
		namelen = eq ? (size_t)(eq - w) : strlen(w);
		for (o = d->opts; o->name; o++)
			if (strlen(o->name) == namelen && !strncmp(o->name, w, namelen))
				break;
		if (!o->name)
			return fail(err, errlen, d, "unknown option \"%.*s\"", (int)namelen, w);
		for (unsigned j = 0; j < v->nopt && o->kind != KK_OPT_STRINGS; j++)
			if (v->opt[j].def == o)
				return fail(err, errlen, d, "%s given twice", o->name);
		/* Only a repeatable option can fill the table. */
		if (v->nopt == KK_VERB_MAXOPTS)
			return fail(err, errlen, d, "more than %d options", KK_VERB_MAXOPTS);
		if (o->kind == KK_OPT_FLAG) {
			if (eq) return fail(err, errlen, d, "%s takes no value", o->name);
		} else if (eq)
			value = eq + 1;
		else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2))
			value = argv[++i];
		else
			return fail(err, errlen, d, "%s needs a value", o->name);
		if (!check_value(d, o, value ? value : "", err, errlen)) return 0;
		v->opt[v->nopt].def = o;
		if (o->kind == KK_OPT_PAIR) {
			if (i + 1 >= argc || !*argv[i + 1] || !strncmp(argv[i + 1], "--", 2))
				return fail(err, errlen, d, "%s needs two values", o->name);
			v->opt[v->nopt].value2 = argv[++i];
		}
		v->opt[v->nopt++].value = value;
	}
	if (v->npos < d->npos_min) {
		char name[64];
		missing_name(d, v->npos, name, sizeof name);
		return fail(err, errlen, d, "missing %s", name);
	}
	if (checks[d->id] && !checks[d->id](v, err, errlen)) return 0;
	return 1;
}

const char *
kk_verb_opt(const kk_verb *v, const char *name)
{
	if (!strncmp(name, "--", 2)) name += 2;
	for (unsigned i = 0; i < v->nopt; i++)
		if (v->opt[i].def->name[2] == name[0] && !strcmp(v->opt[i].def->name + 2, name))
			return v->opt[i].value ? v->opt[i].value : "";
	return 0;
}

const char *
kk_verb_opt2(const kk_verb *v, const char *name)
{
	if (!strncmp(name, "--", 2)) name += 2;
	for (unsigned i = 0; i < v->nopt; i++)
		if (!strcmp(v->opt[i].def->name + 2, name))
			return v->opt[i].value2;
	return 0;
}

int
kk_verb_help(kk_str *out, const char *word1)
{
	int found = 0;
	for (const kk_verb_def *d = kk_verb_table; d->word1; d++) {
		char head[512];
		if (word1 && strcmp(word1, d->word1)) continue;
		found = 1;
		snprintf(head, sizeof head, "%s%s%s%s%s", d->word1, d->word2 ? " " : "",
		    d->word2 ? d->word2 : "", *d->usage ? " " : "", d->usage);
		if (!kk_str_catf(out, "%s  # %s\n", head, d->summary)) return 0;
		if (!word1) continue;
		/* Asked about one verb: its options and, for set, its keys. */
		for (const kk_opt_def *o = d->opts; o->name; o++)
			if (!kk_str_catf(out, "    %s: %s\n", o->name, o->help)) return 0;
		if (d->id == KK_V_SET && !kk_setting_help(out)) return 0;
	}
	if (!found) {
		errno = ENOENT;
		return 0;
	}
	return 1;
}
