/* ISC license. */
/* kk_str: a growable byte string for the control plane and the config
 * printer. Not for the worker's hot path, which uses pooled buffers. */
#ifndef KAKEHI_STR_H
#define KAKEHI_STR_H

#include <stddef.h>
#include <stdarg.h>

typedef struct kk_str kk_str;
struct kk_str {
	char *s;	/* always NUL-terminated when len > 0 or after any append */
	size_t len;
	size_t cap;
	/* 1: it may hold a secret (a key in transit): a block it leaves,
	 * as it grows or is freed, is wiped first. */
	int wipe;
};
#define KK_STR_ZERO { 0, 0, 0, 0 }
#define KK_STR_SECRET { 0, 0, 0, 1 }

/* All return 1 on success, 0 on allocation failure (errno set); on failure
 * the string is unchanged. */
int kk_str_ready(kk_str *, size_t extra);
int kk_str_catb(kk_str *, const char *, size_t);
int kk_str_cats(kk_str *, const char *);
int kk_str_catf(kk_str *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int kk_str_vcatf(kk_str *, const char *fmt, va_list);
/* Appends a word so that kk_line_split() reads it back as exactly that
 * word: bare when it is safe, else single-quoted. */
int kk_str_catword(kk_str *, const char *);
/* Appends a JSON string literal (quotes included, control chars escaped). */
int kk_str_catjson(kk_str *, const char *);
void kk_str_reset(kk_str *);	/* len = 0, keeps the memory */
void kk_str_free(kk_str *);	/* keeps wipe */

#endif
