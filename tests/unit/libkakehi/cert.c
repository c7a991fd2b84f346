/* ISC license. */
/* Tests for src/libkakehi/cert.c (kk_cert_redact too), base64.c and statecert.c, and for the
 * certificates of a state (state.c, stateprint.c, statediff.c): base64
 * vectors and refusals; kk_cert_parse on the test certificates of
 * tests/tools/kk-mkcerts and on every bad input, with its chain cache, and
 * kk_cert_describe and kk_state_load_checked; certificate add, replace
 * and remove by files (relative to the loaded file) and by data, their
 * refusals leaving the state as it was, the index, the journal's changes
 * and undo, the print forms, lists without key bytes, and diffs. */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <kakehi/base64.h>
#include <kakehi/cert.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>
#include "tap.h"

static char dir[64];		/* the test certificates */

static char *
printed(const kk_state *st)
{
	kk_str out = KK_STR_ZERO;
	if (!kk_state_print(st, &out)) return 0;
	return out.s ? out.s : strdup("");
}

static int
checked(const kk_state *st, const char *what)
{
	char err[KK_ERRLEN];
	int r = kk_state_check(st, err, sizeof err);
	ok(r, "state whole after %s", what);
	if (!r) printf("#   %s\n", err);
	return r;
}

/* The bytes of dir/name. */
static kk_blob
file(const char *name)
{
	char path[256];
	kk_blob b = { 0, 0 };
	FILE *f;
	long n;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (!(f = fopen(path, "rb"))) return b;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b.p = malloc((size_t)n + 1);
	b.len = fread(b.p, 1, (size_t)n, f);
	fclose(f);
	return b;
}

static char *
b64(const char *name)
{
	kk_blob b = file(name);
	kk_str s = KK_STR_ZERO;
	kk_base64_encode(&s, b.p, b.len);
	free(b.p);
	return s.s;
}

/* What openssl(1) says a certificate's SHA-256 fingerprint is, in the
 * canonical form. */
static void
openssl_fingerprint(const char *name, char *out65)
{
	char cmd[300], line[256];
	FILE *p;
	out65[0] = 0;
	snprintf(cmd, sizeof cmd, "openssl x509 -noout -fingerprint -sha256 -in %s/%s", dir,
	    name);
	if (!(p = popen(cmd, "r"))) return;
	if (fgets(line, sizeof line, p)) {
		char *eq = strchr(line, '=');
		if (eq) {
			eq[1 + strcspn(eq + 1, "\n")] = 0;
			kk_fingerprint_canon(eq + 1, out65);
		}
	}
	pclose(p);
}

static void
test_base64(void)
{
	static const char *const vectors[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	static const char *const bad[] = {
		"Zg=", "Zh==", "Zm9=", "Zm9v\n", "Zm 9", "Z===", "====", "Zg==Zg==", "Zm9v!A==",
	};
	unsigned char raw[256], *d;
	size_t n;
	for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++) {
		kk_str s = KK_STR_ZERO;
		kk_base64_encode(&s, (const unsigned char *)vectors[i][0], strlen(vectors[i][0]));
		is_str(s.s ? s.s : "", vectors[i][1], "base64 of \"%s\"", vectors[i][0]);
		ok(kk_base64_decode(vectors[i][1], strlen(vectors[i][1]), &d, &n)
		    && n == strlen(vectors[i][0]) && !memcmp(d, vectors[i][0], n),
		    "decodes %s", vectors[i][1]);
		free(d);
		kk_str_free(&s);
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ok(!kk_base64_decode(bad[i], strlen(bad[i]), &d, &n), "refuses \"%s\"", bad[i]);
	for (size_t i = 0; i < sizeof raw; i++) raw[i] = (unsigned char)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof raw; len += 17) {
		kk_str s = KK_STR_ZERO;
		int r = kk_base64_encode(&s, raw, len)
		    && kk_base64_decode(s.s ? s.s : "", s.len, &d, &n) && n == len
		    && !memcmp(d, raw, len);
		ok(r, "round trip of %zu bytes", len);
		if (r) free(d);
		kk_str_free(&s);
	}
}

