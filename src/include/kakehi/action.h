/* ISC license. */
/* A frontend's actions on the requests it routes and their responses:
 * header edits (--request-header-add NAME=VALUE, -set NAME=VALUE,
 * -delete NAME, and the same for --response-header-*), applied in the
 * order given, rewrites of the request's path and host
 * (--rewrite-path-prefix FROM=TO, --rewrite-host NAME), and an answer the
 * proxy makes instead of a backend (--deny STATUS, or --redirect STATUS
 * --location TEMPLATE). The state keeps them as one text, as it keeps the extra
 * matches (fmatch.h), so that copy, diff and the journal treat them as
 * one more string: one item per action, in the order of the verb, joined
 * by newlines (which no value holds); an item is the kind's letter, the
 * operation's letter, the name as given, then for an operation with a
 * value a separator and the value: ':', which no field name or status
 * holds, or for a path prefix ' ', which no path holds. Not here: applying them to a request (the worker's edit.c). */
#ifndef KAKEHI_ACTION_H
#define KAKEHI_ACTION_H

#include <stddef.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>

enum { KK_ACTION_REQUEST = 'q', KK_ACTION_RESPONSE = 'r', KK_ACTION_ANSWER = 'n' };
/* Header edits' operations; an answer's: a refusal or a redirect, its
 * status the item's name, a redirect's Location template its value. */
enum { KK_ACTION_ADD = 'a', KK_ACTION_SET = 's', KK_ACTION_DELETE = 'd', KK_ACTION_DENY = 'D',
	KK_ACTION_REDIRECT = 'R' };
/* A request's rewrites: of the path's prefix (name FROM, value TO), of
 * the host (name the new one). */
enum { KK_ACTION_PATH_PREFIX = 'P', KK_ACTION_HOST = 'H' };
/* A path rewrite by regex (--rewrite-path REGEX TEMPLATE): name the
 * regex, value the template; its separator a tab, which neither holds. */
enum { KK_ACTION_PATH_REGEX = 'X' };

/* Edits per direction and frontend: what a head has room for besides
 * the fields it carries (head.h). */
#define KK_ACTION_MAX 16
#define KK_ACTION_NAMEMAX 256
#define KK_ACTION_VALUEMAX 1024

typedef struct kk_action kk_action;
struct kk_action {
	char kind;		/* KK_ACTION_REQUEST, _RESPONSE, _ANSWER */
	char op;		/* KK_ACTION_ADD, _SET, _DELETE; _DENY */
	/* Into the text; value "" but for ADD and SET; a DENY's name is
	 * its status. */
	const char *name, *value;
	size_t nlen, vlen;
};

/* Whether the item a holds a value after its name. */
#define KK_ACTION_HAS_VALUE(a) ((a)->op == KK_ACTION_ADD || (a)->op == KK_ACTION_SET \
	|| (a)->op == KK_ACTION_REDIRECT || (a)->op == KK_ACTION_PATH_PREFIX \
	|| (a)->op == KK_ACTION_PATH_REGEX)

/* The variables of a --location template, ${name} each: the scheme of
 * the client's connection, the request's host (lower case, no port),
 * its path (no query), and its query: '?' and the query, or nothing
 * when it has none. Indexed by KK_ACTION_VAR_*. */
enum { KK_ACTION_VAR_SCHEME = 0, KK_ACTION_VAR_HOST, KK_ACTION_VAR_PATH, KK_ACTION_VAR_QUERY,
	KK_ACTION_NVARS };
extern const char *const kk_action_vars[KK_ACTION_NVARS];
/* The variable a template names at s ("${host}..."), its length in *n;
 * -1 when s does not start with a known one. */
int kk_action_var(const char *s, size_t len, size_t *n);

/* Whether opt ("--request-header-add"...) is an action option
 * (--location, which qualifies --redirect, included). */
int kk_action_is_option(const char *opt);
/* Checks the value of action option opt as a verb gives it: a status
 * the proxy can answer alone for --deny; a template of printable bytes
 * whose '$' each start a known variable for --location; a token for
 * a name, and a field value without control characters or blanks at
 * either end; the fields the proxy frames or writes itself refused with
 * why. 1 ok; 0 with a message for the operator in err. */
int kk_action_check(const char *opt, const char *value, char *err, size_t errlen);
/* The text of v's action options, in their order, into out (reset
 * first; left empty when v has none). The values must have passed
 * kk_action_check. 1 ok, 0 ENOMEM. */
int kk_action_canon(const kk_verb *v, kk_str *out);
/* The item of text at *pos, which then moves past it. 1 with a filled,
 * 0 at the end of text. */
int kk_action_next(const char *text, size_t *pos, kk_action *a);
/* Checks --rewrite-path's REGEX and TEMPLATE: a regex that compiles,
 * without control bytes, at most KK_ACTION_NAMEMAX bytes; a template of
 * printable bytes without blanks starting with '/', each '$' followed by
 * a digit of a group the regex has or by '$'. 1 ok; 0 with a message. */
int kk_action_check_rewrite(const char *regex, const char *tmpl, char *err, size_t errlen);
/* The option of an action ("--request-header-add"...). */
const char *kk_action_option(char kind, char op);

#endif
