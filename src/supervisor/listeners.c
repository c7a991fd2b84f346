/* ISC license. */
/* The listening sockets the supervisor owns: adopted from its parent
 * (kakehi-listen, systemd, s6-fdholder) or bound here, one per listener
 * of the state, shared by every worker. A socket is never bound twice for
 * one address: closing and re-binding would drop its accept queue. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/genalloc.h>

#include <kakehi/listen.h>
#include <kakehi/listenfds.h>
#include <kakehi/proto.h>

#include "sv.h"

#define LFDS genalloc_s(sv_listenfd, &sv.lfds)
#define NLFDS genalloc_len(sv_listenfd, &sv.lfds)

static sv_listenfd *
find(const char *addr)
{
	size_t i;

	for (i = 0; i < NLFDS; i++)
		if (!strcmp(LFDS[i].addr, addr))
			return &LFDS[i];
	return 0;
}

static int
add(const char *addr, int fd, uint64_t gen)
{
	sv_listenfd l;

	memset(&l, 0, sizeof l);
	strncpy(l.addr, addr, KK_ADDR_FMTLEN - 1);
	l.fd = fd;
	l.txn_gen = gen;
	return genalloc_append(sv_listenfd, &sv.lfds, &l);
}

/* Order does not matter: the last entry takes the dropped one's place. */
static void
drop(size_t i)
{
	size_t n = NLFDS - 1;

	close(LFDS[i].fd);
	LFDS[i] = LFDS[n];
	genalloc_setlen(sv_listenfd, &sv.lfds, n);
}

int
sv_listener_fd(const char *addr)
{
	sv_listenfd *l = find(addr);

	return l ? l->fd : -1;
}

/* Startup: adopt what the parent passed for the listeners of the state,
 * keep what no listener names as spares, bind the rest. Any failure is fatal: a
 * proxy that starts without one of its listeners would look healthy
 * while refusing traffic. */
void
sv_listeners_start(const kk_state *st)
{
	static kk_listenfd in[KK_LISTENFDS_MAX];
	char err[KK_ERRLEN];
	int n, i;
	size_t j;

	n = kk_listenfds_get(in, KK_LISTENFDS_MAX, err, sizeof err);
	if (n < 0)
		sv_dief(111, "unable to adopt inherited listeners: ", err);
	for (i = 0; i < n; i++) {
		/* Ours now: workers get dups, never this fd number. */
		fcntl(in[i].fd, F_SETFD, FD_CLOEXEC);
		if (find(in[i].name)) {
			sv_warn("closing inherited socket %s (fd %d): another inherited"
			    " socket has the same address", in[i].name, in[i].fd);
			close(in[i].fd);
			continue;
		}
		fcntl(in[i].fd, F_SETFL, fcntl(in[i].fd, F_GETFL) | O_NONBLOCK);
		if (!add(in[i].name, in[i].fd, 0))
			sv_dief(111, "unable to record listener ", in[i].name,
			    ": ", strerror(errno));
		if (!kk_state_listener(st, in[i].name)) {
			LFDS[NLFDS - 1].spare = 1;
			sv_warn("keeping inherited socket %s (fd %d) unused: no listener in the"
			    " configuration names it; `listener add http %s` (in the file or at"
			    " run time) serves it", in[i].name, in[i].fd, in[i].name);
			continue;
		}
		sv_info("adopted inherited listener %s (fd %d)", in[i].name, in[i].fd);
	}
	for (j = 0; j < st->nlisteners; j++) {
		int fd;

		if (find(st->listeners[j].addr_text))
			continue;
		fd = kk_listen_bind(&st->listeners[j].addr, st->set.backlog, err, sizeof err);
		if (fd < 0)
			sv_dief(111, err);
		if (!add(st->listeners[j].addr_text, fd, 0))
			sv_dief(111, "unable to record listener ",
			    st->listeners[j].addr_text, ": ", strerror(errno));
		sv_info("listening on %s", st->listeners[j].addr_text);
	}
}

int
sv_listeners_prepare(const kk_state *to, uint64_t gen, char *err, size_t errlen)
{
	size_t j;

	for (j = 0; j < to->nlisteners; j++) {
		sv_listenfd *l = find(to->listeners[j].addr_text);
		int fd;

		if (l && l->spare) {
			/* Sent to the workers with the change, as if bound for it. */
			l->spare = 0;
			l->from_spare = 1;
			l->txn_gen = gen;
			continue;
		}
		if (l)
			continue;
		fd = kk_listen_bind(&to->listeners[j].addr, to->set.backlog, err, errlen);
		if (fd < 0 || !add(to->listeners[j].addr_text, fd, gen)) {
			if (fd >= 0) {
				close(fd);
				snprintf(err, errlen, "out of memory recording listener %s",
				    to->listeners[j].addr_text);
			}
			sv_listeners_settle(gen, 0, 0);
			return 0;
		}
	}
	return 1;
}

void
sv_listeners_settle(uint64_t gen, int commit, const kk_state *keep)
{
	size_t i = 0;

	while (i < NLFDS) {
		sv_listenfd *l = &LFDS[i];
		if (gen && l->txn_gen == gen) {
			if (!commit && !l->from_spare) {
				drop(i);
				continue;
			}
			l->spare = !commit;
			l->from_spare = 0;
			l->txn_gen = 0;
			if (commit)
				sv_info("adopted inherited listener %s (fd %d)", l->addr, l->fd);
		}
		if (keep && !l->txn_gen && !l->spare && !kk_state_listener(keep, l->addr)) {
			sv_info("closed listener %s", l->addr);
			drop(i);
			continue;
		}
		i++;
	}
}

int
sv_listeners_send_new(sv_worker *w, uint64_t gen)
{
	size_t i;

	for (i = 0; i < NLFDS; i++) {
		const char *argv[2];
		if (LFDS[i].txn_gen != gen)
			continue;
		argv[0] = KK_MSG_LISTENER;
		argv[1] = LFDS[i].addr;
		if (!kk_chan_put_fd(&w->chan, 2, argv, LFDS[i].fd))
			return 0;
	}
	return 1;
}

void
sv_listeners_close_all(void)
{
	while (NLFDS)
		drop(0);
	genalloc_free(sv_listenfd, &sv.lfds);
}

int
sv_listeners_adopt(const char *addr, int fd, int spare)
{
	if (!add(addr, fd, 0))
		return 0;
	LFDS[NLFDS - 1].spare = spare;
	return 1;
}
