/* ISC license. */
/* Supervisor messages are handled from the channel's epoll event, that is
 * between the events of connections: a change's new router snapshot is
 * swapped in with no request half-routed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <kakehi/chan.h>
#include <kakehi/frame.h>
#include <kakehi/proto.h>
#include <kakehi/state.h>
#include <kakehi/statejournal.h>
#include <kakehi/verb.h>
#include <unistd.h>
#include "accesslog.h"
#include "channel.h"
#include "health.h"
#include "log.h"
#include "loop.h"
#include "status.h"
#include "tlskeys.h"
#include "worker.h"

static kk_chan ch;
static kk_io io;
static int active;

static void
put(unsigned argc, const char *const *argv)
{
	if (!kk_chan_put(&ch, argc, argv))
		kk_log_warning("unable to queue a %s message: out of memory",
		    argv[0]);
	kk_chan_flush(&ch);
}

void
kk_channel_send(unsigned argc, const char *const *argv)
{
	if (active)
		put(argc, argv);
}

void
kk_channel_ready(uint64_t generation)
{
	char g[24];
	const char *argv[2] = { KK_MSG_READY, g };
	snprintf(g, sizeof g, "%llu", (unsigned long long)generation);
	put(2, argv);
}

int
kk_channel_active(void)
{
	return active;
}

static void
nack(const char *gen, const char *what, const char *err)
{
	const char *argv[3] = { KK_MSG_NACK, gen, err };
	kk_log_warning("%s %s refused: %s", what, gen, err);
	put(3, argv);
}

static void
ack(const char *gen)
{
	const char *argv[2] = { KK_MSG_ACK, gen };
	put(2, argv);
}

static int
scan_gen(const char *s, uint64_t *g)
{
	unsigned long long v;
	char *end;
	if (!*s)
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end || errno)
		return 0;
	*g = v;
	return 1;
}

/* A whole state replaces the current one (update TEXT, or state with a
 * memfd): st is NULL when it could not be read, with err filled. */
static void
replace_state(const char *gen, const char *what, kk_state *st, char *err, size_t errlen)
{
	uint64_t g;
	if (!scan_gen(gen, &g)) {
		nack(gen, what, "generation is not a number");
		goto fail;
	}
	if (!st) {
		nack(gen, what, err);
		return;
	}
	if (!kk_worker_apply(st, g, err, errlen)) {
		nack(gen, what, err);
		goto fail;
	}
	ack(gen);
	return;
fail:
	if (st) {
		kk_state_free(st);
		free(st);
	}
}

static void
on_update(const char *gen, const char *text)
{
	char err[KK_ERRLEN];
	kk_state *st = malloc(sizeof *st);
	if (!st) {
		replace_state(gen, "update", NULL, strcpy(err, "out of memory"), sizeof err);
		return;
	}
	kk_state_init(st);
	if (!kk_state_load_checked(st, text, strlen(text), "update", err, sizeof err)) {
		kk_state_free(st);
		free(st);
		st = NULL;
	}
	replace_state(gen, "update", st, err, sizeof err);
}

static void
on_state(const char *gen)
{
	char err[KK_ERRLEN];
	kk_state *st = NULL;
	int fd = kk_chan_take_fd(&ch);
	if (fd < 0) {
		snprintf(err, sizeof err, "state announced without its memfd");
	} else {
		st = kk_worker_load_fd(fd, err, sizeof err);
		close(fd);
	}
	replace_state(gen, "state", st, err, sizeof err);
}

/* A change on the generation it applies to: applied in place under a
 * journal, so a refusal (a line that does not apply, a router that
 * cannot be built) undoes it and the worker serves what it had. On
 * another generation nothing is applied: the worker missed a change, and
 * only the whole state can bring it back in step. */
static void
on_delta(const char *base, const char *gen, const char *text)
{
	char err[KK_ERRLEN];
	kk_journal j = KK_JOURNAL_ZERO;
	kk_state *st = kk_worker_state();
	uint64_t b, g;
	int r;
	if (!scan_gen(base, &b) || !scan_gen(gen, &g)) {
		nack(gen, "delta", "generation is not a number");
		return;
	}
	if (!st || b != kk_worker_generation()) {
		char have[24];
		const char *argv[2] = { KK_MSG_RESYNC, have };
		snprintf(have, sizeof have, "%llu", (unsigned long long)kk_worker_generation());
		kk_log_warning("delta %s applies to generation %s but "
		    "this worker is on %s; asking for the whole state", gen, base, have);
		put(2, argv);
		return;
	}
	/* The supervisor checked the delta's certificates before sending it. */
	st->certs_checked = 1;
	r = kk_state_apply_text_journal(st, text, strlen(text), "delta", &j, err, sizeof err);
	st->certs_checked = 0;
	if (!r) {
		nack(gen, "delta", err);
		return;
	}
	if (!kk_worker_apply_journal(st, &j, g, err, sizeof err)) {
		kk_journal_undo(st, &j);
		nack(gen, "delta", err);
		return;
	}
	kk_journal_commit(st, &j);
	ack(gen);
}

