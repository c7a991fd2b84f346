/* ISC license. */
/* An https listener's TLS context: the SSL_CTX its policy makes, and the
 * certificate index the ClientHello consults (tlsctx.h has the rules).
 * The index is two chained hash tables whose links live in the
 * certificates themselves: names (exact ones and "*." wildcards, as the
 * certificate spells them) to the certificates carrying them, and
 * fingerprints to certificates. Linking and unlinking only move
 * pointers; the one allocation, a larger bucket array, happens while a
 * certificate is prepared, so a batch that fails leaves the index as it
 * was. Which library the worker uses is tlshello.c's business. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <kakehi/index.h>
#include "list.h"
#include "tls.h"
#include "tlsctx.h"
#include "tlskeys.h"
#include "tlspeer.h"

/* kakehi's defaults (doc/tls.html): forward secrecy and AEAD only, no
 * CBC (LUCKY13 and the like), no RSA key exchange; X25519 first. TLS 1.3
 * suites are the library's own, all of them AEAD. */
#define DEFAULT_CIPHERS "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define DEFAULT_GROUPS "X25519:P-256:P-384"
/* DNS names are at most 253 bytes (RFC 1035 §2.3.4). */
#define NAME_MAX_LEN 253

/* A name of a certificate, linked in the context's name table. */
typedef struct binding binding;
struct binding {
	binding *next;		/* same bucket */
	kk_tlscert *x;
	const char *name;	/* lower case, in the certificate's block */
	size_t len;
	uint32_t hash;
};

struct kk_tlscert {
	unsigned refs;		/* the index's, and each connection it was served on */
	kk_link order;		/* the context's certificates, oldest first */
	kk_tlscert *fpnext;	/* same fingerprint bucket */
	uint32_t fphash;
	int linked;
	char fingerprint[65];
	/* The library's objects, made at the first handshake that picks the
	 * certificate (load): until then, the PEM bytes of certificate,
	 * chain and key, in one block, wiped when they go. Loading 10 000
	 * certificates costs copies, not 10 000 parses. */
	unsigned char *pem;
	size_t certlen, chainlen, keylen;
	X509 *leaf;
	EVP_PKEY *key;
	STACK_OF(X509) *chain;	/* without the leaf; may be empty */
	unsigned char *ocsp;	/* DER, NULL: none */
	size_t ocsplen;
	int64_t not_after;
	enum kk_key_kind kind;
	size_t nnames;
	binding *b;		/* nnames bindings, then the names' bytes */
};

struct kk_tlsctx {
	unsigned refs;
	SSL_CTX *ctx;
	kk_tls_policy policy;	/* a copy, its strings owned */
	unsigned char alpn[256];	/* the policy's list, in ALPN wire form */
	size_t alpnlen;
	binding **names;	/* buckets; nmask + 1 of them, a power of two */
	size_t nmask, nnames;
	kk_tlscert **fps;
	size_t fmask, ncerts;
	kk_link order;
};

static char *
dup_or_null(const char *s, int *ok)
{
	char *d;
	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*ok = 0;
	return d;
}

static void
policy_free(kk_tls_policy *p)
{
	free(p->ciphers);
	free(p->groups);
	free(p->alpn);
	free(p->default_cert);
	free(p->client_ca.p);
}

static int
same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

int
kk_tlsctx_same_policy(const kk_tlsctx *x, const kk_tls_policy *p)
{
	const kk_tls_policy *q = &x->policy;
	return q->versions == p->versions && same_str(q->ciphers, p->ciphers) &&
	    same_str(q->groups, p->groups) && same_str(q->alpn, p->alpn) &&
	    q->handshake_timeout_ms == p->handshake_timeout_ms &&
	    q->hsts_max_age == p->hsts_max_age && q->hsts_flags == p->hsts_flags &&
	    q->strict_sni == p->strict_sni && same_str(q->default_cert, p->default_cert) &&
	    q->client_auth == p->client_auth && q->client_ca.len == p->client_ca.len &&
	    (!p->client_ca.len || !memcmp(q->client_ca.p, p->client_ca.p, p->client_ca.len));
}

