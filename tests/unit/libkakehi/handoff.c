/* ISC license. */
/* The handoff envelope: a sealed body reads back whole; each spoiled
 * header or body is refused with its own code; the line walker stops at
 * "config"; fd kinds; hex round trips. */

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <kakehi/handoff.h>
#include <kakehi/verb.h>

#include "tap.h"

/* A memfd holding text, offset at its end (as the supervisor leaves it). */
static int
holding(const char *s, size_t len)
{
	int fd = memfd_create("t", MFD_CLOEXEC);

	if (fd < 0 || write(fd, s, len) != (ssize_t)len)
		abort();
	return fd;
}

static int
read_res(const char *s, size_t len, char *err, size_t errlen)
{
	kk_str body = KK_STR_ZERO;
	int fd = holding(s, len), r = kk_handoff_read(fd, &body, err, errlen);

	close(fd);
	kk_str_free(&body);
	return r;
}

int
main(void)
{
	static const char body[] = "self 7\nrequest 0 'uid=0 pid=1 comm=x' upgrade\n"
	    "config\nset workers 1\n";
	char err[KK_ERRLEN], buf[512];
	char *argv[KK_LINE_MAXWORDS];
	kk_str sealed = KK_STR_ZERO, got = KK_STR_ZERO, hex = KK_STR_ZERO, back = KK_STR_ZERO;
	unsigned argc;
	size_t pos = 0;
	int fd, r, res, sp[2];

	ok(kk_handoff_seal(&sealed, body, sizeof body - 1), "seal");
	ok(!strncmp(sealed.s, "kakehi-handoff 3 ", 17), "the header starts with the magic"
	    " and the version");
	fd = holding(sealed.s, sealed.len);
	is_int(kk_handoff_read(fd, &got, err, sizeof err), KK_HANDOFF_OK, "reads back");
	is_str(got.s, body, "the body whole");
	is_int(lseek(fd, 0, SEEK_CUR), (long long)sealed.len, "the fd's offset is left alone");
	close(fd);

	r = kk_handoff_next(got.s, got.len, &pos, buf, sizeof buf, argv, KK_LINE_MAXWORDS,
	    &argc, err, sizeof err);
	ok(r == 1 && argc == 2 && !strcmp(argv[0], "self"), "first line: self");
	r = kk_handoff_next(got.s, got.len, &pos, buf, sizeof buf, argv, KK_LINE_MAXWORDS,
	    &argc, err, sizeof err);
	ok(r == 1 && argc == 4 && !strcmp(argv[2], "uid=0 pid=1 comm=x"),
	    "a quoted word comes back as one");
	r = kk_handoff_next(got.s, got.len, &pos, buf, sizeof buf, argv, KK_LINE_MAXWORDS,
	    &argc, err, sizeof err);
	is_int(r, 0, "the config line ends the lines");
	is_str(got.s + pos, "set workers 1\n", "and the state follows it");

	memcpy(buf, sealed.s, sealed.len);
	buf[3] = 'X';
	is_int(read_res(buf, sealed.len, err, sizeof err), KK_HANDOFF_EMAGIC, "bad magic");
	memcpy(buf, sealed.s, sealed.len);
	buf[15] = '4';
	is_int(read_res(buf, sealed.len, err, sizeof err), KK_HANDOFF_EVERSION, "bad version");
	buf[15] = '0';
	is_int(read_res(buf, sealed.len, err, sizeof err), KK_HANDOFF_EVERSION,
	    "a version older than the oldest read");
	buf[15] = '1';
	is_int(read_res(buf, sealed.len, err, sizeof err), KK_HANDOFF_OK,
	    "version 1, from a build before the ticket keys, is still read");
	buf[15] = '2';
	is_int(read_res(buf, sealed.len, err, sizeof err), KK_HANDOFF_OK,
	    "version 2, from a build before the metrics segment, is still read");
	memcpy(buf, sealed.s, sealed.len);
	buf[sealed.len - 2] ^= 1;
	is_int(read_res(buf, sealed.len, err, sizeof err), KK_HANDOFF_ESUM, "a changed byte");
	is_int(read_res(sealed.s, sealed.len - 1, err, sizeof err), KK_HANDOFF_ESUM,
	    "a truncated body");
	ok(strstr(err, "truncated") != 0, "and says it is truncated");
	is_int(read_res("kakehi-handoff 1 x\n", 19, err, sizeof err), KK_HANDOFF_EFORMAT,
	    "a malformed header");

	ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0, "socketpair");
	ok(kk_handoff_check_fd(sp[0], KK_HANDOFF_FD_STREAM, "x", &res, err, sizeof err),
	    "a socketpair end is a stream");
	ok(!kk_handoff_check_fd(sp[0], KK_HANDOFF_FD_LISTENER, "x", &res, err, sizeof err)
	    && res == KK_HANDOFF_EFDKIND, "but not a listener");
	ok(!kk_handoff_check_fd(sp[0], KK_HANDOFF_FD_CONTROL, "x", &res, err, sizeof err)
	    && res == KK_HANDOFF_EFDKIND, "nor a control socket");
	close(sp[1]);
	ok(!kk_handoff_check_fd(sp[1], KK_HANDOFF_FD_ANY, "x", &res, err, sizeof err)
	    && res == KK_HANDOFF_EFDCLOSED, "a closed fd is refused as closed");
	close(sp[0]);

	ok(kk_handoff_cathex(&hex, "\0a\xff", 3) && !strcmp(hex.s, "0061ff"), "hex");
	ok(kk_handoff_unhex(&back, hex.s) && back.len == 3 && !memcmp(back.s, "\0a\xff", 3),
	    "hex back");
	kk_str_reset(&hex);
	ok(kk_handoff_cathex(&hex, 0, 0) && !strcmp(hex.s, "-"), "nothing is -");
	kk_str_reset(&back);
	ok(kk_handoff_unhex(&back, "-") && !back.len, "- is nothing");
	ok(!kk_handoff_unhex(&back, "0g"), "not hex is refused");
	kk_str_free(&sealed);
	kk_str_free(&got);
	kk_str_free(&hex);
	kk_str_free(&back);
	return done();
}
