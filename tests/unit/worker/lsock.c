/* ISC license. */
/* Listening sockets: an adopted listener is made non-blocking and gets
 * TCP_NODELAY and delayed acknowledgement (TCP_QUICKACK off), and the
 * connections accepted from it carry both without a call of their own
 * (the front connection code relies on it). A wake-up takes at most
 * KK_ACCEPT_BATCH connections (a worker alone, one) and the rest wakes the
 * loop again; after a wake-up the worker waits behind the other waiters of
 * the listener.
 * The router and the front connections are played by the test. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/wait.h>
#include "tap.h"
#include "worker/lsock.c"
#include "worker/transport.c"
#include "worker/loop.c"
#include "worker/timer.c"

struct kk_stats kk_stats;
static kk_rlistener fake_rl;
static int accepted_fd = -1;
static unsigned naccepted;

kk_rlistener *
kk_router_listener(const kk_router *r, const char *addr)
{
	(void)r;
	(void)addr;
	return &fake_rl;
}

void
kk_front_accept(kk_lsock *ls, int fd, const struct sockaddr *sa, socklen_t salen)
{
	(void)ls;
	(void)sa;
	(void)salen;
	accepted_fd = fd;
	naccepted++;
}

/* Every listener here is an http one (fake_rl is zeroed). */
int
kk_router_has_names(const kk_rlistener *l)
{
	(void)l;
	return 0;
}

void
kk_tcpfront_accept(kk_lsock *ls, int fd, const struct sockaddr *sa, socklen_t salen)
{
	kk_front_accept(ls, fd, sa, salen);
}

unsigned
kk_front_count(void)
{
	return naccepted;
}

/* Every listener here is a plain one: no TLS context, and the TLS
 * transport is never picked. */
const kk_transport kk_transport_tls;

kk_tlsctx *
kk_tlsstate_find(const char *addr)
{
	(void)addr;
	return NULL;
}

void
kk_tlsctx_ref(kk_tlsctx *x)
{
	(void)x;
}

void
kk_tlsctx_unref(kk_tlsctx *x)
{
	(void)x;
}

static int
nodelay(int fd)
{
	int v = 0;
	socklen_t len = sizeof v;
	if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len) < 0)
		return -1;
	return v != 0;
}

/* 1 quick-ack mode, 0 delayed acknowledgement (the kernel's "pingpong"
 * mode, which an accepted socket copies from its listener). */
static int
quickack(int fd)
{
	int v = 0;
	socklen_t len = sizeof v;
	if (getsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &v, &len) < 0)
		return -1;
	return v != 0;
}

static void
drop_accepted(void)
{
	if (accepted_fd >= 0)
		close(accepted_fd);
	accepted_fd = -1;
}

/* n clients connected to sin, their sockets in c: 1 all of them. */
static int
connect_all(const struct sockaddr_in *sin, int *c, int n)
{
	int i;
	for (i = 0; i < n; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c[i], (const struct sockaddr *)sin, sizeof *sin) < 0)
			return 0;
	}
	return 1;
}

/* Runs the loop until want connections were accepted since before (or
 * 50 turns); returns how many were. */
static unsigned
accept_rest(unsigned before, unsigned want)
{
	int i;
	for (i = 0; i < 50 && naccepted - before < want; i++) {
		kk_loop_turn(100);
		drop_accepted();
	}
	return naccepted - before;
}

/* Queued connections beyond a batch are not lost: the listener, registered
 * again after the batch, reports them at the next turn. */
static void
batch(const struct sockaddr_in *sin, kk_lsock *l)
{
	int c[KK_ACCEPT_BATCH + 2], i, nc = KK_ACCEPT_BATCH + 2;
	unsigned before = naccepted;

	ok(connect_all(sin, c, nc), "%d clients connect while nobody accepts", nc);
	lsock_event(&l->io, EPOLLIN);
	drop_accepted();
	is_int(naccepted - before, KK_ACCEPT_BATCH, "one wake-up accepts %d of them",
	    KK_ACCEPT_BATCH);
	ok(l->polled, "the listener is registered again after the batch");
	is_int(accept_rest(before, nc), nc, "the rest is accepted at the next turns");
	for (i = 0; i < nc; i++)
		close(c[i]);
}

/* A worker alone takes one a wake-up: the level-triggered listener wakes
 * it again while connections wait, and it never ends a wake-up on a
 * failed accept4. */
static void
alone_one(const struct sockaddr_in *sin, kk_lsock *l)
{
	int c[3], i, nc = 3;
	unsigned before = naccepted;

	alone = 1;
	ok(connect_all(sin, c, nc), "alone: %d clients connect while nobody accepts", nc);
	lsock_event(&l->io, EPOLLIN);
	drop_accepted();
	is_int(naccepted - before, 1, "alone: one wake-up accepts one");
	is_int(accept_rest(before, nc), nc, "alone: the others at the next turns");
	for (i = 0; i < nc; i++)
		close(c[i]);
	alone = 0;
}

