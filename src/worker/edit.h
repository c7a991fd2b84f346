/* ISC license. */
/* A frontend's header edits (kakehi/action.h) applied to the heads of
 * the requests it routes and of their responses, whatever protocol
 * carried them: after the forwarding rules (head.h), in the order the
 * frontend gives them, without allocating. */
#ifndef KK_WORKER_EDIT_H
#define KK_WORKER_EDIT_H

#include "head.h"

/* Compiles the --rewrite-path regexes of actions, a router's copy that
 * stays where it is until kk_edit_release: once per route built, not
 * per request. 1 ok, 0 ENOMEM (what was compiled is released with the
 * rest). */
int kk_edit_compile(const char *actions);
void kk_edit_release(const char *actions);
/* The request edits of actions (NULL: none) on h, which kk_head_forward
 * has passed: a deletion drops every field of the name, the client's
 * and those an earlier edit added; a set is a deletion, then an
 * addition. 1 done, 0 the added fields do not fit (431). */
int kk_edit_request(kk_reqhead *h, const char *actions);
/* The status of the answer the actions make instead of a backend
 * (--deny, --redirect), 0 when they make none. */
int kk_edit_answer(const char *actions);
/* The Location of the actions' --redirect for h into buf: the template
 * with its variables replaced (action.h), the bytes of the path and the
 * query that a field value cannot carry as they are (controls, blanks,
 * past ASCII) percent-encoded, so that nothing of the request can end
 * the field; NUL ended. Its length; 0 when the actions have no redirect
 * or len is too small. */
size_t kk_edit_location(const char *actions, const kk_reqhead *h, char *buf, size_t len);
/* The response edits of actions on a final response head h, which
 * kk_head_forward_response has passed; a 1xx head is left as it is.
 * The added fields point into actions. */
void kk_edit_response(kk_resphead *h, const char *actions);

#endif
