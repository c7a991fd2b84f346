/* ISC license. */
/* Tests for src/worker/tlskeys.c: two server contexts that share nothing
 * but the ring, as two workers do, each handshake over a socketpair with a
 * client context of the same library. A ticket from one resumes on the
 * other (TLS 1.3 and 1.2) and not on a context without the ring; a
 * rotation keeps the previous key decrypting and the next key already
 * decrypts; a dropped key means a full handshake that still succeeds;
 * a worker with no ring yet issues tickets of its own; a bad ring changes
 * nothing. Certificates from tests/tools/kk-mkcerts. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "tap.h"
#include "worker/tlskeys.c"

static SSL_SESSION *last;	/* the newest ticket the client was given */
static char dir[64];
static const char *vname = "TLS 1.3";

static int
keep_session(SSL *ssl, SSL_SESSION *s)
{
	(void)ssl;
	if (last)
		SSL_SESSION_free(last);
	last = s;
	return 1;
}

static SSL_CTX *
server_ctx(int with_ring)
{
	char crt[128], key[128];
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());
	snprintf(crt, sizeof crt, "%s/a.crt", dir);
	snprintf(key, sizeof key, "%s/a.key", dir);
	if (!ctx || SSL_CTX_use_certificate_file(ctx, crt, SSL_FILETYPE_PEM) != 1
	    || SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		printf("Bail out! unable to load %s\n", crt);
		exit(1);
	}
	if (with_ring)
		kk_tls_keys_install(ctx);
	return ctx;
}

static SSL_CTX *
client_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
	SSL_CTX_sess_set_new_cb(ctx, keep_session);
	return ctx;
}

