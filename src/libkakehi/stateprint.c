/* ISC license. */
/* Output of a state: canonical verb lines (the config and state file
 * format), JSON, the list verbs, and the atomic state file. Options come
 * in table order and defaults are left out, so equal states print equal
 * bytes. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <kakehi/action.h>
#include <kakehi/answer.h>
#include <kakehi/base64.h>
#include <kakehi/cert.h>
#include <kakehi/htpasswd.h>
#include <kakehi/clientca.h>
#include <kakehi/fmatch.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>
#include "certdir.h"
#include "setting.h"
#include "stateprint.h"

const char *const kk_lb_names[] = {
	"round-robin", "random", "least-connections", "p2c", "hash", 0
};
static const char *const hash_key_names[] = { "source", "path", "header", "cookie" };
const char *const kk_proto_names[] = { "http", "tcp", 0 };
const char *const kk_send_proxy_names[] = { 0, "v1", "v2" };

static int
cat_duration(kk_str *out, const char *opt, unsigned long ms, unsigned long def)
{
	char buf[KK_DURATION_FMTLEN];
	if (ms == def) return 1;
	kk_fmt_duration_ms(buf, ms);
	return kk_str_catf(out, " %s %s", opt, buf);
}

static int
cat_uint(kk_str *out, const char *opt, unsigned long n, unsigned long def)
{
	return n == def || kk_str_catf(out, " %s %lu", opt, n);
}

/* The HTTP/2 options of an http listener, defaults left out. */
static int
cat_h2(kk_str *out, const kk_h2opts *h)
{
	return (!h->no_h2c || kk_str_cats(out, " --no-h2c"))
	    && cat_uint(out, "--h2-max-streams", h->max_streams, KK_DEFAULT_H2_MAX_STREAMS)
	    && cat_uint(out, "--h2-window", h->window, KK_DEFAULT_H2_WINDOW)
	    && cat_uint(out, "--h2-max-frame", h->max_frame, KK_DEFAULT_H2_MAX_FRAME)
	    && cat_uint(out, "--h2-max-header-list", h->max_header_list,
		KK_DEFAULT_H2_MAX_HEADER_LIST)
	    && cat_uint(out, "--h2-max-resets", h->max_resets, KK_DEFAULT_H2_MAX_RESETS)
	    && cat_uint(out, "--h2-max-settings", h->max_settings, KK_DEFAULT_H2_MAX_SETTINGS)
	    && cat_uint(out, "--h2-max-pings", h->max_pings, KK_DEFAULT_H2_MAX_PINGS)
	    && cat_uint(out, "--h2-max-priority", h->max_priority, KK_DEFAULT_H2_MAX_PRIORITY)
	    && cat_uint(out, "--h2-max-window-updates", h->max_window_updates,
		KK_DEFAULT_H2_MAX_WINDOW_UPDATES)
	    && cat_uint(out, "--h2-max-empty-data", h->max_empty_data,
		KK_DEFAULT_H2_MAX_EMPTY_DATA)
	    && cat_uint(out, "--h2-max-continuations", h->max_continuations,
		KK_DEFAULT_H2_MAX_CONTINUATIONS);
}

/* An http listener's request limits, those it does not set left out. */
static int
cat_limits(kk_str *out, const kk_limits *m)
{
	return cat_uint(out, "--max-request-head", m->head, 0)
	    && cat_uint(out, "--max-headers", m->fields, 0)
	    && cat_uint(out, "--max-uri", m->uri, 0)
	    && cat_uint(out, "--max-body", m->body, 0);
}

/* The --forward names of the fields, in the table's order,
 * ','-separated; each a JSON string when json. */
static int
cat_forward_names(kk_str *out, unsigned fields, int json)
{
	int first = 1;
	for (unsigned i = 0; kk_forward_names[i]; i++) {
		if (!(fields & 1u << i))
			continue;
		if (!kk_str_cats(out, first ? "" : ",") || !(json
		    ? kk_str_catjson(out, kk_forward_names[i])
		    : kk_str_cats(out, kk_forward_names[i])))
			return 0;
		first = 0;
	}
	return 1;
}

/* An http listener's forwarding: the field list unless it is the
 * default, none as --no-forward, and the request id. */
static int
cat_forward(kk_str *out, const kk_forwarding *f)
{
	if (!f->fields && !kk_str_cats(out, " --no-forward"))
		return 0;
	if (f->fields && f->fields != KK_FORWARD_DEFAULT
	    && !(kk_str_cats(out, " --forward ") && cat_forward_names(out, f->fields, 0)))
		return 0;
	return !f->request_id[0] || kk_str_catf(out, " --request-id %s", f->request_id);
}

/* A value that starts as an option does goes after '=', where the
 * parser takes it as the value whatever it looks like. */
static int
cat_opt(kk_str *out, const char *opt, const char *word)
{
	if (!word) return 1;
	return kk_str_catf(out, " %s%s", opt, strncmp(word, "--", 2) ? " " : "=")
	    && kk_str_catword(out, word);
}

/* A frontend's extra matches (fmatch.h), in their canonical order. */
static int
cat_matches(kk_str *out, const char *extra)
{
	char word[KK_FMATCH_NAMEMAX + 1 + KK_FMATCH_VALUEMAX + 1];
	size_t pos = 0, n;
	kk_fmatch m;
	while (extra && kk_fmatch_next(extra, &pos, &m)) {
		n = (size_t)(m.value + m.vlen - m.name);
		if (n >= sizeof word)	/* longer than the parser lets through */
			return 0;
		memcpy(word, m.name, n);
		word[n] = 0;
		if (!cat_opt(out, kk_fmatch_option(m.where), word))
			return 0;
	}
	return 1;
}

/* A frontend's actions (action.h), in their order. */
/* The auth item a (htpasswd.h) as options: the file's bytes (DATA),
 * the file state save wrote in certdir (FILES), or its digest alone
 * (HIDDEN: state dump shows no hash of a user). */
static int
cat_auth(kk_str *out, const kk_action *a, enum kk_cert_form form, const char *certdir)
{
	kk_str name = KK_STR_ZERO;
	char hex[65];
	int ok;
	if (form == KK_CERT_FILES)
		ok = kk_auth_file(&name, a->value, a->vlen, certdir)
		    && cat_opt(out, "--htpasswd", name.s);
	else if (form == KK_CERT_HIDDEN)
		ok = kk_auth_digest(a->value, a->vlen, hex)
		    && kk_str_catf(out, " --htpasswd-data sha256:%s", hex);
	else
		ok = kk_str_cats(out, " --htpasswd-data ")
		    && kk_str_catb(out, a->value + 1, a->vlen - 1);
	kk_str_free(&name);
	if (!ok)
		return 0;
	if ((a->nlen != strlen(KK_AUTH_DEFAULT_REALM)
	    || memcmp(a->name, KK_AUTH_DEFAULT_REALM, a->nlen))) {
		char realm[KK_AUTH_REALMMAX + 1];
		if (a->nlen >= sizeof realm)
			return 0;
		memcpy(realm, a->name, a->nlen);
		realm[a->nlen] = 0;
		if (!cat_opt(out, "--auth-realm", realm))
			return 0;
	}
	return a->value[0] != 'f' || kk_str_cats(out, " --auth-forward");
}

