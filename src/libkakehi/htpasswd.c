/* ISC license. */
/* Basic authentication's password file (htpasswd.h): checked, walked,
 * and turned into the frontend's auth item. What a request brings is
 * the worker's (auth.c). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kakehi/base64.h>
#include <kakehi/cert.h>
#include <kakehi/htpasswd.h>
#include <kakehi/index.h>
#include <kakehi/state.h>
#include <openssl/sha.h>

static const char *const opts[] = { "--htpasswd", "--htpasswd-data", "--auth-realm",
	"--auth-forward" };

int
kk_auth_is_option(const char *opt)
{
	for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
		if (!strcmp(opt, opts[i]))
			return 1;
	return 0;
}

/* The line of p[0, n) at *pos without its end (CR LF or LF), and *pos
 * past it. 0 at the end. */
static int
line_at(const char *p, size_t n, size_t *pos, const char **l, size_t *len)
{
	const char *nl;
	if (*pos >= n)
		return 0;
	*l = p + *pos;
	nl = memchr(*l, '\n', n - *pos);
	*len = nl ? (size_t)(nl - *l) : n - *pos;
	*pos += *len + (nl != NULL);
	if (*len && (*l)[*len - 1] == '\r')
		(*len)--;
	return 1;
}

/* Whether the line holds no entry: blank, or a comment. */
static int
is_blank(const char *l, size_t len)
{
	size_t i = 0;
	while (i < len && (l[i] == ' ' || l[i] == '\t'))
		i++;
	return i == len || l[i] == '#';
}

/* The kinds crypt_r verifies that are worth having (bcrypt, SHA-crypt),
 * by prefix. */
static int
good_hash(const char *h, size_t n)
{
	static const char *const prefixes[] = { "$2y$", "$2b$", "$2a$", "$5$", "$6$" };
	size_t i, k;
	for (i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z')
		    || (h[i] >= '0' && h[i] <= '9') || strchr("./$=", h[i])))
			return 0;
	for (k = 0; k < sizeof prefixes / sizeof *prefixes; k++)
		if (n > strlen(prefixes[k]) + 8 && !memcmp(h, prefixes[k], strlen(prefixes[k])))
			return 1;
	return 0;
}

int
kk_htpasswd_check(const char *p, size_t n, unsigned *users, char *err, size_t errlen)
{
	kk_index seen = KK_INDEX_ZERO;	/* the users, to find one given twice */
	size_t pos = 0, len;
	unsigned lineno = 0;
	const char *l;
	*users = 0;
	if (memchr(p, 0, n)) {
		snprintf(err, errlen, "the password file holds a NUL byte: it is not an htpasswd "
		    "file");
		return 0;
	}
	while (line_at(p, n, &pos, &l, &len)) {
		const char *colon;
		size_t ulen;
		lineno++;
		if (is_blank(l, len))
			continue;
		colon = memchr(l, ':', len);
		ulen = colon ? (size_t)(colon - l) : 0;
		if (!colon || !ulen || ulen > KK_HTPASSWD_USERMAX) {
			snprintf(err, errlen, "line %u: give user:hash, the user 1 to %d bytes",
			    lineno, KK_HTPASSWD_USERMAX);
			goto fail;
		}
		for (size_t i = 0; i < ulen; i++)
			if ((unsigned char)l[i] <= 0x20 || l[i] == 0x7f) {
				snprintf(err, errlen, "line %u: the user holds a blank or a control "
				    "character", lineno);
				goto fail;
			}
		if (len - ulen - 1 > KK_HTPASSWD_HASHMAX || !good_hash(colon + 1, len - ulen - 1)) {
			snprintf(err, errlen, "line %u: user \"%.*s\": the hash is not bcrypt ($2y$, "
			    "$2b$) or SHA-crypt ($5$, $6$); MD5 ($apr1$), {SHA} and DES are too weak: "
			    "make the entry with htpasswd -B, or mkpasswd -m sha-512", lineno,
			    (int)ulen, l);
			goto fail;
		}
		if (!kk_index_put(&seen, l, ulen, lineno)) {
			if (errno == EEXIST)
				snprintf(err, errlen, "line %u: user \"%.*s\" is there twice (line %zu "
				    "too); keep one entry", lineno, (int)ulen, l,
				    *kk_index_get(&seen, l, ulen));
			else
				snprintf(err, errlen, "out of memory");
			kk_index_free(&seen);
			return 0;
		}
		if (++*users > KK_HTPASSWD_MAXUSERS) {
			snprintf(err, errlen, "more than %d users", KK_HTPASSWD_MAXUSERS);
			goto fail;
		}
	}
	kk_index_free(&seen);
	if (!*users) {
		snprintf(err, errlen, "the password file has no user:hash entry");
		return 0;
	}
	return 1;
fail:
	kk_index_free(&seen);
	return 0;
}

