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
	char *line = 0;
	size_t pos = 0, lineno = 0, cap = 0;

	while (pos < len) {
		const char *start = text + pos, *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;

		pos += n + !!nl;
		lineno++;
		if (memchr(start, 0, n)) {
			snprintf(msg, sizeof msg, "NUL byte in the line");
			goto fail;
		}
		if (n && start[n - 1] == '\r')
			n--;
		if (n + 1 > cap) {
			char *p = realloc(line, n + 1);
			if (!p) {
				snprintf(msg, sizeof msg, "out of memory");
				goto fail;
			}
			line = p;
			cap = n + 1;
		}
		memcpy(line, start, n);
		line[n] = 0;
		if (!apply_line(st, line, j, msg, sizeof msg))
			goto fail;
	}
	free(line);
	return 1;
fail:
	snprintf(err, errlen, "%s:%zu: %s", source, lineno, msg);
	free(line);
	kk_journal_undo(st, j);
	return 0;
}
