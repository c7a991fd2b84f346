/* ISC license. */
/* Listening sockets: an adopted listener is made non-blocking and gets
 * TCP_NODELAY and delayed acknowledgement (TCP_QUICKACK off), and the
 * connections accepted from it carry both without a call of their own
 * (the front connection code relies on it).
 * The router and the front connections are played by the test. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

unsigned
kk_front_count(void)
{
	return naccepted;
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
	close(accepted_fd);
	kk_lsock_stop();
	return done();
}
