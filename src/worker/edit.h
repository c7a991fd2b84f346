/* ISC license. */
/* A frontend's header edits (kakehi/action.h) applied to the heads of
 * the requests it routes and of their responses, whatever protocol
 * carried them: after the forwarding rules (head.h), in the order the
 * frontend gives them, without allocating. */
#ifndef KK_WORKER_EDIT_H
#define KK_WORKER_EDIT_H

#include "head.h"

/* The request edits of actions (NULL: none) on h, which kk_head_forward
 * has passed: a deletion drops every field of the name, the client's
 * and those an earlier edit added; a set is a deletion, then an
 * addition. 1 done, 0 the added fields do not fit (431). */
int kk_edit_request(kk_reqhead *h, const char *actions);
/* The status of the answer the actions make instead of a backend
 * (--deny), 0 when they make none. */
int kk_edit_answer(const char *actions);
/* The response edits of actions on a final response head h, which
 * kk_head_forward_response has passed; a 1xx head is left as it is.
 * The added fields point into actions. */
void kk_edit_response(kk_resphead *h, const char *actions);

#endif
