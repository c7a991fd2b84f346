/* ISC license. */
/* Tests kk_str (src/libkakehi/str.c): growth, formatting, and the two
 * quoting printers, verb-line words and JSON strings. */

#include <stdlib.h>
#include <string.h>

#include <kakehi/str.h>
#include <kakehi/verb.h>
#include "tap.h"

static const char *
word(const char *w)
{
	static kk_str sa = KK_STR_ZERO;

	kk_str_reset(&sa);
	if (!kk_str_catword(&sa, w))
		return "(failed)";
	return sa.s;
}

static const char *
json(const char *w)
{
	static kk_str sa = KK_STR_ZERO;

	kk_str_reset(&sa);
	if (!kk_str_catjson(&sa, w))
		return "(failed)";
	return sa.s;
}

int
main(void)
{
	kk_str sa = KK_STR_ZERO;
	size_t i;

	ok(kk_str_cats(&sa, "abc") && sa.len == 3, "cats");
	is_str(sa.s, "abc", "cats content");
	ok(kk_str_catf(&sa, "-%d-%s", 42, "x"), "catf");
	is_str(sa.s, "abc-42-x", "catf content");
	ok(kk_str_catb(&sa, "\0z", 2) && sa.len == 10 && sa.s[10] == 0, "catb keeps NULs, terminates");
	kk_str_reset(&sa);
	ok(sa.len == 0 && sa.s && sa.s[0] == 0, "reset keeps memory");
	for (i = 0; i < 10000; i++)
		if (!kk_str_catb(&sa, "0123456789", 10))
			break;
	ok(sa.len == 100000 && sa.cap > sa.len && sa.s[sa.len] == 0, "grows to 100000 bytes");
	ok(kk_str_ready(&sa, 0) && kk_str_ready(&sa, 1), "ready with no growth");
	ok(!kk_str_ready(&sa, (size_t)-1), "ready refuses an impossible size");
	ok(sa.len == 100000, "failed ready leaves the string unchanged");
	kk_str_free(&sa);
	ok(!sa.s && !sa.len && !sa.cap, "free");

	/* Words: bare when safe, else single-quoted. */
	is_str(word("backend"), "backend", "plain word is bare");
	is_str(word("127.0.0.1:8080"), "127.0.0.1:8080", "address is bare");
	is_str(word("[::1]:8080"), "'[::1]:8080'", "brackets are quoted");
	is_str(word("--weight=2"), "--weight=2", "option is bare");
	is_str(word("a_b/c.d:e,f@g%h+i=j*k-l"), "a_b/c.d:e,f@g%h+i=j*k-l", "all bare chars");
	is_str(word(""), "''", "empty word is quoted");
	is_str(word("#x"), "'#x'", "leading # is quoted");
	is_str(word("a#x"), "'a#x'", "# elsewhere is quoted too (not in the bare set)");
	is_str(word("a b"), "'a b'", "blank is quoted");
	is_str(word("it's"), "'it'\\''s'", "single quote escaped");
	is_str(word("'"), "''\\'''", "lone quote");
	is_str(word("a\"b$c\\d"), "'a\"b$c\\d'", "double quote, dollar, backslash literal in quotes");
	is_str(word("tab\there"), "'tab\there'", "tab quoted");
	is_str(word("caf\xc3\xa9"), "'caf\xc3\xa9'", "non-ASCII quoted");
	kk_str_cats(&sa, "x ");
	kk_str_catword(&sa, "y z");
	is_str(sa.s, "x 'y z'", "catword appends");
	kk_str_free(&sa);

	/* Round trip through the config line splitter, which is the reader
	 * catword is written for. */
	{
		static const char *words[] = {
			"plain", "", "#", "a#b", "it's", "''", "a b\tc", "\\", "\"q\"",
			"$HOME", "x;y", "[::1]:80", "tab\tnl", "caf\xc3\xa9", "--path=/a b", 0
		};
		kk_str line = KK_STR_ZERO;
		char *argv[32], err[256] = "";
		unsigned n, argc = 0, i;

		for (n = 0; words[n]; n++) {
			if (n)
				kk_str_cats(&line, " ");
			kk_str_catword(&line, words[n]);
		}
		ok(kk_line_split(line.s, argv, 32, &argc, err, sizeof err), "line splits: %s", err);
		is_int(argc, n, "as many words back");
		for (i = 0; i < n && i < argc; i++)
			is_str(argv[i], words[i], "word %u round-trips", i);
		kk_str_free(&line);
	}

	/* JSON strings, RFC 8259 section 7. */
	is_str(json("abc"), "\"abc\"", "json plain");
	is_str(json(""), "\"\"", "json empty");
	is_str(json("a\"b\\c"), "\"a\\\"b\\\\c\"", "json quote and backslash");
	is_str(json("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"", "json short escapes");
	is_str(json("\x01\x1f"), "\"\\u0001\\u001f\"", "json other controls");
	is_str(json("x\x7fy"), "\"x\x7fy\"", "json DEL passes");
	is_str(json("caf\xc3\xa9"), "\"caf\xc3\xa9\"", "json UTF-8 passes");
	is_str(json("/"), "\"/\"", "json slash not escaped");
	return done();
}
