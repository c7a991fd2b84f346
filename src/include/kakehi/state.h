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
#include <kakehi/str.h>
#include <kakehi/verb.h>

enum kk_proto { KK_PROTO_HTTP = 0 };
enum kk_lb { KK_LB_ROUND_ROBIN = 0, KK_LB_RANDOM, KK_LB_LEAST_CONNECTIONS };
enum kk_path_kind { KK_PATH_ANY = 0, KK_PATH_PREFIX, KK_PATH_EXACT };

#define KK_MAX_WORKERS 64
#define KK_MAX_UIDS 32

typedef struct kk_settings kk_settings;
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
};

typedef struct kk_cluster kk_cluster;
struct kk_cluster {
	char *id;
	enum kk_lb lb;
};

typedef struct kk_frontend kk_frontend;
struct kk_frontend {
	char *cluster;
	char *listener;			/* canonical address text */
	char *host;			/* NULL: any; lower case; "*.example.com" wildcard */
	enum kk_path_kind path_kind;
	char *path;			/* NULL when KK_PATH_ANY */
	char *method;			/* NULL: any */
};

typedef struct kk_backend kk_backend;
struct kk_backend {
	char *cluster;
	char *id;
	char *addr_text;		/* canonical */
	kk_addr addr;
	unsigned weight;		/* default 100; 0 never chosen */
	int backup;			/* used only when no primary is usable */
};

/* Objects are kept in insertion order; the printer keeps that order, which
 * is also the round-robin order of backends. */
typedef struct kk_state kk_state;
struct kk_state {
	kk_settings set;
	kk_listener *listeners; size_t nlisteners, alisteners;
	kk_cluster *clusters; size_t nclusters, aclusters;
	kk_frontend *frontends; size_t nfrontends, afrontends;
	kk_backend *backends; size_t nbackends, abackends;
};

void kk_state_init(kk_state *);		/* empty state, default settings */
void kk_state_free(kk_state *);
int kk_state_copy(kk_state *dst, const kk_state *src);	/* 1 ok, 0 ENOMEM */

/* Applies one parsed verb (flags KK_VERB_F_CONFIG) to the state. 1 ok; 0
 * with a message for the operator in err, and the state unchanged. */
int kk_state_apply(kk_state *, const kk_verb *, char *err, size_t errlen);
/* Applies a batch of verb lines (a config file, a state file, the payload
 * of a worker update) as one transaction: on any error the state is
 * unchanged and err reads "SOURCE:LINE: message". Runtime verbs (status,
 * reload...) in a batch are errors. 1 ok, 0 error. */
int kk_state_load_text(kk_state *, const char *text, size_t len, const char *source,
    char *err, size_t errlen);
int kk_state_load_file(kk_state *, const char *path, char *err, size_t errlen);

/* Canonical verb lines for the whole state: settings that differ from the
 * defaults, then listeners, clusters, frontends, backends. 1 ok, 0 ENOMEM. */
int kk_state_print(const kk_state *, kk_str *out);
/* The same state as one JSON object. */
int kk_state_print_json(const kk_state *, kk_str *out);
/* Writes kk_state_print to path atomically: temporary file in the same
 * directory, fsync, rename, fsync of the directory. 1 ok, 0 with err. */
int kk_state_save_file(const kk_state *, const char *path, char *err, size_t errlen);
/* Verb lines that turn `from` into `to` (removals first, then additions;
 * a changed object is removed and re-added). Empty when they are equal. */
int kk_state_diff(const kk_state *from, const kk_state *to, kk_str *out);
/* Output of the list verbs (listener/cluster/frontend/backend list, with
 * the verb's filter), as verb lines or as a JSON array. 1 ok, 0 with err. */
int kk_state_list(const kk_state *, const kk_verb *, int json, kk_str *out,
    char *err, size_t errlen);

/* Lookups, NULL when absent. */
kk_listener *kk_state_listener(const kk_state *, const char *addr_text);
kk_cluster *kk_state_cluster(const kk_state *, const char *id);
kk_backend *kk_state_backend(const kk_state *, const char *cluster, const char *id);

#endif