static int
cat_actions(kk_str *out, const char *actions, enum kk_cert_form form, const char *certdir)
{
	char word[KK_ACTION_NAMEMAX + 1 + KK_ACTION_VALUEMAX + 1];
	size_t pos = 0;
	kk_action a;
	while (actions && kk_action_next(actions, &pos, &a)) {
		if (a.kind == KK_ACTION_AUTH) {
			if (!cat_auth(out, &a, form, certdir))
				return 0;
			continue;
		}
		if (a.nlen + 1 + a.vlen >= sizeof word)	/* longer than the parser lets through */
			return 0;
		if (a.op == KK_ACTION_REDIRECT) {
			memcpy(word, a.value, a.vlen);
			word[a.vlen] = 0;
			if (!kk_str_catf(out, " --redirect %.*s", (int)a.nlen, a.name)
			    || !cat_opt(out, "--location", word))
				return 0;
			continue;
		}
		if (a.op == KK_ACTION_PATH_REGEX) {
			/* Two words; a regex that starts as an option does goes
			 * after '='. */
			memcpy(word, a.name, a.nlen);
			word[a.nlen] = 0;
			if (!cat_opt(out, "--rewrite-path", word))
				return 0;
			memcpy(word, a.value, a.vlen);
			word[a.vlen] = 0;
			if (!kk_str_cats(out, " ") || !kk_str_catword(out, word))
				return 0;
			continue;
		}
		memcpy(word, a.name, a.nlen);
		word[a.nlen] = '=';
		memcpy(word + a.nlen + 1, a.value, a.vlen);
		word[KK_ACTION_HAS_VALUE(&a) ? a.nlen + 1 + a.vlen : a.nlen] = 0;
		if (!cat_opt(out, kk_action_option(a.kind, a.op), word))
			return 0;
	}
	return 1;
}

/* Indexed by the KK_TLS_* bits. */
static const char *const tls_version_names[] = { 0, "1.2", "1.3", "1.2,1.3" };

/* "CERTDIR/NAME.ca" as a word. */
static int
cat_client_ca_file(kk_str *out, const char *certdir, const char *name)
{
	kk_str file = KK_STR_ZERO;
	int ok = kk_str_catf(&file, "%s/%s.ca", certdir, name) && kk_str_catword(out, file.s);
	kk_str_free(&file);
	return ok;
}

/* The client CA: its bytes in the data form, else (state save) the file
 * it is written to in the certificates directory, named by its SHA-256
 * as kk_certdir_save names it. A CA holds nothing secret: state dump
 * shows its bytes. */
static int
cat_client_ca(kk_str *out, const kk_tls_policy *t, enum kk_cert_form form,
    const char *certdir)
{
	char name[65];
	int ok;
	if (!t->client_ca.len) return 1;
	if (form != KK_CERT_FILES)
		ok = kk_str_cats(out, " --client-ca-data ")
		    && kk_base64_encode(out, t->client_ca.p, t->client_ca.len);
	else
		ok = kk_clientca_name(&t->client_ca, name) && kk_str_cats(out, " --client-ca ")
		    && cat_client_ca_file(out, certdir, name);
	return ok && (t->client_auth == KK_CLIENT_AUTH_REQUIRED
	    || kk_str_cats(out, " --client-auth optional"));
}

/* An https listener's options, defaults left out. */
static int
cat_tls(kk_str *out, const kk_tls_policy *t, enum kk_cert_form form, const char *certdir)
{
	if (!t) return 1;
	return (t->versions == (KK_TLS_1_2 | KK_TLS_1_3)
		|| cat_opt(out, "--tls-versions", tls_version_names[t->versions]))
	    && cat_opt(out, "--ciphers", t->ciphers)
	    && cat_opt(out, "--groups", t->groups)
	    && cat_opt(out, "--alpn", t->alpn)
	    && cat_duration(out, "--handshake-timeout", t->handshake_timeout_ms,
		KK_DEFAULT_HANDSHAKE_TIMEOUT_MS)
	    && (!t->hsts_max_age || kk_str_catf(out, " --hsts %lu", t->hsts_max_age))
	    && (!(t->hsts_flags & KK_HSTS_SUBDOMAINS) || kk_str_cats(out, " --hsts-subdomains"))
	    && (!(t->hsts_flags & KK_HSTS_PRELOAD) || kk_str_cats(out, " --hsts-preload"))
	    && (t->strict_sni || kk_str_cats(out, " --no-strict-sni"))
	    && cat_opt(out, "--default-certificate", t->default_cert)
	    && cat_client_ca(out, t, form, certdir);
}

/* A tcp listener holds the defaults of the http-only timeouts (the parser
 * refuses them there), so they are left out like any default. */
static int
print_listener(kk_str *out, const kk_listener *l, const char *action,
    enum kk_cert_form form, const char *certdir)
{
	if (strcmp(action, "add"))
		return kk_str_catf(out, "listener %s ", action) && kk_str_catword(out, l->addr_text);
	return kk_str_catf(out, "listener add %s ", l->tls ? "https" : kk_proto_names[l->proto])
	    && kk_str_catword(out, l->addr_text)
	    && cat_opt(out, "--public-address", l->public_address)
	    && cat_duration(out, "--front-timeout", l->front_timeout_ms,
		KK_DEFAULT_FRONT_TIMEOUT_MS)
	    && cat_duration(out, "--request-timeout", l->request_timeout_ms,
		KK_DEFAULT_REQUEST_TIMEOUT_MS)
	    && cat_duration(out, "--back-timeout", l->back_timeout_ms,
		KK_DEFAULT_BACK_TIMEOUT_MS)
	    && cat_duration(out, "--connect-timeout", l->connect_timeout_ms,
		KK_DEFAULT_CONNECT_TIMEOUT_MS)
	    && cat_duration(out, "--tunnel-timeout", l->tunnel_timeout_ms,
		KK_DEFAULT_TUNNEL_TIMEOUT_MS)
	    && (!l->expect_proxy || kk_str_cats(out, " --expect-proxy"))
	    && (l->proto != KK_PROTO_HTTP || cat_h2(out, &l->h2))
	    && (l->proto != KK_PROTO_HTTP || cat_limits(out, &l->limits))
	    && (l->proto != KK_PROTO_HTTP || cat_forward(out, &l->forward))
	    && cat_tls(out, l->tls, form, certdir)
	    && kk_answer_print(out, l->answers)
	    && (!l->service || kk_str_catf(out, " --service %s", kk_service_name(l->service)));
}

