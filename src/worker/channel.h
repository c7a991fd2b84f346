/* ISC license. */
/* The worker's end of the supervisor channel (proto.h): listener fds,
 * updates answered by ack or nack, status, drain, stop. End of file means
 * the supervisor is gone: the worker drains. */
#ifndef KK_WORKER_CHANNEL_H
#define KK_WORKER_CHANNEL_H

#include <stdint.h>

/* 1 ok, 0 errno. */
int kk_channel_init(int fd);
/* Sends "ready GEN". */
void kk_channel_ready(uint64_t generation);
int kk_channel_active(void);
/* Queues a message to the supervisor (a health report); nothing when the
 * channel is closed. */
void kk_channel_send(unsigned argc, const char *const *argv);

#endif
