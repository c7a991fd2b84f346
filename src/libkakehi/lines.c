/* ISC license. */
/* kk_lines: splitting a batch of verb lines, once for every loader. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lines.h"

void
kk_lines_init(kk_lines *l, const char *text, size_t len)
{
	memset(l, 0, sizeof *l);
	l->text = text;
	l->len = len;
}

int
kk_lines_next(kk_lines *l, char *msg, size_t msglen)
{
	const char *start, *nl;
	size_t n;

	if (l->pos >= l->len)
		return 0;
	start = l->text + l->pos;
	nl = memchr(start, '\n', l->len - l->pos);
	n = nl ? (size_t)(nl - start) : l->len - l->pos;
	l->pos += n + !!nl;
	l->lineno++;
	if (memchr(start, 0, n)) {
		snprintf(msg, msglen, "NUL byte in the line; is this a text file?");
		return -1;
	}
	if (n && start[n - 1] == '\r')
		n--;
	if (n + 1 > l->cap) {
		char *p = realloc(l->line, n + 1);
		if (!p) {
			snprintf(msg, msglen, "out of memory");
			return -1;
		}
		l->line = p;
		l->cap = n + 1;
	}
	memcpy(l->line, start, n);
	l->line[n] = 0;
	return 1;
}

void
kk_lines_done(kk_lines *l)
{
	free(l->line);
	l->line = NULL;
	l->cap = 0;
}
