/* ISC license. */
/* kk_chan: the non-blocking supervisor-worker channel over a unix stream
 * socketpair: frames of words (frame.h), with fds (listeners, a state
 * memfd) passed as SCM_RIGHTS. Every message, with or without an fd, waits
 * in one queue written when the socket takes it, so no send ever blocks;
 * an fd leaves with the first byte of its own frame, and the receiver
 * queues fds in order and hands one to each message that announces it
 * (see proto.h). */
#ifndef KAKEHI_CHAN_H
#define KAKEHI_CHAN_H

#include <kakehi/str.h>

#define KK_CHAN_MAXFDS 64

/* An fd waiting to be sent: a duplicate owned by the channel, attached to
 * the frame that starts at `off` in the output queue. */
typedef struct kk_chan_outfd kk_chan_outfd;
struct kk_chan_outfd {
	size_t off;
	int fd;
};

typedef struct kk_chan kk_chan;
struct kk_chan {
	int fd;
	kk_str in;	/* bytes received, not yet decoded */
	size_t in_off;	/* start of the next undecoded frame in `in` */
	kk_str out;	/* frames queued, not yet written */
	size_t out_off;
	kk_chan_outfd *ofds;	/* fds to send, in queue order */
	size_t nofds, aofds;
	int fds[KK_CHAN_MAXFDS];	/* received fds, in arrival order */
	unsigned nfds;
};

void kk_chan_init(kk_chan *, int fd);
/* Closes the socket and the fds received or waiting to be sent, frees
 * the buffers. */
void kk_chan_free(kk_chan *);
/* Reads what is available. >0 bytes read, 0 end of file, -1 error
 * (errno EAGAIN: nothing now). Received fds are close-on-exec. */
int kk_chan_fill(kk_chan *);
/* Decodes the next message into argv (pointers into the channel's buffer,
 * valid until the next fill or next call). 1 message, 0 none complete,
 * -1 malformed (errno EPROTO or EMSGSIZE: close the channel). */
int kk_chan_next(kk_chan *, char **argv, unsigned max, unsigned *argc);
/* Takes the oldest received fd: >= 0, or -1 when none arrived. The caller
 * owns it. */
int kk_chan_take_fd(kk_chan *);
/* Queues a message. 1 ok, 0 ENOMEM. */
int kk_chan_put(kk_chan *, unsigned argc, const char *const *argv);
/* Queues a message carrying fd. The channel sends a duplicate of fd (and
 * closes it once sent), so the caller keeps and may close its own. 1 ok,
 * 0 error with errno (nothing queued). */
int kk_chan_put_fd(kk_chan *, unsigned argc, const char *const *argv, int fd);
/* Writes what the socket takes now, never waiting: 1 all written, 0 some
 * left (EAGAIN: poll for POLLOUT), -1 error. */
int kk_chan_flush(kk_chan *);
int kk_chan_pending(const kk_chan *);	/* bytes queued */

#endif
