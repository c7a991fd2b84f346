/* ISC license. */
/* Custom answers in the worker: a listener's and a cluster's answers
 * (kakehi/answer.h) decoded once per snapshot, shared by reference with
 * the snapshots that copy them, and the answer a request gets: its
 * cluster's for the status, else its listener's, else none (the
 * built-in line). Not here: the bytes of a response (h1.c, h2server.c),
 * which ask kk_answer_make for the body. */
#ifndef KK_WORKER_ANSWER_H
#define KK_WORKER_ANSWER_H

#include <stddef.h>
#include <kakehi/answer.h>
#include "head.h"

typedef struct kk_ranswers kk_ranswers;	/* opaque, counted */

/* The answers of text (a state's listener or cluster answers), decoded;
 * NULL when text is NULL or on ENOMEM (then: the built-in answers). */
kk_ranswers *kk_ranswers_new(const char *text);
/* NULL is none: both do nothing with it. */
void kk_ranswers_ref(kk_ranswers *);
void kk_ranswers_unref(kk_ranswers *);

/* What the next answer tells of its request, set just before a writer
 * runs, in the same call (the loop is single-threaded): the answers of
 * its cluster (NULL: none) and the cluster's id, the backend's id, the
 * request id (NULL or "": none), copied, so that the stream may be gone
 * when the answer is written. kk_answer_route adds the request's host
 * and path from h. kk_answer_forget drops all; kk_answer_make does too
 * once it has made the body. */
void kk_answer_about(kk_ranswers *cluster_answers, const char *cluster, const char *backend,
    const char *reqid, size_t reqidlen);
void kk_answer_route(const kk_reqhead *h);
/* A 401's challenge for realm[0, len): the answer then carries
 * WWW-Authenticate: Basic realm="...", charset="UTF-8" (RFC 7617). */
void kk_answer_challenge(const char *realm, size_t len);
void kk_answer_forget(void);

/* The body of the answer of status on listener answers la (NULL: none)
 * with what kk_answer_about said: the cluster's answer, else la's,
 * expanded into the worker's one scratch block, *body pointing at it
 * until the next call, its type in *type, *typelen. Its length; 0 when
 * none applies or its expansion outgrows the block (counted in
 * kk_stats): the caller makes the built-in answer. Forgets the
 * context. */
size_t kk_answer_make(const kk_ranswers *la, int status, const char **body, const char **type,
    size_t *typelen);
/* The WWW-Authenticate value kk_answer_challenge gave the last answer
 * made (kk_answer_make keeps it until the next), its length in *len; NULL
 * when it had none. */
const char *kk_answer_made_challenge(size_t *len);

#endif
