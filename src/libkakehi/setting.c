/* ISC license. */
/* The global settings: one row per `set` key with its range and default.
 * Syntax checks, apply, canonical printing, JSON and help all read the
 * same row, so a new key is one row plus its field in kk_settings. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kakehi/addr.h>
#include <kakehi/logfmt.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>
#include "setting.h"

/* Longest path a sockaddr_un holds, without its NUL. */
#define SUN_PATH_MAX 107
#define DURATION_MAX (24UL * 3600 * 1000)

/* S_PATH: the control socket's path; S_LOG: off, stderr or a file;
 * S_FORMAT: an access-log format (logfmt.h). The three are strings,
 * NULL at their default. S_CHOICE: one of the words of the metavar
 * ("text|json"), kept as its number, the first the default. */
enum skind { S_UINT, S_DURATION, S_PATH, S_UIDS, S_CIDRS, S_LOG, S_FORMAT, S_CHOICE,
	S_ADDR, S_NAME };
enum skey {
	K_WORKERS, K_COMMAND_SOCKET, K_ALLOWED_UIDS, K_MAX_CONNECTIONS,
	K_BUFFER_SIZE, K_BACKLOG, K_WORKER_TIMEOUT, K_DRAIN_TIMEOUT, K_PING_TIMEOUT,
	K_TLS_TICKET_ROTATION, K_TRUSTED_PROXIES, K_ACCESS_LOG, K_ACCESS_LOG_FORMAT,
	K_ACCESS_LOG_SAMPLE, K_LOG_FORMAT, K_LOG_LEVEL,
	K_STATSD, K_STATSD_PREFIX, K_STATSD_INTERVAL,
	K_COUNT
};

struct sdef {
	const char *key;
	enum skind kind;
	unsigned long min, max, def;	/* S_UINT, S_DURATION (ms) */
	const char *metavar;
	const char *help;
};

static const struct sdef table[K_COUNT] = {
	[K_WORKERS] = { "workers", S_UINT, 1, KK_MAX_WORKERS, 2, "N",
	    "worker processes (1..64, default 2)" },
	[K_COMMAND_SOCKET] = { "command-socket", S_PATH, 0, 0, 0, "PATH",
	    "control socket, an absolute path (default: the supervisor's -s, "
	    "else /run/kakehi/control)" },
	[K_ALLOWED_UIDS] = { "allowed-uids", S_UIDS, 0, 0, 0, "UID,UID...",
	    "uids allowed on the control socket besides its owner "
	    "(none: the owner only, the default)" },
	[K_MAX_CONNECTIONS] = { "max-connections", S_UINT, 1, 1000000, 10000, "N",
	    "connections per worker; at the bound it stops accepting "
	    "(1..1000000, default 10000)" },
	[K_BUFFER_SIZE] = { "buffer-size", S_UINT, 1024, 1048576, 16384, "BYTES",
	    "size of each pooled I/O buffer (1024..1048576, default 16384)" },
	[K_BACKLOG] = { "backlog", S_UINT, 1, 65535, 1024, "N",
	    "listen(2) backlog of the listeners kakehi binds (1..65535, default 1024)" },
	[K_WORKER_TIMEOUT] = { "worker-timeout", S_DURATION, 1, DURATION_MAX, 5000,
	    "DURATION", "how long a worker may take to acknowledge an update "
	    "(default 5s)" },
	[K_DRAIN_TIMEOUT] = { "drain-timeout", S_DURATION, 1, DURATION_MAX, 30000,
	    "DURATION", "bound on a graceful stop of a worker (default 30s)" },
	[K_PING_TIMEOUT] = { "ping-timeout", S_DURATION, 1, DURATION_MAX, 5000,
	    "DURATION", "how long a serving worker may take to answer the supervisor's "
	    "liveness ping before it is killed and replaced (default 5s)" },
	/* At least a second: the supervisor sends every worker the ring at
	 * each rotation, and a ticket must outlive the round trip. */
	[K_TLS_TICKET_ROTATION] = { "tls-ticket-rotation", S_DURATION, 1000, DURATION_MAX,
	    12UL * 3600 * 1000, "DURATION", "how long a TLS session-ticket key encrypts new "
	    "tickets before the next one takes over; it decrypts for as long again "
	    "(1s..24h, default 12h)" },
	[K_TRUSTED_PROXIES] = { "trusted-proxies", S_CIDRS, 0, 0, 0, "CIDR,CIDR...",
	    "clients (proxies in front) whose X-Forwarded-*, Forwarded and request id "
	    "fields are kept and extended; the others' are replaced (none: no client, "
	    "the default)" },
	[K_ACCESS_LOG] = { "access-log", S_LOG, 0, 0, 0, "off|stderr|FILE",
	    "where each worker writes one line per request: off (the default), "
	    "stderr (the supervisor's), or FILE, an absolute path opened to append "
	    "(reopened by log reopen and SIGUSR1)" },
	[K_ACCESS_LOG_FORMAT] = { "access-log-format", S_FORMAT, 0, 0, 0, "TEMPLATE|json",
	    "an access-log line: a template of ${NAME} variables (doc/logs.html) or "
	    "json, one object per line (default: a template of every variable)" },
	[K_ACCESS_LOG_SAMPLE] = { "access-log-sample", S_UINT, 1, 1000000, 1, "N",
	    "log one request in N, per worker (1..1000000, default 1: every request)" },
	/* The words in the order of enum kk_log_format and kk_log_level. */
	[K_LOG_FORMAT] = { "log-format", S_CHOICE, 0, 0, 0, "text|json",
	    "the supervisor's and the workers' own log lines, audit lines included: "
	    "text (PROGRAM: LEVEL: message, the default) or json, one object per line" },
	[K_LOG_LEVEL] = { "log-level", S_CHOICE, 0, 0, 0, "info|warning",
	    "the least severe diagnostic logged: info (the default) or warning; audit "
	    "lines are always logged (also: kakehi-ctl log level)" },
	/* S_ADDR: off (NULL) or IPV4:PORT / [IPV6]:PORT; S_NAME: words of
	 * A-Z a-z 0-9 _ - joined by dots, NULL the default. */
	[K_STATSD] = { "statsd", S_ADDR, 0, 0, 0, "off|ADDR",
	    "where the supervisor sends the metrics in the statsd format over UDP, "
	    "every statsd-interval: off (the default) or IPV4:PORT, [IPV6]:PORT" },
	[K_STATSD_PREFIX] = { "statsd-prefix", S_NAME, 0, 0, 0, "NAME",
	    "the first part of every statsd metric name (default kakehi)" },
	[K_STATSD_INTERVAL] = { "statsd-interval", S_DURATION, 1000, DURATION_MAX, 10000,
	    "DURATION", "how often the statsd metrics are sent (1s..24h, default 10s)" },
};

