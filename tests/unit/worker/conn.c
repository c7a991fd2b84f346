/* ISC license. */
/* kk_conn over a scripted transport: readiness is the transport's to
 * report. A short read clears readability unless the transport still
 * holds bytes (pending); EAGAIN clears the readiness the transport says
 * it waits on (a TLS read may wait on writability); start may take
 * several turns and is not run again once done; every way in reaches the
 * protocol, and none after the close. */
#include <errno.h>
#include <string.h>
#include "tap.h"
#include "worker/conn.c"
#include "worker/buf.c"
#include "worker/loop.c"
#include "worker/timer.c"

struct kk_stats kk_stats;

/* The script: what the next read returns, what is held inside. */
static ssize_t next_read;
static int next_errno;
static size_t held;
static unsigned waits_on;	/* what want answers; 0: the direction itself */
static int start_turns, starts;
static int runs, timeouts, closes;

static int
t_start(kk_conn *c)
{
	(void)c;
	starts++;
	return --start_turns > 0 ? 0 : 1;
}

static ssize_t
t_read(kk_conn *c, char *p, size_t n)
{
	(void)c;
	if (next_read < 0) {
		errno = next_errno;
		return -1;
	}
	if ((size_t)next_read > n)
		next_read = (ssize_t)n;
	memset(p, 'x', (size_t)next_read);
	return next_read;
}

static ssize_t
t_writev(kk_conn *c, const struct iovec *v, int n, int more)
{
	(void)c;
	(void)n;
	(void)more;
	errno = EAGAIN;
	return v[0].iov_len ? -1 : 0;
}

static void
t_push(kk_conn *c)
{
	(void)c;
}

static void
t_shutdown(kk_conn *c)
{
	(void)c;
}

static void
t_close(kk_conn *c)
{
	closes++;
	c->io.fd = -1;
}

static unsigned
t_want(const kk_conn *c, unsigned dir)
{
	(void)c;
	return waits_on ? waits_on : dir;
}

static size_t
t_pending(const kk_conn *c)
{
	(void)c;
	return held;
}

static const char *
t_alpn(const kk_conn *c, size_t *len)
{
	(void)c;
	*len = 2;
	return "h2";
}

static const kk_transport scripted = {
	"scripted", t_start, t_read, t_writev, t_push, t_shutdown, t_close, t_want,
	t_pending, t_alpn,
};

static void
p_run(kk_conn *c)
{
	(void)c;
	runs++;
}

static void
p_timeout(kk_conn *c)
{
	(void)c;
	timeouts++;
}

static const kk_protocol proto = { "test", p_run, p_timeout };

int
main(void)
{
	kk_conn c;
	int ctx;
	size_t alen;

	kk_loop_init();
	kk_buf_setup(4096, 0);
	memset(&c, 0, sizeof c);
	kk_conn_init(&c, 99, KK_IO_FRONT, &scripted, &proto, &ctx);
	ok(c.pc == &ctx && c.proto == &proto && c.tp == &scripted, "the two slots are filled");

	start_turns = 3;
	is_int(kk_conn_start(&c), 0, "a handshake's first turn: not yet");
	is_int(kk_conn_start(&c), 0, "second turn: not yet");
	is_int(kk_conn_start(&c), 1, "third turn: done");
	is_int(kk_conn_start(&c), 1, "done stays done");
	is_int(starts, 3, "and start is not run again");

	c.flags |= KK_CONN_F_READABLE;
	next_read = 10;
	is_int(kk_conn_fill(&c), 10, "a short read");
	ok(!(c.flags & KK_CONN_F_READABLE), "drains the socket: readable cleared");
	c.flags |= KK_CONN_F_READABLE;
	held = 100;
	is_int(kk_conn_fill(&c), 10, "a short read while the transport holds bytes");
	ok(c.flags & KK_CONN_F_READABLE, "keeps readable: no edge would announce them");
	held = 0;

	next_read = -1;
	next_errno = EAGAIN;
	c.flags |= KK_CONN_F_WRITABLE;
	waits_on = KK_CONN_F_WRITABLE;
	is_int(kk_conn_fill(&c), 0, "EAGAIN on a read is no error");
	ok((c.flags & KK_CONN_F_READABLE) && !(c.flags & KK_CONN_F_WRITABLE),
	    "the transport waits on writability: that is what is cleared");
	waits_on = 0;
	is_int(kk_conn_fill(&c), 0, "EAGAIN again");
	ok(!(c.flags & KK_CONN_F_READABLE), "waiting on the read: readable cleared");
	next_errno = ECONNRESET;
	c.flags |= KK_CONN_F_READABLE;
	is_int(kk_conn_fill(&c), -1, "a real error");
	ok((c.flags & KK_CONN_F_ERROR) && c.err == ECONNRESET, "recorded with its errno");
	ok(kk_conn_fill(&c) == -1, "and reported again");
	is_str(c.tp->alpn(&c, &alen), "h2", "the ALPN result comes from the transport");

	conn_io(&c.io, EPOLLIN);
	kk_conn_wake(&c);
	kk_loop_turn(0);
	c.timer.cb(&c.timer);
	conn_bufwait(&c.bufwait);
	is_int(runs, 3, "an event, a wake and a buffer coming back run the protocol");
	is_int(timeouts, 1, "the timer reaches its timeout");

	kk_conn_wake(&c);
	kk_conn_close(&c);
	is_int(closes, 1, "close goes through the transport");
	ok(!c.in.data && !c.out.data, "and gives both buffers back");
	conn_io(&c.io, EPOLLIN);
	c.timer.cb(&c.timer);
	kk_loop_turn(0);
	is_int(runs, 3, "a closed connection runs no more");
	is_int(timeouts, 1, "nor times out");
	return done();
}
