/* ISC license. */
/* The TLS transport over one SSL object per connection, reading and
 * writing the socket itself (SSL_set_fd). What it hides from the
 * protocols above:
 * - A record at a time: SSL_read returns at most one record, SSL_write
 *   (in partial-write mode) writes one, so a short count would not mean
 *   that the socket is drained or full, which is what the connection
 *   layer reads into it (conn.c). Each call here loops until the buffer
 *   is done or the library must wait, so a short count means just that.
 * - The retry rules: after a write that must wait, the next one passes
 *   the same bytes first (the connection keeps them where they were),
 *   and the library accepts them at another address (moving buffer).
 * - Readiness: a read may wait for writability and a write for
 *   readability; SSL_want says which, for want().
 * - An end or error met after some bytes were moved is kept for the next
 *   call, so the bytes are delivered first.
 * - The socket is read through tlsbio.h: a flight of records in one read,
 *   and none after a short read until the next edge; each library call
 *   here ends with kk_tlsbio_settle.
 * The states live in a kk_tls from a free list, so a connection costs the
 * library's SSL object and nothing of ours beyond the first ones. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include "list.h"
#include "status.h"
#include "tls.h"
#include "tlsbio.h"
#include "tlspeer.h"
#include "tlsclient.h"

#define TLS_F_FATAL 0x1		/* the library failed: no close_notify */
#define TLS_F_EOF 0x2		/* the end was met after bytes: next read says 0 */
#define TLS_F_ERROR 0x4		/* an error was met after bytes: next call says err */
#define TLS_F_PEER 0x8		/* subject holds the client certificate's, if any */
#define TLS_F_CLIENT 0x10	/* a back connection: connecting, counted apart */

typedef struct kk_tls kk_tls;
struct kk_tls {
	kk_link link;		/* free list */
	SSL *ssl;
	kk_tlscert *served;	/* referenced; NULL until the ClientHello */
	unsigned flags;		/* TLS_F_* */
	int err;		/* errno kept with TLS_F_ERROR */
	char *subject;		/* kk_tlspeer_subject, made at the first request */
	/* Client: where the session to offer next time is kept (its bend's
	 * slot, which outlives the connection); a new one replaces it. */
	SSL_SESSION **resume;
	const char *failure;	/* why the handshake failed (static text); NULL: errno */
	kk_tlsbio bio;		/* the socket, as the library reads it */
};
static kk_link tls_free = { &tls_free, &tls_free };

static inline kk_tls *
tls_of(const kk_conn *c)
{
	return c->tpc;
}

/* Gives c the state of ssl (taken: freed on failure). NULL: ENOMEM. */
static kk_tls *
attach(kk_conn *c, SSL *ssl)
{
	kk_link *l = kk_list_first(&tls_free);
	kk_tls *t;
	BIO *b;
	if (!ssl) {
		errno = ENOMEM;
		return NULL;
	}
	if (l) {
		kk_list_unlink(l);
		t = KK_CONTAINER(l, kk_tls, link);
	} else if (!(t = malloc(sizeof *t))) {
		SSL_free(ssl);
		errno = ENOMEM;
		return NULL;
	}
	memset(t, 0, sizeof *t);
	if (!(b = kk_tlsbio_new(&t->bio, c))) {
		SSL_free(ssl);
		kk_list_push(&tls_free, &t->link);
		errno = ENOMEM;
		return NULL;
	}
	SSL_set_bio(ssl, b, b);
	t->ssl = ssl;
	SSL_set_app_data(ssl, t);
	c->tpc = t;
	return t;
}

int
kk_tls_attach(kk_conn *c, kk_tlsctx *x)
{
	kk_tls *t = attach(c, kk_tlsctx_ssl(x));
	if (!t)
		return 0;
	SSL_set_accept_state(t->ssl);
	return 1;
}