static int
find(const char *key)
{
	for (int i = 0; i < K_COUNT; i++)
		if (!strcmp(table[i].key, key))
			return i;
	return -1;
}

static unsigned long
get_num(const kk_settings *s, int k)
{
	switch (k) {
	case K_WORKERS: return s->workers;
	case K_MAX_CONNECTIONS: return s->max_connections;
	case K_BUFFER_SIZE: return s->buffer_size;
	case K_BACKLOG: return s->backlog;
	case K_WORKER_TIMEOUT: return s->worker_timeout_ms;
	case K_DRAIN_TIMEOUT: return s->drain_timeout_ms;
	case K_PING_TIMEOUT: return s->ping_timeout_ms;
	case K_TLS_TICKET_ROTATION: return s->tls_ticket_rotation_ms;
	case K_ACCESS_LOG_SAMPLE: return s->access_log_sample;
	case K_LOG_FORMAT: return s->log_format;
	case K_LOG_LEVEL: return s->log_level;
	case K_STATSD_INTERVAL: return s->statsd_interval_ms;
	default: return 0;
	}
}

static void
set_num(kk_settings *s, int k, unsigned long v)
{
	switch (k) {
	case K_WORKERS: s->workers = v; break;
	case K_MAX_CONNECTIONS: s->max_connections = v; break;
	case K_BUFFER_SIZE: s->buffer_size = v; break;
	case K_BACKLOG: s->backlog = v; break;
	case K_WORKER_TIMEOUT: s->worker_timeout_ms = v; break;
	case K_DRAIN_TIMEOUT: s->drain_timeout_ms = v; break;
	case K_PING_TIMEOUT: s->ping_timeout_ms = v; break;
	case K_TLS_TICKET_ROTATION: s->tls_ticket_rotation_ms = v; break;
	case K_ACCESS_LOG_SAMPLE: s->access_log_sample = (unsigned)v; break;
	case K_LOG_FORMAT: s->log_format = (enum kk_log_format)v; break;
	case K_LOG_LEVEL: s->log_level = (enum kk_log_level)v; break;
	case K_STATSD_INTERVAL: s->statsd_interval_ms = v; break;
	default: break;
	}
}

