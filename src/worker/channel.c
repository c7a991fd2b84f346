/* ISC license. */
/* Supervisor messages are handled from the channel's epoll event, that is
 * between the events of connections: an update's new router snapshot is
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
#include <kakehi/verb.h>
#include "channel.h"
#include "loop.h"
#include "status.h"
#include "worker.h"

static kk_chan ch;
static kk_io io;
static int active;

static void
put(unsigned argc, const char *const *argv)
{
	if (!kk_chan_put(&ch, argc, argv))
		fprintf(stderr, "kakehi-worker: warning: unable to queue a %s message: out of memory\n",
		    argv[0]);
	kk_chan_flush(&ch);
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
on_update(const char *gen, const char *text)
{
	char err[KK_ERRLEN];
	unsigned long long g;
	char *end;
	kk_state *st;
	g = strtoull(gen, &end, 10);
	if (!*gen || *end) {
		const char *argv[3] = { KK_MSG_NACK, gen, "generation is not a number" };
		put(3, argv);
		return;
	}
	st = malloc(sizeof *st);
	if (!st) {
		const char *argv[3] = { KK_MSG_NACK, gen, "out of memory" };
		put(3, argv);
		return;
	}
	kk_state_init(st);
	if (!kk_state_load_text(st, text, strlen(text), "update", err, sizeof err) ||
	    !kk_worker_apply(st, g, err, sizeof err)) {
		const char *argv[3] = { KK_MSG_NACK, gen, err };
		kk_state_free(st);
		free(st);
		fprintf(stderr, "kakehi-worker: warning: update %s refused: %s\n", gen, err);
		put(3, argv);
		return;
	}
	{
		const char *argv[2] = { KK_MSG_ACK, gen };
		put(2, argv);
	}
}

static void
handle(unsigned argc, char **argv)
{
	if (!strcmp(argv[0], KK_MSG_LISTENER) && argc == 2) {
		int fd = kk_chan_take_fd(&ch);
		if (fd < 0)
			fprintf(stderr, "kakehi-worker: warning: listener %s announced without its socket\n",
			    argv[1]);
		else
			kk_worker_listener_fd(argv[1], fd);
	} else if (!strcmp(argv[0], KK_MSG_UPDATE) && argc == 3) {
		on_update(argv[1], argv[2]);
	} else if (!strcmp(argv[0], KK_MSG_STATUS)) {
		kk_str s = KK_STR_ZERO;
		if (kk_status_print(&s, kk_worker_id(), kk_worker_generation())) {
			const char *a[2] = { KK_MSG_STATUS, s.s };
			put(2, a);
		}
		kk_str_free(&s);
	} else if (!strcmp(argv[0], KK_MSG_DRAIN)) {
		kk_worker_drain();
	} else if (!strcmp(argv[0], KK_MSG_STOP)) {
		kk_worker_stop(0);
	} else
		fprintf(stderr, "kakehi-worker: warning: unknown supervisor message %s ignored\n",
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
			fprintf(stderr, "kakehi-worker: warning: malformed supervisor message; "
			    "closing the channel and draining\n");
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