int
kk_tls_attach_client(kk_conn *c, kk_tlsclient *x, const kk_addr *addr,
    SSL_SESSION **resume)
{
	kk_tls *t = attach(c, kk_tlsclient_ssl(x, addr, *resume));
	if (!t)
		return 0;
	SSL_set_connect_state(t->ssl);
	t->flags |= TLS_F_CLIENT;
	t->resume = resume;
	return 1;
}

int
kk_tls_offer_alpn(kk_conn *c, const unsigned char *wire, size_t len)
{
	/* 0 is success here, as OpenSSL and BoringSSL both have it. */
	return SSL_set_alpn_protos(tls_of(c)->ssl, wire, (unsigned)len) == 0;
}

/* A session the backend gave (at the end of a TLS 1.2 handshake, in a
 * ticket after a TLS 1.3 one): kept in the connection's slot for the next
 * connect, in place of the one before. */
static int
on_new_session(SSL *ssl, SSL_SESSION *s)
{
	kk_tls *t = SSL_get_app_data(ssl);
	if (!t || !t->resume)
		return 0;
	if (*t->resume)
		SSL_SESSION_free(*t->resume);
	*t->resume = s;
	return 1;
}

void
kk_tls_client_hook(SSL_CTX *ctx)
{
	/* Sessions are kept per backend (the slot), not in the context's
	 * own cache, which knows no backend. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, on_new_session);
}

const char *
kk_tls_failure(const kk_conn *c)
{
	return c->tp == &kk_transport_tls && c->tpc ? tls_of(c)->failure : NULL;
}

const kk_tlscert *
kk_tls_served(const kk_conn *c)
{
	return c->tp == &kk_transport_tls && c->tpc ? tls_of(c)->served : NULL;
}

void
kk_tls_set_served(SSL *ssl, kk_tlscert *x)
{
	kk_tls *t = SSL_get_app_data(ssl);
	kk_tlscert_ref(x);
	if (t->served)	/* a second ClientHello (HelloRetryRequest) */
		kk_tlscert_unref(t->served);
	t->served = x;
}

const char *
kk_tls_peer_subject(kk_conn *c)
{
	kk_tls *t = c->tp == &kk_transport_tls ? tls_of(c) : NULL;
	if (!t)
		return NULL;
	/* Once per connection: a keep-alive connection's requests share it. */
	if (!(t->flags & TLS_F_PEER)) {
		t->flags |= TLS_F_PEER;
		t->subject = kk_tlspeer_subject(t->ssl);
	}
	return t->subject;
}

/* After a call that returned r <= 0: -1 with errno (EAGAIN: wait, as
 * SSL_want says), or 0 for the peer's end (read only). The library's
 * error queue is cleared: a connection's failure is not left for the
 * next one to find. */
static ssize_t
failed(kk_tls *t, int r, int reading)
{
	int sys = errno;
	int e = SSL_get_error(t->ssl, r);
	ERR_clear_error();
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:	/* close_notify */
		if (reading)
			return 0;
		errno = EPIPE;
		return -1;
	case SSL_ERROR_SYSCALL:
		t->flags |= TLS_F_FATAL;
		/* An end of file without close_notify: HTTP frames its own
		 * messages (RFC 9112 §9.8), so a cut is seen there. */
		if (!sys && reading)
			return 0;
		errno = sys ? sys : EPIPE;
		return -1;
	default:
		t->flags |= TLS_F_FATAL;
		errno = EPROTO;
		return -1;
	}
}

/* Keeps what a loop met after moving bytes for the next call. */
static void
keep_end(kk_tls *t, ssize_t r)
{
	if (r == 0)
		t->flags |= TLS_F_EOF;
	else if (errno != EAGAIN) {
		t->flags |= TLS_F_ERROR;
		t->err = errno;
	}
}

/* What a loop kept, if anything: 1 with *r set. */
static int
kept(kk_tls *t, ssize_t *r)
{
	if (t->flags & TLS_F_ERROR) {
		errno = t->err;
		*r = -1;
		return 1;
	}
	if (t->flags & TLS_F_EOF) {
		*r = 0;
		return 1;
	}
	return 0;
}