int
kk_stateprint_listener(kk_str *out, const kk_listener *l, const char *action)
{
	return print_listener(out, l, action, KK_CERT_DATA, 0);
}

int
kk_stateprint_ca_file(kk_str *out, const kk_cluster_tls *t, const char *certdir)
{
	return kk_str_catf(out, "%s/%s.ca", certdir, t->ca_hash);
}

/* A --tls cluster's options; the CA in the data form, or naming its file
 * in certdir (KK_CERT_FILES). A CA is public: state dump shows its data. */
static int
cat_back_tls(kk_str *out, const kk_cluster_tls *t, enum kk_cert_form form,
    const char *certdir)
{
	kk_str name = KK_STR_ZERO;
	int ok;
	if (!t) return 1;
	if (!kk_str_cats(out, " --tls")) return 0;
	if (t->ca.len && form != KK_CERT_FILES
	    && (!kk_str_cats(out, " --ca-data ") || !kk_base64_encode(out, t->ca.p, t->ca.len)))
		return 0;
	if (t->ca.len && form == KK_CERT_FILES) {
		ok = kk_stateprint_ca_file(&name, t, certdir) && cat_opt(out, "--ca", name.s);
		kk_str_free(&name);
		if (!ok) return 0;
	}
	return cat_opt(out, "--sni", t->sni) && (t->verify || kk_str_cats(out, " --no-verify"));
}

/* --hash-key as its word: "header:x-user". */
static int
hash_key_word(kk_str *out, const kk_cluster *c)
{
	return kk_str_cats(out, hash_key_names[c->hash_key])
	    && (!c->hash_name || (kk_str_cats(out, ":") && kk_str_cats(out, c->hash_name)));
}

/* Nothing for the default, source. */
static int
cat_hash_key(kk_str *out, const kk_cluster *c)
{
	kk_str word = KK_STR_ZERO;
	int ok;
	if (c->hash_key == KK_HASH_SOURCE) return 1;
	ok = hash_key_word(&word, c) && cat_opt(out, "--hash-key", word.s);
	kk_str_free(&word);
	return ok;
}

/* A cluster's health check, as the line after its cluster add: the
 * check is an attribute of the cluster, so whatever prints the cluster
 * (a state, a list, a diff re-adding it) prints its check with it. */
static int
cat_health_check(kk_str *out, const kk_cluster *c)
{
	if (!c->hc.path) return 1;
	if (!kk_str_cats(out, "\ncluster health-check ") || !kk_str_catword(out, c->id)
	    || !cat_opt(out, "--path", c->hc.path) || !cat_opt(out, "--host", c->hc.host)
	    || !cat_duration(out, "--interval", c->hc.interval_ms, KK_HC_INTERVAL_MS)
	    || !cat_duration(out, "--timeout", c->hc.timeout_ms, KK_HC_TIMEOUT_MS)
	    || !cat_uint(out, "--rise", c->hc.rise, KK_HC_RISE)
	    || !cat_uint(out, "--fall", c->hc.fall, KK_HC_FALL))
		return 0;
	if (c->hc.expect_lo == KK_HC_EXPECT_LO && c->hc.expect_hi == KK_HC_EXPECT_HI) return 1;
	if (c->hc.expect_lo == c->hc.expect_hi)
		return kk_str_catf(out, " --expect %u", c->hc.expect_lo);
	return kk_str_catf(out, " --expect %u-%u", c->hc.expect_lo, c->hc.expect_hi);
}

static int
print_cluster(kk_str *out, const kk_cluster *c, const char *action, enum kk_cert_form form,
    const char *certdir)
{
	if (!kk_str_catf(out, "cluster %s ", action) || !kk_str_catword(out, c->id)) return 0;
	if (strcmp(action, "add")) return 1;
	return (c->lb == KK_LB_ROUND_ROBIN || kk_str_catf(out, " --lb %s", kk_lb_names[c->lb]))
	    && cat_hash_key(out, c)
	    && (!c->sticky || kk_str_cats(out, " --sticky"))
	    && cat_opt(out, "--sticky-cookie", c->sticky_cookie)
	    && cat_opt(out, "--send-proxy", kk_send_proxy_names[c->send_proxy])
	    && (!c->https_redirect || kk_str_catf(out, " --https-redirect %u",
		c->https_redirect))
	    && (!c->https_redirect || c->https_port == KK_DEFAULT_HTTPS_PORT
		|| kk_str_catf(out, " --https-port %u", c->https_port))
	    && (!c->h2 || kk_str_cats(out, " --h2"))
	    && cat_uint(out, "--queue", c->queue, KK_DEFAULT_QUEUE)
	    && cat_duration(out, "--queue-timeout", c->queue_timeout_ms, 0)
	    && cat_uint(out, "--max-fails", c->max_fails, KK_DEFAULT_MAX_FAILS)
	    && (!c->fail_5xx || kk_str_cats(out, " --fail-5xx"))
	    && cat_back_tls(out, c->tls, form, certdir)
	    && kk_answer_print(out, c->answers)
	    && cat_health_check(out, c);
}

int
kk_stateprint_cluster(kk_str *out, const kk_cluster *c, const char *action)
{
	return print_cluster(out, c, action, KK_CERT_DATA, 0);
}

static int
print_frontend(kk_str *out, const kk_frontend *f, const char *action,
    enum kk_cert_form form, const char *certdir)
{
	return kk_str_catf(out, "frontend %s ", action) && kk_str_catword(out, f->cluster)
	    && cat_opt(out, "--listener", f->listener)
	    && cat_opt(out, "--host", f->host)
	    && cat_opt(out, "--path", f->path_kind == KK_PATH_PREFIX ? f->path : 0)
	    && cat_opt(out, "--path-exact", f->path_kind == KK_PATH_EXACT ? f->path : 0)
	    && cat_opt(out, "--path-regex", f->path_kind == KK_PATH_REGEX ? f->path : 0)
	    && cat_opt(out, "--method", f->method)
	    && cat_matches(out, f->extra)
	    && cat_opt(out, "--sni", f->sni)
	    && (!strcmp(action, "remove") || !f->hsts_max_age
		|| kk_str_catf(out, " --hsts %lu", f->hsts_max_age))
	    && (!strcmp(action, "remove") || cat_actions(out, f->actions, form, certdir));
}

