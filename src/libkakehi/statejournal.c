/* ISC license. */
/* kk_state_apply_text_journal: a batch of verb lines applied in place
 * under a journal. The per-verb work and the undo records are state.c's;
 * this file only splits lines and stops at the first refusal. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kakehi/state.h>
#include <kakehi/statejournal.h>
#include <kakehi/verb.h>
#include "lines.h"

/* One line: split, parse, refuse runtime verbs, apply under j. */
static int
apply_line(kk_state *st, char *line, kk_journal *j, char *msg, size_t msglen)
{
	char *argv[KK_LINE_MAXWORDS];
	unsigned argc;
	kk_verb v;

	if (!kk_line_split(line, argv, KK_LINE_MAXWORDS, &argc, msg, msglen))
		return 0;
	if (!argc)
		return 1;
	if (!kk_verb_parse(&v, argc, (const char *const *)argv, msg, msglen))
		return 0;
	if (!(v.def->flags & KK_VERB_F_CONFIG)) {
		snprintf(msg, msglen, "%s%s%s: a runtime command, not allowed in a change",
		    v.def->word1, v.def->word2 ? " " : "", v.def->word2 ? v.def->word2 : "");
		return 0;
	}
	return kk_state_apply_journal(st, &v, j, msg, msglen);
}

int
kk_state_apply_text_journal(kk_state *st, const char *text, size_t len,
    const char *source, kk_journal *j, char *err, size_t errlen)
{
	char msg[KK_ERRLEN];
	kk_lines lines;
	int r;

	kk_lines_init(&lines, text, len);
	while ((r = kk_lines_next(&lines, msg, sizeof msg)) > 0)
		if (!apply_line(st, lines.line, j, msg, sizeof msg)) {
			r = -1;
			break;
		}
	kk_lines_done(&lines);
	if (r < 0) {
		snprintf(err, errlen, "%s:%zu: %s", source, lines.lineno, msg);
		kk_journal_undo(st, j);
		return 0;
	}
	return 1;
}