static void
test_redact(void)
{
	static const char *const cases[][2] = {
		{ "certificate add 127.0.0.1:443 --cert-data QUJD --key-data=S0VZ --chain-data Q0g=",
		    "certificate add 127.0.0.1:443 --cert-data (hidden) --key-data=(hidden) "
		    "--chain-data (hidden)" },
		{ "certificate replace L --old FP --cert-data A  --key-data B\ncertificate remove "
		    "L FP\nbackend add app b1 10.0.0.1:80\n", "certificate replace L --old FP "
		    "--cert-data (hidden)  --key-data (hidden)\ncertificate remove L FP\nbackend "
		    "add app b1 10.0.0.1:80\n" },
		{ "frontend add app --listener 127.0.0.1:80 --host data", "frontend add app "
		    "--listener 127.0.0.1:80 --host data" },
		{ "x --key-data\nnext line", "x --key-data\nnext line" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		kk_str out = KK_STR_ZERO;
		ok(kk_cert_redact(&out, cases[i][0], strlen(cases[i][0])), "redacts");
		is_str(out.s, cases[i][1], "redacted: %.60s", cases[i][0]);
		kk_str_free(&out);
	}
}

/* A certificate of the blobs of the named files ("" for none). */
static kk_certificate
cert_of(const char *crt, const char *key, const char *chain, const char *ocsp)
{
	kk_certificate x;
	memset(&x, 0, sizeof x);
	if (*crt) x.cert = file(crt);
	if (*key) x.key = file(key);
	if (*chain) x.chain = file(chain);
	if (*ocsp) x.ocsp = file(ocsp);
	return x;
}

static void
parse_refused(const char *crt, const char *key, const char *chain, const char *ocsp,
    time_t now, const char *want)
{
	char err[KK_ERRLEN] = "";
	kk_certificate x = cert_of(crt, key, chain, ocsp);
	int r = kk_cert_parse(&x, now, err, sizeof err);
	ok(!r && strstr(err, want) && !x.nnames && !x.fingerprint[0], "%s + %s + %s refused: %s",
	    crt, key, chain, want);
	if (r || !strstr(err, want)) printf("#   got: '%s'\n", r ? "(accepted)" : err);
	kk_cert_free(&x);
}

static void
test_parse(void)
{
	char err[KK_ERRLEN] = "", want[65], fp[65];
	time_t now = time(0);
	kk_certificate x = cert_of("a.crt", "a.key", "chain.crt", ""), y;
	ok(kk_cert_parse(&x, now, err, sizeof err), "a.test with its chain parses (%s)", err);
	openssl_fingerprint("a.crt", want);
	is_str(x.fingerprint, want, "fingerprint is openssl's SHA-256");
	ok(x.nnames == 2 && !strcmp(x.names[0], "a.test") && !strcmp(x.names[1], "www.a.test"),
	    "names from subjectAltName");
	is_int(x.key_kind, KK_KEY_EC, "an EC key");
	ok(x.not_before <= now && x.not_after > now + 86400, "dates around now");
	ok(kk_cert_copy(&y, &x) && kk_cert_same_blobs(&x, &y) && !strcmp(y.fingerprint, want)
	    && y.nnames == 2 && !strcmp(y.names[1], "www.a.test"), "copies");
	kk_cert_free(&y);
	kk_cert_free(&x);
	ok(!x.key.p && !x.names && !x.fingerprint[0], "freed to zero");

	x = cert_of("a-rsa.crt", "a-rsa.key", "", "");
	ok(kk_cert_parse(&x, now, err, sizeof err) && x.key_kind == KK_KEY_RSA,
	    "an RSA key, no chain");
	kk_cert_free(&x);
	x = cert_of("wild.crt", "wild.key", "chain.crt", "");
	ok(kk_cert_parse(&x, 0, err, sizeof err) && x.nnames == 1
	    && !strcmp(x.names[0], "*.w.test"), "a wildcard name");
	kk_cert_free(&x);
	x = cert_of("client.crt", "client.key", "", "");
	ok(kk_cert_parse(&x, 0, err, sizeof err) && x.nnames == 1
	    && !strcmp(x.names[0], "client.test"), "the common name when no DNS name");
	kk_cert_free(&x);
	x = cert_of("expired.crt", "expired.key", "chain.crt", "");
	ok(kk_cert_parse(&x, 0, err, sizeof err), "an expired one parses without a date check");
	ok(!kk_cert_check_dates(&x, now, err, sizeof err)
	    && strstr(err, "the certificate expired on 2021-01-01"), "and fails the check: %s",
	    err);
	kk_cert_free(&x);

	parse_refused("garbage.pem", "a.key", "", "", 0, "the certificate is not a PEM "
	    "certificate");
	parse_refused("", "a.key", "", "", 0, "the certificate is not a PEM certificate");
	parse_refused("a.crt", "garbage.pem", "", "", 0, "the key is not a PEM private key");
	parse_refused("a.crt", "a.crt", "", "", 0, "the key is not a PEM private key");
	parse_refused("a.crt", "b.key", "", "", 0, "the key does not match the certificate");
	parse_refused("a.crt", "a-rsa.key", "", "", 0, "the key does not match");
	parse_refused("stray.crt", "stray.key", "chain.crt", "", 0, "the chain does not link "
	    "to the leaf");
	parse_refused("a.crt", "a.key", "other-ca.crt", "", 0, "the chain does not link to "
	    "the leaf");
	parse_refused("a.crt", "a-enc.key", "", "", 0, "the key is not a PEM private key "
	    "(unencrypted)");
	parse_refused("a.crt", "a.key", "garbage.pem", "", 0, "the chain is not a list of PEM "
	    "certificates");
	parse_refused("a.crt", "a.key", "chain.crt", "garbage.pem", 0, "the OCSP response is "
	    "not DER");
	parse_refused("expired.crt", "expired.key", "chain.crt", "", now, "the certificate "
	    "expired on 2021-01-01");
	parse_refused("future.crt", "future.key", "chain.crt", "", now, "the certificate is "
	    "not valid before 2099-01-01");

	ok(kk_fingerprint_canon(want, fp) && !strcmp(fp, want), "a canonical fingerprint");
	{
		char colons[200] = "";
		for (int i = 0; i < 32; i++)
			snprintf(colons + strlen(colons), 4, "%s%c%c", i ? ":" : "",
			    want[2 * i] >= 'a' ? want[2 * i] - 32 : want[2 * i],
			    want[2 * i + 1] >= 'a' ? want[2 * i + 1] - 32 : want[2 * i + 1]);
		ok(kk_fingerprint_canon(colons, fp) && !strcmp(fp, want),
		    "openssl's upper case with colons");
	}
	ok(!kk_fingerprint_canon("abc", fp) && !kk_fingerprint_canon("", fp),
	    "short ones refused");
}

/* The files named, one after the other, as one blob. */
static kk_blob
files(const char *first, const char *second, size_t newlines)
{
	kk_blob a = file(first), b = *second ? file(second) : (kk_blob){ 0, 0 };
	kk_blob out = { malloc(a.len + b.len + newlines), a.len + b.len + newlines };
	memcpy(out.p, a.p, a.len);
	if (b.len) memcpy(out.p + a.len, b.p, b.len);
	memset(out.p + a.len + b.len, '\n', newlines);
	free(a.p);
	free(b.p);
	return out;
}

static int
parse_with_chain(const char *crt, const char *key, kk_blob chain, char *err, size_t errlen)
{
	kk_certificate x = cert_of(crt, key, "", "");
	int r;
	x.chain = chain;
	r = kk_cert_parse(&x, 0, err, errlen);
	kk_cert_free(&x);
	return r;
}

/* A chain is remembered by its bytes once its links are verified: the
 * same bytes again skip that work, and nothing else may pass for them. */
static void
test_chain_cache(void)
{
	char err[KK_ERRLEN] = "";
	int all = 1;
	ok(parse_with_chain("a.crt", "a.key", files("inter.crt", "ca.crt", 0), err, sizeof err),
	    "a chain up to the root links (%s)", err);
	ok(parse_with_chain("b.crt", "b.key", files("inter.crt", "ca.crt", 0), err, sizeof err),
	    "and again from the cache, for another leaf it signed");
	ok(!parse_with_chain("stray.crt", "stray.key", files("inter.crt", "ca.crt", 0), err,
	    sizeof err) && strstr(err, "the chain does not link to the leaf"),
	    "a cached chain does not let through a leaf it did not sign: %s", err);
	ok(!parse_with_chain("a.crt", "a.key", files("inter.crt", "other-ca.crt", 0), err,
	    sizeof err) && strstr(err, "the chain does not link: certificate 2 of the chain"),
	    "a chain that starts as the cached one but does not link is refused: %s", err);
	ok(!parse_with_chain("a.crt", "a.key", files("inter.crt", "other-ca.crt", 0), err,
	    sizeof err) && strstr(err, "the chain does not link: certificate 2"),
	    "and refused again: a refused chain is not remembered");
	/* More distinct chains than the cache holds: each entry replaced in
	 * turn, and every chain still checked. */
	for (size_t k = 1; k <= 20; k++)
		all &= parse_with_chain("a.crt", "a.key", files("chain.crt", "", k), err, sizeof err)
		    && !parse_with_chain("stray.crt", "stray.key", files("chain.crt", "", k), err,
		    sizeof err);
	ok(all, "twenty chains, each the leaves it signed and only those");
	ok(parse_with_chain("a.crt", "a.key", files("inter.crt", "ca.crt", 0), err, sizeof err),
	    "the first chain, replaced in the cache, checked again");
}

/* kk_cert_describe gives what kk_cert_parse gives, from the leaf alone,
 * and checks nothing else: only for bytes kk_cert_parse accepted. */
static void
test_describe(void)
{
	static const char *const leaves[] = { "a", "a-rsa", "client", "wild", "expired" };
	char err[KK_ERRLEN] = "", crt[32], key[32];
	for (size_t i = 0; i < sizeof leaves / sizeof *leaves; i++) {
		kk_certificate x, y;
		snprintf(crt, sizeof crt, "%s.crt", leaves[i]);
		snprintf(key, sizeof key, "%s.key", leaves[i]);
		x = cert_of(crt, key, "", "");
		y = cert_of(crt, "", "", "");
		ok(kk_cert_parse(&x, 0, err, sizeof err) && kk_cert_describe(&y, err, sizeof err)
		    && !strcmp(x.fingerprint, y.fingerprint) && x.nnames == y.nnames
		    && !strcmp(x.names[0], y.names[0]) && x.not_before == y.not_before
		    && x.not_after == y.not_after && x.key_kind == y.key_kind,
		    "%s described as parsed (%s)", leaves[i], err);
		kk_cert_free(&x);
		kk_cert_free(&y);
	}
	{
		kk_certificate x = cert_of("garbage.pem", "", "", "");
		ok(!kk_cert_describe(&x, err, sizeof err) && strstr(err, "not a PEM certificate")
		    && !x.nnames, "garbage is not described: %s", err);
		kk_cert_free(&x);
	}
}

static int
apply_line(kk_state *st, kk_journal *j, const char *line, char *err, size_t errlen)
{
	size_t len = strlen(line) + 1;
	char *buf = malloc(len), *argv[KK_LINE_MAXWORDS];
	unsigned argc;
	kk_verb v;
	int r;
	memcpy(buf, line, len);
	r = kk_line_split(buf, argv, KK_LINE_MAXWORDS, &argc, err, errlen)
	    && kk_verb_parse(&v, argc, (const char *const *)argv, err, errlen)
	    && (j ? kk_state_apply_journal(st, &v, j, err, errlen)
		: kk_state_apply(st, &v, err, errlen));
	free(buf);
	return r;
}

static void
accept_line(kk_state *st, const char *line)
{
	char err[KK_ERRLEN] = "";
	int r = apply_line(st, 0, line, err, sizeof err);
	ok(r, "applies: %.80s", line);
	if (!r) printf("#   %s\n", err);
}

static void
refuse(kk_state *st, const char *line, const char *want)
{
	char err[KK_ERRLEN] = "";
	char *before = printed(st), *after;
	int r = apply_line(st, 0, line, err, sizeof err);
	after = printed(st);
	ok(!r && strstr(err, want) && !strcmp(before, after), "refused, unchanged: %.90s", want);
	if (r || !strstr(err, want)) printf("#   got: '%s'\n", r ? "(accepted)" : err);
	free(before);
	free(after);
}

/* "certificate add L --cert-data ... --key-data ..." of named files. */
static char *
data_line(const char *verb, const char *crt, const char *key, const char *chain)
{
	kk_str s = KK_STR_ZERO;
	char *c = b64(crt), *k = b64(key), *ch = *chain ? b64(chain) : 0;
	kk_str_catf(&s, "%s --cert-data %s --key-data %s", verb, c, k);
	if (ch) kk_str_catf(&s, " --chain-data %s", ch);
	free(c);
	free(k);
	free(ch);
	return s.s;
}

/* A text from a supervisor (kk_state_load_checked) has its certificates
 * described, not checked again: a key that does not match passes there,
 * and only there. */
static void
test_load_checked(void)
{
	char err[KK_ERRLEN] = "";
	char *line = data_line("certificate add 127.0.0.1:443", "a.crt", "b.key", "");
	kk_str text = KK_STR_ZERO;
	kk_state st;
	kk_str_catf(&text, "listener add https 127.0.0.1:443\n%s\n", line);
	kk_state_init(&st);
	ok(!kk_state_load_text(&st, text.s, text.len, "t", err, sizeof err)
	    && strstr(err, "the key does not match"), "a file's mismatched key refused: %s", err);
	ok(kk_state_load_checked(&st, text.s, text.len, "t", err, sizeof err)
	    && st.ncertificates == 1 && st.certificates[0].nnames == 2
	    && !strcmp(st.certificates[0].names[0], "a.test"),
	    "a checked text is only described (%s)", err);
	ok(!st.certs_checked, "the load leaves no trust behind");
	kk_state_free(&st);
	kk_str_free(&text);
	free(line);
}

/* Replace, remove and add under journals: each change as kk_change
 * gives it, undone to the same print, then committed; and the diff of
 * the states before and after reaching the one from the other. */
static void
test_changes(kk_state *st, const char *fa, const char *fb)
{
	char err[KK_ERRLEN] = "", late[65], line[400];
	char *before = printed(st), *after, *mid;
	kk_journal j = KK_JOURNAL_ZERO;
	kk_change ch;
	kk_state from, back;
	kk_str diff = KK_STR_ZERO;
	openssl_fingerprint("a-late.crt", late);
	snprintf(line, sizeof line, "certificate replace 127.0.0.1:8443 --old %s --cert "
	    "%s/a-late.crt --key %s/a-late.key --chain %s/chain.crt", fa, dir, dir, dir);
	ok(apply_line(st, &j, line, err, sizeof err), "replace under a journal (%s)", err);
	kk_journal_change(st, &j, 0, &ch);
	ok(ch.id == KK_V_CERTIFICATE_REPLACE && ch.x && !strcmp(ch.x->fingerprint, late)
	    && !strcmp(ch.x->listener, "127.0.0.1:8443"), "the change gives the new certificate");
	ok(st->certificates[0].listener && !strcmp(st->certificates[0].fingerprint, late),
	    "in the old one's place: still first");
	ok(!kk_state_certificate(st, "127.0.0.1:8443", fa)
	    && kk_state_certificate(st, "127.0.0.1:8443", late) == &st->certificates[0],
	    "the index follows");
	checked(st, "a journaled replace");
	snprintf(line, sizeof line, "certificate remove 127.0.0.1:8443 %s", fb);
	ok(apply_line(st, &j, line, err, sizeof err), "remove under the journal (%s)", err);
	kk_journal_change(st, &j, 1, &ch);
	ok(ch.id == KK_V_CERTIFICATE_REMOVE && ch.x && !strcmp(ch.x->fingerprint, fb),
	    "the change gives the removed certificate");
	ok(!kk_state_certificate(st, "127.0.0.1:8443", fb)
	    && kk_state_listener(st, "127.0.0.1:8443")->ncertificates == 1, "it is gone");
	snprintf(line, sizeof line, "certificate add 127.0.0.1:8443 --cert %s/b.crt --key "
	    "%s/b.key", dir, dir);
	ok(apply_line(st, &j, line, err, sizeof err), "added again under the journal (%s)",
	    err);
	kk_journal_change(st, &j, 2, &ch);
	ok(ch.id == KK_V_CERTIFICATE_ADD && ch.x && !strcmp(ch.x->fingerprint, fb)
	    && !ch.x->chain.len, "the change gives the added certificate");
	checked(st, "three journaled changes");
	kk_journal_undo(st, &j);
	after = printed(st);
	ok(!strcmp(before, after), "undone, it prints as before");
	checked(st, "the undo");
	free(after);

	ok(kk_state_copy(&from, st), "a copy to diff from");
	snprintf(line, sizeof line, "certificate replace 127.0.0.1:8443 --old %s --cert "
	    "%s/a-late.crt --key %s/a-late.key", fa, dir, dir);
	ok(apply_line(st, &j, line, err, sizeof err), "replace again (%s)", err);
	kk_journal_commit(st, &j);
	checked(st, "a committed replace");
	mid = printed(st);
	ok(kk_state_diff(&from, st, &diff) && diff.s, "diff of a replaced certificate");
	ok(diff.s && strstr(diff.s, "certificate remove 127.0.0.1:8443 ") == diff.s
	    && strstr(diff.s, "\ncertificate add 127.0.0.1:8443 --cert-data "),
	    "removes then adds in the data form");
	ok(kk_state_load_text(&from, diff.s ? diff.s : "", diff.len, "diff", err, sizeof err),
	    "the diff applies (%s)", err);
	after = printed(&from);
	ok(!strcmp(after, mid), "and reaches the target");
	free(after);
	kk_str_reset(&diff);
	ok(kk_state_diff(&from, st, &diff) && !diff.len, "no diff between equal states");
	kk_state_free(&from);

	/* A same-fingerprint replace (another chain) and a plain remove. */
	snprintf(line, sizeof line, "certificate replace 127.0.0.1:8443 --old %s --cert "
	    "%s/a-late.crt --key %s/a-late.key --chain %s/chain.crt", late, dir, dir, dir);
	accept_line(st, line);
	ok(kk_state_certificate(st, "127.0.0.1:8443", late)->chain.len > 0,
	    "the same certificate with a chain now");
	snprintf(line, sizeof line, "certificate remove 127.0.0.1:8443 %s", late);
	accept_line(st, line);
	checked(st, "a remove");
	kk_state_init(&back);
	after = printed(st);
	ok(kk_state_load_text(&back, after, strlen(after), "print", err, sizeof err)
	    && kk_state_listener(&back, "127.0.0.1:8443")->ncertificates == 1,
	    "its print loads, one certificate left");
	free(after);
	kk_state_free(&back);
	free(before);
	free(mid);
	kk_str_free(&diff);
}

/* The file form names the saved files; the hidden form and the lists
 * show no byte of a key. */
static void
test_forms(kk_state *st)
{
	char err[KK_ERRLEN], *key = b64("b.key"), fb[65], want[300];
	kk_str out = KK_STR_ZERO;
	kk_verb v;
	char buf[64] = "certificate list", *argv[4];
	unsigned argc;
	openssl_fingerprint("b.crt", fb);
	ok(kk_state_print_form(st, KK_CERT_FILES, "s.certs", &out), "prints the file form");
	snprintf(want, sizeof want, "certificate add 127.0.0.1:8443 --cert s.certs/%s.crt --key "
	    "s.certs/%s.key\n", fb, fb);
	ok(strstr(out.s, want) && !strstr(out.s, key) && !strstr(out.s, "-data"),
	    "files named by fingerprint, no data");
	kk_str_reset(&out);
	ok(kk_state_print_form(st, KK_CERT_HIDDEN, 0, &out), "prints the hidden form");
	snprintf(want, sizeof want, "# certificate add 127.0.0.1:8443 # %s, ec key, not after ",
	    fb);
	/* A --tls cluster's CA is public: the dump keeps it loadable. */
	ok(strstr(out.s, want) && !strstr(out.s, key) && !strstr(out.s, "--cert-data")
	    && !strstr(out.s, "--key-data") && strstr(out.s, "names b.test"),
	    "a comment: what it is, no key");
	kk_str_reset(&out);
	ok(kk_state_print_json(st, &out) && !strstr(out.s, key) && strstr(out.s,
	    "\"certificates\":[{\"listener\":\"127.0.0.1:8443\",\"fingerprint\""),
	    "state json lists certificates without key");
	kk_line_split(buf, argv, 4, &argc, err, sizeof err);
	kk_verb_parse(&v, argc, (const char *const *)argv, err, sizeof err);
	kk_str_reset(&out);
	snprintf(want, sizeof want, "127.0.0.1:8443 %s not-after ", fb);
	ok(kk_state_list(st, &v, 0, &out, err, sizeof err) && strstr(out.s, want)
	    && strstr(out.s, " key ec names b.test\n") && !strstr(out.s, key), "certificate list");
	kk_str_reset(&out);
	ok(kk_state_list(st, &v, 1, &out, err, sizeof err) && strstr(out.s, "\"names\":"
	    "[\"b.test\"]") && strstr(out.s, "\"key\":\"ec\"") && !strstr(out.s, key),
	    "certificate list --json: %s", out.s);
	snprintf(buf, sizeof buf, "certificate list 127.0.0.1:8080");
	kk_line_split(buf, argv, 4, &argc, err, sizeof err);
	kk_verb_parse(&v, argc, (const char *const *)argv, err, sizeof err);
	ok(!kk_state_list(st, &v, 0, &out, err, sizeof err) && strstr(err, "127.0.0.1:8080 is "
	    "not an https listener"), "certificate list of a plain listener refused");
	free(key);
	kk_str_free(&out);
}

/* The bytes of path, NULL when unreadable. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;
	if (!f) return 0;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = malloc((size_t)n + 1);
	*len = fread(s, 1, (size_t)n, f);
	s[*len] = 0;
	fclose(f);
	return s;
}

/* Every file of the saved directory: its mode and bytes joined, to
 * compare two saves. */
static char *
certdir_listing(const char *path, int *modes_ok)
{
	kk_str all = KK_STR_ZERO;
	struct dirent **list;
	struct stat sb;
	int n = scandir(path, &list, 0, alphasort);
	*modes_ok = stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0700;
	for (int i = 0; i < n; i++) {
		char file[512], *bytes;
		size_t len = 0;
		if (list[i]->d_name[0] != '.') {
			snprintf(file, sizeof file, "%s/%s", path, list[i]->d_name);
			if (stat(file, &sb) < 0 || (sb.st_mode & 0777) != 0600) *modes_ok = 0;
			bytes = slurp(file, &len);
			kk_str_catf(&all, "%s %zu\n", list[i]->d_name, len);
			if (bytes) kk_str_catb(&all, bytes, len);
			free(bytes);
		}
		free(list[i]);
	}
	if (n >= 0) free(list);
	return all.s ? all.s : strdup("");
}

/* state save writes the certificates beside the state; loading it back
 * and saving again gives the same files. */
static void
test_save(const kk_state *st)
{
	char err[KK_ERRLEN] = "", path[256], certs[300], *text1, *text2, *files1, *files2;
	char *key = b64("b.key"), *p1, *p2;
	size_t len;
	int modes;
	kk_state back;
	snprintf(path, sizeof path, "%s/saved", dir);
	snprintf(certs, sizeof certs, "%s.certs", path);
	ok(kk_state_save_file(st, path, err, sizeof err), "state saved (%s)", err);
	text1 = slurp(path, &len);
	files1 = certdir_listing(certs, &modes);
	ok(modes, "the directory is 0700, its files 0600");
	ok(text1 && strstr(text1, " --cert saved.certs/") && strstr(text1, " --key saved.certs/")
	    && !strstr(text1, "-data") && !strstr(text1, key), "the state names the files");
	ok(strstr(files1, ".key ") != 0, "a key file is there");
	kk_state_init(&back);
	ok(kk_state_load_file(&back, path, err, sizeof err), "the saved state loads (%s)", err);
	p1 = printed(st);
	p2 = printed(&back);
	ok(p1 && p2 && !strcmp(p1, p2), "with the same certificates, byte for byte");
	/* A stale file of a removed certificate goes; the operator's stay. */
	{
		char stale[400], mine[400];
		FILE *f;
		snprintf(stale, sizeof stale, "%s/%064d.crt", certs, 7);
		snprintf(mine, sizeof mine, "%s/README", certs);
		f = fopen(stale, "w");
		fclose(f);
		f = fopen(mine, "w");
		fclose(f);
		ok(kk_state_save_file(&back, path, err, sizeof err), "saved again (%s)", err);
		ok(access(stale, F_OK) < 0 && access(mine, F_OK) == 0, "stale file removed, "
		    "others kept");
		unlink(mine);
	}
	text2 = slurp(path, &len);
	files2 = certdir_listing(certs, &modes);
	ok(text2 && !strcmp(text1, text2), "the same state file");
	ok(!strcmp(files1, files2) && modes, "the same certificate files");
	free(text1);
	free(text2);
	free(files1);
	free(files2);
	free(p1);
	free(p2);
	free(key);
	kk_state_free(&back);
}

static const char https_line[] =
	"listener add https 127.0.0.1:8443 --front-timeout 30s --tls-versions 1.3 --ciphers "
	"ECDHE+AESGCM --groups X25519 --alpn http/1.1 --handshake-timeout 5s --hsts 600 "
	"--hsts-subdomains --hsts-preload --no-strict-sni --default-certificate ";

static void
test_state(void)
{
	char err[KK_ERRLEN] = "", fa[65], fb[65], path[256], *line, *p1, *p2;
	kk_state st, back, copy;
	kk_str out = KK_STR_ZERO, conf = KK_STR_ZERO;
	kk_listener *l;
	FILE *f;
	openssl_fingerprint("a.crt", fa);
	openssl_fingerprint("b.crt", fb);

	/* An https listener, every option, printed canonically and loaded
	 * back byte for byte, with certificates by relative file names. */
	kk_str_catf(&conf, "%s%s\nlistener add https 127.0.0.1:9443\n"
	    "listener add http 127.0.0.1:8080\n"
	    "certificate add 127.0.0.1:8443 --cert a.crt --key a.key --chain chain.crt\n"
	    "certificate add 127.0.0.1:8443 --cert b.crt --key b.key\n"
	    "cluster add app --https-redirect 308 --https-port 8443\n"
	    "cluster add api --https-redirect 301 --https-port 443\n"
	    "cluster add back --tls --ca chain.crt --sni A.Test\n"
	    "cluster add loose --tls --no-verify\n"
	    "frontend add app --listener 127.0.0.1:8443 --host a.test --hsts 60\n"
	    "frontend add api --listener 127.0.0.1:8080 --host a.test\n", https_line, fa);
	snprintf(path, sizeof path, "%s/test.conf", dir);
	f = fopen(path, "w");
	fwrite(conf.s, 1, conf.len, f);
	fclose(f);
	kk_state_init(&st);
	ok(kk_state_load_file(&st, path, err, sizeof err), "a config with relative "
	    "certificate files loads from elsewhere (%s)", err);
	checked(&st, "the load");
	l = kk_state_listener(&st, "127.0.0.1:8443");
	ok(l && l->tls && l->proto == KK_PROTO_HTTP && l->tls->versions == KK_TLS_1_3
	    && !strcmp(l->tls->ciphers, "ECDHE+AESGCM") && !strcmp(l->tls->groups, "X25519")
	    && !strcmp(l->tls->alpn, "http/1.1") && l->tls->handshake_timeout_ms == 5000
	    && l->tls->hsts_max_age == 600
	    && l->tls->hsts_flags == (KK_HSTS_SUBDOMAINS | KK_HSTS_PRELOAD)
	    && !l->tls->strict_sni && !strcmp(l->tls->default_cert, fa)
	    && l->ncertificates == 2, "the https listener keeps every option");
	l = kk_state_listener(&st, "127.0.0.1:9443");
	ok(l && l->tls && l->tls->versions == (KK_TLS_1_2 | KK_TLS_1_3) && l->tls->strict_sni
	    && !l->tls->ciphers && !l->tls->alpn && l->tls->handshake_timeout_ms == 10000
	    && !l->tls->default_cert, "defaults of an https listener");
	ok(!kk_state_listener(&st, "127.0.0.1:8080")->tls, "a plain listener has no policy");
	ok(kk_state_cluster(&st, "app")->https_redirect == 308
	    && kk_state_cluster(&st, "app")->https_port == 8443
	    && kk_state_cluster(&st, "api")->https_port == 443, "clusters keep the redirect");
	{
		const kk_certificate *x = kk_state_certificate(&st, "127.0.0.1:8443", fa);
		kk_blob crt = file("a.crt");
		ok(x && x->chain.len && x->cert.len == crt.len && !memcmp(x->cert.p, crt.p, crt.len)
		    && !strcmp(x->names[0], "a.test"), "certificate a found by listener and "
		    "fingerprint, its bytes as the file's");
		ok(!kk_state_certificate(&st, "127.0.0.1:9443", fa), "not on another listener");
		free(crt.p);
	}
	p1 = printed(&st);
	kk_state_init(&back);
	ok(kk_state_load_text(&back, p1, strlen(p1), "print", err, sizeof err), "its print "
	    "(the data form) loads (%s)", err);
	p2 = printed(&back);
	ok(p1 && p2 && !strcmp(p1, p2), "load, print, load, print is byte-identical");
	ok(strstr(p1, "listener add https 127.0.0.1:9443\n") != 0, "defaults are left out");
	ok(strstr(p1, "cluster add app --https-redirect 308 --https-port 8443\n")
	    && strstr(p1, "cluster add api --https-redirect 301\n")
	    && strstr(p1, "--host a.test --hsts 60\n"), "redirects and hsts print");
	ok(strstr(p1, "cluster add back --tls --ca-data ") && strstr(p1, " --sni a.test\n")
	    && strstr(p1, "cluster add loose --tls --no-verify\n"),
	    "--tls clusters print, the CA in the data form, the name in lower case");
	line = data_line("certificate add 127.0.0.1:8443", "b.crt", "b.key", "");
	ok(strstr(p1, line) != 0, "a certificate prints in the data form");
	ok(strstr(p1, "127.0.0.1:8080\ncertificate add 127.0.0.1:8443 --cert-data ")
	    && strstr(p1, "--key-data ") < strstr(p1, "cluster add"),
	    "certificates after the listeners");
	refuse(&back, line, "certificate add: listener 127.0.0.1:8443 already has certificate ");
	free(line);
	free(p2);
	kk_state_free(&back);

	/* Copies keep the certificates. */
	ok(kk_state_copy(&copy, &st), "copies");
	p2 = printed(&copy);
	ok(!strcmp(p1, p2), "the copy prints the same");
	checked(&copy, "a copy");
	free(p2);
	kk_state_free(&copy);

	/* Refusals, each leaving the state as it was. */
	line = data_line("certificate add 127.0.0.1:8080", "a.crt", "a.key", "");
	refuse(&st, line, "listener 127.0.0.1:8080 is a plain http listener; certificates go "
	    "on https listeners");
	free(line);
	line = data_line("certificate add 127.0.0.1:7777", "a.crt", "a.key", "");
	refuse(&st, line, "listener 127.0.0.1:7777 does not exist; add it with: listener add "
	    "https 127.0.0.1:7777");
	free(line);
	line = data_line("certificate add 127.0.0.1:9443", "a.crt", "b.key", "");
	refuse(&st, line, "certificate add: listener 127.0.0.1:9443: the key does not match");
	free(line);
	line = data_line("certificate add 127.0.0.1:9443", "stray.crt", "stray.key",
	    "chain.crt");
	refuse(&st, line, "the chain does not link to the leaf");
	free(line);
	refuse(&st, "certificate add 127.0.0.1:9443 --cert-data Zg= --key-data Zg==",
	    "--cert-data is not base64");
	refuse(&st, "certificate add 127.0.0.1:9443 --cert /nonexistent/x.crt --key a.key",
	    "unable to open /nonexistent/x.crt");
	refuse(&st, "listener add https 127.0.0.1:9444 --ciphers NOPE-CIPHER", "listener add: "
	    "--ciphers \"NOPE-CIPHER\": the TLS library");
	refuse(&st, "listener add https 127.0.0.1:9444 --groups X25519:NOPE", "listener add: "
	    "--groups \"X25519:NOPE\": the TLS library");
	refuse(&st, "listener remove 127.0.0.1:8443", "listener remove: listener 127.0.0.1:8443 "
	    "has 2 certificates; remove them first, with: certificate remove 127.0.0.1:8443 ");
	refuse(&st, "frontend add api --listener 127.0.0.1:8080 --host b.test --hsts 60",
	    "--hsts: listener 127.0.0.1:8080 is a plain http listener, and HSTS is sent over "
	    "https only");
	kk_str_reset(&conf);
	kk_str_catf(&conf, "certificate remove 127.0.0.1:9443 %s", fa);
	refuse(&st, conf.s, "certificate remove: listener 127.0.0.1:9443 has no certificate");
	kk_str_reset(&conf);
	kk_str_catf(&conf, "certificate replace 127.0.0.1:8443 --old %s --cert %s/b.crt --key "
	    "%s/b.key", fa, dir, dir);
	refuse(&st, conf.s, "certificate replace: listener 127.0.0.1:8443 already has "
	    "certificate");
	kk_str_reset(&conf);
	kk_str_catf(&conf, "certificate replace 127.0.0.1:8443 --old %s --cert %s/a-late.crt "
	    "--key %s/b.key", fa, dir, dir);
	refuse(&st, conf.s, "the key does not match the certificate");
	checked(&st, "the refusals");
	test_save(&st);
	test_changes(&st, fa, fb);
	test_forms(&st);
	free(p1);
	kk_str_free(&conf);
	kk_str_free(&out);
	kk_state_free(&st);
}

int
main(void)
{
	char cmd[200];
	snprintf(dir, sizeof dir, "/tmp/kk-unit-cert.XXXXXX");
	if (!mkdtemp(dir)) return 111;
	snprintf(cmd, sizeof cmd, "tests/tools/kk-mkcerts %s/c", dir);
	if (system(cmd)) return 111;
	strcat(dir, "/c");
	/* An encrypted key: refused, never a passphrase prompt. */
	snprintf(cmd, sizeof cmd, "openssl pkey -in %s/a.key -aes256 -passout pass:x -out "
	    "%s/a-enc.key", dir, dir);
	if (system(cmd)) return 111;
	test_base64();
	test_redact();
	test_parse();
	test_chain_cache();
	test_describe();
	test_load_checked();
	test_state();
	snprintf(cmd, sizeof cmd, "rm -rf %.*s", (int)(strlen(dir) - 2), dir);
	if (system(cmd)) return 111;
	return done();
}