int
kk_stateprint_frontend(kk_str *out, const kk_frontend *f, const char *action)
{
	return print_frontend(out, f, action, KK_CERT_DATA, 0);
}

/* Whether no certificate before x has its fingerprint and its bytes. */
static int
first_of_bytes(const kk_state *st, const kk_certificate *x)
{
	for (const kk_certificate *z = st->certificates; z < x; z++)
		if (z->listener && !strcmp(z->fingerprint, x->fingerprint)
		    && kk_cert_same_blobs(z, x))
			return 0;
	return 1;
}

int
kk_stateprint_cert_file(kk_str *out, const kk_state *st, const kk_certificate *x,
    const char *certdir, const char *ext)
{
	unsigned nth = 0;
	/* Certificates are few, and share a fingerprint only when one is on
	 * several listeners: scans are enough. */
	for (const kk_certificate *y = st->certificates; y <= x; y++) {
		if (!y->listener || strcmp(y->fingerprint, x->fingerprint)
		    || !first_of_bytes(st, y))
			continue;
		nth++;
		if (kk_cert_same_blobs(y, x)) break;
	}
	if (nth > 1) return kk_str_catf(out, "%s/%s-%u.%s", certdir, x->fingerprint, nth, ext);
	return kk_str_catf(out, "%s/%s.%s", certdir, x->fingerprint, ext);
}

static int
cat_blob(kk_str *out, const char *opt, const kk_blob *b, const kk_state *st,
    const kk_certificate *x, enum kk_cert_form form, const char *certdir, const char *ext)
{
	kk_str name = KK_STR_ZERO;
	int ok;
	if (!b->len) return 1;
	if (form == KK_CERT_DATA)
		return kk_str_catf(out, " %s-data ", opt) && kk_base64_encode(out, b->p, b->len);
	ok = kk_stateprint_cert_file(&name, st, x, certdir, ext)
	    && kk_str_catf(out, " %s ", opt) && kk_str_catword(out, name.s);
	kk_str_free(&name);
	return ok;
}

static const char *const key_kind_names[] = { "rsa", "ec", "other" };

/* A certificate as state dump shows it: what it is, no key byte. */
static int
cat_hidden(kk_str *out, const kk_certificate *x)
{
	char when[KK_CERT_TIMELEN];
	kk_cert_fmt_time(when, x->not_after);
	if (!kk_str_cats(out, "# certificate add ") || !kk_str_catword(out, x->listener)
	    || !kk_str_catf(out, " # %s, %s key, not after %s, names", x->fingerprint,
		key_kind_names[x->key_kind], when))
		return 0;
	for (size_t i = 0; i < x->nnames; i++)
		if (!kk_str_catf(out, " %s", x->names[i])) return 0;
	return kk_str_cats(out, " (its files: state save FILE writes them to FILE.certs/)");
}

static int
print_certificate(kk_str *out, const kk_state *st, const kk_certificate *x,
    const char *action, enum kk_cert_form form, const char *certdir)
{
	if (strcmp(action, "add"))
		return kk_str_catf(out, "certificate %s ", action)
		    && kk_str_catword(out, x->listener) && kk_str_catf(out, " %s", x->fingerprint);
	if (form == KK_CERT_HIDDEN) return cat_hidden(out, x);
	return kk_str_cats(out, "certificate add ") && kk_str_catword(out, x->listener)
	    && cat_blob(out, "--cert", &x->cert, st, x, form, certdir, "crt")
	    && cat_blob(out, "--key", &x->key, st, x, form, certdir, "key")
	    && cat_blob(out, "--chain", &x->chain, st, x, form, certdir, "chain")
	    && cat_blob(out, "--ocsp", &x->ocsp, st, x, form, certdir, "ocsp");
}

int
kk_stateprint_certificate(kk_str *out, const kk_certificate *x, const char *action)
{
	return print_certificate(out, 0, x, action, KK_CERT_DATA, 0);
}

int
kk_stateprint_backend(kk_str *out, const kk_backend *b, const char *action)
{
	if (!kk_str_catf(out, "backend %s ", action) || !kk_str_catword(out, b->cluster)
	    || !kk_str_cats(out, " ") || !kk_str_catword(out, b->id))
		return 0;
	if (strcmp(action, "add")) return 1;
	return kk_str_cats(out, " ") && kk_str_catword(out, b->addr_text)
	    && (b->weight == KK_DEFAULT_WEIGHT || kk_str_catf(out, " --weight %u", b->weight))
	    && (!b->backup || kk_str_cats(out, " --backup"))
	    && (!b->max_conns || kk_str_catf(out, " --max-connections %u", b->max_conns))
	    && cat_duration(out, "--slow-start", b->slow_start_ms, 0);
}

int
kk_state_print(const kk_state *st, kk_str *out)
{
	return kk_state_print_form(st, KK_CERT_DATA, 0, out);
}

int
kk_state_print_form(const kk_state *st, enum kk_cert_form form, const char *certdir,
    kk_str *out)
{
	kk_settings defaults;
	size_t i, n, *order;
	kk_setting_defaults(&defaults);
	if (!kk_str_cats(out, "# kakehi state\n")) return 0;
	if (!kk_setting_print(&st->set, &defaults, out)) return 0;
	for (i = 0; i < st->nlisteners; i++)
		if (!print_listener(out, &st->listeners[i], "add", form, certdir)
		    || !kk_str_cats(out, "\n"))
			return 0;
	/* After the listeners they belong to; removed slots skipped. */
	for (i = 0; i < st->ncertificates; i++)
		if (st->certificates[i].listener && (!print_certificate(out, st,
		    &st->certificates[i], "add", form, certdir) || !kk_str_cats(out, "\n")))
			return 0;
	/* Removed slots (NULL) are skipped: see state.h. */
	for (i = 0; i < st->nclusters; i++)
		if (st->clusters[i].id && (!print_cluster(out, &st->clusters[i], "add", form,
		    certdir) || !kk_str_cats(out, "\n")))
			return 0;
	for (i = 0; i < st->nfrontends; i++)
		if (st->frontends[i].cluster && (!print_frontend(out, &st->frontends[i], "add",
		    form, certdir) || !kk_str_cats(out, "\n")))
			return 0;
	if (!(order = kk_stateprint_backend_order(st, &n))) return 0;
	for (i = 0; i < n; i++)
		if (!kk_stateprint_backend(out, &st->backends[order[i]], "add")
		    || !kk_str_cats(out, "\n")) {
			free(order);
			return 0;
		}
	free(order);
	return 1;
}

