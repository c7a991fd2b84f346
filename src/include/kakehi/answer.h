/* ISC license. */
/* Custom answers: the bodies a listener or a cluster gives the answers
 * the proxy makes itself (502, 503, 404...) instead of the built-in
 * "502 Bad Gateway" line (listener add / cluster add --answer STATUS:FILE,
 * --answer-text STATUS:TEXT, --answer-data STATUS:B64, --answer-type
 * STATUS:TYPE). The state keeps them as one text, as it keeps a
 * frontend's actions (action.h), so that copy, diff and the journal
 * treat them as one more string: one item per status, in increasing
 * order, joined by newlines; an item is the three digits of the status,
 * a space, the body in base64 (a body may hold any byte), a space and
 * the content type. A body is a template: ${name} is one of the
 * variables below, any other '$' is itself. Here: checking, the
 * canonical text, printing it back, walking it and expanding a
 * template; what answers what, and when, is the worker's. */
#ifndef KAKEHI_ANSWER_H
#define KAKEHI_ANSWER_H

#include <stddef.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>

/* The largest body, before expansion: what fits with its head and the
 * variables' values in the smallest buffer worth configuring (the
 * default buffer-size is 16 KiB; an answer whose expansion outgrows the
 * buffer is replaced by the built-in one, and counted). */
#define KK_ANSWER_MAX 8192
/* The content type of an answer given none. */
#define KK_ANSWER_DEFAULT_TYPE "text/html; charset=utf-8"
#define KK_ANSWER_TYPEMAX 128
/* The statuses an answer may be given for, in increasing order. */
#define KK_ANSWER_NSTATUS 16
extern const unsigned short kk_answer_statuses[KK_ANSWER_NSTATUS];

/* The variables of a body template, ${name} each: the request id (the
 * listener's --request-id, "" without), the cluster's id, the backend's
 * id, the request's host and path (its route, without the query), the
 * status's three digits and its reason phrase; "" when the answer has
 * none of them (a 404 names no cluster). Indexed by KK_ANSWER_VAR_*. */
enum { KK_ANSWER_VAR_REQUEST_ID = 0, KK_ANSWER_VAR_CLUSTER, KK_ANSWER_VAR_BACKEND,
	KK_ANSWER_VAR_ROUTE, KK_ANSWER_VAR_STATUS, KK_ANSWER_VAR_REASON, KK_ANSWER_NVARS };
extern const char *const kk_answer_vars[KK_ANSWER_NVARS];

/* One item of the text: its status, its body in base64 and its type,
 * pointing into the text. */
typedef struct kk_answer_item kk_answer_item;
struct kk_answer_item {
	unsigned status;
	const char *b64, *type;
	size_t b64len, typelen;
};

/* Whether opt is one of the answer options. */
int kk_answer_is_option(const char *opt);
/* Checks one answer option's value as a verb gives it, without reading
 * a file: STATUS one the proxy answers itself, a type, a text's size and
 * template. 1 ok; 0 with a message in err. */
int kk_answer_check(const char *opt, const char *value, char *err, size_t errlen);
/* The canonical text of v's answer options into out (reset first; left
 * empty when v has none): files (--answer, relative to filedir, or the
 * current directory when NULL) read, data decoded, each status given
 * one body at most, each type a body's, each body at most KK_ANSWER_MAX
 * bytes and a valid template. 1 ok; 0 with a message for the operator
 * in err (out then undefined), or ENOMEM. */
int kk_answer_canon(const kk_verb *v, const char *filedir, kk_str *out, char *err,
    size_t errlen);
/* The item of text at *pos, which then moves past it. 1 with a filled,
 * 0 at the end of text. */
int kk_answer_next(const char *text, size_t *pos, kk_answer_item *a);
/* The options of text (NULL: none) as a verb line gives them, each
 * preceded by a space: --answer-text S:TEXT for a body of printable
 * text, else --answer-data S:B64; --answer-type S:TYPE for a type other
 * than the default. 1 ok, 0 ENOMEM. */
int kk_answer_print(kk_str *out, const char *text);
/* Whether body[0, len) is a valid template: each "${" starts a known
 * variable and its '}'. 1 yes; 0 with the offset of the first bad one
 * in err. */
int kk_answer_check_template(const char *body, size_t len, char *err, size_t errlen);
/* Expands the template body[0, len), which kk_answer_check_template has
 * passed, into out (cap bytes): each variable replaced by vals[i] (lens
 * bytes; NULL: ""), HTML-escaped (& < > " ' as entities, a control byte
 * dropped) so that nothing a client sent can become markup. The length
 * written; 0 when it does not fit (or len is 0). No allocation. */
size_t kk_answer_expand(const char *body, size_t len, const char *const vals[KK_ANSWER_NVARS],
    const size_t lens[KK_ANSWER_NVARS], char *out, size_t cap);

#endif