/* After each library call: bytes read ahead go to the connection. Out
 * of memory loses them, so the connection fails at its next call. */
static void
settle(kk_tls *t)
{
	if (!kk_tlsbio_settle(&t->bio) && !(t->flags & TLS_F_ERROR)) {
		t->flags |= TLS_F_ERROR | TLS_F_FATAL;
		t->err = ENOMEM;
	}
}

/* A handshake to a backend failed: counted, with its reason kept for
 * the log (back.c). Its session, if one was offered, is not offered
 * again. */
static void
client_failed(kk_tls *t, unsigned long lib)
{
	long v = SSL_get_verify_result(t->ssl);
	kk_stats.back_tls_failures++;
	if (v != X509_V_OK) {
		kk_stats.back_tls_verify_failures++;
		t->failure = X509_verify_cert_error_string(v);
	} else if (lib)
		t->failure = ERR_reason_error_string(lib);
	if (*t->resume) {
		SSL_SESSION_free(*t->resume);
		*t->resume = NULL;
	}
}

static int
tls_start(kk_conn *c)
{
	kk_tls *t = tls_of(c);
	unsigned long lib;
	int r, refused, w = SSL_want(t->ssl);
	/* Still waiting on what the last turn waited on: no call. */
	if ((w == SSL_READING && !(c->flags & KK_CONN_F_READABLE)) ||
	    (w == SSL_WRITING && !(c->flags & KK_CONN_F_WRITABLE)))
		return 0;
	errno = 0;
	r = SSL_do_handshake(t->ssl);
	settle(t);
	if (r == 1) {
		if (t->flags & TLS_F_CLIENT) {
			kk_stats.back_tls_handshakes++;
			kk_stats.back_tls_resumed += SSL_session_reused(t->ssl) != 0;
			return 1;
		}
		kk_stats.tls_handshakes++;
		if (SSL_session_reused(t->ssl))
			kk_stats.tls_resumed++;
		return 1;
	}
	lib = ERR_peek_error();
	refused = kk_tlspeer_refused(t->ssl);
	if (failed(t, r, 0) < 0 && errno == EAGAIN) {
		c->flags &= ~(SSL_want(t->ssl) == SSL_WRITING ? KK_CONN_F_WRITABLE :
		    KK_CONN_F_READABLE);
		return 0;
	}
	if (t->flags & TLS_F_CLIENT)
		client_failed(t, lib);
	else {
		kk_stats.tls_handshake_failures++;
		kk_stats.tls_client_cert_refused += (unsigned)refused;
	}
	t->flags |= TLS_F_FATAL;
	if (!errno || errno == EPIPE)
		errno = ECONNABORTED;
	return -1;
}

static ssize_t
tls_read(kk_conn *c, char *p, size_t n)
{
	kk_tls *t = tls_of(c);
	size_t got = 0;
	ssize_t r;
	if (kept(t, &r))
		return r;
	while (got < n) {
		size_t ask = n - got;
		int k;
		errno = 0;
		k = SSL_read(t->ssl, p + got, ask > INT_MAX ? INT_MAX : (int)ask);
		settle(t);
		if (k > 0) {
			got += (size_t)k;
			continue;
		}
		r = failed(t, k, 1);
		if (!got)
			return r;
		keep_end(t, r);
		break;
	}
	return (ssize_t)got;
}

/* more: the records go out with MSG_MORE, held for a fuller packet
 * until the push, the shutdown or the close. */
