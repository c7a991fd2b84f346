/* ISC license. */
/* Tests kk_chan (src/libkakehi/chan.c) over a socketpair: messages split
 * across reads, several messages per read, an fd arriving with its
 * message, surplus fds closed, malformed frames, end of file, and fds
 * queued behind a peer that does not read. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kakehi/chan.h>
#include <kakehi/frame.h>
#include "tap.h"

/* Sends raw bytes with n copies of fd attached. */
static int
send_fds(int sock, const char *data, size_t len, int fd, unsigned n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 80)];
	struct msghdr msg;
	struct iovec iov = { (void *)data, len };
	struct cmsghdr *cm;
	unsigned i;

	memset(&msg, 0, sizeof msg);
	memset(cbuf, 0, sizeof cbuf);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
	for (i = 0; i < n; i++)
		memcpy(CMSG_DATA(cm) + i * sizeof(int), &fd, sizeof fd);
	return sendmsg(sock, &msg, 0) == (ssize_t)len;
}

static int
count_open_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

int
main(void)
{
	kk_chan a, b;
	int sp[2], pfd[2];
	char *argv[8];
	unsigned argc;
	kk_str raw = KK_STR_ZERO;
	int fd, baseline;
	struct stat st1, st2;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	kk_chan_init(&a, sp[0]);
	kk_chan_init(&b, sp[1]);

	ok(kk_chan_next(&b, argv, 8, &argc) == 0, "nothing before the first fill");
	errno = 0;
	ok(kk_chan_fill(&b) == -1 && errno == EAGAIN, "fill with nothing: EAGAIN");

	/* Several messages in one read. */
	{
		const char *m1[] = { "update", "7", "cluster add app" };
		const char *m2[] = { "status" };

		ok(kk_chan_put(&a, 3, m1) && kk_chan_put(&a, 1, m2), "put two messages");
		ok(kk_chan_pending(&a) > 0, "pending before flush");
		is_int(kk_chan_flush(&a), 1, "flush");
		is_int(kk_chan_pending(&a), 0, "nothing pending after flush");
		ok(kk_chan_fill(&b) > 0, "fill");
		ok(kk_chan_next(&b, argv, 8, &argc) == 1 && argc == 3, "first message");
		is_str(argv[0], "update", "first word");
		is_str(argv[2], "cluster add app", "third word");
		ok(kk_chan_next(&b, argv, 8, &argc) == 1 && argc == 1, "second message");
		is_str(argv[0], "status", "second message word");
		is_int(kk_chan_next(&b, argv, 8, &argc), 0, "then none");
	}

	/* A message split across reads, byte by byte. */
	{
		const char *m[] = { "ack", "12" };
		size_t i;
		int r = 0;

		kk_words_frame(&raw, 2, m);
		for (i = 0; i < raw.len; i++) {
			if (write(sp[0], raw.s + i, 1) != 1)
				break;
			kk_chan_fill(&b);
			r = kk_chan_next(&b, argv, 8, &argc);
			if (i + 1 < raw.len && r != 0)
				break;
		}
		ok(i == raw.len && r == 1, "complete only after the last byte");
		ok(argc == 2 && !strcmp(argv[0], "ack") && !strcmp(argv[1], "12"), "split message decoded");
	}

	/* fd passing: the fd arrives with its message, after a queued one. */
	ok(pipe(pfd) == 0, "pipe");
	fstat(pfd[0], &st1);
	{
		const char *q[] = { "update", "8", "x" };
		const char *m[] = { "listener", "127.0.0.1:8080" };

		kk_chan_put(&a, 3, q);
		ok(kk_chan_put_fd(&a, 2, m, pfd[0]), "put_fd");
		ok(kk_chan_pending(&a) > 0, "put_fd only queues");
		is_int(kk_chan_flush(&a), 1, "flush sends both");
		ok(kk_chan_fill(&b) > 0, "fill");
		ok(kk_chan_next(&b, argv, 8, &argc) == 1 && !strcmp(argv[0], "update"),
		    "queued message first");
		ok(kk_chan_next(&b, argv, 8, &argc) == 1 && !strcmp(argv[0], "listener") &&
		    !strcmp(argv[1], "127.0.0.1:8080"), "then the listener message");
		fd = kk_chan_take_fd(&b);
		ok(fd >= 0 && fstat(fd, &st2) == 0 && st1.st_ino == st2.st_ino, "its fd arrived");
		ok((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "received fd is close-on-exec");
		is_int(kk_chan_take_fd(&b), -1, "no more fds");
		close(fd);
	}

	/* fds queue in arrival order, across messages. */
	{
		const char *m[] = { "listener", "x" };
		int p2[2], f1, f2;
		struct stat s1, s2;

		ok(pipe(p2) == 0, "second pipe");
		fstat(p2[1], &st2);
		kk_chan_put_fd(&a, 2, m, pfd[1]);
		kk_chan_put_fd(&a, 2, m, p2[1]);
		kk_chan_flush(&a);
		/* The kernel ends a read where the attached fds change, so
		 * this takes two fills. */
		while (kk_chan_fill(&b) > 0)
			;
		f1 = kk_chan_take_fd(&b);
		f2 = kk_chan_take_fd(&b);
		fstat(f1, &s1);
		fstat(f2, &s2);
		fstat(pfd[1], &st1);
		ok(s1.st_ino == st1.st_ino && s2.st_ino == st2.st_ino, "fds in arrival order");
		close(f1);
		close(f2);
		close(p2[0]);
		close(p2[1]);
		while (kk_chan_next(&b, argv, 8, &argc) == 1)
			;
	}

	/* Surplus fds beyond KK_CHAN_MAXFDS are closed, not leaked. */
	baseline = count_open_fds();
	{
		kk_str_reset(&raw);
		{
			const char *m[] = { "listener", "x" };

			kk_words_frame(&raw, 2, m);
		}
		ok(send_fds(sp[0], raw.s, raw.len, pfd[0], 40), "send 40 fds");
		ok(send_fds(sp[0], raw.s, raw.len, pfd[0], 40), "send 40 more");
		while (kk_chan_fill(&b) > 0)
			;
		is_int(b.nfds, KK_CHAN_MAXFDS, "queue holds KK_CHAN_MAXFDS");
		is_int(count_open_fds(), baseline + KK_CHAN_MAXFDS, "surplus fds closed");
		while ((fd = kk_chan_take_fd(&b)) >= 0)
			close(fd);
		is_int(count_open_fds(), baseline, "all taken and closed");
		while (kk_chan_next(&b, argv, 8, &argc) == 1)
			;
	}

	/* Too many words for the caller, then an oversized frame. */
	{
		const char *m[] = { "a", "b", "c" };

		kk_chan_put(&a, 3, m);
		kk_chan_flush(&a);
		kk_chan_fill(&b);
		errno = 0;
		ok(kk_chan_next(&b, argv, 2, &argc) == -1 && errno == EPROTO, "too many words: EPROTO");
	}
	close(pfd[0]);
	close(pfd[1]);
	kk_chan_free(&a);
	kk_chan_free(&b);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	kk_chan_init(&b, sp[1]);
	ok(write(sp[0], "\xff\0\0\0", 4) == 4, "header of a 4 GiB frame");
	kk_chan_fill(&b);
	errno = 0;
	ok(kk_chan_next(&b, argv, 8, &argc) == -1 && errno == EMSGSIZE, "oversized frame: EMSGSIZE");
	ok(write(sp[0], "\0\0\0\2a", 5) == 5, "more bytes after it");
	close(sp[0]);
	kk_chan_free(&b);

	/* End of file, after a last message. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	kk_chan_init(&a, sp[0]);
	kk_chan_init(&b, sp[1]);
	{
		const char *m[] = { "stop" };

		kk_chan_put(&a, 1, m);
		kk_chan_flush(&a);
	}
	kk_chan_free(&a);
	ok(kk_chan_fill(&b) > 0, "last message read");
	is_int(kk_chan_fill(&b), 0, "then end of file");
	ok(kk_chan_next(&b, argv, 8, &argc) == 1 && !strcmp(argv[0], "stop"),
	    "last message still decodable after EOF");
	kk_chan_free(&b);
	ok(b.fd == -1, "free closes the socket");

	/* A flush to a peer that does not read stops at EAGAIN, then resumes. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	kk_chan_init(&a, sp[0]);
	kk_chan_init(&b, sp[1]);
	{
		static char big[1 << 20];
		const char *m[] = { big };
		unsigned got = 0;
		int r;

		memset(big, 'x', sizeof big - 1);
		kk_chan_put(&a, 1, m);
		is_int(kk_chan_flush(&a), 0, "flush of 1 MiB stops at EAGAIN");
		ok(kk_chan_pending(&a) > 0, "bytes still pending");
		for (r = 0; r < 100000 && !got; r++) {
			kk_chan_flush(&a);
			kk_chan_fill(&b);
			if (kk_chan_next(&b, argv, 8, &argc) == 1)
				got = argc;
		}
		ok(got == 1 && strlen(argv[0]) == sizeof big - 1, "big message arrives whole");
	}
	kk_chan_free(&a);
	kk_chan_free(&b);

	/* An fd for a peer that does not read waits in the queue: put_fd and
	 * flush return at once, the caller may close its copy, and the fd
	 * still arrives with its own message once the peer reads. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	kk_chan_init(&a, sp[0]);
	kk_chan_init(&b, sp[1]);
	{
		static char big[1 << 20];
		const char *m[] = { big };
		const char *l[] = { "state", "5" };
		const char *after[] = { "status" };
		int p3[2], got_fd = -1, seen = 0, r;
		struct stat s3, s4;

		memset(big, 'y', sizeof big - 1);
		ok(pipe(p3) == 0, "third pipe");
		fstat(p3[0], &s3);
		kk_chan_put(&a, 1, m);
		ok(kk_chan_put_fd(&a, 2, l, p3[0]), "put_fd behind 1 MiB");
		kk_chan_put(&a, 1, after);
		is_int(kk_chan_flush(&a), 0, "flush returns at EAGAIN, fd still queued");
		close(p3[0]);
		for (r = 0; r < 100000 && seen < 3; r++) {
			kk_chan_flush(&a);
			kk_chan_fill(&b);
			while (kk_chan_next(&b, argv, 8, &argc) == 1) {
				seen++;
				if (seen == 2 && argc == 2 && !strcmp(argv[0], "state"))
					got_fd = kk_chan_take_fd(&b);
			}
		}
		is_int(seen, 3, "all three messages arrive");
		ok(got_fd >= 0 && fstat(got_fd, &s4) == 0 && s3.st_ino == s4.st_ino,
		    "the fd arrives with its own message, after its sender closed its copy");
		is_int(kk_chan_take_fd(&b), -1, "and no other fd");
		if (got_fd >= 0)
			close(got_fd);
		close(p3[1]);
		baseline = count_open_fds();
		kk_chan_put_fd(&a, 2, l, 0);
		is_int(count_open_fds(), baseline + 1, "a queued fd holds a duplicate");
		kk_chan_free(&a);
		is_int(count_open_fds(), baseline - 1, "free closes the duplicate and the socket");
	}
	kk_chan_free(&b);

	/* Bytes done with are wiped: what was sent, and what was read once
	 * the next read compacts the buffer; growing moves and wipes. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	kk_chan_init(&a, sp[0]);
	kk_chan_init(&b, sp[1]);
	{
		const char *k[] = { "certificate", "KEYBYTES-SECRET" };

		kk_chan_put(&a, 2, k);
		is_int(kk_chan_flush(&a), 1, "a secret sent");
		ok(!memmem(a.out.s, a.out.cap, "SECRET", 6), "the send queue holds none of it");
		ok(kk_chan_fill(&b) > 0 && kk_chan_next(&b, argv, 8, &argc) == 1 && argc == 2
		    && !strcmp(argv[1], "KEYBYTES-SECRET"), "and received");
		kk_chan_put(&a, 1, (const char *const[]){ "next" });
		kk_chan_flush(&a);
		kk_chan_fill(&b);
		ok(!memmem(b.in.s, b.in.cap, "SECRET", 6), "the next read leaves none of it behind");
	}
	kk_chan_free(&a);
	kk_chan_free(&b);
	{
		kk_str g = KK_STR_SECRET;

		kk_str_cats(&g, "0123456789");
		ok(kk_str_ready(&g, 4096) && g.len == 10 && !strcmp(g.s, "0123456789"),
		    "a secret string keeps its bytes as it grows");
		kk_str_free(&g);
		ok(!g.s && !g.len && !g.cap && g.wipe, "and frees, staying secret");
	}
	kk_str_free(&raw);
	return done();
}