static int
step(SSL *ssl, int *done_)
{
	int r, e;
	if (*done_)
		return 1;
	r = SSL_do_handshake(ssl);
	if (r == 1) {
		*done_ = 1;
		return 1;
	}
	e = SSL_get_error(ssl, r);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/* A handshake of client c (at version v, offering session s when not
 * NULL) with server ctx, then one byte from the server so the client reads
 * the tickets that came before it. 1 done, with *reused; 0 it failed. */
static int
handshake(SSL_CTX *ctx, SSL_CTX *c, int v, SSL_SESSION *s, int *reused)
{
	SSL *srv, *cli;
	int sp[2], sdone = 0, cdone = 0, ok = 0, i;
	char byte;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		return 0;
	fcntl(sp[0], F_SETFL, O_NONBLOCK);
	fcntl(sp[1], F_SETFL, O_NONBLOCK);
	srv = SSL_new(ctx);
	cli = SSL_new(c);
	SSL_set_fd(srv, sp[0]);
	SSL_set_fd(cli, sp[1]);
	SSL_set_accept_state(srv);
	SSL_set_connect_state(cli);
	SSL_set_min_proto_version(cli, v);
	SSL_set_max_proto_version(cli, v);
	if (s)
		SSL_set_session(cli, s);
	for (i = 0; i < 100 && !(sdone && cdone); i++)
		if (!step(cli, &cdone) || !step(srv, &sdone))
			goto out;
	if (!sdone || !cdone || SSL_write(srv, "x", 1) != 1)
		goto out;
	for (i = 0; i < 100; i++) {
		int r = SSL_read(cli, &byte, 1);
		if (r == 1)
			break;
		if (SSL_get_error(cli, r) != SSL_ERROR_WANT_READ)
			goto out;
	}
	*reused = SSL_session_reused(cli) && SSL_session_reused(srv);
	ok = i < 100 && SSL_version(cli) == v;
	/* OpenSSL forgets a session whose connection ended without its
	 * close_notify, as a client should. */
	SSL_shutdown(cli);
	SSL_shutdown(srv);
out:
	SSL_free(srv);
	SSL_free(cli);
	close(sp[0]);
	close(sp[1]);
	return ok;
}

/* Key n: every byte n, the name's first byte 0x40 + n, so names differ. */
static void
key_hex(char *hex, int n)
{
	unsigned char k[KK_TLS_KEY_LEN];
	kk_str h = KK_STR_ZERO;
	memset(k, n, sizeof k);
	k[0] = (unsigned char)(0x40 + n);
	kk_handoff_cathex(&h, (const char *)k, sizeof k);
	memcpy(hex, h.s, h.len + 1);
	kk_str_free(&h);
}

/* Installs the ring SERIAL [keys...], the first encrypting. */
static int
ring_of(const char *serial, int a, int b, int c)
{
	static char hex[3][2 * KK_TLS_KEY_LEN + 1];
	const char *argv[6] = { "tls-keys", serial, "3600", hex[0], hex[1], hex[2] };
	char err[KK_ERRLEN];
	int n = 0;
	if (a) key_hex(hex[n++], a);
	if (b) key_hex(hex[n++], b);
	if (c) key_hex(hex[n++], c);
	return kk_tls_keys_set(3 + (unsigned)n, argv, err, sizeof err);
}

static void
status_is(const char *want, const char *what)
{
	kk_str s = KK_STR_ZERO;
	kk_tls_keys_status(&s);
	is_str(s.s, want, "status: %s", what);
	kk_str_free(&s);
}

static SSL_SESSION *
ticket_from(SSL_CTX *ctx, SSL_CTX *c, int v, const char *what)
{
	int reused = 1;
	SSL_SESSION *s;
	if (last)
		SSL_SESSION_free(last);
	last = 0;
	ok(handshake(ctx, c, v, 0, &reused) && !reused && last, "%s, %s: a full handshake gives"
	    " a ticket", vname, what);
	s = last;
	last = 0;
	return s;
}

/* Each try offers a fresh copy of the ticket, as s_client -sess_in does:
 * an OpenSSL client retires a session once it was resumed. */
static void
resumes(SSL_CTX *ctx, SSL_CTX *c, int v, SSL_SESSION *s, int want, const char *what)
{
	unsigned char der[8192], *p = der;
	const unsigned char *q = der;
	int reused = -1, len = i2d_SSL_SESSION(s, 0);
	SSL_SESSION *copy = 0;
	if (len > 0 && len <= (int)sizeof der && i2d_SSL_SESSION(s, &p) == len)
		copy = d2i_SSL_SESSION(0, &q, len);
	ok(copy && handshake(ctx, c, v, copy, &reused), "%s, %s: the handshake succeeds", vname,
	    what);
	SSL_SESSION_free(copy);
	is_int(reused, want, "%s, %s: %s", vname, what, want ? "resumed" : "a full handshake");
}

static void
run(int v, const char *name, SSL_CTX *a, SSL_CTX *b, SSL_CTX *bare, SSL_CTX *c)
{
	SSL_SESSION *s1, *s2;

	vname = name;
	ok(ring_of("1", 1, 2, 0), "%s: ring 1 installed", name);
	s1 = ticket_from(a, c, v, "ring 1");
	resumes(b, c, v, s1, 1, "a ticket of worker a on worker b");
	resumes(bare, c, v, s1, 0, "the same ticket on a context without the ring");

	/* Encrypted under key 2, the next of ring 1: a worker still on
	 * ring 1 takes it while the rotation travels. */
	ok(ring_of("2", 2, 3, 1), "%s: rotated to ring 2", name);
	s2 = ticket_from(a, c, v, "ring 2");
	resumes(b, c, v, s1, 1, "after a rotation, a ticket of the previous key");
	ok(ring_of("1", 1, 2, 0), "%s: back to ring 1", name);
	resumes(b, c, v, s2, 1, "a ticket of the next key on a worker not yet rotated");

	ok(ring_of("3", 3, 4, 2), "%s: ring 3 drops key 1", name);
	resumes(b, c, v, s1, 0, "a ticket of a dropped key");
	resumes(b, c, v, s2, 1, "while the previous key still decrypts");
	SSL_SESSION_free(s1);
	SSL_SESSION_free(s2);
}

int
main(void)
{
	char cmd[256], err[KK_ERRLEN];
	const char *src = getenv("KK_SRCDIR");
	const char *bad[5] = { "tls-keys", "4", "3600", "abc", 0 };
	SSL_CTX *a, *b, *bare, *c;
	SSL_SESSION *own;

	strcpy(dir, "/tmp/kk-tlskeys.XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	snprintf(cmd, sizeof cmd, "%s/tests/tools/kk-mkcerts %s/c", src ? src : ".", dir);
	if (system(cmd) != 0) {
		printf("Bail out! %s failed\n", cmd);
		return 1;
	}
	strcat(dir, "/c");
	a = server_ctx(1);
	b = server_ctx(1);
	bare = server_ctx(0);
	c = client_ctx();

	status_is("tls-ticket-serial 0\ntls-ticket-key none\n", "no key at start");
	own = ticket_from(a, c, TLS1_3_VERSION, "no ring yet");
	resumes(a, c, TLS1_3_VERSION, own, 1, "no ring yet, the worker's own key");
	ring_of("1", 1, 2, 0);
	status_is("tls-ticket-serial 1\ntls-ticket-key 41010101010101010101010101010101\n",
	    "ring 1 names key 1");
	resumes(a, c, TLS1_3_VERSION, own, 0, "the worker's own key is gone with a ring");
	SSL_SESSION_free(own);

	is_int(SSL_CTX_get_timeout(a), 3600, "a context built before the ring takes its lifetime");
	is_int(SSL_CTX_get_timeout(bare) != 3600, 1, "a context without the ring keeps its own");
	{
		const char *life[5] = { "tls-keys", "1", "60", 0, 0 };
		char hex[2 * KK_TLS_KEY_LEN + 1];
		SSL_CTX *gone = server_ctx(1);
		key_hex(hex, 1);
		life[3] = hex;
		SSL_CTX_free(gone);
		ok(kk_tls_keys_set(4, life, err, sizeof err) && SSL_CTX_get_timeout(b) == 60,
		    "a new lifetime reaches every context, a freed one left out");
	}

	run(TLS1_3_VERSION, "TLS 1.3", a, b, bare, c);
	run(TLS1_2_VERSION, "TLS 1.2", a, b, bare, c);
	status_is("tls-ticket-serial 3\ntls-ticket-key 43030303030303030303030303030303\n",
	    "ring 3 names key 3");

	err[0] = 0;
	ok(!kk_tls_keys_set(4, bad, err, sizeof err) && strstr(err, "key 1 is not 80 bytes"),
	    "a key that is not hex is refused");
	bad[3] = "x";
	bad[1] = "y";
	ok(!kk_tls_keys_set(4, bad, err, sizeof err) && strstr(err, "is not a number"),
	    "a serial that is not a number is refused");
	ok(!kk_tls_keys_set(3, bad, err, sizeof err), "a ring without a key is refused");
	status_is("tls-ticket-serial 3\ntls-ticket-key 43030303030303030303030303030303\n",
	    "and the ring in use stays");

	SSL_CTX_free(a);
	SSL_CTX_free(b);
	SSL_CTX_free(bare);
	SSL_CTX_free(c);
	snprintf(cmd, sizeof cmd, "rm -rf %.*s", (int)(strlen(dir) - 2), dir);
	(void)!system(cmd);
	return done();
}