size_t *
kk_stateprint_backend_order(const kk_state *st, size_t *n)
{
	size_t *start = calloc(st->nclusters + 2, sizeof *start);
	size_t *slot = malloc((st->nbackends + 1) * sizeof *slot);
	size_t *order = malloc((st->nbackends + 1) * sizeof *order);
	const kk_cluster *last = 0;
	size_t i;
	if (!start || !slot || !order) {
		free(start);
		free(slot);
		free(order);
		return 0;
	}
	/* Counting sort by cluster slot, stable: state order within each.
	 * A backend's cluster is most often the previous backend's or the
	 * one after it (a file lists sites in order): tried in place before
	 * a lookup, each a cache miss in a large state. */
	for (i = 0; i < st->nbackends; i++) {
		const char *id = st->backends[i].cluster;
		const kk_cluster *c = last;
		if (!id) c = 0;
		else if (!c || strcmp(c->id, id)) {
			c = c && (size_t)(c - st->clusters) + 1 < st->nclusters ? c + 1 : 0;
			if (!c || !c->id || strcmp(c->id, id)) c = kk_state_cluster(st, id);
			last = c;
		}
		slot[i] = c ? (size_t)(c - st->clusters) + 1 : 0;
		start[slot[i] + 1]++;
	}
	for (i = 1; i <= st->nclusters + 1; i++)
		start[i] += start[i - 1];
	for (i = 0; i < st->nbackends; i++)
		order[start[slot[i]]++] = i;
	/* Slot 0 (removed backends) sorts first: skip it. */
	*n = st->nbackends - start[0];
	memmove(order, order + start[0], *n * sizeof *order);
	free(start);
	free(slot);
	return order;
}

/* "key":value pairs; a NULL string is null. */
static int
json_str(kk_str *out, const char *key, const char *value, int first)
{
	return kk_str_cats(out, first ? "" : ",") && kk_str_catjson(out, key)
	    && kk_str_cats(out, ":") && (value ? kk_str_catjson(out, value)
		: kk_str_cats(out, "null"));
}

static int
json_num(kk_str *out, const char *key, unsigned long value)
{
	return kk_str_cats(out, ",") && kk_str_catjson(out, key)
	    && kk_str_catf(out, ":%lu", value);
}

static int
json_bool(kk_str *out, const char *key, int value)
{
	return kk_str_cats(out, ",") && kk_str_catjson(out, key)
	    && kk_str_cats(out, value ? ":true" : ":false");
}

/* The client CA by its SHA-256 (null: none), and what it demands. */
static int
json_client_ca(kk_str *out, const kk_tls_policy *t)
{
	char name[65];
	if (t->client_ca.len && !kk_clientca_name(&t->client_ca, name)) return 0;
	return json_str(out, "client-ca-sha256", t->client_ca.len ? name : 0, 0)
	    && json_str(out, "client-auth", !t->client_ca.len ? "none"
		: t->client_auth == KK_CLIENT_AUTH_OPTIONAL ? "optional" : "required", 0);
}

/* An https listener's policy under "tls", the defaults spelt out;
 * absent on a plain listener. */
static int
json_tls(kk_str *out, const kk_tls_policy *t)
{
	if (!t) return 1;
	return kk_str_cats(out, ",\"tls\":{")
	    && json_str(out, "versions", t->versions == KK_TLS_1_2 ? "1.2"
		: t->versions == KK_TLS_1_3 ? "1.3" : "1.2,1.3", 1)
	    && json_str(out, "ciphers", t->ciphers, 0)
	    && json_str(out, "groups", t->groups, 0)
	    && json_str(out, "alpn", t->alpn ? t->alpn : KK_DEFAULT_ALPN, 0)
	    && json_num(out, "handshake-timeout", t->handshake_timeout_ms)
	    && json_num(out, "hsts", t->hsts_max_age)
	    && json_bool(out, "hsts-subdomains", !!(t->hsts_flags & KK_HSTS_SUBDOMAINS))
	    && json_bool(out, "hsts-preload", !!(t->hsts_flags & KK_HSTS_PRELOAD))
	    && json_bool(out, "strict-sni", t->strict_sni)
	    && json_str(out, "default-certificate", t->default_cert, 0)
	    && json_client_ca(out, t)
	    && kk_str_cats(out, "}");
}

/* "forward": the fields written, by their --forward names; "request-id":
 * the field's name, or null. */
static int
json_forward(kk_str *out, const kk_forwarding *f)
{
	return kk_str_cats(out, ",\"forward\":[") && cat_forward_names(out, f->fields, 1)
	    && kk_str_cats(out, "]")
	    && json_str(out, "request-id", f->request_id[0] ? f->request_id : 0, 0);
}

/* Durations in milliseconds, under the option's name; the timeouts only
 * http listeners have are absent from a tcp listener. */
static int
json_listener(kk_str *out, const kk_listener *l)
{
	int http = l->proto == KK_PROTO_HTTP;
	return kk_str_cats(out, "{") && json_str(out, "address", l->addr_text, 1)
	    && json_str(out, "protocol", l->tls ? "https" : kk_proto_names[l->proto], 0)
	    && json_str(out, "public-address", l->public_address, 0)
	    && json_num(out, "front-timeout", l->front_timeout_ms)
	    && (!http || json_num(out, "request-timeout", l->request_timeout_ms))
	    && (!http || json_num(out, "back-timeout", l->back_timeout_ms))
	    && json_num(out, "connect-timeout", l->connect_timeout_ms)
	    && (!http || json_num(out, "tunnel-timeout", l->tunnel_timeout_ms))
	    && json_bool(out, "expect-proxy", l->expect_proxy)
	    && (!l->service || json_str(out, "service", kk_service_name(l->service), 0))
	    && (!http || (json_bool(out, "h2c", !l->h2.no_h2c)
		&& json_num(out, "h2-max-streams", l->h2.max_streams)
		&& json_num(out, "h2-window", l->h2.window)
		&& json_num(out, "h2-max-frame", l->h2.max_frame)
		&& json_num(out, "h2-max-header-list", l->h2.max_header_list)
		&& json_num(out, "h2-max-resets", l->h2.max_resets)
		&& json_num(out, "h2-max-settings", l->h2.max_settings)
		&& json_num(out, "h2-max-pings", l->h2.max_pings)
		&& json_num(out, "h2-max-priority", l->h2.max_priority)
		&& json_num(out, "h2-max-window-updates", l->h2.max_window_updates)
		&& json_num(out, "h2-max-empty-data", l->h2.max_empty_data)
		&& json_num(out, "h2-max-continuations", l->h2.max_continuations)
		&& json_num(out, "max-request-head", l->limits.head)
		&& json_num(out, "max-headers", l->limits.fields)
		&& json_num(out, "max-uri", l->limits.uri)
		&& json_num(out, "max-body", l->limits.body)
		&& json_forward(out, &l->forward)))
	    && json_tls(out, l->tls)
	    && kk_str_cats(out, "}");
}