static ssize_t
tls_writev(kk_conn *c, const struct iovec *v, int n, int more)
{
	kk_tls *t = tls_of(c);
	size_t put = 0;
	ssize_t r;
	int i;
	if (t->flags & TLS_F_ERROR) {
		errno = t->err;
		return -1;
	}
	for (i = 0; i < n; i++) {
		size_t done = 0;
		while (done < v[i].iov_len) {
			size_t ask = v[i].iov_len - done;
			int k;
			errno = 0;
			/* Only for this call: a read's library call may write too
			 * (a key update's answer), and that must not be held. */
			t->bio.more = more != 0;
			k = SSL_write(t->ssl, (const char *)v[i].iov_base + done,
			    ask > INT_MAX ? INT_MAX : (int)ask);
			t->bio.more = 0;
			settle(t);
			if (k > 0) {
				done += (size_t)k;
				continue;
			}
			r = failed(t, k, 0);
			put += done;
			if (!put)
				return r;
			keep_end(t, r);
			return (ssize_t)put;
		}
		put += done;
	}
	return (ssize_t)put;
}

static void
tls_push(kk_conn *c)
{
	kk_transport_push_fd(c->io.fd);
}

/* close_notify, held (MSG_MORE) so the shutdown sends it with the FIN and
 * whatever the last write held: one segment. */
static int
say_close_notify(kk_tls *t)
{
	int r;
	t->bio.more = 1;
	r = SSL_shutdown(t->ssl);
	t->bio.more = 0;
	settle(t);
	ERR_clear_error();
	return r;
}

/* close_notify, then the socket's write side; after a failure, or when
 * the alert cannot go now, only what the close does. */
static void
tls_shutdown(kk_conn *c)
{
	kk_tls *t = tls_of(c);
	if (!(t->flags & TLS_F_FATAL) && SSL_is_init_finished(t->ssl) &&
	    say_close_notify(t) < 0)
		return;
	shutdown(c->io.fd, SHUT_WR);
	c->flags &= ~KK_CONN_F_HELD;
}

static void
tls_close(kk_conn *c)
{
	kk_tls *t = tls_of(c);
	int held = (c->flags & KK_CONN_F_HELD) != 0;
	/* A close the protocol did not shut first (a last response closed at
	 * once, an idle keep-alive connection) still says close_notify: a
	 * client that sees the end without it takes the connection as
	 * truncated, and OpenSSL clients then drop the session, so it would
	 * never resume. One try, never waited for. */
	if (!(t->flags & (TLS_F_FATAL | TLS_F_ERROR)) && SSL_is_init_finished(t->ssl)
	    && !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN)) {
		say_close_notify(t);
		held = 1;
	}
	SSL_free(t->ssl);
	kk_tlsbio_end(&t->bio);
	if (t->served)
		kk_tlscert_unref(t->served);
	free(t->subject);
	kk_list_push(&tls_free, &t->link);
	c->tpc = NULL;
	kk_transport_close_fd(c->io.fd, held);
	c->io.fd = -1;
}

/* The library knows which way the last call waited: a read may need to
 * write first (a key update's answer), a write to read. */
static unsigned
tls_want(const kk_conn *c, unsigned dir)
{
	switch (SSL_want(tls_of(c)->ssl)) {
	case SSL_READING:
		return KK_CONN_F_READABLE;
	case SSL_WRITING:
		return KK_CONN_F_WRITABLE;
	default:
		return dir;
	}
}

/* Decrypted bytes the last read left (it stops only when the buffer is
 * full or the library waits), bytes read ahead and not decrypted yet, or
 * an end kept for the next read: none of them comes with an edge. */
static size_t
tls_pending(const kk_conn *c)
{
	const kk_tls *t = tls_of(c);
	if (t->flags & (TLS_F_EOF | TLS_F_ERROR))
		return 1;
	return (size_t)SSL_pending(t->ssl) + kk_tlsbio_pending(&t->bio);
}

static const char *
tls_alpn(const kk_conn *c, size_t *len)
{
	const unsigned char *p = NULL;
	unsigned n = 0;
	SSL_get0_alpn_selected(tls_of(c)->ssl, &p, &n);
	*len = n;
	return n ? (const char *)p : NULL;
}

const kk_transport kk_transport_tls = {
	"tls", tls_start, tls_read, tls_writev, tls_push, tls_shutdown,
	tls_close, tls_want, tls_pending, tls_alpn,
};
