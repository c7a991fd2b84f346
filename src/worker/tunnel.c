/* ISC license. */
/* Tunnel directions. The buffer path reads into the reading side's input
 * and hands that buffer whole to the writing side's output (no copy), one
 * buffer in flight per direction; the splice path moves socket to pipe to
 * socket. Every direction starts on buffers: for a small message a read
 * and a write are all it costs, where splice takes three calls (in, out,
 * and the EAGAIN that proves the socket drained, which a short read
 * proves by itself) and a pipe's two fds per direction. A read that fills
 * a buffer is bulk: between plain sockets that direction then splices for
 * the rest of the tunnel. Readiness is kept as everywhere else: EAGAIN
 * clears the flag of the side that said it, and its next edge runs the
 * tunnel again. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "status.h"
#include "tunnel.h"

/* Bytes moved per direction per run: a busy tunnel yields to the other
 * connections of the loop after this, and is woken to go on. */
#define KK_TUNNEL_RUN_BYTES (256 * 1024)

static void
tunnel_run_conn(kk_conn *c)
{
	kk_tunnel *t = c->pc;
	int r = kk_tunnel_run(t);
	if (r <= 0)
		t->notify(t, r ? KK_TUNNEL_FAILED : KK_TUNNEL_DONE, c);
}

static void
tunnel_timeout(kk_conn *c)
{
	kk_tunnel *t = c->pc;
	t->notify(t, KK_TUNNEL_TIMEOUT, c);
}

const kk_protocol kk_tunnel_protocol = { "tunnel", tunnel_run_conn, tunnel_timeout };

void
kk_tunnel_start(kk_tunnel *t, kk_conn *a, kk_conn *b,
    void (*notify)(kk_tunnel *, int, kk_conn *))
{
	unsigned i;
	memset(t, 0, sizeof *t);
	t->notify = notify;
	t->side[0] = a;
	t->side[1] = b;
	t->splice = a->tp == &kk_transport_plain && b->tp == &kk_transport_plain;
	for (i = 0; i < 2; i++) {
		t->dir[i].pipe[0] = t->dir[i].pipe[1] = -1;
		t->side[i]->proto = &kk_tunnel_protocol;
		t->side[i]->pc = t;
	}
}

void
kk_tunnel_end(kk_tunnel *t)
{
	unsigned i, j;
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++)
			if (t->dir[i].pipe[j] >= 0) {
				close(t->dir[i].pipe[j]);
				t->dir[i].pipe[j] = -1;
			}
}

static int
failed(kk_tunnel *t, kk_conn *c)
{
	t->err = c->err ? c->err : EIO;
	return -1;
}

/* Bytes that came before the tunnel (in r's input) or that the buffer
 * path moved: r's input handed whole to w's output when that is empty,
 * then written. 1 progress, 0 none, -1 failure. */
static int
flush_held(kk_tunnel *t, kk_conn *r, kk_conn *w, size_t *moved)
{
	uint32_t before;
	if (r->in.len && !w->out.len) {
		kk_buf_move(&w->out, &r->in);
	}
	if (!w->out.len)
		return 0;
	before = w->out.len;
	if (kk_conn_flush(w, 0, 0) < 0)
		return failed(t, w);
	*moved += before - w->out.len;
	return w->out.len != before;
}

