/* ISC license. */
/* A batch of verb lines applied to a live state under a journal (state.h):
 * how a change travels from the supervisor to a worker without a copy of
 * the state on either side. */
#ifndef KAKEHI_STATEJOURNAL_H
#define KAKEHI_STATEJOURNAL_H

#include <stddef.h>
#include <kakehi/state.h>

/* Applies every line of text (config syntax: comments and blank lines
 * allowed, runtime verbs refused) through kk_state_apply_journal, so the
 * caller can still commit or undo the whole batch. j must be empty. 1 ok,
 * the journal open; 0 with "SOURCE:LINE: message" in err, the journal
 * undone and the state as it was. */
int kk_state_apply_text_journal(kk_state *, const char *text, size_t len,
    const char *source, kk_journal *j, char *err, size_t errlen);

#endif
