/* ISC license. */
/* Tests kk_addr (src/libkakehi/addr.c): accepted and refused forms,
 * canonical printing, IPv6, and the address of a real socket. */

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <kakehi/addr.h>
#include "tap.h"

static const char *
canon(const char *s)
{
	static char buf[KK_ADDR_FMTLEN];
	kk_addr a;

	if (!kk_addr_parse(&a, s))
		return "(invalid)";
	if (kk_addr_fmt(buf, &a) != strlen(buf))
		return "(bad length)";
	return buf;
}

int
main(void)
{
	static const char *bad[] = {
		"", ":", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1:80x",
		"127.0.0.1: 80", "127.0.0.1:80:81", "127.1:80", "localhost:80",
		"256.0.0.1:80", "0x7f.0.0.1:80", ":80", "::1:80", "[::1]", "[::1]:",
		"[::1]80", "[::1]:0", "[::1:80", "[]:80", "[127.0.0.1]:80",
		"[::1%]:80", "[::1%no-such-if0]:80", "[fe80::1%4294967296]:80",
		"[::g]:80", "127.0.0.1:0080000", "010.0.0.1:80", "10.00.0.1:80",
		"1.2.3.4.5:80", "1..2.3:80", "1.2.3.:80", ".1.2.3:80", "1.2.3.256:80",
		"1.2.3.1000:80", "1.2.3.4 :80", "1.2.-3.4:80", 0
	};
	unsigned i;
	kk_addr a;
	char buf[KK_ADDR_FMTLEN];
	int fd;
	struct sockaddr_in sin;
	socklen_t len;

	is_str(canon("127.0.0.1:8080"), "127.0.0.1:8080", "v4");
	is_str(canon("0.0.0.0:80"), "0.0.0.0:80", "v4 any");
	is_str(canon("255.255.255.255:80"), "255.255.255.255:80", "v4 broadcast, parts of 255");
	is_str(canon("1.20.199.250:80"), "1.20.199.250:80", "v4 parts of one to three digits");
	is_str(canon("10.0.0.2:65535"), "10.0.0.2:65535", "v4 port 65535");
	is_str(canon("10.0.0.2:1"), "10.0.0.2:1", "v4 port 1");
	is_str(canon("10.0.0.2:00080"), "10.0.0.2:80", "leading zeros in the port canonicalised");
	is_str(canon("[::1]:8080"), "[::1]:8080", "v6 loopback");
	is_str(canon("[::]:443"), "[::]:443", "v6 any");
	is_str(canon("[0:0:0:0:0:0:0:1]:8080"), "[::1]:8080", "v6 long form canonicalised");
	is_str(canon("[2001:DB8:0::A]:80"), "[2001:db8::a]:80", "v6 upper case canonicalised");
	is_str(canon("[::ffff:10.0.0.1]:80"), "[::ffff:10.0.0.1]:80", "v4-mapped v6");
	is_str(canon("[fe80::1%1]:80"), "[fe80::1%1]:80", "v6 numeric scope");
	is_str(canon("[fe80::1%lo]:80"), "[fe80::1%1]:80", "v6 interface scope becomes its index");
	is_str(canon("[fe80::1%0]:80"), "[fe80::1]:80", "v6 scope 0 is no scope");
	for (i = 0; bad[i]; i++) {
		errno = 0;
		ok(!kk_addr_parse(&a, bad[i]) && errno == EINVAL, "refused: \"%s\"", bad[i]);
	}

	ok(kk_addr_parse(&a, "127.0.0.1:8080") && a.len == sizeof(struct sockaddr_in) &&
	    a.ss.ss_family == AF_INET && ((struct sockaddr_in *)&a.ss)->sin_port == htons(8080),
	    "v4 sockaddr filled");
	ok(kk_addr_parse(&a, "[::1]:8080") && a.len == sizeof(struct sockaddr_in6) &&
	    a.ss.ss_family == AF_INET6, "v6 sockaddr filled");
	ok(kk_addr_fmt_sa(buf, (struct sockaddr *)&a.ss, 4) == 0 && !buf[0],
	    "fmt_sa refuses a short length");

	/* The address of a real bound socket. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0, "bind 127.0.0.1:0");
	len = sizeof sin;
	getsockname(fd, (struct sockaddr *)&sin, &len);
	ok(kk_addr_of_socket(fd, buf), "of_socket");
	{
		char want[KK_ADDR_FMTLEN];

		snprintf(want, sizeof want, "127.0.0.1:%u", (unsigned)ntohs(sin.sin_port));
		is_str(buf, want, "of_socket canonical");
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ok(!kk_addr_of_socket(fd, buf), "of_socket refuses a unix socket");
	close(fd);
	ok(!kk_addr_of_socket(-1, buf) && errno == EBADF, "of_socket on a bad fd");
	return done();
}