#define TURNS_CONNS 6

/* Another worker, played by a child: an exclusive waiter registered after
 * ours, taking every connection it is woken for; it writes one byte per
 * connection to out. Ends after TURNS_CONNS connections or 10 s. */
static pid_t
other_waiter(int lfd, int ready, int out)
{
	struct epoll_event ev = { EPOLLIN | EPOLLEXCLUSIVE, { 0 } };
	unsigned got = 0;
	int ep;
	pid_t pid = fork();
	if (pid)
		return pid;
	alarm(20);
	ep = epoll_create1(0);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		_exit(1);
	if (write(ready, "r", 1) != 1)
		_exit(1);
	while (got < TURNS_CONNS && epoll_wait(ep, &ev, 1, 10000) > 0) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		got++;
		close(fd);
		if (write(out, "b", 1) != 1)
			_exit(1);
	}
	_exit(0);
}

/* The clients, played by a child: one connection every 100 ms, so that
 * both waiters are back in epoll_wait when the next one arrives. */
static pid_t
clients(const struct sockaddr_in *sin)
{
	int c[TURNS_CONNS], i;
	pid_t pid = fork();
	if (pid)
		return pid;
	alarm(20);
	for (i = 0; i < TURNS_CONNS; i++) {
		struct timespec gap = { 0, 100 * 1000 * 1000 };
		nanosleep(&gap, NULL);
		c[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c[i], (const struct sockaddr *)sin, sizeof *sin) < 0)
			_exit(1);
	}
	nanosleep(&(struct timespec){ 0, 500 * 1000 * 1000 }, NULL);
	_exit(0);
}

/* EPOLLEXCLUSIVE wakes the first waiter in the listener's queue. A worker
 * that kept its place there took every connection while another worker
 * waited idle (lsock.c, requeue): after a wake-up, ours must be behind. */
static void
turns(const struct sockaddr_in *sin, int lfd)
{
	int ready[2], out[2], st, i;
	unsigned before = naccepted, theirs = 0;
	pid_t waiter, conns;
	char c;

	if (pipe(ready) < 0 || pipe(out) < 0) {
		ok(0, "pipes for the other waiter");
		return;
	}
	waiter = other_waiter(lfd, ready[1], out[1]);
	ok(read(ready[0], &c, 1) == 1, "another waiter registers after us");
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	conns = clients(sin);
	for (i = 0; i < 100 && naccepted - before + theirs < TURNS_CONNS; i++) {
		kk_loop_turn(100);
		drop_accepted();
		while (read(out[0], &c, 1) == 1)
			theirs++;
	}
	is_int(naccepted - before + theirs, TURNS_CONNS, "the %d connections are accepted",
	    TURNS_CONNS);
	ok(naccepted - before <= 2 && theirs >= TURNS_CONNS - 2,
	    "we took the first and the other waiter the next ones (ours %u, theirs %u)",
	    naccepted - before, theirs);
	kill(waiter, SIGTERM);
	kill(conns, SIGTERM);
	waitpid(waiter, &st, 0);
	waitpid(conns, &st, 0);
	close(ready[0]);
	close(ready[1]);
	close(out[0]);
	close(out[1]);
}

int
main(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int lfd, cfd, i;
	kk_lsock *l;

	kk_loop_init();
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok(lfd >= 0 && bind(lfd, (struct sockaddr *)&sin, sizeof sin) == 0 && listen(lfd, 16) == 0 &&
	    getsockname(lfd, (struct sockaddr *)&sin, &len) == 0, "a listener on 127.0.0.1");
	is_int(nodelay(lfd), 0, "TCP_NODELAY is off before adoption");
	is_int(quickack(lfd), 1, "quick ACK is on before adoption");
	l = kk_lsock_adopt(lfd, "127.0.0.1:0");
	ok(l != NULL, "adopted");
	ok((fcntl(lfd, F_GETFL) & O_NONBLOCK) != 0, "made non-blocking");
	ok(l->nodelay, "TCP_NODELAY set on the listener");
	is_int(nodelay(lfd), 1, "and the kernel says so");
	is_int(quickack(lfd), 0, "delayed ACK set on the listener");
	kk_lsock_attach(NULL);
	ok(l->polled, "polled once the router names it");

	cfd = socket(AF_INET, SOCK_STREAM, 0);
	ok(connect(cfd, (struct sockaddr *)&sin, sizeof sin) == 0, "a client connects");
	for (i = 0; i < 50 && accepted_fd < 0; i++)
		kk_loop_turn(100);
	ok(accepted_fd >= 0, "the connection is accepted through the loop");
	is_int(nodelay(accepted_fd), 1, "the accepted socket inherited TCP_NODELAY");
	is_int(quickack(accepted_fd), 0, "and delayed ACK: the response acknowledges the request");

	close(cfd);
	drop_accepted();

	batch(&sin, l);
	alone_one(&sin, l);
	turns(&sin, lfd);
	kk_lsock_stop();
	return done();
}
