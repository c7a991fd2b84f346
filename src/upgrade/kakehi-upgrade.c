/* ISC license. */
/* kakehi-upgrade: the step between two supervisor binaries. In check
 * mode (-c) it reads a handoff state, the verb lines a supervisor saves,
 * with this build's grammar and says whether this binary set can adopt
 * it: the same question the in-place handoff asks before it execs the
 * new supervisor. */

#include <string.h>

#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>

#include <kakehi/state.h>
#include <kakehi/verb.h>

#define USAGE "kakehi-upgrade -c state-file"
#define dieusage() strerr_dieusage(100, USAGE)

const char *PROG = "kakehi-upgrade";

int
main(int argc, const char *const *argv)
{
	char err[KK_ERRLEN];
	const char *check = 0;
	subgetopt l = SUBGETOPT_ZERO;
	kk_state st;

	for (;;) {
		int opt = subgetopt_r(argc, argv, "c:", &l);
		if (opt == -1)
			break;
		switch (opt) {
		case 'c':
			check = l.arg;
			break;
		default:
			dieusage();
		}
	}
	if (!check || argc != l.ind)
		dieusage();

	kk_state_init(&st);
	/* The loader gives "FILE:LINE: message"; a file it cannot read is a
	 * system problem (111), a line it cannot take a refusal (100). */
	if (!kk_state_load_file(&st, check, err, sizeof err))
		strerr_dief(strncmp(err, "unable to ", 10) ? 100 : 111, err);
	kk_state_free(&st);
	return 0;
}