/* The i-th word of an S_CHOICE key's metavar into word; 0 past the last. */
static int
choice_word(int k, unsigned long i, char *word, size_t n)
{
	const char *p = table[k].metavar;
	size_t len;
	for (;;) {
		len = strcspn(p, "|");
		if (!i--) break;
		if (!p[len]) return 0;
		p += len + 1;
	}
	snprintf(word, n, "%.*s", (int)len, p);
	return 1;
}

/* The number of value among an S_CHOICE key's words. 1 found, 0 not. */
static int
choice_scan(int k, const char *value, unsigned long *num)
{
	char word[32];
	for (unsigned long i = 0; choice_word(k, i, word, sizeof word); i++)
		if (!strcmp(word, value)) {
			*num = i;
			return 1;
		}
	return 0;
}

/* The string-valued settings: where each is kept, and the word that
 * stands for its unset (NULL) value. */
static char **
str_slot(kk_settings *s, int k)
{
	switch (k) {
	case K_COMMAND_SOCKET: return &s->command_socket;
	case K_ACCESS_LOG: return &s->access_log;
	case K_ACCESS_LOG_FORMAT: return &s->access_log_format;
	case K_STATSD: return &s->statsd;
	case K_STATSD_PREFIX: return &s->statsd_prefix;
	default: return NULL;
	}
}

static const char *
str_get(const kk_settings *s, int k)
{
	return *str_slot((kk_settings *)s, k);
}

static const char *
str_unset(int k)
{
	return k == K_ACCESS_LOG || k == K_STATSD ? "off" : "default";
}

static int
is_str(int k)
{
	return table[k].kind == S_PATH || table[k].kind == S_LOG || table[k].kind == S_FORMAT
	    || table[k].kind == S_ADDR || table[k].kind == S_NAME;
}

static int
cmp_uid(const void *a, const void *b)
{
	uid_t x = *(const uid_t *)a, y = *(const uid_t *)b;
	return x < y ? -1 : x > y;
}

/* "0,1000,33" into a sorted list without duplicates. */
static int
scan_uids(const char *value, uid_t *uids, unsigned *n, char *err, size_t errlen)
{
	unsigned count = 0;
	const char *p = value;
	if (!strcmp(value, "none") || !strcmp(value, "default")) {
		*n = 0;
		return 1;
	}
	for (;;) {
		char item[16];
		size_t len = strcspn(p, ",");
		unsigned long v;
		if (!len || len >= sizeof item) goto bad;
		memcpy(item, p, len);
		item[len] = 0;
		/* (uid_t)-1 means "no change" to chown(2): never a real uid. */
		if (!kk_scan_uint(item, 0, 4294967294UL, &v)) goto bad;
		unsigned i;
		for (i = 0; i < count; i++)
			if (uids[i] == (uid_t)v)
				break;
		if (i == count) {
			if (count == KK_MAX_UIDS) {
				snprintf(err, errlen, "allowed-uids: more than %u uids", KK_MAX_UIDS);
				return 0;
			}
			uids[count++] = (uid_t)v;
		}
		p += len;
		if (!*p) break;
		p++;
	}
	qsort(uids, count, sizeof *uids, cmp_uid);
	*n = count;
	return 1;
bad:
	snprintf(err, errlen, "allowed-uids: \"%s\" is not a comma-separated list of "
	    "numeric uids (e.g. 0,1000) or none", value);
	return 0;
}

/* "10.0.0.0/8,::1" into a list without duplicates, in the order given
 * (the order changes nothing: a client matches any). */
static int
scan_cidrs(const char *value, kk_cidr *list, unsigned *n, char *err, size_t errlen)
{
	unsigned count = 0;
	const char *p = value;
	if (!strcmp(value, "none")) {
		*n = 0;
		return 1;
	}
	for (;;) {
		char msg[160];
		size_t len = strcspn(p, ",");
		kk_cidr c;
		unsigned i;
		if (!kk_cidr_scan(&c, p, len, msg, sizeof msg)) {
			snprintf(err, errlen, "trusted-proxies: %s; give a comma-separated list "
			    "of prefixes, or none", msg);
			return 0;
		}
		for (i = 0; i < count; i++)
			if (list[i].bits == c.bits && !memcmp(list[i].a, c.a, 16))
				break;
		if (i == count) {
			if (count == KK_MAX_TRUSTED) {
				snprintf(err, errlen, "trusted-proxies: more than %u prefixes; "
				    "join neighbouring networks into shorter prefixes",
				    KK_MAX_TRUSTED);
				return 0;
			}
			list[count++] = c;
		}
		p += len;
		if (!*p) break;
		p++;
	}
	*n = count;
	return 1;
}

