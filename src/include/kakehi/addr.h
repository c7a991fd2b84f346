/* ISC license. */
/* Socket addresses as operators write them: 127.0.0.1:8080, [::1]:8080.
 * Numeric only: no name lookups, ever (the worker must not block). */
#ifndef KAKEHI_ADDR_H
#define KAKEHI_ADDR_H

#include <sys/socket.h>
#include <stddef.h>

typedef struct kk_addr kk_addr;
struct kk_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Long enough for "[ffff:...:ffff%scope]:65535" and its NUL. */
#define KK_ADDR_FMTLEN 72

/* 1 on success, 0 when s is not IPV4:PORT or [IPV6]:PORT with a port in
 * 1..65535 (errno EINVAL). */
int kk_addr_parse(kk_addr *, const char *s);
/* Canonical text form; returns its length. Two addresses are the same
 * listener exactly when their canonical forms are equal. */
size_t kk_addr_fmt(char *buf, const kk_addr *);
/* Canonical form of a sockaddr (for getsockname results). */
size_t kk_addr_fmt_sa(char *buf, const struct sockaddr *, socklen_t);
/* The address of a bound socket, canonical; 1 ok, 0 with errno. */
int kk_addr_of_socket(int fd, char *buf);

#endif
