/* ISC license. */
/* Custom answers: templates checked and expanded (escaping, room, the
 * variables), the options through load, print, load, with what a line
 * may not give refused and the state left as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <kakehi/answer.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>
#include "tap.h"

static char *
printed(const kk_state *st)
{
	kk_str out = KK_STR_ZERO;
	if (!kk_state_print(st, &out)) return 0;
	return out.s;
}

static int
load(kk_state *st, const char *text, char *err)
{
	return kk_state_load_text(st, text, strlen(text), "test.conf", err, KK_ERRLEN);
}

static void
test_templates(void)
{
	char err[KK_ERRLEN] = "", out[256];
	const char *vals[KK_ANSWER_NVARS] = { "abc", "app", "b1", "x.example/<script>", "502",
		"Bad Gateway" };
	size_t lens[KK_ANSWER_NVARS];
	const char *t;
	size_t n;
	for (int i = 0; i < KK_ANSWER_NVARS; i++)
		lens[i] = strlen(vals[i]);
	ok(kk_answer_check_template("plain $5 and $", 14, err, sizeof err),
	    "a '$' not before '{' is itself");
	t = "<p>${status} ${reason} ${cluster}/${backend} ${request_id} ${route}</p>";
	ok(kk_answer_check_template(t, strlen(t), err, sizeof err), "every variable is known");
	ok(!kk_answer_check_template("x ${host} y", 11, err, sizeof err)
	    && strstr(err, "offset 2"), "an unknown variable is refused at its offset (%s)", err);
	ok(!kk_answer_check_template("x ${status", 10, err, sizeof err),
	    "an unclosed variable is refused");
	n = kk_answer_expand(t, strlen(t), vals, lens, out, sizeof out);
	out[n] = 0;
	is_str(out, "<p>502 Bad Gateway app/b1 abc x.example/&lt;script&gt;</p>",
	    "variables replaced, what they bring HTML-escaped");
	vals[KK_ANSWER_VAR_ROUTE] = "a&\"'\r\n";
	lens[KK_ANSWER_VAR_ROUTE] = 6;
	n = kk_answer_expand("[${route}]", 10, vals, lens, out, sizeof out);
	out[n] = 0;
	is_str(out, "[a&amp;&quot;&#39;]", "quotes and ampersands escaped, controls dropped");
	vals[KK_ANSWER_VAR_BACKEND] = NULL;
	n = kk_answer_expand("<${backend}>", 12, vals, lens, out, sizeof out);
	out[n] = 0;
	is_str(out, "<>", "a variable without a value is empty");
	is_int(kk_answer_expand("${reason}", 9, vals, lens, out, 10), 0,
	    "an expansion that does not fit is 0");
	is_int(kk_answer_expand("${reason}", 9, vals, lens, out, 11), 11,
	    "one that fits exactly is whole");
}

static const char conf[] =
	"listener add http 127.0.0.1:8080 --answer-text '404:<b>no ${route}</b>' "
	    "--answer-type 404:text/plain --answer-data 503:AAEC\n"
	"cluster add app --answer-text '502:down: ${cluster} $HOME' --answer answer.html\n";

static const char canonical[] =
	"# kakehi state\n"
	"listener add http 127.0.0.1:8080 --answer-text '404:<b>no ${route}</b>' "
	    "--answer-type 404:text/plain --answer-data 503:AAEC\n"
	"cluster add app --answer-text '500:<h1>${status}</h1>' "
	    "--answer-text '502:down: ${cluster} $HOME'\n";

static void
test_state(void)
{
	kk_state a, b;
	char err[KK_ERRLEN] = "", *p1, *p2;
	char line[400];
	FILE *f = fopen("answer.html", "w");
	fputs("<h1>${status}</h1>", f);
	fclose(f);
	/* --answer 500:FILE: the words of the line as the loader reads them. */
	snprintf(line, sizeof line, "%s", conf);
	*strstr(line, "answer.html") = 0;
	strcat(line, "500:answer.html\n");
	kk_state_init(&a);
	kk_state_init(&b);
	ok(load(&a, line, err), "answers load (%s)", err);
	p1 = printed(&a);
	is_str(p1, canonical, "printed canonically: text as text, bytes as data, files as text");
	ok(p1 && load(&b, p1, err), "the print loads (%s)", err);
	p2 = printed(&b);
	ok(p1 && p2 && !strcmp(p1, p2), "load, print, load, print is byte-identical");
	free(p1);
	free(p2);
	kk_state_free(&a);
	kk_state_free(&b);
	unlink("answer.html");
}

static const struct {
	const char *line, *want;
} refused[] = {
	{ "cluster add x --answer-text 200:ok", "makes no answer of status 200" },
	{ "cluster add x --answer-text 502", "give STATUS:TEXT" },
	{ "cluster add x --answer-text '502:${nope}'", "offset 0" },
	{ "cluster add x --answer-text 502:a --answer-text 502:b", "status 502 has two answers" },
	{ "cluster add x --answer-type 502:text/plain", "the type of an answer not given" },
	{ "cluster add x --answer-text 502:a --answer-type 502:plain", "give a media type" },
	{ "cluster add x --answer-data 502:!!!!", "not base64" },
	{ "cluster add x --answer 502:/nonexistent/answer", "unable to" },
	{ "listener add tcp 127.0.0.1:9 --answer-text 502:a", "answers nothing itself" },
};

static void
test_refused(void)
{
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
		kk_state st;
		char err[KK_ERRLEN] = "";
		kk_state_init(&st);
		ok(!load(&st, refused[i].line, err) && strstr(err, refused[i].want) && !st.nclusters
		    && !st.nlisteners, "refused: %s", refused[i].line);
		if (!strstr(err, refused[i].want))
			printf("#   got:  '%s'\n#   want: '...%s...'\n", err, refused[i].want);
		kk_state_free(&st);
	}
	{
		kk_state st;
		char err[KK_ERRLEN] = "";
		kk_str big = KK_STR_ZERO;
		kk_state_init(&st);
		kk_str_cats(&big, "cluster add x --answer-text 502:");
		for (int i = 0; i < KK_ANSWER_MAX + 1; i++)
			kk_str_catb(&big, "a", 1);
		ok(!load(&st, big.s, err) && strstr(err, "more than the 8192"),
		    "an answer past the bound is refused (%.80s)", err);
		kk_str_free(&big);
		kk_state_free(&st);
	}
}

int
main(void)
{
	test_templates();
	test_state();
	test_refused();
	return done();
}
