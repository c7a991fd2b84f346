/* ISC license. */
/* htpasswd files: entries, comments, CRLF; the weak hashes, a user
 * twice, an empty file refused; a frontend's auth through load and the
 * three printed forms (data, the dump's digest, none of the hashes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kakehi/base64.h>
#include <kakehi/htpasswd.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include "tap.h"

#define BCRYPT "$2b$04$scJI3c3ipHxhiA23Tuo7je/H3bok9SIuZ2errg6w2k6n7X2B21e/q"
#define SHA512 "$6$3ok7PomfI6Gsu3pD$ABHYGl45RonD0KB28Nx.qCn.a9TAZus7o1Rs.QdKjPrtdjNqozz1Y"

static int
check(const char *text, unsigned *users, char *err)
{
	return kk_htpasswd_check(text, strlen(text), users, err, KK_ERRLEN);
}

static void
test_parse(void)
{
	static const char good[] = "# comment\r\nalice:" BCRYPT "\r\n\n   \nbob:" SHA512;
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "", "no user:hash entry" },
		{ "# only\n", "no user:hash entry" },
		{ "alice\n", "line 1: give user:hash" },
		{ ":" BCRYPT "\n", "line 1: give user:hash" },
		{ "a b:" BCRYPT "\n", "a blank or a control" },
		{ "eve:$apr1$abcdefgh$0123456789abcdefghijkl\n", "too weak" },
		{ "eve:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", "too weak" },
		{ "eve:abJnggxhB/yWI\n", "too weak" },
		{ "a:" BCRYPT "\nb:" SHA512 "\na:" SHA512 "\n", "line 3: user \"a\" is there twice (line 1" },
	};
	char err[KK_ERRLEN] = "";
	const char *user, *hash;
	size_t pos = 0, ulen, hlen;
	unsigned users;
	ok(check(good, &users, err) && users == 2, "comments, blank lines and CRLF (%s)", err);
	ok(kk_htpasswd_next(good, strlen(good), &pos, &user, &ulen, &hash, &hlen)
	    && ulen == 5 && !memcmp(user, "alice", 5) && hlen == strlen(BCRYPT)
	    && !memcmp(hash, BCRYPT, hlen), "the first entry, its CR left out");
	ok(kk_htpasswd_next(good, strlen(good), &pos, &user, &ulen, &hash, &hlen)
	    && ulen == 3 && hlen == strlen(SHA512), "the second, without a last newline");
	ok(!kk_htpasswd_next(good, strlen(good), &pos, &user, &ulen, &hash, &hlen), "then none");
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err[0] = 0;
		ok(!check(bad[i].text, &users, err) && strstr(err, bad[i].want), "refused: %s",
		    bad[i].want);
		if (!strstr(err, bad[i].want))
			printf("#   got: %s\n", err);
	}
	ok(!kk_htpasswd_check("a:" BCRYPT "\0", strlen("a:" BCRYPT) + 1, &users, err,
	    sizeof err) && strstr(err, "NUL"), "a NUL byte is refused");
}

static void
test_state(void)
{
	kk_state st;
	kk_str b64 = KK_STR_ZERO, conf = KK_STR_ZERO, out = KK_STR_ZERO;
	char err[KK_ERRLEN] = "";
	const char *file = "alice:" BCRYPT "\n";
	kk_state_init(&st);
	kk_base64_encode(&b64, (const unsigned char *)file, strlen(file));
	kk_str_catf(&conf, "listener add http 127.0.0.1:80\ncluster add app\n"
	    "frontend add app --listener 127.0.0.1:80 --host a.test --request-header-add X-A=1 "
	    "--htpasswd-data %s --auth-realm 'Zone 1' --auth-forward\n", b64.s);
	ok(kk_state_load_text(&st, conf.s, conf.len, "t.conf", err, sizeof err), "loads (%s)",
	    err);
	kk_state_print_form(&st, KK_CERT_DATA, 0, &out);
	ok(strstr(out.s, "--request-header-add X-A=1 --htpasswd-data ") && strstr(out.s, b64.s)
	    && strstr(out.s, " --auth-realm 'Zone 1' --auth-forward\n"),
	    "the data form: the bytes, realm and forward after the other actions");
	kk_str_reset(&out);
	kk_state_print_form(&st, KK_CERT_HIDDEN, 0, &out);
	ok(strstr(out.s, "--htpasswd-data sha256:") && !strstr(out.s, b64.s)
	    && !strstr(out.s, "$2b$"), "the dump form: a digest, no byte of the file");
	kk_str_free(&b64);
	kk_str_free(&conf);
	kk_str_free(&out);
	kk_state_free(&st);
}

int
main(void)
{
	test_parse();
	test_state();
	return done();
}
