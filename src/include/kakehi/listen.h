/* ISC license. */
/* Binding a TCP listener the way every kakehi program does it, so that
 * kakehi-listen and the supervisor produce the same sockets: numeric
 * address, SO_REUSEADDR, IPV6_V6ONLY for IPv6 (an IPv6 listener never
 * grabs the IPv4 port too), non-blocking, close-on-exec. */
#ifndef KAKEHI_LISTEN_H
#define KAKEHI_LISTEN_H

#include <stddef.h>
#include <kakehi/addr.h>

#define KK_LISTEN_BACKLOG 1024

/* Binds and listens. Returns the fd, or -1 with errno set and err filled
 * for the operator: "unable to bind ADDR: reason; what to do". */
int kk_listen_bind(const kk_addr *, unsigned backlog, char *err, size_t errlen);

#endif
