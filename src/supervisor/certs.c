/* ISC license. */
/* Certificate dates, which the state does not check (a state loaded
 * again must load whatever the date): an operator's add, replace,
 * reload or config at start is refused for a certificate that is not
 * valid now, while a state written by state save is loaded with a
 * warning for each certificate that has expired since, so a restart
 * never fails on a date. */

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kakehi/cert.h>
#include <kakehi/state.h>

#include "sv.h"

/* The first line kk_state_print writes. */
static const char state_mark[] = "# kakehi state\n";

int
sv_certs_saved_state(const char *path)
{
	char head[sizeof state_mark - 1];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, head, sizeof head);
	close(fd);
	return n == (ssize_t)sizeof head && !memcmp(head, state_mark, sizeof head);
}

static void
warn_dates(const kk_certificate *x, time_t now, const char *source)
{
	char why[KK_ERRLEN];

	if (!kk_cert_check_dates(x, now, why, sizeof why))
		sv_warn("%s: certificate %s of listener %s: %s; kept, as a saved state "
		    "is loaded whatever the date: replace it (certificate replace %s --old %s)",
		    source, x->fingerprint, x->listener, why, x->listener, x->fingerprint);
}

static int
check_dates(const kk_certificate *x, time_t now, const char *source, char *err,
    size_t errlen)
{
	char why[KK_ERRLEN];

	if (kk_cert_check_dates(x, now, why, sizeof why))
		return 1;
	snprintf(err, errlen, "%s: certificate %s of listener %s: %s; nothing changed",
	    source, x->fingerprint, x->listener, why);
	return 0;
}

int
sv_certs_check_state(const kk_state *st, int saved, const char *source, char *err,
    size_t errlen)
{
	time_t now = time(0);
	size_t i;

	for (i = 0; i < st->ncertificates; i++) {
		const kk_certificate *x = &st->certificates[i];
		if (!x->listener)
			continue;
		if (saved)
			warn_dates(x, now, source);
		else if (!check_dates(x, now, source, err, errlen))
			return 0;
	}
	return 1;
}

int
sv_certs_check_journal(const kk_state *st, const kk_journal *j, int saved,
    const char *source, char *err, size_t errlen)
{
	time_t now = time(0);
	kk_change ch;
	size_t i;

	for (i = 0; i < j->n; i++) {
		kk_journal_change(st, j, i, &ch);
		if ((ch.id != KK_V_CERTIFICATE_ADD && ch.id != KK_V_CERTIFICATE_REPLACE)
		    || !ch.x->listener)
			continue;
		if (saved)
			warn_dates(ch.x, now, source);
		else if (!check_dates(ch.x, now, source, err, errlen))
			return 0;
	}
	return 1;
}