/* For key: value is an absolute path of at most max bytes (why: the
 * reason for max, or "") without control characters; want names what
 * the key takes, for the message. */
static int
check_abs_path(const char *key, const char *value, const char *want, size_t max,
    const char *why, char *err, size_t errlen)
{
	if (value[0] != '/') {
		snprintf(err, errlen, "%s: \"%s\" is not %s", key, value, want);
		return 0;
	}
	if (strlen(value) > max) {
		snprintf(err, errlen, "%s: path longer than %zu bytes%s", key, max, why);
		return 0;
	}
	for (const char *p = value; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen, "%s: control character in path", key);
			return 0;
		}
	return 1;
}

static int
check_path(const char *value, char *err, size_t errlen)
{
	return check_abs_path("command-socket", value, "an absolute path", SUN_PATH_MAX,
	    ", the limit of a unix socket address", err, errlen);
}

/* off, stderr, or an absolute path without control characters. */
static int
check_log(const char *value, char *err, size_t errlen)
{
	if (!strcmp(value, "off") || !strcmp(value, "stderr"))
		return 1;
	return check_abs_path("access-log", value, "off, stderr or an absolute path",
	    KK_LOGFMT_MAX, "", err, errlen);
}

static int
check_format(const char *value, char *err, size_t errlen)
{
	/* Large for a stack: the compiled form of a whole template. */
	static kk_logfmt scratch;
	return kk_logfmt_compile(&scratch, value, err, errlen);
}

/* off, or an address the supervisor can send to. */
static int
check_addr(const char *value, char *err, size_t errlen)
{
	kk_addr a;
	if (!strcmp(value, "off") || kk_addr_parse(&a, value))
		return 1;
	snprintf(err, errlen, "statsd: \"%s\" is not off or an address (IPV4:PORT or "
	    "[IPV6]:PORT, e.g. 127.0.0.1:8125)", value);
	return 0;
}

/* Dot-separated words of A-Z a-z 0-9 _ -, at most 64 bytes: what every
 * statsd server takes in a name. */
