/* ISC license. */
/* Accepting. Each wake-up takes at most KK_ACCEPT_BATCH connections per
 * listener, so one busy listener cannot starve the others or the
 * connections already open; the kernel queue keeps the rest. After a
 * wake-up that took some, the worker steps to the back of the listener's
 * queue of waiters, so the workers sharing it take turns (see requeue). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include <kakehi/board.h>
#include "front.h"
#include "lsock.h"
#include "status.h"
#include "tcpfront.h"
#include "tls.h"
#include "tlsstate.h"

static kk_link lsocks = { &lsocks, &lsocks };
static unsigned maxconns = 10000;
static int stopped, full;

/* Keeping to a share (kk_board_over_share): past it this worker leaves
 * the listeners (held) and looks again each timer tick, as the others
 * take the queued connections and its share grows. A worker held for
 * SHARE_GRACE_MS takes one batch anyway (grace): the others may be
 * stopped, dying or starved of CPU, and a connection must not wait in the
 * queue for them. */
#define SHARE_GRACE_MS (2 * KK_TIMER_TICK_MS)
static kk_board *board;
static unsigned board_slot;
/* The board says no other worker accepts: nobody to take turns with or
 * to keep a share from. Looked at with each heartbeat, so it is at most
 * KK_BOARD_BEAT_MS old; a worker that starts accepting meanwhile only
 * waits that long for its first turns. Without a board nothing is known
 * of the others (another process may wait on the same listener): 0. */
static int alone;
static int held, grace;
static uint64_t held_since;
static kk_timer share_timer, beat_timer;

static void lsock_event(kk_io *, uint32_t);

kk_link *
kk_lsock_all(void)
{
	return &lsocks;
}

static void
poll_on(kk_lsock *l)
{
	if (l->polled || l->closed || stopped || full || held || !l->rl)
		return;
	/* EPOLLEXCLUSIVE: one waiting worker is woken per connection, not
	 * all of them. Level-triggered: what a batch leaves wakes us again. */
	if (kk_loop_add(&l->io, EPOLLIN | EPOLLEXCLUSIVE))
		l->polled = 1;
}

static void
poll_off(kk_lsock *l)
{
	if (!l->polled)
		return;
	kk_loop_del(&l->io);
	l->polled = 0;
}

kk_lsock *
kk_lsock_adopt(int fd, const char *addr)
{
	kk_lsock *l;
	int fl = fcntl(fd, F_GETFL);
	/* Shared listeners must not block: another worker may take the
	 * connection between our wake-up and our accept. */
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || !(l = calloc(1, sizeof *l))) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	l->io.fd = fd;
	l->io.prio = KK_IO_OTHER;
	l->io.on_event = lsock_event;
	l->tp = &kk_transport_plain;	/* an https one gets TLS at attach */
	/* A proxy writes whole messages; Nagle would only delay them. Set
	 * once here, it saves a system call per accepted connection. */
	{
		int one = 1, zero = 0;
		l->nodelay = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0;
		/* Accepted sockets inherit delayed acknowledgement from the
		 * listener: the request is then acknowledged by the response
		 * instead of by a packet of its own, sent at once because a
		 * new connection starts in quick-ack mode. On a busy host
		 * that packet costs the client's side a wake-up per
		 * connection. A response slower than the delayed-ACK timer
		 * (40 ms and more) gets the bare ACK anyway. Best effort:
		 * without it only that packet is spent. */
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero);
	}
	strncpy(l->addr, addr, sizeof l->addr - 1);
	kk_list_push(&lsocks, &l->link);
	poll_on(l);
	return l;
}

kk_lsock *
kk_lsock_find(const char *addr)
{
	kk_link *x;
	for (x = lsocks.next; x != &lsocks; x = x->next) {
		kk_lsock *l = KK_CONTAINER(x, kk_lsock, link);
		if (!strcmp(l->addr, addr))
			return l;
	}
	return NULL;
}

/* The last connection of a closed listener is gone: so is the
 * listener, with its hold on the TLS context. */
static void
lsock_free(kk_lsock *l)
{
	if (l->tls)
		kk_tlsctx_unref(l->tls);
	free(l);
}

