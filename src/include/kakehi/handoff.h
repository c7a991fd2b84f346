/* ISC license. */
/* The handoff of an in-place supervisor upgrade: what the running
 * supervisor writes into a memfd before it execs kakehi-upgrade, and what
 * kakehi-upgrade and the next supervisor check before they trust it.
 * Here: the envelope (magic, format version, length, checksum), the line
 * walker and the check of every fd the handoff names. What each line
 * means to the supervisor is src/supervisor/handoff.c's business.
 *
 * The envelope is one header line, then the body:
 *   kakehi-handoff VERSION LENGTH CHECKSUM\n
 * LENGTH is the body's size in bytes, CHECKSUM its FNV-1a 64-bit hash in
 * 16 hex digits. The body is lines of words, quoted like verb lines; the
 * line "config" ends them and the rest of the body is the state as verb
 * lines (the canonical print). Lines that name an fd:
 *   self FD                 the old supervisor binary, opened O_PATH
 *   control FD PATH OURS    the listening control socket
 *   listener ADDR FD        a listening TCP socket
 *   worker ID FD ...        a worker's channel (a unix stream socket)
 *   client FD ...           the control client waiting for the answer
 *   notify FD               the readiness fd, while readiness is pending
 *   board FD                the workers' board (kakehi/board.h), a memfd
 *   metrics FD              the metrics segment (kakehi/metrics.h), a memfd
 * and one that names none but holds secrets:
 *   tls-keys SERIAL AGE-MS KEY...  the session-ticket key ring, in hex */
#ifndef KAKEHI_HANDOFF_H
#define KAKEHI_HANDOFF_H

#include <stddef.h>
#include <stdint.h>
#include <kakehi/str.h>

#define KK_HANDOFF_MAGIC "kakehi-handoff"
/* Version 2 added the tls-keys line; a version 1 handoff (from a build
 * before it) is still read, and a new ring made. */
/* Version 3 added the metrics line; without it (an older build) the new
 * supervisor makes a new segment, and counting starts again. */
#define KK_HANDOFF_VERSION 3
#define KK_HANDOFF_VERSION_OLDEST 1
/* Far above any real state, so a corrupt length cannot make a reader
 * allocate without bound. */
#define KK_HANDOFF_MAX (256u << 20)

/* Why a handoff is refused. The values are kakehi-upgrade's exit codes
 * (doc/kakehi-upgrade.html), so keep them stable. */
enum kk_handoff_res {
	KK_HANDOFF_OK = 0,
	KK_HANDOFF_EMAGIC = 101,	/* not a handoff */
	KK_HANDOFF_EVERSION = 102,	/* a format version this build does not read */
	KK_HANDOFF_ESUM = 103,		/* length or checksum wrong: corrupt, truncated */
	KK_HANDOFF_EFORMAT = 104,	/* a line that does not parse */
	KK_HANDOFF_EFDCLOSED = 105,	/* an fd it names is not open */
	KK_HANDOFF_EFDKIND = 106,	/* an fd it names is of the wrong kind */
	KK_HANDOFF_ESYS = 111		/* the handoff fd could not be read */
};

/* The kinds of fd a handoff names. */
enum kk_handoff_fdkind {
	KK_HANDOFF_FD_FILE,		/* a regular file (O_PATH is fine) */
	KK_HANDOFF_FD_ANY,		/* any open fd */
	KK_HANDOFF_FD_LISTENER,		/* a listening TCP socket */
	KK_HANDOFF_FD_CONTROL,		/* a listening unix stream socket */
	KK_HANDOFF_FD_STREAM		/* a unix stream socket, not listening */
};

uint64_t kk_handoff_sum(const char *, size_t);
/* Appends the header for body and then body to out. 1 ok, 0 ENOMEM. */
int kk_handoff_seal(kk_str *out, const char *body, size_t len);
/* Reads the handoff on fd from offset 0 (pread: the file offset, which a
 * trial run shares, is left alone) and checks the envelope. Fills body
 * with the body, NUL-terminated. KK_HANDOFF_OK, or a refusal with err. */
int kk_handoff_read(int fd, kk_str *body, char *err, size_t errlen);
/* Splits the next line of a body at *pos into argv (words in buf, which
 * must hold the line). 1 a line, 0 the "config" line or the end (*pos is
 * then the start of the config text), -1 with err. */
int kk_handoff_next(const char *body, size_t len, size_t *pos, char *buf, size_t buflen,
    char **argv, unsigned max, unsigned *argc, char *err, size_t errlen);
/* 1 fd is open and of kind; 0 with err naming what (e.g. "listener
 * 127.0.0.1:80") and why, *res the refusal (EFDCLOSED or EFDKIND). */
int kk_handoff_check_fd(int fd, enum kk_handoff_fdkind, const char *what, int *res,
    char *err, size_t errlen);
/* Checks every fd line of body (see above). KK_HANDOFF_OK or a refusal
 * with err. */
int kk_handoff_check_fds(const char *body, size_t len, char *err, size_t errlen);
/* Sets (on) or clears close-on-exec on every fd body names: cleared,
 * they survive the exec of the next program of the handoff. */
void kk_handoff_cloexec(const char *body, size_t len, int on);
/* The way back: execs the previous supervisor binary (self, held with
 * O_PATH) on the handoff in fd, told why (--rollback). Returns only when
 * the exec failed, with errno. */
void kk_handoff_exec_previous(int self, const char *fdtext, const char *reason);
/* Hex for bytes that travel in a line (a channel's undecoded input). */
int kk_handoff_cathex(kk_str *out, const char *, size_t);
/* Decodes hex into out; 1 ok, 0 not hex or ENOMEM. */
int kk_handoff_unhex(kk_str *out, const char *hex);

#endif