int
kk_htpasswd_next(const char *p, size_t n, size_t *pos, const char **user, size_t *ulen,
    const char **hash, size_t *hlen)
{
	const char *l;
	size_t len;
	while (line_at(p, n, pos, &l, &len)) {
		const char *colon;
		if (is_blank(l, len))
			continue;
		colon = memchr(l, ':', len);
		*user = l;
		*ulen = (size_t)(colon - l);
		*hash = colon + 1;
		*hlen = len - *ulen - 1;
		return 1;
	}
	return 0;
}

int
kk_auth_check(const kk_verb *v, char *err, size_t errlen)
{
	const char *realm = kk_verb_opt(v, "--auth-realm");
	int file = kk_verb_opt(v, "--htpasswd") || kk_verb_opt(v, "--htpasswd-data");
	if (kk_verb_opt(v, "--htpasswd") && kk_verb_opt(v, "--htpasswd-data")) {
		snprintf(err, errlen, "give --htpasswd FILE or --htpasswd-data B64, not both");
		return 0;
	}
	if (!file && (realm || kk_verb_opt(v, "--auth-forward"))) {
		snprintf(err, errlen, "%s qualifies basic authentication: give --htpasswd FILE "
		    "too", realm ? "--auth-realm" : "--auth-forward");
		return 0;
	}
	if (realm) {
		size_t n = strlen(realm);
		if (n > KK_AUTH_REALMMAX) {
			snprintf(err, errlen, "--auth-realm is longer than %d bytes", KK_AUTH_REALMMAX);
			return 0;
		}
		/* A quoted-string (RFC 9110 §5.6.4) without its escapes. */
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)realm[i] < 0x20 || (unsigned char)realm[i] >= 0x7f
			    || realm[i] == '"' || realm[i] == '\\') {
				snprintf(err, errlen, "--auth-realm \"%s\": printable ASCII without '\"' "
				    "or '\\'", realm);
				return 0;
			}
	}
	return 1;
}

int
kk_auth_canon(const kk_verb *v, const char *filedir, kk_str *out, char *err, size_t errlen)
{
	const char *realm = kk_verb_opt(v, "--auth-realm"), *data;
	char msg[KK_ERRLEN];
	kk_blob b = { 0, 0 };
	unsigned users;
	int ok;
	if (kk_verb_opt(v, "--htpasswd")) {
		if (!kk_cert_read_file(kk_verb_opt(v, "--htpasswd"), filedir, &b, msg, sizeof msg)) {
			snprintf(err, errlen, "--htpasswd: %s", msg);
			return 0;
		}
	} else if ((data = kk_verb_opt(v, "--htpasswd-data"))) {
		if (!strncmp(data, "sha256:", 7)) {
			snprintf(err, errlen, "--htpasswd-data: this line comes from state dump, which "
			    "shows the password file's digest, not its bytes; give --htpasswd FILE, or "
			    "load a state written by state save FILE");
			return 0;
		}
		if (!kk_base64_decode(data, strlen(data), &b.p, &b.len)) {
			snprintf(err, errlen, errno == ENOMEM ? "out of memory" : "--htpasswd-data is "
			    "not base64 (RFC 4648: A-Z a-z 0-9 + /, '=' padding, one line)");
			return 0;
		}
	} else
		return 1;
	if (!kk_htpasswd_check((const char *)b.p, b.len, &users, msg, sizeof msg)) {
		snprintf(err, errlen, "--htpasswd: %s", msg);
		kk_blob_free(&b);
		return 0;
	}
	ok = (!out->len || kk_str_catb(out, "\n", 1)) && kk_str_cats(out, "aB")
	    && kk_str_cats(out, realm ? realm : KK_AUTH_DEFAULT_REALM)
	    && kk_str_cats(out, kk_verb_opt(v, "--auth-forward") ? "\tf" : "\t-")
	    && kk_base64_encode(out, b.p, b.len);
	/* The bytes are the users' hashes: wiped, not just freed. */
	explicit_bzero(b.p, b.len);
	kk_blob_free(&b);
	if (!ok)
		snprintf(err, errlen, "out of memory");
	return ok;
}

int
kk_auth_digest(const char *value, size_t vlen, char out65[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH], *p;
	size_t n;
	if (vlen < 1 || !kk_base64_decode(value + 1, vlen - 1, &p, &n))
		return 0;
	SHA256(p, n, md);
	explicit_bzero(p, n);
	free(p);
	for (unsigned i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(out65 + 2 * i, 3, "%02x", md[i]);
	return 1;
}

int
kk_auth_file(kk_str *out, const char *value, size_t vlen, const char *certdir)
{
	char hex[65];
	return kk_auth_digest(value, vlen, hex)
	    && kk_str_catf(out, "%s/%s.htpasswd", certdir, hex);
}