void
kk_lsock_close(kk_lsock *l)
{
	poll_off(l);
	if (l->io.fd >= 0)
		close(l->io.fd);
	l->io.fd = -1;
	l->closed = 1;
	l->rl = NULL;
	kk_list_unlink(&l->link);
	if (!l->nconns)
		lsock_free(l);
}

void
kk_lsock_conn_gone(kk_lsock *l)
{
	l->nconns--;
	if (l->closed && !l->nconns)
		lsock_free(l);
}

/* Whether a tcp listener routes by server name. Once per listener and
 * generation, not per connection. */
static int
has_sni(const kk_rlistener *rl)
{
	return rl && rl->proto == KK_PROTO_TCP && kk_router_has_names(rl);
}

void
kk_lsock_attach(const kk_router *r)
{
	kk_link *x;
	for (x = lsocks.next; x != &lsocks; x = x->next) {
		kk_lsock *l = KK_CONTAINER(x, kk_lsock, link);
		kk_tlsctx *tls = kk_tlsstate_find(l->addr);
		l->rl = kk_router_listener(r, l->addr);
		l->sni = has_sni(l->rl);
		if (tls != l->tls) {
			if (tls)
				kk_tlsctx_ref(tls);
			if (l->tls)
				kk_tlsctx_unref(l->tls);
			l->tls = tls;
		}
		l->tp = tls ? &kk_transport_tls : &kk_transport_plain;
		if (l->rl)
			poll_on(l);
		else
			poll_off(l);
	}
}

void
kk_lsock_setmax(unsigned max)
{
	maxconns = max ? max : 1;
	kk_lsock_check();
}

void
kk_lsock_stop(void)
{
	kk_link *x;
	stopped = 1;
	if (board)
		kk_board_set_accepting(board, board_slot, 0);
	/* Our copies go: under a supervisor the sockets stay open in it and
	 * the other workers; on our own, new clients are refused at once
	 * instead of waiting in a queue nobody will accept from. Each
	 * listener stays, with its routes: the connections it accepted are
	 * still served until they close, the next request on a keep-alive
	 * one included. */
	for (x = lsocks.next; x != &lsocks; x = x->next) {
		kk_lsock *l = KK_CONTAINER(x, kk_lsock, link);
		poll_off(l);
		close(l->io.fd);
		l->io.fd = -1;
	}
}

static void
poll_all(int on)
{
	kk_link *x;
	for (x = lsocks.next; x != &lsocks; x = x->next) {
		kk_lsock *l = KK_CONTAINER(x, kk_lsock, link);
		if (on)
			poll_on(l);
		else
			poll_off(l);
	}
}

static void
share_tick(kk_timer *t)
{
	if (!held)
		return;
	if (!kk_board_over_share(board, board_slot, kk_front_count(), kk_now_ms)) {
		held = 0;
		kk_stats.accept_share_resumed++;
	} else if (kk_now_ms - held_since >= SHARE_GRACE_MS) {
		held = 0;
		grace = 1;
		kk_stats.accept_share_grace++;
	} else {
		kk_timer_arm(t, kk_now_ms + KK_TIMER_TICK_MS);
		return;
	}
	poll_all(1);
}

/* The heartbeat goes on while the worker runs its loop, idle or busy: a
 * worker that stops beating (SIGSTOP, a long step) drops out of the
 * others' shares within KK_BOARD_STALE_MS instead of holding them back. */
static void
beat(kk_timer *t)
{
	kk_board_beat(board, board_slot, kk_now_ms);
	alone = !kk_board_others(board, board_slot, kk_now_ms);
	kk_timer_arm(t, kk_now_ms + KK_BOARD_BEAT_MS);
}

void
kk_lsock_board(kk_board *b, unsigned slot)
{
	board = b;
	board_slot = slot;
	share_timer.cb = share_tick;
	beat_timer.cb = beat;
	beat(&beat_timer);
	kk_board_set_accepting(b, slot, !stopped);
	kk_lsock_check();
}