static void
handle(unsigned argc, char **argv)
{
	if (!strcmp(argv[0], KK_MSG_LISTENER) && argc == 2) {
		int fd = kk_chan_take_fd(&ch);
		if (fd < 0)
			kk_log_warning("listener %s announced without its socket",
			    argv[1]);
		else
			kk_worker_listener_fd(argv[1], fd);
	} else if (!strcmp(argv[0], KK_MSG_DELTA) && argc == 4) {
		on_delta(argv[1], argv[2], argv[3]);
	} else if (!strcmp(argv[0], KK_MSG_STATE) && argc == 2) {
		on_state(argv[1]);
	} else if (!strcmp(argv[0], KK_MSG_UPDATE) && argc == 3) {
		on_update(argv[1], argv[2]);
	} else if (!strcmp(argv[0], KK_MSG_STATUS)) {
		kk_str s = KK_STR_ZERO;
		if (kk_status_print(&s, kk_worker_id(), kk_worker_generation())) {
			const char *a[2] = { KK_MSG_STATUS, s.s };
			put(2, a);
		}
		kk_str_free(&s);
	} else if (!strcmp(argv[0], KK_MSG_PING) && argc == 2) {
		/* Answered from the loop, so a pong says the loop turns. */
		const char *a[2] = { KK_MSG_PONG, argv[1] };
		put(2, a);
	} else if (!strcmp(argv[0], KK_MSG_TLS_KEYS)) {
		/* A ring that does not parse leaves the one in use: handshakes
		 * go on, resuming as before. */
		char err[KK_ERRLEN];
		if (!kk_tls_keys_set(argc, (const char *const *)argv, err, sizeof err))
			kk_log_warning("%s; keeping the ticket keys in"
			    " use", err);
	} else if (!strcmp(argv[0], KK_MSG_HEALTH)) {
		/* A backend the worker no longer has: a change removed it
		 * while the verdict travelled. */
		kk_health_verdict(argc, argv, kk_now_ms);
	} else if (!strcmp(argv[0], KK_MSG_LOG_REOPEN)) {
		/* The sequence number back, so the supervisor can tell when every
		 * worker has the new file; a supervisor that sent none wants no
		 * answer. */
		char err[KK_ERRLEN];
		int ok = kk_accesslog_reopen(err, sizeof err);
		if (argc >= 2) {
			const char *a[3] = { KK_MSG_LOG_REOPENED, argv[1], err };
			put(ok ? 2 : 3, a);
		}
	} else if (!strcmp(argv[0], KK_MSG_DRAIN)) {
		kk_worker_drain();
	} else if (!strcmp(argv[0], KK_MSG_STOP)) {
		kk_worker_stop(0);
	} else
		kk_log_warning("unknown supervisor message %s ignored",
		    argv[0]);
}

static void
on_event(kk_io *x, uint32_t ev)
{
	char *argv[KK_FRAME_MAXWORDS];
	unsigned argc;
	int r, eof = 0;
	(void)x;
	(void)ev;
	if (!active)
		return;
	kk_chan_flush(&ch);
	for (;;) {
		r = kk_chan_fill(&ch);
		if (r > 0)
			continue;
		if (r == 0)
			eof = 1;
		else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			eof = 1;
		break;
	}
	while ((r = kk_chan_next(&ch, argv, KK_FRAME_MAXWORDS, &argc)) > 0)
		if (argc)
			handle(argc, argv);
	if (r < 0 || eof) {
		/* No supervisor to answer to: finish what is in flight and
		 * leave. */
		if (r < 0)
			kk_log_warning("malformed supervisor message; "
			    "closing the channel and draining");
		kk_loop_del(&io);
		kk_chan_free(&ch);
		active = 0;
		kk_worker_drain();
	}
}

int
kk_channel_init(int fd)
{
	kk_chan_init(&ch, fd);
	io.fd = fd;
	io.prio = KK_IO_OTHER;
	io.on_event = on_event;
	if (!kk_loop_add(&io, EPOLLIN | EPOLLOUT | EPOLLET))
		return 0;
	active = 1;
	return 1;
}
