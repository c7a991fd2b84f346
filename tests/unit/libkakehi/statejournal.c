/* ISC license. */
/* Tests kk_state_apply_text_journal (src/libkakehi/statejournal.c): a
 * batch applied in place and then committed or undone; comments and blank
 * lines; a refusal at any line undoes the lines before it, names
 * SOURCE:LINE, and leaves the state printing as it did; runtime verbs
 * refused; the indexes whole after each. */

#include <stdlib.h>
#include <string.h>
#include <kakehi/state.h>
#include <kakehi/statejournal.h>
#include <kakehi/str.h>
#include "tap.h"

static char *
printed(const kk_state *st)
{
	kk_str out = KK_STR_ZERO;

	if (!kk_state_print(st, &out))
		return 0;
	return out.s ? out.s : strdup("");
}

static const char base[] =
    "listener add http 127.0.0.1:8080\n"
    "cluster add app\n"
    "frontend add app --listener 127.0.0.1:8080 --host a.example\n"
    "backend add app b1 127.0.0.1:9001\n"
    "backend add app b2 127.0.0.1:9002\n";

/* Applies text under a fresh journal; on success undoes or commits. */
static int
run(kk_state *st, const char *text, int commit, char *err, size_t errlen)
{
	kk_journal j = KK_JOURNAL_ZERO;

	if (!kk_state_apply_text_journal(st, text, strlen(text), "delta", &j, err, errlen))
		return 0;
	if (commit)
		kk_journal_commit(st, &j);
	else
		kk_journal_undo(st, &j);
	return 1;
}

int
main(void)
{
	char err[KK_ERRLEN];
	kk_state st;
	char *before, *after;

	kk_state_init(&st);
	ok(kk_state_load_text(&st, base, strlen(base), "base", err, sizeof err), "base state");
	before = printed(&st);

	/* Applied, then undone: prints as before. */
	ok(run(&st, "backend remove app b1\n# a comment\n\nbackend add app b3 127.0.0.1:9003\n"
	    "cluster add other\n", 0, err, sizeof err), "a batch with a comment applies");
	after = printed(&st);
	is_str(after, before, "undone: the state prints as before");
	free(after);
	ok(kk_state_check(&st, err, sizeof err), "indexes whole after the undo");

	/* Applied and committed: the change stands. */
	ok(run(&st, "backend remove app b1\nbackend add app b3 127.0.0.1:9003\n", 1, err,
	    sizeof err), "a batch commits");
	after = printed(&st);
	ok(after && !strstr(after, " b1 ") && strstr(after, "backend add app b3 127.0.0.1:9003\n"),
	    "committed: b1 gone, b3 there");
	ok(kk_state_check(&st, err, sizeof err), "indexes whole after the commit");
	free(before);
	before = after;

	/* A refusal on the third line undoes the first two. */
	ok(!run(&st, "backend remove app b2\ncluster add more\nbackend remove app nosuch\n", 1,
	    err, sizeof err), "a batch with a bad third line is refused");
	ok(!strncmp(err, "delta:3: ", 9) && strstr(err, "nosuch"), "the error names delta:3");
	after = printed(&st);
	is_str(after, before, "refused: the state prints as before");
	free(after);
	ok(kk_state_check(&st, err, sizeof err), "indexes whole after the refusal");

	/* Runtime verbs and bad syntax are refused the same way. */
	ok(!run(&st, "cluster add x\nstatus\n", 1, err, sizeof err), "a runtime verb is refused");
	ok(!strncmp(err, "delta:2: ", 9) && strstr(err, "runtime"), "and says why");
	ok(!run(&st, "cluster add 'x\n", 1, err, sizeof err), "an open quote is refused");
	ok(!kk_state_cluster(&st, "x"), "nothing of either stayed");
	after = printed(&st);
	is_str(after, before, "the state prints as before");
	free(after);

	/* A health check set, changed and removed in place: undone, the
	 * check before it is back; committed, the last one stands. */
	ok(run(&st, "cluster health-check app --path /a --fall 5\n", 1, err, sizeof err),
	    "a health check is set");
	free(before);
	before = printed(&st);
	ok(run(&st, "cluster health-check app --path /b\nbackend add app b9 127.0.0.1:9009\n"
	    "cluster health-check app --off\n", 0, err, sizeof err), "changed, then removed");
	after = printed(&st);
	is_str(after, before, "undone: the first check is back");
	free(after);
	ok(run(&st, "cluster health-check app --path /c\n", 1, err, sizeof err)
	    && (after = printed(&st)) && strstr(after, "cluster health-check app --path /c\n")
	    && !strstr(after, "/a"), "committed: the new check replaces the old");
	free(after);
	ok(!run(&st, "cluster health-check nosuch --path /c\n", 1, err, sizeof err)
	    && strstr(err, "cluster \"nosuch\" does not exist"), "a check on no cluster: refused");

	/* An empty batch is a valid, empty change. */
	ok(run(&st, "", 1, err, sizeof err), "an empty batch applies");

	free(before);
	kk_state_free(&st);
	return done();
}