/* "h2,http/1.1" into its wire form: each name after its length byte. */
static int
alpn_wire(kk_tlsctx *x, const char *list)
{
	const char *p = list;
	x->alpnlen = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (!n || n > 255 || x->alpnlen + 1 + n > sizeof x->alpn)
			return 0;
		x->alpn[x->alpnlen++] = (unsigned char)n;
		memcpy(x->alpn + x->alpnlen, p, n);
		x->alpnlen += n;
		p += n;
		if (*p == ',')
			p++;
	}
	return x->alpnlen != 0;
}

/* Whether the worker has a protocol for an ALPN name: HTTP/1.x for the
 * h1 server, h2 for the h2 server (front.c starts it on that result).
 * Other names a list may hold are never chosen, so that a client never
 * speaks a protocol to a server that does not know it. */
static int
spoken(const unsigned char *name, size_t len)
{
	return (len == 8 && !memcmp(name, "http/1.1", 8)) ||
	    (len == 8 && !memcmp(name, "http/1.0", 8)) ||
	    (len == 2 && !memcmp(name, "h2", 2));
}

/* ALPN (RFC 7301 §3.2): our first protocol that the client offers; with
 * none in common the handshake ends with no_application_protocol rather
 * than going on in a protocol the client did not ask for. */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned inlen, void *arg)
{
	const kk_tlsctx *x = arg;
	size_t i, j;
	(void)ssl;
	for (i = 0; i < x->alpnlen; i += 1 + x->alpn[i]) {
		if (!spoken(x->alpn + i + 1, x->alpn[i]))
			continue;
		for (j = 0; j < inlen; j += 1 + in[j]) {
			if (j + 1 + in[j] > inlen)
				break;
			if (in[j] == x->alpn[i] && !memcmp(in + j + 1, x->alpn + i + 1, in[j])) {
				*out = x->alpn + i + 1;
				*outlen = x->alpn[i];
				return SSL_TLSEXT_ERR_OK;
			}
		}
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* The library's first error, for the operator. */
static void
lib_error(char *err, size_t errlen, const char *what, const char *value)
{
	char buf[256];
	unsigned long e = ERR_get_error();
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	snprintf(err, errlen, "%s \"%s\" refused by the TLS library: %s", what, value,
	    e ? buf : "no usable entry");
}

kk_tlsctx *
kk_tlsctx_new(const kk_tls_policy *p, char *err, size_t errlen)
{
	kk_tlsctx *x = calloc(1, sizeof *x);
	const char *ciphers = p->ciphers ? p->ciphers : DEFAULT_CIPHERS;
	const char *groups = p->groups ? p->groups : DEFAULT_GROUPS;
	const char *alpn = p->alpn ? p->alpn : KK_DEFAULT_ALPN;
	int ok = 1;
	if (!x)
		goto nomem;
	x->refs = 1;
	kk_list_init(&x->order);
	x->policy = *p;
	x->policy.ciphers = dup_or_null(p->ciphers, &ok);
	x->policy.groups = dup_or_null(p->groups, &ok);
	x->policy.alpn = dup_or_null(p->alpn, &ok);
	x->policy.default_cert = dup_or_null(p->default_cert, &ok);
	x->policy.client_ca.p = NULL;
	x->policy.client_ca.len = 0;
	if (ok && p->client_ca.len) {
		if ((x->policy.client_ca.p = malloc(p->client_ca.len))) {
			memcpy(x->policy.client_ca.p, p->client_ca.p, p->client_ca.len);
			x->policy.client_ca.len = p->client_ca.len;
		} else
			ok = 0;
	}
	if (!ok || !(x->ctx = SSL_CTX_new(TLS_server_method())))
		goto nomem;
	if (!alpn_wire(x, alpn)) {
		snprintf(err, errlen, "ALPN list \"%s\" is not a comma-separated list of names "
		    "of 1 to 255 bytes", alpn);
		goto fail;
	}
	SSL_CTX_set_min_proto_version(x->ctx, (p->versions & KK_TLS_1_2) ? TLS1_2_VERSION :
	    TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(x->ctx, (p->versions & KK_TLS_1_3) ? TLS1_3_VERSION :
	    TLS1_2_VERSION);
	if (!SSL_CTX_set_cipher_list(x->ctx, ciphers)) {
		lib_error(err, errlen, "cipher list", ciphers);
		goto fail;
	}
	if (!SSL_CTX_set1_curves_list(x->ctx, groups)) {
		lib_error(err, errlen, "group list", groups);
		goto fail;
	}
	/* Partial writes and a moving buffer: see tls.c. Released buffers:
	 * an idle keep-alive connection holds no record buffer, as it holds
	 * no kk_buf. */
	SSL_CTX_set_mode(x->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(x->ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_app_data(x->ctx, x);
	SSL_CTX_set_alpn_select_cb(x->ctx, alpn_select, x);
	if (p->client_ca.len && !kk_tlspeer_setup(x->ctx, p, err, errlen))
		goto fail;
	kk_tlshello_hook(x->ctx);
	/* Tickets under the supervisor's keys: a session resumes on any
	 * worker (tlskeys.h). */
	kk_tls_keys_install(x->ctx);
	return x;
nomem:
	snprintf(err, errlen, "unable to make a TLS context: out of memory");
fail:
	if (x) {
		if (x->ctx)
			SSL_CTX_free(x->ctx);
		policy_free(&x->policy);
		free(x);
	}
	ERR_clear_error();
	return NULL;
}

void
kk_tlsctx_ref(kk_tlsctx *x)
{
	x->refs++;
}

void
kk_tlsctx_unref(kk_tlsctx *x)
{
	kk_link *l;
	if (--x->refs)
		return;
	while ((l = kk_list_first(&x->order))) {
		kk_tlscert *c = KK_CONTAINER(l, kk_tlscert, order);
		kk_list_unlink(l);
		c->linked = 0;
		kk_tlscert_unref(c);
	}
	SSL_CTX_free(x->ctx);
	policy_free(&x->policy);
	free(x->names);
	free(x->fps);
	free(x);
}

SSL *
kk_tlsctx_ssl(kk_tlsctx *x)
{
	return SSL_new(x->ctx);
}

unsigned long
kk_tlsctx_handshake_ms(const kk_tlsctx *x)
{
	return x->policy.handshake_timeout_ms ? x->policy.handshake_timeout_ms : 10000;
}

const kk_tls_policy *
kk_tlsctx_policy(const kk_tlsctx *x)
{
	return &x->policy;
}

size_t
kk_tlsctx_count(const kk_tlsctx *x)
{
	return x->ncerts;
}

void
kk_tlscert_ref(kk_tlscert *c)
{
	c->refs++;
}

static void
drop_objects(kk_tlscert *c)
{
	X509_free(c->leaf);
	EVP_PKEY_free(c->key);	/* the libraries wipe private key numbers as they free */
	sk_X509_pop_free(c->chain, X509_free);
	c->leaf = NULL;
	c->key = NULL;
	c->chain = NULL;
}

static void
drop_pem(kk_tlscert *c)
{
	if (!c->pem)
		return;
	OPENSSL_cleanse(c->pem, c->certlen + c->chainlen + c->keylen);
	free(c->pem);
	c->pem = NULL;
}

void
kk_tlscert_unref(kk_tlscert *c)
{
	if (--c->refs)
		return;
	drop_objects(c);
	drop_pem(c);
	free(c->ocsp);
	free(c->b);
	free(c);
}

const char *
kk_tlscert_fingerprint(const kk_tlscert *c)
{
	return c->fingerprint;
}

/* Every certificate in the PEM bytes of b onto sk. 1 ok (even none). */
static int
read_certs(const kk_blob *b, STACK_OF(X509) *sk)
{
	BIO *bio;
	X509 *x;
	if (!b->len)
		return 1;
	if (!(bio = BIO_new_mem_buf(b->p, (int)b->len)))
		return 0;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			BIO_free(bio);
			return 0;
		}
	BIO_free(bio);
	ERR_clear_error();	/* the end of the bytes reads as an error */
	return 1;
}

/* The certificate's objects from its PEM bytes, which libkakehi has
 * checked (kk_cert_parse): what fails here is memory, and then nothing
 * is kept, so that the next handshake tries again. */
static int
load(kk_tlscert *c)
{
	STACK_OF(X509) *all = sk_X509_new_null();
	BIO *bio = NULL;
	kk_blob cert = { c->pem, c->certlen }, chain = { c->pem + c->certlen, c->chainlen };
	int ok = 0;
	if (!all || !(c->chain = sk_X509_new_null()))
		goto out;
	/* The leaf first; the certificate file may carry its chain after it. */
	if (!read_certs(&cert, all) || !sk_X509_num(all) || !read_certs(&chain, all))
		goto out;
	c->leaf = sk_X509_shift(all);
	while (sk_X509_num(all))
		if (!sk_X509_push(c->chain, sk_X509_shift(all)))
			goto out;
	if (!(bio = BIO_new_mem_buf(c->pem + c->certlen + c->chainlen, (int)c->keylen)) ||
	    !(c->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)))
		goto out;
	ok = 1;
	drop_pem(c);
out:
	if (all)
		sk_X509_pop_free(all, X509_free);
	BIO_free(bio);
	ERR_clear_error();
	if (!ok)
		drop_objects(c);
	return ok;
}

/* What load will need, copied from the state's certificate (which goes
 * when a later change removes it). 1 ok, 0 ENOMEM. */
static int
keep_bytes(kk_tlscert *c, const kk_certificate *src)
{
	c->certlen = src->cert.len;
	c->chainlen = src->chain.len;
	c->keylen = src->key.len;
	if (!(c->pem = malloc(c->certlen + c->chainlen + c->keylen + 1)))
		return 0;
	memcpy(c->pem, src->cert.p, c->certlen);
	if (c->chainlen)
		memcpy(c->pem + c->certlen, src->chain.p, c->chainlen);
	memcpy(c->pem + c->certlen + c->chainlen, src->key.p, c->keylen);
	if (src->ocsp.len) {
		if (!(c->ocsp = malloc(src->ocsp.len)))
			return 0;
		memcpy(c->ocsp, src->ocsp.p, src->ocsp.len);
		c->ocsplen = src->ocsp.len;
	}
	return 1;
}

/* Bucket arrays grow to keep a load of one at most. */
static int
grow_names(kk_tlsctx *x, size_t need)
{
	binding **nb;
	size_t n = x->nmask ? x->nmask + 1 : 16, i;
	if (need <= n && x->names)
		return 1;
	while (n < need)
		n *= 2;
	if (!(nb = calloc(n, sizeof *nb)))
		return 0;
	for (i = 0; x->names && i <= x->nmask; i++) {
		binding *b = x->names[i], *next;
		for (; b; b = next) {
			next = b->next;
			b->next = nb[b->hash & (n - 1)];
			nb[b->hash & (n - 1)] = b;
		}
	}
	free(x->names);
	x->names = nb;
	x->nmask = n - 1;
	return 1;
}

static int
grow_fps(kk_tlsctx *x, size_t need)
{
	kk_tlscert **nb;
	size_t n = x->fmask ? x->fmask + 1 : 16, i;
	if (need <= n && x->fps)
		return 1;
	while (n < need)
		n *= 2;
	if (!(nb = calloc(n, sizeof *nb)))
		return 0;
	for (i = 0; x->fps && i <= x->fmask; i++) {
		kk_tlscert *c = x->fps[i], *next;
		for (; c; c = next) {
			next = c->fpnext;
			c->fpnext = nb[c->fphash & (n - 1)];
			nb[c->fphash & (n - 1)] = c;
		}
	}
	free(x->fps);
	x->fps = nb;
	x->fmask = n - 1;
	return 1;
}

kk_tlscert *
kk_tlsctx_prepare(kk_tlsctx *x, const kk_certificate *src, char *err, size_t errlen)
{
	kk_tlscert *c;
	size_t i, bytes = 0;
	char *names;
	for (i = 0; i < src->nnames; i++)
		bytes += strlen(src->names[i]) + 1;
	if (!(c = calloc(1, sizeof *c)) ||
	    !(c->b = malloc(src->nnames * sizeof *c->b + bytes + 1)))
		goto nomem;
	c->refs = 1;
	memcpy(c->fingerprint, src->fingerprint, sizeof c->fingerprint);
	c->fingerprint[64] = 0;
	c->fphash = kk_index_hash(c->fingerprint, strlen(c->fingerprint));
	c->not_after = src->not_after;
	c->kind = src->key_kind;
	c->nnames = src->nnames;
	names = (char *)(c->b + src->nnames);
	for (i = 0; i < src->nnames; i++) {
		size_t n = strlen(src->names[i]);
		memcpy(names, src->names[i], n + 1);
		c->b[i].x = c;
		c->b[i].name = names;
		c->b[i].len = n;
		c->b[i].hash = kk_index_hash(names, n);
		c->b[i].next = NULL;
		names += n + 1;
	}
	if (!keep_bytes(c, src)) {
		kk_tlscert_unref(c);
		goto nomem_noc;
	}
	/* Room now, so that linking cannot fail. Each prepared certificate
	 * asks for room for itself on top of what is linked: a batch of
	 * several reserves as it goes, since the ones before it are linked
	 * before the next is prepared (tlsstate.c). */
	if (!grow_names(x, x->nnames + c->nnames) || !grow_fps(x, x->ncerts + 1)) {
		kk_tlscert_unref(c);
		goto nomem_noc;
	}
	return c;
nomem:
	if (c)
		free(c);
nomem_noc:
	snprintf(err, errlen, "certificate %s: out of memory", src->fingerprint);
	return NULL;
}

void
kk_tlsctx_link(kk_tlsctx *x, kk_tlscert *c, kk_tlscert *before)
{
	size_t i;
	for (i = 0; i < c->nnames; i++) {
		binding *b = &c->b[i];
		b->next = x->names[b->hash & x->nmask];
		x->names[b->hash & x->nmask] = b;
	}
	x->nnames += c->nnames;
	c->fpnext = x->fps[c->fphash & x->fmask];
	x->fps[c->fphash & x->fmask] = c;
	x->ncerts++;
	/* Pushing at the tail of a circular list is inserting before its
	 * head: any link serves as one. */
	kk_list_push(before ? &before->order : &x->order, &c->order);
	c->linked = 1;
}

static kk_tlscert *
find_fp(const kk_tlsctx *x, const char *fp)
{
	kk_tlscert *c;
	if (!x->fps)
		return NULL;
	for (c = x->fps[kk_index_hash(fp, strlen(fp)) & x->fmask]; c; c = c->fpnext)
		if (!strcmp(c->fingerprint, fp))
			return c;
	return NULL;
}

int
kk_tlsctx_has(const kk_tlsctx *x, const char *fp)
{
	return find_fp(x, fp) != NULL;
}

kk_tlscert *
kk_tlsctx_stale(const kk_tlsctx *x, const kk_state *st, const char *listener)
{
	const kk_link *l;
	for (l = x->order.next; l != &x->order; l = l->next) {
		kk_tlscert *c = KK_CONTAINER(l, kk_tlscert, order);
		if (!kk_state_certificate(st, listener, c->fingerprint))
			return c;
	}
	return NULL;
}

kk_tlscert *
kk_tlsctx_unlink(kk_tlsctx *x, const char *fp, kk_tlscert **after)
{
	kk_tlscert *c = find_fp(x, fp), **pc;
	size_t i;
	if (!c)
		return NULL;
	*after = c->order.next == &x->order ? NULL :
	    KK_CONTAINER(c->order.next, kk_tlscert, order);
	for (i = 0; i < c->nnames; i++) {
		binding **pb = &x->names[c->b[i].hash & x->nmask];
		while (*pb != &c->b[i])
			pb = &(*pb)->next;
		*pb = c->b[i].next;
	}
	x->nnames -= c->nnames;
	for (pc = &x->fps[c->fphash & x->fmask]; *pc != c; pc = &(*pc)->fpnext)
		;
	*pc = c->fpnext;
	x->ncerts--;
	kk_list_unlink(&c->order);
	c->linked = 0;
	return c;
}

/* Which of two certificates to prefer for a client that can use mask:
 * a usable key; then ECDSA over RSA (a smaller handshake, a cheaper
 * signature), so that twins serve ECDSA to whoever takes it; then the
 * later expiry. */
static int
better(const kk_tlscert *a, const kk_tlscert *b, unsigned mask)
{
	int ua = (mask & KK_TLS_KIND(a->kind)) != 0, ub = (mask & KK_TLS_KIND(b->kind)) != 0;
	if (ua != ub)
		return ua;
	if ((a->kind == KK_KEY_EC) != (b->kind == KK_KEY_EC))
		return a->kind == KK_KEY_EC;
	return a->not_after > b->not_after;
}

/* The best certificate carrying the name key exactly (a wildcard is
 * looked up as "*.suffix"). */
static kk_tlscert *
lookup(const kk_tlsctx *x, const char *key, size_t len, unsigned mask)
{
	uint32_t h = kk_index_hash(key, len);
	const binding *b;
	kk_tlscert *best = NULL;
	if (!x->names)
		return NULL;
	for (b = x->names[h & x->nmask]; b; b = b->next)
		if (b->hash == h && b->len == len && !memcmp(b->name, key, len) &&
		    (!best || better(b->x, best, mask)))
			best = b->x;
	return best;
}

static kk_tlscert *
default_cert(const kk_tlsctx *x)
{
	kk_link *l;
	if (x->policy.default_cert) {
		kk_tlscert *c = find_fp(x, x->policy.default_cert);
		if (c)
			return c;
	}
	l = kk_list_first((kk_link *)&x->order);
	return l ? KK_CONTAINER(l, kk_tlscert, order) : NULL;
}

kk_tlscert *
kk_tlsctx_select(const kk_tlsctx *x, const char *name, size_t len, unsigned mask)
{
	kk_tlscert *first = NULL, *c;
	char wild[NAME_MAX_LEN + 2];
	const char *dot;
	if (name && len) {
		if ((c = lookup(x, name, len, mask))) {
			if (mask & KK_TLS_KIND(c->kind))
				return c;
			first = c;
		}
		/* One label only: "a.w.test" looks up "*.w.test". */
		dot = memchr(name, '.', len);
		if (dot && dot > name && (size_t)(name + len - dot) <= NAME_MAX_LEN) {
			size_t n = (size_t)(name + len - dot);
			wild[0] = '*';
			memcpy(wild + 1, dot, n);
			if ((c = lookup(x, wild, n + 1, mask))) {
				if (mask & KK_TLS_KIND(c->kind))
					return c;
				if (!first)
					first = c;
			}
		}
	}
	c = default_cert(x);
	if (c && (mask & KK_TLS_KIND(c->kind)))
		return c;
	return first ? first : c;
}

int
kk_tlscert_install(kk_tlscert *c, SSL *ssl)
{
	if ((!c->leaf && !load(c)) || !SSL_use_certificate(ssl, c->leaf) || !SSL_use_PrivateKey(ssl, c->key) ||
	    !SSL_set1_chain(ssl, c->chain) ||
	    (c->ocsp && !kk_tlshello_staple(ssl, c->ocsp, c->ocsplen))) {
		ERR_clear_error();
		return 0;
	}
	return 1;
}

int
kk_tlscert_covers(const kk_tlscert *c, const char *host, size_t len)
{
	const char *dot = memchr(host, '.', len);
	size_t i;
	for (i = 0; i < c->nnames; i++) {
		const binding *b = &c->b[i];
		if (b->len == len && !memcmp(b->name, host, len))
			return 1;
		if (b->len > 2 && b->name[0] == '*' && dot && dot > host &&
		    b->len - 1 == (size_t)(host + len - dot) &&
		    !memcmp(b->name + 1, dot, b->len - 1))
			return 1;
	}
	return 0;
}

/* The key kinds a client can use, from its ClientHello: the signature
 * schemes it accepts (RFC 8446 §4.2.3; absent, TLS 1.2 lets the suite
 * decide, RFC 5246 §7.4.1.4.1), and for TLS 1.2 the suites it offers,
 * which name the key (ECDHE_ECDSA or ECDHE_RSA). A TLS 1.3 handshake
 * (both sides offer it) leaves the key to the schemes alone. */
static unsigned
client_kinds(const kk_tlsctx *x, const kk_tlshello *h)
{
	int ec_sig = 0, rsa_pss = 0, rsa_pkcs = 0, other_sig = 0, ec_suite = 0, rsa_suite = 0;
	int v13 = 0;
	size_t i;
	unsigned mask = 0;
	if (!h->sigalgs)
		ec_sig = rsa_pkcs = 1;
	for (i = 0; h->sigalgs && i + 1 < h->sigalgslen; i += 2) {
		unsigned s = (unsigned)h->sigalgs[i] << 8 | h->sigalgs[i + 1];
		if ((s & 0xff) == 0x03)		/* ecdsa_*, RFC 8446 §4.2.3 */
			ec_sig = 1;
		else if ((s & 0xff) == 0x01)	/* rsa_pkcs1_* */
			rsa_pkcs = 1;
		else if (s >= 0x0804 && s <= 0x0806)	/* rsa_pss_rsae_* */
			rsa_pss = 1;
		else if (s == 0x0807 || s == 0x0808)	/* ed25519, ed448 */
			other_sig = 1;
	}
	for (i = 0; h->versions && i + 1 < h->versionslen; i += 2)
		if (h->versions[i] == 0x03 && h->versions[i + 1] == 0x04)
			v13 = (x->policy.versions & KK_TLS_1_3) != 0;
	for (i = 0; i + 1 < h->suiteslen; i += 2) {
		unsigned s = (unsigned)h->suites[i] << 8 | h->suites[i + 1];
		/* ECDHE_ECDSA: C009 C00A C023 C024 C02B C02C CCA9 (RFC 8422,
		 * 5289, 7905); ECDHE_RSA: C013 C014 C027 C028 C02F C030 CCA8;
		 * RSA key exchange (if a listener allows it): 002F 0035 009C
		 * 009D. */
		if (s == 0xc009 || s == 0xc00a || s == 0xc023 || s == 0xc024 || s == 0xc02b ||
		    s == 0xc02c || s == 0xcca9)
			ec_suite = 1;
		else if (s == 0xc013 || s == 0xc014 || s == 0xc027 || s == 0xc028 ||
		    s == 0xc02f || s == 0xc030 || s == 0xcca8 || s == 0x002f || s == 0x0035 ||
		    s == 0x009c || s == 0x009d)
			rsa_suite = 1;
	}
	if (ec_sig && (v13 || ec_suite))
		mask |= KK_TLS_KIND(KK_KEY_EC);
	if (v13 ? rsa_pss : (rsa_suite && (rsa_pss || rsa_pkcs)))
		mask |= KK_TLS_KIND(KK_KEY_RSA);
	if (other_sig)
		mask |= KK_TLS_KIND(KK_KEY_OTHER);
	return mask;
}

int
kk_tlsctx_hello(SSL *ssl, const kk_tlshello *h)
{
	kk_tlsctx *x = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	char name[NAME_MAX_LEN + 1];
	size_t len = 0, i;
	kk_tlscert *c;
	/* A name that is not a DNS name (too long, bytes a host name cannot
	 * hold) picks no certificate by name: the default is served. */
	if (h->sni && h->snilen <= NAME_MAX_LEN) {
		for (i = 0; i < h->snilen; i++) {
			unsigned char ch = h->sni[i];
			if (ch >= 'A' && ch <= 'Z')
				ch = (unsigned char)(ch - 'A' + 'a');
			else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			    ch == '-' || ch == '.' || ch == '_'))
				break;
			name[i] = (char)ch;
		}
		if (i == h->snilen) {
			len = i;
			if (len && name[len - 1] == '.')	/* the root's dot */
				len--;
		}
	}
	c = kk_tlsctx_select(x, len ? name : NULL, len, client_kinds(x, h));
	if (!c || !kk_tlscert_install(c, ssl))
		return 0;
	kk_tls_set_served(ssl, c);
	return 1;
}