static int
check_name(const char *value, char *err, size_t errlen)
{
	size_t n = strlen(value), i;
	int ok = n >= 1 && n <= 64 && value[0] != '.' && value[n - 1] != '.';
	for (i = 0; ok && i < n; i++) {
		char c = value[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		    || c == '_' || c == '-' || (c == '.' && value[i + 1] != '.');
	}
	if (!ok)
		snprintf(err, errlen, "statsd-prefix: \"%s\" is not 1 to 64 bytes of A-Z a-z "
		    "0-9 _ - in dot-separated words", value);
	return ok;
}

static int
unknown_key(const char *key, char *err, size_t errlen)
{
	kk_str keys = KK_STR_ZERO;
	for (int i = 0; i < K_COUNT; i++)
		if (!kk_str_cats(&keys, i ? ", " : "") || !kk_str_cats(&keys, table[i].key))
			break;
	snprintf(err, errlen, "unknown setting \"%s\"; settings are: %s", key,
	    keys.s ? keys.s : "");
	kk_str_free(&keys);
	return 0;
}

/* Parses value for key k into *num, or for paths checks it. */
static int
scan_value(int k, const char *value, unsigned long *num, char *err, size_t errlen)
{
	const struct sdef *d = &table[k];
	if (!strcmp(value, "default")) {
		*num = d->def;
		return 1;
	}
	switch (d->kind) {
	case S_UINT:
		if (!kk_scan_uint(value, d->min, d->max, num)) {
			snprintf(err, errlen, "%s: \"%s\" is not a number in %lu..%lu",
			    d->key, value, d->min, d->max);
			return 0;
		}
		return 1;
	case S_DURATION:
		if (!kk_scan_duration_ms(value, num) || *num < d->min || *num > d->max) {
			char lo[KK_DURATION_FMTLEN], hi[KK_DURATION_FMTLEN];
			kk_fmt_duration_ms(lo, d->min);
			kk_fmt_duration_ms(hi, d->max);
			snprintf(err, errlen, "%s: \"%s\" is not a duration from %s to %s "
			    "(e.g. 500ms, 60s, 2m, 1h)", d->key, value, lo, hi);
			return 0;
		}
		return 1;
	case S_PATH:
		return check_path(value, err, errlen);
	case S_LOG:
		return check_log(value, err, errlen);
	case S_FORMAT:
		return check_format(value, err, errlen);
	case S_ADDR:
		return check_addr(value, err, errlen);
	case S_NAME:
		return check_name(value, err, errlen);
	case S_UIDS: {
		uid_t uids[KK_MAX_UIDS];
		unsigned n;
		return scan_uids(value, uids, &n, err, errlen);
	}
	case S_CIDRS: {
		kk_cidr list[KK_MAX_TRUSTED];
		unsigned n;
		return scan_cidrs(value, list, &n, err, errlen);
	}
	case S_CHOICE:
		if (!choice_scan(k, value, num)) {
			snprintf(err, errlen, "%s: \"%s\" is not one of %s", d->key, value,
			    d->metavar);
			return 0;
		}
		return 1;
	}
	return 0;
}

int
kk_setting_check(const char *key, const char *value, char *err, size_t errlen)
{
	unsigned long num;
	int k = find(key);
	if (k < 0) return unknown_key(key, err, errlen);
	return scan_value(k, value, &num, err, errlen);
}

int
kk_setting_apply(kk_settings *s, const char *key, const char *value, char *err, size_t errlen)
{
	unsigned long num;
	int k = find(key);
	if (k < 0) return unknown_key(key, err, errlen);
	if (!scan_value(k, value, &num, err, errlen)) return 0;
	switch (table[k].kind) {
	case S_UINT:
	case S_DURATION:
	case S_CHOICE:
		set_num(s, k, num);
		return 1;
	case S_PATH:
	case S_LOG:
	case S_FORMAT:
	case S_ADDR:
	case S_NAME: {
		char *copy = 0, **slot = str_slot(s, k);
		if (strcmp(value, "default") && strcmp(value, str_unset(k)) &&
		    !(copy = strdup(value))) {
			snprintf(err, errlen, "set %s: %s", key, strerror(errno));
			return 0;
		}
		free(*slot);
		*slot = copy;
		return 1;
	}
	case S_UIDS:
		return scan_uids(value, s->uids, &s->nuids, err, errlen);
	case S_CIDRS:
		if (!strcmp(value, "default")) {
			s->ntrusted = 0;
			return 1;
		}
		return scan_cidrs(value, s->trusted, &s->ntrusted, err, errlen);
	}
	return 0;
}

void
kk_setting_defaults(kk_settings *s)
{
	memset(s, 0, sizeof *s);
	for (int k = 0; k < K_COUNT; k++)
		if (table[k].kind == S_UINT || table[k].kind == S_DURATION)
			set_num(s, k, table[k].def);
}

int
kk_setting_copy(kk_settings *dst, const kk_settings *src)
{
	char *copy[K_COUNT] = { 0 };
	int k;
	for (k = 0; k < K_COUNT; k++)
		if (is_str(k) && str_get(src, k) && !(copy[k] = strdup(str_get(src, k))))
			goto fail;
	*dst = *src;
	for (k = 0; k < K_COUNT; k++)
		if (is_str(k))
			*str_slot(dst, k) = copy[k];
	return 1;
fail:
	for (k = 0; k < K_COUNT; k++)
		free(copy[k]);
	return 0;
}

void
kk_setting_free(kk_settings *s)
{
	for (int k = 0; k < K_COUNT; k++)
		if (is_str(k)) {
			free(*str_slot(s, k));
			*str_slot(s, k) = 0;
		}
}

static int
same(const kk_settings *a, const kk_settings *b, int k)
{
	switch (table[k].kind) {
	case S_UINT:
	case S_DURATION:
	case S_CHOICE:
		return get_num(a, k) == get_num(b, k);
	case S_PATH:
	case S_LOG:
	case S_FORMAT:
	case S_ADDR:
	case S_NAME:
		if (!str_get(a, k) || !str_get(b, k))
			return str_get(a, k) == str_get(b, k);
		return !strcmp(str_get(a, k), str_get(b, k));
	case S_UIDS:
		return a->nuids == b->nuids &&
		    !memcmp(a->uids, b->uids, a->nuids * sizeof *a->uids);
	case S_CIDRS:
		return a->ntrusted == b->ntrusted &&
		    !memcmp(a->trusted, b->trusted, a->ntrusted * sizeof *a->trusted);
	}
	return 1;
}

static int
cat_uids(kk_str *out, const kk_settings *s)
{
	for (unsigned i = 0; i < s->nuids; i++)
		if (!kk_str_catf(out, "%s%lu", i ? "," : "", (unsigned long)s->uids[i]))
			return 0;
	return 1;
}

/* The prefixes, comma-separated; in JSON each a string. */
static int
cat_cidrs(kk_str *out, const kk_settings *s, int json)
{
	for (unsigned i = 0; i < s->ntrusted; i++) {
		char buf[KK_CIDR_FMTLEN];
		kk_cidr_fmt(buf, &s->trusted[i]);
		if (!kk_str_cats(out, i ? "," : "")
		    || !(json ? kk_str_catjson(out, buf) : kk_str_cats(out, buf)))
			return 0;
	}
	return 1;
}

int
kk_setting_print(const kk_settings *s, const kk_settings *base, kk_str *out)
{
	for (int k = 0; k < K_COUNT; k++) {
		char dur[KK_DURATION_FMTLEN];
		if (same(s, base, k)) continue;
		if (!kk_str_catf(out, "set %s ", table[k].key)) return 0;
		switch (table[k].kind) {
		case S_UINT:
			if (!kk_str_catf(out, "%lu", get_num(s, k))) return 0;
			break;
		case S_DURATION:
			kk_fmt_duration_ms(dur, get_num(s, k));
			if (!kk_str_cats(out, dur)) return 0;
			break;
		case S_CHOICE:
			choice_word(k, get_num(s, k), dur, sizeof dur);
			if (!kk_str_cats(out, dur)) return 0;
			break;
		case S_PATH:
		case S_LOG:
		case S_FORMAT:
		case S_ADDR:
		case S_NAME:
			if (!kk_str_catword(out, str_get(s, k) ? str_get(s, k) : str_unset(k)))
				return 0;
			break;
		case S_UIDS:
			if (!(s->nuids ? cat_uids(out, s) : kk_str_cats(out, "none"))) return 0;
			break;
		case S_CIDRS:
			if (!(s->ntrusted ? cat_cidrs(out, s, 0) : kk_str_cats(out, "none")))
				return 0;
			break;
		}
		if (!kk_str_cats(out, "\n")) return 0;
	}
	return 1;
}

int
kk_setting_print_json(const kk_settings *s, kk_str *out)
{
	if (!kk_str_cats(out, "{")) return 0;
	for (int k = 0; k < K_COUNT; k++) {
		if (!kk_str_cats(out, k ? "," : "") || !kk_str_catjson(out, table[k].key)
		    || !kk_str_cats(out, ":"))
			return 0;
		switch (table[k].kind) {
		case S_UINT:
		case S_DURATION:
			/* Durations in milliseconds: numbers are easier on tools. */
			if (!kk_str_catf(out, "%lu", get_num(s, k))) return 0;
			break;
		case S_CHOICE: {
			char word[32];
			choice_word(k, get_num(s, k), word, sizeof word);
			if (!kk_str_catjson(out, word)) return 0;
			break;
		}
		case S_PATH:
		case S_LOG:
		case S_FORMAT:
		case S_ADDR:
		case S_NAME:
			if (!(str_get(s, k) ? kk_str_catjson(out, str_get(s, k))
			    : kk_str_cats(out, "null")))
				return 0;
			break;
		case S_UIDS:
			if (!kk_str_cats(out, "[") || !cat_uids(out, s) || !kk_str_cats(out, "]"))
				return 0;
			break;
		case S_CIDRS:
			if (!kk_str_cats(out, "[") || !cat_cidrs(out, s, 1)
			    || !kk_str_cats(out, "]"))
				return 0;
			break;
		}
	}
	return kk_str_cats(out, "}");
}

int
kk_setting_help(kk_str *out)
{
	for (int k = 0; k < K_COUNT; k++)
		if (!kk_str_catf(out, "    set %s %s: %s\n", table[k].key, table[k].metavar,
		    table[k].help))
			return 0;
	return 1;
}
