/* ISC license. */
/* Private to libkakehi: a batch of verb lines read one line at a time
 * (a config file, a state file, a worker's delta), for the loaders in
 * state.c and statejournal.c. Lines end with LF, a CR before it is
 * dropped, and a NUL byte anywhere is an error: verb lines are text. */
#ifndef KAKEHI_LINES_H
#define KAKEHI_LINES_H

#include <stddef.h>

typedef struct kk_lines kk_lines;
struct kk_lines {
	const char *text;
	size_t len, pos;
	size_t lineno;		/* of the line last returned, from 1 */
	char *line;		/* that line, NUL-terminated; owned here */
	size_t cap;
};

/* Reads text[0, len), which must outlive l. */
void kk_lines_init(kk_lines *l, const char *text, size_t len);
/* The next line in l->line: 1 a line, 0 the end, -1 an error (out of
 * memory, a NUL byte) said in msg. */
int kk_lines_next(kk_lines *l, char *msg, size_t msglen);
void kk_lines_done(kk_lines *l);

#endif