static int
json_hash_key(kk_str *out, const kk_cluster *c)
{
	kk_str word = KK_STR_ZERO;
	int ok = hash_key_word(&word, c) && json_str(out, "hash-key", word.s, 0);
	kk_str_free(&word);
	return ok;
}

static int
json_cluster(kk_str *out, const kk_cluster *c)
{
	return kk_str_cats(out, "{") && json_str(out, "id", c->id, 1)
	    && json_str(out, "lb", kk_lb_names[c->lb], 0)
	    && (c->lb != KK_LB_HASH || json_hash_key(out, c))
	    && (!c->sticky || (json_bool(out, "sticky", 1) && json_str(out, "sticky-cookie",
		c->sticky_cookie ? c->sticky_cookie : KK_STICKY_COOKIE, 0)))
	    && json_str(out, "send-proxy", kk_send_proxy_names[c->send_proxy], 0)
	    && (!c->https_redirect || (json_num(out, "https-redirect", c->https_redirect)
		&& json_num(out, "https-port", c->https_port)))
	    && (!c->h2 || json_bool(out, "h2", 1))
	    && json_num(out, "queue", c->queue)
	    && (!c->queue_timeout_ms || json_num(out, "queue-timeout", c->queue_timeout_ms))
	    && (c->max_fails == KK_DEFAULT_MAX_FAILS || json_num(out, "max-fails", c->max_fails))
	    && (!c->fail_5xx || json_bool(out, "fail-5xx", 1))
	    && (!c->hc.path || (kk_str_cats(out, ",\"health-check\":{")
		&& json_str(out, "path", c->hc.path, 1) && json_str(out, "host", c->hc.host, 0)
		&& json_num(out, "interval", c->hc.interval_ms)
		&& json_num(out, "timeout", c->hc.timeout_ms)
		&& json_num(out, "rise", c->hc.rise) && json_num(out, "fall", c->hc.fall)
		&& json_num(out, "expect-min", c->hc.expect_lo)
		&& json_num(out, "expect-max", c->hc.expect_hi) && kk_str_cats(out, "}")))
	    && (!c->tls || (kk_str_cats(out, ",\"tls\":{")
		&& json_str(out, "ca", c->tls->ca.len ? c->tls->ca_hash : 0, 1)
		&& json_str(out, "sni", c->tls->sni, 0)
		&& json_bool(out, "verify", c->tls->verify) && kk_str_cats(out, "}")))
	    && kk_str_cats(out, "}");
}

/* The extra matches as an array of {"kind","name","op","value"}, op one
 * of "present", "equal", "regex"; none when the frontend has none. */
static int
json_matches(kk_str *out, const char *extra)
{
	char name[KK_FMATCH_NAMEMAX + 1], value[KK_FMATCH_VALUEMAX + 1];
	size_t pos = 0;
	kk_fmatch m;
	int first = 1;
	if (!extra)
		return 1;
	if (!kk_str_cats(out, ",\"matches\":["))
		return 0;
	while (kk_fmatch_next(extra, &pos, &m)) {
		if (m.nlen >= sizeof name || m.vlen >= sizeof value)
			return 0;
		memcpy(name, m.name, m.nlen);
		name[m.nlen] = 0;
		memcpy(value, m.value, m.vlen);
		value[m.vlen] = 0;
		if (!kk_str_cats(out, first ? "{" : ",{")
		    || !json_str(out, "kind", kk_fmatch_option(m.where) + 2, 1)
		    || !json_str(out, "name", name, 0)
		    || !json_str(out, "op", m.op == KK_FMATCH_EQUAL ? "equal" : m.op
			== KK_FMATCH_REGEX ? "regex" : "present", 0)
		    || (m.op && !json_str(out, "value", value, 0))
		    || !kk_str_cats(out, "}"))
			return 0;
		first = 0;
	}
	return kk_str_cats(out, "]");
}

/* The actions as an array in their order: {"direction","op","name",
 * "value"} for a header edit, direction "request" or "response", op
 * "add", "set" or "delete" (no value); {"op":"deny","status"} for a
 * refusal, {"op":"redirect","status","location"} for a redirect,
 * {"op":"rewrite-path-prefix","from","to"} and {"op":"rewrite-host",
 * "host"} for the rewrites; none when the frontend has none. */
static int
json_actions(kk_str *out, const char *actions)
{
	char name[KK_ACTION_NAMEMAX + 1], value[KK_ACTION_VALUEMAX + 1];
	size_t pos = 0;
	kk_action a;
	int first = 1;
	if (!actions)
		return 1;
	if (!kk_str_cats(out, ",\"actions\":["))
		return 0;
	while (kk_action_next(actions, &pos, &a)) {
		if (a.kind == KK_ACTION_AUTH) {
			char hex[65];
			if (a.nlen >= sizeof name || !kk_auth_digest(a.value, a.vlen, hex))
				return 0;
			memcpy(name, a.name, a.nlen);
			name[a.nlen] = 0;
			if (!kk_str_cats(out, first ? "{" : ",{")
			    || !json_str(out, "op", "basic-auth", 1) || !json_str(out, "realm", name, 0)
			    || !kk_str_catf(out, ",\"forward\":%s,\"sha256\":\"%s\"}",
				a.value[0] == 'f' ? "true" : "false", hex))
				return 0;
			first = 0;
			continue;
		}
		if (a.nlen >= sizeof name || a.vlen >= sizeof value)
			return 0;
		memcpy(name, a.name, a.nlen);
		name[a.nlen] = 0;
		memcpy(value, a.value, a.vlen);
		value[a.vlen] = 0;
		if (!kk_str_cats(out, first ? "{" : ",{"))
			return 0;
		first = 0;
		if (a.kind == KK_ACTION_ANSWER) {
			if (!json_str(out, "op", a.op == KK_ACTION_DENY ? "deny" : "redirect", 1)
			    || !kk_str_catf(out, ",\"status\":%s", name)
			    || (a.op == KK_ACTION_REDIRECT && !json_str(out, "location", value, 0))
			    || !kk_str_cats(out, "}"))
				return 0;
			continue;
		}
		if (a.op == KK_ACTION_PATH_REGEX) {
			if (!json_str(out, "op", "rewrite-path", 1) || !json_str(out, "regex", name, 0)
			    || !json_str(out, "template", value, 0) || !kk_str_cats(out, "}"))
				return 0;
			continue;
		}
		if (a.op == KK_ACTION_PATH_PREFIX || a.op == KK_ACTION_HOST) {
			if (!json_str(out, "op", a.op == KK_ACTION_HOST ? "rewrite-host"
			    : "rewrite-path-prefix", 1)
			    || !json_str(out, a.op == KK_ACTION_HOST ? "host" : "from", name, 0)
			    || (a.op == KK_ACTION_PATH_PREFIX && !json_str(out, "to", value, 0))
			    || !kk_str_cats(out, "}"))
				return 0;
			continue;
		}
		if (!json_str(out, "direction", a.kind == KK_ACTION_REQUEST ? "request"
			: "response", 1)
		    || !json_str(out, "op", a.op == KK_ACTION_ADD ? "add" : a.op == KK_ACTION_SET
			? "set" : "delete", 0)
		    || !json_str(out, "name", name, 0)
		    || (a.op != KK_ACTION_DELETE && !json_str(out, "value", value, 0))
		    || !kk_str_cats(out, "}"))
			return 0;
	}
	return kk_str_cats(out, "]");
}

