/* ISC license. */
/* The one grammar: verb lines. One table (verb.c) describes every verb:
 * its words, positional arguments, options and usage. The config loader,
 * kakehi-ctl, the control socket and state files all parse with
 * kk_verb_parse and print with the state printer (state.h). */
#ifndef KAKEHI_VERB_H
#define KAKEHI_VERB_H

#include <stddef.h>
#include <kakehi/str.h>

#define KK_VERB_MAXPOS 4
#define KK_VERB_MAXOPTS 64	/* listener add has the most: 41 */
#define KK_LINE_MAXWORDS 64
#define KK_ERRLEN 512

enum kk_verb_id {
	KK_V_SET,
	KK_V_LISTENER_ADD, KK_V_LISTENER_REMOVE, KK_V_LISTENER_LIST,
	KK_V_CLUSTER_ADD, KK_V_CLUSTER_REMOVE, KK_V_CLUSTER_LIST,
	KK_V_FRONTEND_ADD, KK_V_FRONTEND_REMOVE, KK_V_FRONTEND_LIST,
	KK_V_BACKEND_ADD, KK_V_BACKEND_REMOVE, KK_V_BACKEND_LIST,
	KK_V_CERTIFICATE_ADD, KK_V_CERTIFICATE_REPLACE, KK_V_CERTIFICATE_REMOVE,
	KK_V_CERTIFICATE_LIST,
	KK_V_STATUS,
	KK_V_EVENTS,
	KK_V_STATE_SAVE, KK_V_STATE_LOAD, KK_V_STATE_DUMP,
	KK_V_RELOAD,
	KK_V_SHUTDOWN,
	KK_V_UPGRADE,
	KK_V_UPGRADE_WORKERS,
	KK_V_LOG_REOPEN,
	KK_V_LOG_LEVEL,
	KK_V_CLUSTER_HEALTH_CHECK,
	KK_V_METRICS,
	KK_V_COUNT
};

/* Verb flags. */
#define KK_VERB_F_MUTATES 0x1	/* changes the state: audited, fanned out */
#define KK_VERB_F_CONFIG 0x2	/* may appear in a config or state file */

/* Option value kinds, checked by the parser. */
enum kk_opt_kind {
	KK_OPT_FLAG,		/* no value */
	KK_OPT_STRING,		/* any non-empty word */
	KK_OPT_STRINGS,		/* the same, and may be given more than once */
	KK_OPT_UINT,		/* decimal, range in the table */
	KK_OPT_DURATION,	/* 500ms, 60s, 2m, 1h; a bare number is seconds */
	KK_OPT_ADDR,		/* IPV4:PORT or [IPV6]:PORT */
	KK_OPT_ENUM,		/* one of a |-separated list in the table */
	KK_OPT_PAIR		/* two non-empty words (--rewrite-path REGEX TEMPLATE) */
};

typedef struct kk_opt_def kk_opt_def;
struct kk_opt_def {
	const char *name;	/* "--weight" */
	enum kk_opt_kind kind;
	const char *choices;	/* KK_OPT_ENUM: "round-robin|random" */
	unsigned long min, max;	/* KK_OPT_UINT */
	const char *help;
};

typedef struct kk_verb_def kk_verb_def;
struct kk_verb_def {
	enum kk_verb_id id;
	const char *word1, *word2;	/* "backend", "add"; word2 may be NULL */
	unsigned npos_min, npos_max;	/* positional arguments after the words */
	unsigned flags;
	const char *usage;		/* arguments, for messages and help */
	const char *summary;		/* one line for help */
	const kk_opt_def *opts;		/* terminated by a NULL name */
};

/* A parsed verb line. Strings point into the argv given to the parser. */
typedef struct kk_verb kk_verb;
struct kk_verb {
	const kk_verb_def *def;
	unsigned npos;
	const char *pos[KK_VERB_MAXPOS];
	unsigned nopt;
	struct {
		const kk_opt_def *def;
		const char *value;	/* NULL for a flag */
		const char *value2;	/* KK_OPT_PAIR: the second word; else NULL */
	} opt[KK_VERB_MAXOPTS];
};

/* The verb table, for help and doc generation; ends with a NULL word1. */
extern const kk_verb_def kk_verb_table[];

/* Parses argv as one verb line. 1 ok; 0 with a message in err naming the
 * verb and the problem, and the usage line. Checks every option value
 * (numbers, durations, addresses, enums); checks nothing against a state. */
int kk_verb_parse(kk_verb *, unsigned argc, const char *const *argv, char *err, size_t errlen);
/* The value of option name, or NULL when absent; for a flag, a non-NULL
 * empty string when present. For an option given more than once, the
 * first. */
const char *kk_verb_opt(const kk_verb *, const char *name);
/* The i-th setting a set line may name beside its own (set statsd ADDR
 * --prefix P --interval D): its key, and its value or NULL when not
 * given. 0 past the last. */
int kk_verb_set_extra(const kk_verb *, size_t i, const char **key, const char **value);
/* The second word of a KK_OPT_PAIR option name, or NULL when absent. */
const char *kk_verb_opt2(const kk_verb *, const char *name);
/* Splits a config line into words, in place, shell-like: blanks separate,
 * '...' is literal, "..." allows \" \\ \$ escapes, \x outside quotes is x,
 * # at the start of a word starts a comment. 1 ok (argc may be 0 for a
 * blank line); 0 with a message (unterminated quote, too many words). */
int kk_line_split(char *line, char **argv, unsigned max, unsigned *argc, char *err, size_t errlen);

/* Value scanners, shared by the parser and the state. 1 ok, 0 invalid. */
int kk_scan_uint(const char *, unsigned long min, unsigned long max, unsigned long *);
int kk_scan_duration_ms(const char *, unsigned long *);
/* A health check's --expect: "N" or "LO-HI", statuses 100 to 599, LO <= HI.
 * 1 ok; 0 not such a range. */
int kk_scan_status_range(const char *, unsigned *lo, unsigned *hi);
/* Canonical duration text: "60s" when whole seconds, else "1500ms". */
void kk_fmt_duration_ms(char *buf, unsigned long ms);
#define KK_DURATION_FMTLEN 32
/* A listener's --forward list ("xff,forwarded") as KK_FORWARD_* bits:
 * kk_forward_names[i] is bit 1 << i. */
int kk_scan_forward(const char *list, unsigned *fields);
extern const char *const kk_forward_names[];

/* Help text for all verbs (or the one matching word1), one line each. */
int kk_verb_help(kk_str *out, const char *word1);

#endif