/* splice from fd into the pipe or out of it. */
static ssize_t
move(int from, int to, size_t n)
{
	return splice(from, NULL, to, NULL, n, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
}

/* Socket to pipe to socket, once the bytes held before are out. 2 stopped
 * at the bound, 1 progress, 0 none, -1 failure. */
static int
run_splice(kk_tunnel *t, unsigned i)
{
	kk_conn *r = t->side[i], *w = t->side[1 - i];
	size_t moved = 0;
	int progress = 0;
	while (moved < KK_TUNNEL_RUN_BYTES) {
		ssize_t n;
		int step = flush_held(t, r, w, &moved);
		if (step < 0)
			return -1;
		if (r->in.len || w->out.len) {
			progress |= step;
			/* Bytes queued on the writing side (a PROXY header)
			 * went out: the reading side's held bytes are next. */
			if (step > 0 && !w->out.len)
				continue;
			break;	/* held bytes go first: wait for room */
		}
		if (!(t->dir[i].flags & KK_TUNNEL_D_EOF) && (r->flags & KK_CONN_F_READABLE)) {
			n = move(r->io.fd, t->dir[i].pipe[1], KK_TUNNEL_RUN_BYTES);
			if (n > 0) {
				t->dir[i].inpipe += (size_t)n;
				r->bytes_in += (uint64_t)n;
				kk_stats.bytes_in += (uint64_t)n;
				step = 1;
			} else if (!n)
				t->dir[i].flags |= KK_TUNNEL_D_EOF;
			else if (errno == EAGAIN) {
				/* With bytes in the pipe, a full pipe says EAGAIN
				 * too: only an empty pipe proves the socket
				 * drained. The bytes going out below bring the
				 * next try. */
				if (!t->dir[i].inpipe)
					r->flags &= ~KK_CONN_F_READABLE;
			} else if (errno != EINTR) {
				r->err = errno;
				r->flags |= KK_CONN_F_ERROR;
				return failed(t, r);
			}
		}
		if (t->dir[i].inpipe && (w->flags & KK_CONN_F_WRITABLE)) {
			n = move(t->dir[i].pipe[0], w->io.fd, t->dir[i].inpipe);
			if (n > 0) {
				t->dir[i].inpipe -= (size_t)n;
				w->bytes_out += (uint64_t)n;
				kk_stats.bytes_out += (uint64_t)n;
				moved += (size_t)n;
				step = 1;
			} else if (n < 0 && errno == EAGAIN)
				w->flags &= ~KK_CONN_F_WRITABLE;
			else if (n < 0 && errno != EINTR) {
				w->err = errno;
				w->flags |= KK_CONN_F_ERROR;
				return failed(t, w);
			}
		}
		if (!step)
			break;
		progress = 1;
	}
	return moved >= KK_TUNNEL_RUN_BYTES ? 2 : progress;
}

/* Reading side's input handed to the writing side's output. 2 stopped at
 * the bound or switched to splice (run again), 1 progress, 0 none, -1
 * failure. */
static int
run_buffer(kk_tunnel *t, unsigned i)
{
	kk_conn *r = t->side[i], *w = t->side[1 - i];
	size_t moved = 0;
	int progress = 0;
	while (moved < KK_TUNNEL_RUN_BYTES) {
		int step = 0, f;
		if (!r->in.len && !(t->dir[i].flags & KK_TUNNEL_D_EOF)) {
			f = kk_conn_fill(r);
			if (f > 0) {
				step = 1;
				/* A full buffer: bulk. Without a pipe (out of
				 * fds) the buffers go on carrying it. */
				if (t->splice && !kk_buf_room(&r->in) &&
				    pipe2(t->dir[i].pipe, O_NONBLOCK | O_CLOEXEC) == 0) {
					kk_stats.tunnel_splices++;
					return 2;
				}
			} else if (f < 0) {
				if (r->flags & KK_CONN_F_ERROR)
					return failed(t, r);
				t->dir[i].flags |= KK_TUNNEL_D_EOF;
			}
		}
		f = flush_held(t, r, w, &moved);
		if (f < 0)
			return -1;
		if (!(step | f))
			break;
		progress = 1;
	}
	return moved >= KK_TUNNEL_RUN_BYTES ? 2 : progress;
}

int
kk_tunnel_run(kk_tunnel *t)
{
	unsigned i, done = 0;
	if (t->err)
		return -1;
	for (i = 0; i < 2; i++) {
		kk_conn *w = t->side[1 - i];
		int r;
		if (t->dir[i].flags & KK_TUNNEL_D_SHUT) {
			done++;
			continue;
		}
		r = t->dir[i].pipe[0] >= 0 ? run_splice(t, i) : run_buffer(t, i);
		if (r < 0)
			return -1;
		/* All the bytes before the end of file are out: pass the end
		 * on (half-close), the other direction goes on. */
		if ((t->dir[i].flags & KK_TUNNEL_D_EOF) && !t->dir[i].inpipe &&
		    !t->side[i]->in.len && !w->out.len) {
			w->tp->shutdown(w);
			w->flags |= KK_CONN_F_SHUT;
			t->dir[i].flags |= KK_TUNNEL_D_SHUT;
			done++;
		} else if (r == 2) {
			/* Stopped at the bound: go on after the others. */
			kk_conn_wake(t->side[i]);
		}
	}
	return done < 2;
}