static int
json_frontend(kk_str *out, const kk_frontend *f)
{
	static const char *const kinds[] = { "any", "prefix", "exact", "regex" };
	return kk_str_cats(out, "{") && json_str(out, "cluster", f->cluster, 1)
	    && json_str(out, "listener", f->listener, 0)
	    && json_str(out, "host", f->host, 0)
	    && json_str(out, "path-match", kinds[f->path_kind], 0)
	    && json_str(out, "path", f->path, 0)
	    && json_str(out, "method", f->method, 0)
	    && json_matches(out, f->extra)
	    && json_str(out, "sni", f->sni, 0)
	    && (!f->hsts_max_age || json_num(out, "hsts", f->hsts_max_age))
	    && json_actions(out, f->actions)
	    && kk_str_cats(out, "}");
}

static int
json_backend(kk_str *out, const kk_backend *b)
{
	return kk_str_cats(out, "{") && json_str(out, "cluster", b->cluster, 1)
	    && json_str(out, "id", b->id, 0) && json_str(out, "address", b->addr_text, 0)
	    && json_num(out, "weight", b->weight) && json_bool(out, "backup", b->backup)
	    && (!b->max_conns || json_num(out, "max-connections", b->max_conns))
	    && (!b->slow_start_ms || json_num(out, "slow-start", b->slow_start_ms))
	    && kk_str_cats(out, "}");
}

/* What certificate list shows: never a byte of the files. */
static int
json_certificate(kk_str *out, const kk_certificate *x)
{
	char before[KK_CERT_TIMELEN], after[KK_CERT_TIMELEN];
	kk_cert_fmt_time(before, x->not_before);
	kk_cert_fmt_time(after, x->not_after);
	if (!kk_str_cats(out, "{") || !json_str(out, "listener", x->listener, 1)
	    || !json_str(out, "fingerprint", x->fingerprint, 0)
	    || !kk_str_cats(out, ",\"names\":["))
		return 0;
	for (size_t i = 0; i < x->nnames; i++)
		if ((i && !kk_str_cats(out, ",")) || !kk_str_catjson(out, x->names[i])) return 0;
	return kk_str_cats(out, "]") && json_str(out, "not-before", before, 0)
	    && json_str(out, "not-after", after, 0)
	    && json_str(out, "key", key_kind_names[x->key_kind], 0)
	    && json_bool(out, "chain", x->chain.len > 0)
	    && json_bool(out, "ocsp", x->ocsp.len > 0) && kk_str_cats(out, "}");
}

static int
line_certificate(kk_str *out, const kk_certificate *x)
{
	char after[KK_CERT_TIMELEN];
	kk_cert_fmt_time(after, x->not_after);
	if (!kk_str_catword(out, x->listener)
	    || !kk_str_catf(out, " %s not-after %s key %s%s%s names", x->fingerprint, after,
		key_kind_names[x->key_kind], x->chain.len ? " chain" : "",
		x->ocsp.len ? " ocsp" : ""))
		return 0;
	for (size_t i = 0; i < x->nnames; i++)
		if (!kk_str_catf(out, " %s", x->names[i])) return 0;
	return 1;
}

/* Which objects a list shows, and how. */
struct listing {
	const kk_state *st;
	enum kk_verb_id id;
	const char *cluster;	/* NULL: all; certificate list: the listener */
};

static size_t
listing_count(const struct listing *ls)
{
	switch (ls->id) {
	case KK_V_LISTENER_LIST: return ls->st->nlisteners;
	case KK_V_CLUSTER_LIST: return ls->st->nclusters;
	case KK_V_FRONTEND_LIST: return ls->st->nfrontends;
	case KK_V_CERTIFICATE_LIST: return ls->st->ncertificates;
	default: return ls->st->nbackends;
	}
}

/* Appends object i, as JSON or as its add line; 2 when filtered out or
 * a removed slot. */
static int
listing_item(const struct listing *ls, size_t i, int json, kk_str *out)
{
	const kk_state *st = ls->st;
	switch (ls->id) {
	case KK_V_LISTENER_LIST:
		return json ? json_listener(out, &st->listeners[i])
		    : kk_stateprint_listener(out, &st->listeners[i], "add");
	case KK_V_CLUSTER_LIST:
		if (!st->clusters[i].id) return 2;
		return json ? json_cluster(out, &st->clusters[i])
		    : kk_stateprint_cluster(out, &st->clusters[i], "add");
	case KK_V_FRONTEND_LIST:
		if (!st->frontends[i].cluster) return 2;
		if (ls->cluster && strcmp(ls->cluster, st->frontends[i].cluster)) return 2;
		return json ? json_frontend(out, &st->frontends[i])
		    : kk_stateprint_frontend(out, &st->frontends[i], "add");
	case KK_V_CERTIFICATE_LIST:
		if (!st->certificates[i].listener) return 2;
		if (ls->cluster && strcmp(ls->cluster, st->certificates[i].listener)) return 2;
		return json ? json_certificate(out, &st->certificates[i])
		    : line_certificate(out, &st->certificates[i]);
	default:
		if (!st->backends[i].cluster) return 2;
		if (ls->cluster && strcmp(ls->cluster, st->backends[i].cluster)) return 2;
		return json ? json_backend(out, &st->backends[i])
		    : kk_stateprint_backend(out, &st->backends[i], "add");
	}
}

static int
json_array(const struct listing *ls, kk_str *out)
{
	size_t n = listing_count(ls), shown = 0;
	if (!kk_str_cats(out, "[")) return 0;
	for (size_t i = 0; i < n; i++) {
		size_t mark = out->len;
		int r;
		if (shown && !kk_str_cats(out, ",")) return 0;
		r = listing_item(ls, i, 1, out);
		if (!r) return 0;
		if (r == 2) {
			out->len = mark;
			if (out->s) out->s[mark] = 0;
			continue;
		}
		shown++;
	}
	return kk_str_cats(out, "]");
}

