/* ISC license. */
/* What a producing endpoint reports of a message as the stream moves it,
 * whatever the protocol: a head, body data, trailer fields, the end, or
 * why it cannot go on. The protocols (front.c, back.c) translate their
 * framing into these; the stream (stream.c) acts on nothing else. */
#ifndef KK_WORKER_MSG_H
#define KK_WORKER_MSG_H

enum kk_msg {
	KK_MSG_WAIT = 0,	/* nothing now: bytes or room will come */
	KK_MSG_HEAD,		/* a head is ready */
	KK_MSG_UPGRADE,		/* a 101 head answering an upgrade: after it, a tunnel */
	KK_MSG_DATA,		/* body bytes are ready */
	KK_MSG_TRAILERS,	/* trailer fields are ready: the end follows them */
	KK_MSG_END,		/* the message is whole */
	KK_MSG_INVALID,		/* the peer broke the framing */
	KK_MSG_RESET		/* the peer closed or failed before the end */
};

#endif
