/* ISC license. */
/* The session-ticket key ring: made here from getrandom(2), rotated every
 * tls-ticket-rotation, sent to every worker as it starts and to all at each
 * rotation (proto.h, tls-keys), and carried through an in-place upgrade
 * by the handoff. The keys are never in the state, so never in a saved
 * file or a dump; status shows only the encrypting key's name, which
 * every ticket carries in the clear anyway. A dropped key is wiped.
 * What a worker does with the ring is src/worker/tlskeys.c. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <kakehi/handoff.h>
#include <kakehi/proto.h>

#include "sv.h"

/* The ring's slots. The next key goes to the workers a whole period
 * before it encrypts: a worker that gets a rotation a moment after
 * another can already read the other's new tickets. */
enum { CURRENT, NEXT, PREVIOUS };

static struct {
	unsigned char key[KK_TLS_KEYS_MAX][KK_TLS_KEY_LEN];
	unsigned n;			/* 0: no ring (getrandom failed) */
	unsigned long long serial;	/* rotations since the first ring, from 1 */
	tain rotated_at;		/* when the ring last changed */
} ring;

static int
fill_random(unsigned char *p, size_t len)
{
	while (len) {
		ssize_t r = getrandom(p, len, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		p += r;
		len -= (size_t)r;
	}
	return 1;
}

void
sv_tlskeys_start(void)
{
	if (ring.n)
		return;
	if (!fill_random(ring.key[CURRENT], 2 * KK_TLS_KEY_LEN)) {
		explicit_bzero(ring.key, sizeof ring.key);
		sv_warn("unable to make session-ticket keys: getrandom: %s; each worker issues"
		    " tickets of its own until the next rotation", strerror(errno));
	} else {
		ring.n = 2;
		ring.serial = 1;
	}
	sv_now(&ring.rotated_at);
}

/* The tls-keys message into argv: numbers in nums, keys in hex, one
 * NUL-terminated word each, in buf (which the caller wipes). */
static unsigned
message(kk_str *buf, char nums[2][24], const char **argv)
{
	unsigned long life = sv.state.set.tls_ticket_rotation_ms / 1000;
	size_t at[KK_TLS_KEYS_MAX];
	unsigned i;

	snprintf(nums[0], sizeof nums[0], "%llu", ring.serial);
	snprintf(nums[1], sizeof nums[1], "%lu", life ? life : 1);
	for (i = 0; i < ring.n; i++) {
		at[i] = buf->len;
		if (!kk_handoff_cathex(buf, (const char *)ring.key[i], KK_TLS_KEY_LEN)
		    || !kk_str_catb(buf, "", 1))
			return 0;
	}
	argv[0] = KK_MSG_TLS_KEYS;
	argv[1] = nums[0];
	argv[2] = nums[1];
	for (i = 0; i < ring.n; i++)
		argv[3 + i] = buf->s + at[i];
	return 3 + ring.n;
}

static void
wipe(kk_str *s)
{
	if (s->s)
		explicit_bzero(s->s, s->cap);
	kk_str_free(s);
}

int
sv_tlskeys_send(sv_worker *w)
{
	const char *argv[3 + KK_TLS_KEYS_MAX];
	char nums[2][24];
	kk_str buf = KK_STR_ZERO;
	unsigned argc;
	int ok;

	if (!ring.n)
		return 1;
	argc = message(&buf, nums, argv);
	ok = argc && sv_worker_send(w, argc, argv);
	wipe(&buf);
	if (!ok)
		sv_warn("unable to send the session-ticket keys to worker %u; it issues"
		    " tickets of its own until it gets them", w->id);
	return ok;
}

static void
rotate(void)
{
	unsigned char fresh[KK_TLS_KEY_LEN];
	unsigned i;

	if (!ring.n) {
		/* getrandom failed at start: the first ring, once more. */
		sv_tlskeys_start();
		if (!ring.n)
			return;
	} else {
		sv_now(&ring.rotated_at);
		if (!fill_random(fresh, sizeof fresh)) {
			sv_warn("unable to rotate the session-ticket keys: getrandom: %s; keeping"
			    " the ring, retrying in one period", strerror(errno));
			return;
		}
		memcpy(ring.key[PREVIOUS], ring.key[CURRENT], KK_TLS_KEY_LEN);
		memcpy(ring.key[CURRENT], ring.key[NEXT], KK_TLS_KEY_LEN);
		memcpy(ring.key[NEXT], fresh, KK_TLS_KEY_LEN);
		explicit_bzero(fresh, sizeof fresh);
		ring.n = 3;
		ring.serial++;
	}
	for (i = 0; i < SV_MAX_SLOTS; i++)
		if (sv.workers[i].chan.fd >= 0)
			sv_tlskeys_send(&sv.workers[i]);
}

/* When the ring is next due to rotate. */
static void
next_rotation(tain *d)
{
	sv_tain_after(d, &ring.rotated_at, sv.state.set.tls_ticket_rotation_ms);
}

void
sv_tlskeys_deadline(tain *earliest)
{
	tain d;
	next_rotation(&d);
	sv_deadline_earliest(earliest, &d);
}

void
sv_tlskeys_timers(void)
{
	tain d;
	next_rotation(&d);
	if (sv_deadline_due(&d))
		rotate();
}

int
sv_tlskeys_status(kk_str *out, int json)
{
	kk_str name = KK_STR_ZERO;
	int ok;

	if (ring.n && !kk_handoff_cathex(&name, (const char *)ring.key[CURRENT],
	    KK_TLS_KEY_NAME_LEN))
		return 0;
	if (json)
		ok = kk_str_catf(out, ",\"tls_ticket_serial\":%llu,\"tls_ticket_key\":",
		    ring.serial) && (ring.n ? kk_str_catjson(out, name.s)
		    : kk_str_cats(out, "null"));
	else
		ok = kk_str_catf(out, "tls-ticket-serial %llu\ntls-ticket-key %s\n", ring.serial,
		    ring.n ? name.s : "none");
	kk_str_free(&name);
	return ok;
}

int
sv_tlskeys_handoff(kk_str *out)
{
	unsigned i;

	if (!ring.n)
		return 1;
	if (!kk_str_catf(out, "tls-keys %llu %lld", ring.serial, sv_ms_since(&ring.rotated_at)))
		return 0;
	for (i = 0; i < ring.n; i++)
		if (!kk_str_cats(out, " ")
		    || !kk_handoff_cathex(out, (const char *)ring.key[i], KK_TLS_KEY_LEN))
			return 0;
	return kk_str_cats(out, "\n");
}

int
sv_tlskeys_adopt(unsigned argc, char **argv, int apply, char *err, size_t errlen)
{
	unsigned char keys[KK_TLS_KEYS_MAX][KK_TLS_KEY_LEN];
	unsigned long long serial;
	unsigned long age;
	unsigned n = argc - 3, i;
	int ok = 1;

	/* tls-keys SERIAL AGE-MS KEY KEY [KEY] */
	if (argc < 5 || argc > 3 + KK_TLS_KEYS_MAX || !kk_scan_uint(argv[2], 0, ~0UL, &age)) {
		snprintf(err, errlen, "malformed tls-keys line (%u words)", argc);
		return 0;
	}
	{
		char *end;
		errno = 0;
		serial = strtoull(argv[1], &end, 10);
		if (!*argv[1] || *end || errno || !serial) {
			snprintf(err, errlen, "malformed tls-keys line: serial \"%.30s\"",
			    argv[1]);
			return 0;
		}
	}
	for (i = 0; ok && i < n; i++) {
		kk_str raw = KK_STR_ZERO;
		const char *hex = argv[3 + i];
		ok = strlen(hex) == 2 * KK_TLS_KEY_LEN && kk_handoff_unhex(&raw, hex)
		    && raw.len == KK_TLS_KEY_LEN;
		if (ok)
			memcpy(keys[i], raw.s, KK_TLS_KEY_LEN);
		wipe(&raw);
	}
	if (ok && apply) {
		memcpy(ring.key, keys, n * KK_TLS_KEY_LEN);
		ring.n = n;
		ring.serial = serial;
		sv_tain_ago(&ring.rotated_at, age);
	}
	explicit_bzero(keys, sizeof keys);
	if (!ok)
		snprintf(err, errlen, "malformed tls-keys line: key %u is not %d bytes in hex", i,
		    KK_TLS_KEY_LEN);
	return ok;
}
