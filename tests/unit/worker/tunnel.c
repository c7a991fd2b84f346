/* ISC license. */
/* The tunnel protocol over socket pairs, on both paths (splice between
 * plain sockets, pool buffers for any other transport): bytes both ways,
 * bytes held before the tunnel first, a large transfer through bounded
 * memory, half-close each way, and a failure when a peer is gone. The
 * epoll edges are played by the test: every run sees both sides ready. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "tap.h"
#include "worker/tunnel.c"
#include "worker/conn.c"
#include "worker/transport.c"
#include "worker/buf.c"
#include "worker/loop.c"
#include "worker/timer.c"

struct kk_stats kk_stats;
static kk_transport other;	/* plain calls under another table: the buffer path */
static int events[3];

static void
notify(kk_tunnel *t, int ev, kk_conn *c)
{
	(void)t;
	(void)c;
	events[ev]++;
}

/* cl -- a [tunnel] b -- sv */
static int cl, sv;
static kk_conn a, b;
static kk_tunnel t;

static int
setup(const kk_transport *tp)
{
	int p[2], q[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, q) < 0)
		return 0;
	cl = p[0];
	sv = q[1];
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	kk_conn_init(&a, p[1], KK_IO_FRONT, tp, NULL, NULL);
	kk_conn_init(&b, q[0], KK_IO_BACK, tp, NULL, NULL);
	return 1;
}

static void
teardown(void)
{
	kk_tunnel_end(&t);
	kk_conn_close(&a);
	kk_conn_close(&b);
	close(cl);
	close(sv);
}

static size_t inuse_max;	/* most pool buffers held at once */

/* Runs the tunnel with both sides ready until it ends or stops moving. */
static int
pump(void)
{
	int r = 1, i;
	size_t inuse, idle, size;
	for (i = 0; i < 64 && r > 0; i++) {
		uint64_t moved = a.bytes_in + a.bytes_out + b.bytes_in + b.bytes_out;
		a.flags |= KK_CONN_F_READABLE | KK_CONN_F_WRITABLE;
		b.flags |= KK_CONN_F_READABLE | KK_CONN_F_WRITABLE;
		r = kk_tunnel_run(&t);
		kk_buf_stats(&inuse, &idle, &size);
		if (inuse > inuse_max)
			inuse_max = inuse;
		if (moved == a.bytes_in + a.bytes_out + b.bytes_in + b.bytes_out)
			break;
	}
	return r;
}

static const char *
got(int fd)
{
	static char buf[256];
	ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
	if (n < 0)
		return "(nothing)";
	buf[n] = 0;
	return n ? buf : "(eof)";
}

static void
both_ways(const char *path, const kk_transport *tp)
{
	static char big[1 << 20], sink[65536];
	size_t sent = 0, recvd = 0;
	int i, same = 1;

	inuse_max = 0;

	if (!setup(tp)) {
		ok(0, "%s: socket pairs", path);
		return;
	}
	/* Bytes read before the tunnel started (a preamble's, a 101's). */
	kk_buf_take(&a.in, NULL);
	memcpy(kk_buf_tail(&a.in), "early ", 6);
	a.in.len = 6;
	kk_tunnel_start(&t, &a, &b, notify);
	is_int(t.splice, tp == &kk_transport_plain, "%s: splice allowed exactly for plain sockets",
	    path);
	send(cl, "hello", 5, 0);
	is_int(pump(), 1, "%s: still open", path);
	is_str(got(sv), "early hello", "%s: held bytes first, then the client's", path);
	send(sv, "answer", 6, 0);
	pump();
	is_str(got(cl), "answer", "%s: and back", path);
	ok(t.dir[0].pipe[0] < 0 && t.dir[1].pipe[0] < 0,
	    "%s: small messages go through buffers, no pipe is made", path);

	/* A megabyte one way, the reader slower than the writer. */
	for (i = 0; i < (int)sizeof big; i++)
		big[i] = (char)(i * 7);
	for (i = 0; i < 10000 && recvd < sizeof big; i++) {
		ssize_t n;
		if (sent < sizeof big) {
			n = send(cl, big + sent, sizeof big - sent, 0);
			if (n > 0)
				sent += (size_t)n;
		}
		pump();
		n = recv(sv, sink, sizeof sink, 0);
		if (n > 0) {
			same &= !memcmp(sink, big + recvd, (size_t)n);
			recvd += (size_t)n;
		}
	}
	is_int(recvd, sizeof big, "%s: a megabyte goes through", path);
	ok(same, "%s: unchanged", path);
	is_int(t.dir[0].pipe[0] >= 0, tp == &kk_transport_plain,
	    "%s: the bulk direction splices exactly between plain sockets", path);
	ok(t.dir[1].pipe[0] < 0, "%s: the other direction stays on buffers", path);
	ok(inuse_max <= 4, "%s: in at most 4 buffers (%zu)", path, inuse_max);

	/* Half-close: the client's end reaches the server, the server can
	 * still answer; its end closes the tunnel. */
	shutdown(cl, SHUT_WR);
	is_int(pump(), 1, "%s: open after one end", path);
	is_str(got(sv), "(eof)", "%s: the client's end of file reaches the server", path);
	send(sv, "late", 4, 0);
	pump();
	is_str(got(cl), "late", "%s: the server still answers", path);
	shutdown(sv, SHUT_WR);
	is_int(pump(), 0, "%s: done after both ends", path);
	is_str(got(cl), "(eof)", "%s: the server's end reaches the client", path);
	teardown();

	/* The server gone: writing to it fails the tunnel. */
	setup(tp);
	kk_tunnel_start(&t, &a, &b, notify);
	close(sv);
	send(cl, "lost", 4, 0);
	is_int(pump(), -1, "%s: a write to a closed peer fails the tunnel", path);
	ok(t.err != 0, "%s: with its reason", path);
	sv = socket(AF_UNIX, SOCK_STREAM, 0);
	teardown();
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	kk_loop_init();
	kk_buf_setup(16384, 0);
	other = kk_transport_plain;
	both_ways("splice", &kk_transport_plain);
	both_ways("buffers", &other);

	/* The protocol table tells the owner. */
	setup(&kk_transport_plain);
	kk_tunnel_start(&t, &a, &b, notify);
	ok(a.proto == &kk_tunnel_protocol && b.pc == &t, "both sides carry the tunnel");
	a.proto->timeout(&a);
	is_int(events[KK_TUNNEL_TIMEOUT], 1, "a timer goes to the owner");
	shutdown(cl, SHUT_WR);
	shutdown(sv, SHUT_WR);
	a.flags |= KK_CONN_F_READABLE | KK_CONN_F_WRITABLE;
	b.flags |= KK_CONN_F_READABLE | KK_CONN_F_WRITABLE;
	a.proto->run(&a);
	is_int(events[KK_TUNNEL_DONE], 1, "the end goes to the owner");
	teardown();
	return done();
}
