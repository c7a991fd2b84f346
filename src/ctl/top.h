/* ISC license. */
/* kakehi-ctl top (top.c): samples of `status`, parsed, and the screen
 * made from two of them. */
#ifndef KK_CTL_TOP_H
#define KK_CTL_TOP_H

#include <stdint.h>
#include <kakehi/str.h>

#define KK_TOP_LINE 256
#define KK_TOP_MAXTOTALS 192
#define KK_TOP_MAXLIST 64

typedef struct kk_top_sample kk_top_sample;
struct kk_top_sample {
	uint64_t at_ms;		/* monotonic, when it was taken; 0: none */
	unsigned long long generation, uptime_s;
	char workers[KK_TOP_LINE];	/* "2 wanted, 2 ready, 2 running" */
	struct { char key[64]; unsigned long long v; } totals[KK_TOP_MAXTOTALS];
	unsigned ntotals;
	char worker_lines[KK_TOP_MAXLIST][KK_TOP_LINE];
	unsigned nworkers;
	char avoided[KK_TOP_MAXLIST][KK_TOP_LINE];
	unsigned navoided;
};

/* A status answer's text into s. 0 (errno EPROTO): not a status answer. */
int kk_top_parse(kk_top_sample *s, const char *text, uint64_t at_ms);
/* The screen: rates between prev (at_ms 0: none yet) and cur, lines cut
 * to width (0: none) and no more than height; each line ends with eol
 * then a newline. */
void kk_top_render(kk_str *out, const kk_top_sample *prev, const kk_top_sample *cur,
    unsigned width, unsigned height, const char *eol);
/* Samples with sample() (0 ok, else the exit code to return) every
 * interval_ms and redraws, until 'q' or a signal; once: one frame, from
 * two samples interval_ms apart, without terminal controls. Returns the
 * exit code. */
int kk_top_run(int (*sample)(kk_str *), unsigned interval_ms, int once);

#endif