int
kk_state_print_json(const kk_state *st, kk_str *out)
{
	struct listing ls = { st, KK_V_LISTENER_LIST, 0 };
	if (!kk_str_cats(out, "{\"settings\":") || !kk_setting_print_json(&st->set, out))
		return 0;
	if (!kk_str_cats(out, ",\"listeners\":") || !json_array(&ls, out)) return 0;
	ls.id = KK_V_CLUSTER_LIST;
	if (!kk_str_cats(out, ",\"clusters\":") || !json_array(&ls, out)) return 0;
	ls.id = KK_V_FRONTEND_LIST;
	if (!kk_str_cats(out, ",\"frontends\":") || !json_array(&ls, out)) return 0;
	ls.id = KK_V_BACKEND_LIST;
	if (!kk_str_cats(out, ",\"backends\":") || !json_array(&ls, out)) return 0;
	ls.id = KK_V_CERTIFICATE_LIST;
	if (!kk_str_cats(out, ",\"certificates\":") || !json_array(&ls, out)) return 0;
	return kk_str_cats(out, "}");
}

int
kk_state_list(const kk_state *st, const kk_verb *v, int json, kk_str *out, char *err,
    size_t errlen)
{
	struct listing ls = { st, v->def->id, 0 };
	size_t n;
	switch (v->def->id) {
	case KK_V_FRONTEND_LIST:
	case KK_V_BACKEND_LIST:
		ls.cluster = v->npos ? v->pos[0] : 0;
		if (ls.cluster && !kk_state_cluster(st, ls.cluster)) {
			snprintf(err, errlen, "%s list: cluster \"%s\" does not exist; see: "
			    "cluster list", v->def->word1, ls.cluster);
			return 0;
		}
		break;
	case KK_V_CERTIFICATE_LIST:
		if (v->npos) {
			char text[KK_ADDR_FMTLEN];
			kk_addr a;
			const kk_listener *l = 0;
			if (kk_addr_parse(&a, v->pos[0])) {
				kk_addr_fmt(text, &a);
				l = kk_state_listener(st, text);
			}
			if (!l || !l->tls) {
				snprintf(err, errlen, "certificate list: %s is not an https "
				    "listener; see: listener list", v->pos[0]);
				return 0;
			}
			ls.cluster = l->addr_text;
		}
		break;
	case KK_V_LISTENER_LIST:
	case KK_V_CLUSTER_LIST:
		break;
	default:
		snprintf(err, errlen, "%s%s%s: not a list verb", v->def->word1,
		    v->def->word2 ? " " : "", v->def->word2 ? v->def->word2 : "");
		return 0;
	}
	if (json) {
		if (json_array(&ls, out)) return 1;
		goto nomem;
	}
	n = listing_count(&ls);
	for (size_t i = 0; i < n; i++) {
		int r = listing_item(&ls, i, 0, out);
		if (!r || (r == 1 && !kk_str_cats(out, "\n"))) goto nomem;
	}
	return 1;
nomem:
	snprintf(err, errlen, "%s list: out of memory", v->def->word1);
	return 0;
}

static int
write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);
		if (n < 0) {
			if (errno == EINTR) continue;
			return 0;
		}
		s += n;
		len -= (size_t)n;
	}
	return 1;
}

int
kk_state_save_file(const kk_state *st, const char *path, char *err, size_t errlen)
{
	kk_str text = KK_STR_ZERO, tmp = KK_STR_ZERO, dir = KK_STR_ZERO, certs = KK_STR_ZERO;
	const char *slash = strrchr(path, '/');
	const char *what = "write";
	int fd = -1, dfd, e;
	/* The certificates' files first: the state then names files that
	 * are all there. */
	if (!kk_certdir_save(st, path, &certs, err, errlen)) {
		kk_str_free(&certs);
		return 0;
	}
	e = kk_state_print_form(st, KK_CERT_FILES, certs.s, &text);
	kk_str_free(&certs);
	if (!e) {
		snprintf(err, errlen, "unable to save state to %s: out of memory", path);
		return 0;
	}
	/* The temporary name is unique per process and attempt; O_EXCL
	 * refuses to follow a planted link or share a name. */
	for (unsigned attempt = 0; fd < 0; attempt++) {
		kk_str_reset(&tmp);
		if (!kk_str_catb(&tmp, path, slash ? (size_t)(slash - path + 1) : 0)
		    || !kk_str_catf(&tmp, ".%s.tmp.%ld.%u", slash ? slash + 1 : path,
			(long)getpid(), attempt)) {
			errno = ENOMEM;
			what = "create a temporary file for";
			goto fail;
		}
		fd = open(tmp.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && (errno != EEXIST || attempt >= 100)) {
			e = errno;
			snprintf(err, errlen, "unable to save state to %s: unable to create %s: %s",
			    path, tmp.s, strerror(e));
			kk_str_free(&text);
			kk_str_free(&tmp);
			return 0;
		}
	}
	if (!write_all(fd, text.s, text.len)) goto fail;
	what = "sync";
	if (fsync(fd) < 0) goto fail;
	what = "close";
	e = close(fd);
	fd = -1;
	if (e < 0) goto fail;
	what = "rename the temporary file onto";
	if (rename(tmp.s, path) < 0) goto fail;
	/* The rename is durable only once the directory is synced; failing
	 * that is reported, though the new file is already in place. */
	if (!kk_str_catb(&dir, path, slash ? (size_t)(slash == path ? 1 : slash - path) : 1)) {
		errno = ENOMEM;
		goto dirfail;
	}
	if (!slash) dir.s[0] = '.';
	if ((dfd = open(dir.s, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) goto dirfail;
	if (fsync(dfd) < 0 && errno != EINVAL) {
		e = errno;
		close(dfd);
		errno = e;
		goto dirfail;
	}
	close(dfd);
	kk_str_free(&text);
	kk_str_free(&tmp);
	kk_str_free(&dir);
	return 1;
dirfail:
	e = errno;
	snprintf(err, errlen, "saved state to %s but unable to sync its directory: %s", path,
	    strerror(e));
	kk_str_free(&text);
	kk_str_free(&tmp);
	kk_str_free(&dir);
	return 0;
fail:
	e = errno;
	if (fd >= 0) close(fd);
	if (tmp.s) unlink(tmp.s);
	snprintf(err, errlen, "unable to save state to %s: unable to %s it: %s", path, what,
	    strerror(e));
	kk_str_free(&text);
	kk_str_free(&tmp);
	kk_str_free(&dir);
	return 0;
}