void
kk_lsock_check(void)
{
	unsigned mine = kk_front_count();
	int was = full || held;

	if (board)
		kk_board_publish(board, board_slot, mine);
	full = mine >= maxconns;
	if (!held && !full && board && !grace && !stopped && !alone
	    && kk_board_over_share(board, board_slot, mine, kk_now_ms)) {
		held = 1;
		held_since = kk_now_ms;
		kk_stats.accept_share_held++;
		kk_timer_arm(&share_timer, kk_now_ms + KK_TIMER_TICK_MS);
	}
	if ((full || held) != was)
		poll_all(!(full || held));
}

static void
pause_all(void)
{
	kk_link *x;
	full = 1;
	for (x = lsocks.next; x != &lsocks; x = x->next)
		poll_off(KK_CONTAINER(x, kk_lsock, link));
}

/* EPOLLEXCLUSIVE wakes the first worker of the listener's wait queue that
 * sits in epoll_wait, and a worker stays where it registered: one that
 * serves quickly is back in epoll_wait before the next connection and
 * takes it too. 100 connections opened at once through 2 workers left 98
 * in one (max/share 1.96); through 4, 100/0/0/0.
 * Registering again (EPOLL_CTL_DEL + ADD) puts this worker at the tail, so
 * the next connection wakes another one and the workers take turns; the
 * one queue and its backlog stay shared (no SO_REUSEPORT socket that dies
 * with its worker). Median max/share over 30 bursts, the workers on one
 * CPU and the client on the other, for 2 and 4 workers at 100 and at 400
 * connections: batch 4: 1.02 1.08, 1.02 1.11; batch 8: 1.02 1.28, 1.08
 * 1.17; batch 1: 1.00 1.08, 1.00 1.26.
 * Cost: DEL + ADD takes 1.4 us, once per wake-up that accepted; the
 * smaller batch ends fewer wake-ups on a failed accept4 (3.4 us: the
 * kernel builds the new socket's file before it looks at the queue). With
 * wrk -H 'Connection: close' -c50 on one worker, system calls per
 * connection went from 1.7 accept4 + 1.0 epoll_ctl to 1.3-1.6 + 1.9-2.4,
 * and worker CPU per connection from 44-47 us to 42-43 us: no cost out of
 * the noise. A failed ADD (out of memory) pauses accepting until a
 * connection closes, as running out of fds does. */
static void
requeue(kk_lsock *l)
{
	/* Alone, the tail of the queue is where the worker already is. */
	if (!l->polled || alone)
		return;
	kk_stats.accept_requeues++;
	poll_off(l);
	poll_on(l);
	if (!l->polled && !l->closed && !stopped && !full && !held && l->rl) {
		kk_stats.accept_errors++;
		pause_all();
	}
}

static void
lsock_event(kk_io *io, uint32_t ev)
{
	kk_lsock *l = KK_CONTAINER(io, kk_lsock, io);
	/* Alone, one a wake-up: the listener is level-triggered, so the next
	 * epoll_wait reports it again while connections wait, and a wake-up
	 * that finds one connection, the common case, does not end on a
	 * failed accept4 (3.4 us). Sharing, the batch keeps the turns. */
	unsigned n, batch = alone ? 1 : KK_ACCEPT_BATCH;
	(void)ev;
	for (n = 0; n < batch && !full && !held && !stopped; n++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		int fd = accept4(l->io.fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			/* Out of fds or memory: counted, and accepting pauses
			 * until a connection closes, instead of spinning on a
			 * listener that stays readable. */
			kk_stats.accept_errors++;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				pause_all();
			break;
		}
		/* The kind of a listener never changes (the state refuses it),
		 * so the snapshot's word holds for every connection. */
		if (l->rl && l->rl->proto == KK_PROTO_TCP)
			kk_tcpfront_accept(l, fd, (struct sockaddr *)&ss, len);
		else
			kk_front_accept(l, fd, (struct sockaddr *)&ss, len);
		kk_lsock_check();
	}
	if (grace) {
		/* The batch the grace allowed is over: the share holds again. */
		grace = 0;
		kk_lsock_check();
	}
	if (n)
		requeue(l);
}
