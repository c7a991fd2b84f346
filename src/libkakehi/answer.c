/* ISC license. */
/* Custom answers (answer.h): the options checked into one canonical
 * text, printed back, walked, and templates expanded. Which answer a
 * request gets is the worker's (its answer.c). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kakehi/answer.h>
#include <kakehi/base64.h>
#include <kakehi/cert.h>
#include <kakehi/state.h>

const unsigned short kk_answer_statuses[KK_ANSWER_NSTATUS] = { 301, 302, 400, 401, 403, 404,
	408, 413, 414, 421, 429, 431, 500, 502, 503, 504 };

const char *const kk_answer_vars[KK_ANSWER_NVARS] = { "request_id", "cluster", "backend",
	"route", "status", "reason" };

static const char *const opts[] = { "--answer", "--answer-text", "--answer-data",
	"--answer-type" };
#define NOPTS (sizeof opts / sizeof *opts)

int
kk_answer_is_option(const char *opt)
{
	size_t i;
	for (i = 0; i < NOPTS; i++)
		if (!strcmp(opt, opts[i]))
			return 1;
	return 0;
}

/* The slot of status s in kk_answer_statuses, -1 when it has none. */
static int
slot_of(unsigned long s)
{
	int i;
	for (i = 0; i < KK_ANSWER_NSTATUS; i++)
		if (kk_answer_statuses[i] == s)
			return i;
	return -1;
}

/* The variable "${name}" at s[0, len): its index and length in *n; -1
 * when s does not start with a known one. */
static int
var_at(const char *s, size_t len, size_t *n)
{
	int i;
	for (i = 0; i < KK_ANSWER_NVARS; i++) {
		size_t k = strlen(kk_answer_vars[i]);
		if (len >= k + 3 && s[0] == '$' && s[1] == '{'
		    && !memcmp(s + 2, kk_answer_vars[i], k) && s[k + 2] == '}') {
			*n = k + 3;
			return i;
		}
	}
	return -1;
}

int
kk_answer_check_template(const char *body, size_t len, char *err, size_t errlen)
{
	size_t i, n;
	for (i = 0; i + 1 < len; i++) {
		if (body[i] != '$' || body[i + 1] != '{')
			continue;
		if (var_at(body + i, len - i, &n) < 0) {
			snprintf(err, errlen, "offset %zu: \"${\" starts one of ${request_id}, "
			    "${cluster}, ${backend}, ${route}, ${status}, ${reason}; write a '$' "
			    "before '{' as &#36;", i);
			return 0;
		}
		i += n - 1;
	}
	return 1;
}

/* A content type: printable ASCII, no blank at either end, a '/'
 * (RFC 9110 §8.3: type "/" subtype, parameters). */
static int
check_type(const char *t, char *err, size_t errlen)
{
	size_t i, n = strlen(t);
	if (!n || n > KK_ANSWER_TYPEMAX || !strchr(t, '/') || t[0] == ' ' || t[n - 1] == ' ') {
		snprintf(err, errlen, "--answer-type \"%s\": give a media type of at most %d "
		    "bytes, such as text/html; charset=utf-8", t, KK_ANSWER_TYPEMAX);
		return 0;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] >= 0x7f) {
			snprintf(err, errlen, "--answer-type: the type holds a control character "
			    "or a byte past ASCII at offset %zu", i);
			return 0;
		}
	return 1;
}

/* STATUS:REST of option opt: the slot of STATUS, REST in *rest. */
static int
split(const char *opt, const char *value, const char **rest, char *err, size_t errlen)
{
	unsigned long s;
	char digits[4];
	int k;
	if (strlen(value) < 5 || value[3] != ':') {
		snprintf(err, errlen, "%s \"%s\": give STATUS:%s", opt, value,
		    !strcmp(opt, "--answer") ? "FILE" : !strcmp(opt, "--answer-text") ? "TEXT"
		    : !strcmp(opt, "--answer-data") ? "B64" : "TYPE");
		return -1;
	}
	memcpy(digits, value, 3);
	digits[3] = 0;
	if (!kk_scan_uint(digits, 100, 599, &s) || (k = slot_of(s)) < 0) {
		snprintf(err, errlen, "%s \"%s\": the proxy makes no answer of status %s itself; "
		    "give one of 301 302 400 401 403 404 408 413 414 421 429 431 500 502 503 "
		    "504", opt, value, digits);
		return -1;
	}
	*rest = value + 4;
	return k;
}

int
kk_answer_check(const char *opt, const char *value, char *err, size_t errlen)
{
	const char *rest;
	size_t n;
	int k;
	if ((k = split(opt, value, &rest, err, errlen)) < 0)
		return 0;
	if (!strcmp(opt, "--answer-type"))
		return check_type(rest, err, errlen);
	if (strcmp(opt, "--answer-text"))	/* a file's bytes, data: kk_answer_canon */
		return 1;
	if ((n = strlen(rest)) > KK_ANSWER_MAX) {
		snprintf(err, errlen, "--answer-text %u: the answer is %zu bytes, more than the "
		    "%d an answer may have", kk_answer_statuses[k], n, KK_ANSWER_MAX);
		return 0;
	}
	if (!kk_answer_check_template(rest, n, err, errlen)) {
		char msg[KK_ERRLEN];
		snprintf(msg, sizeof msg, "%s", err);
		snprintf(err, errlen, "--answer-text %u: %s", kk_answer_statuses[k], msg);
		return 0;
	}
	return 1;
}

int
kk_answer_canon(const kk_verb *v, const char *filedir, kk_str *out, char *err, size_t errlen)
{
	kk_blob body[KK_ANSWER_NSTATUS];
	const char *type[KK_ANSWER_NSTATUS];
	char msg[KK_ERRLEN];
	unsigned i;
	int k, ok = 0;
	memset(body, 0, sizeof body);
	memset(type, 0, sizeof type);
	kk_str_reset(out);
	for (i = 0; i < v->nopt; i++) {
		const char *opt = v->opt[i].def->name, *rest;
		if (!kk_answer_is_option(opt))
			continue;
		if ((k = split(opt, v->opt[i].value, &rest, err, errlen)) < 0)
			goto out;
		if (!strcmp(opt, "--answer-type")) {
			if (type[k]) {
				snprintf(err, errlen, "--answer-type: status %u has two types",
				    kk_answer_statuses[k]);
				goto out;
			}
			if (!check_type(rest, err, errlen))
				goto out;
			type[k] = rest;
			continue;
		}
		if (body[k].len) {
			snprintf(err, errlen, "%s: status %u has two answers: give one of "
			    "--answer, --answer-text, --answer-data for each", opt,
			    kk_answer_statuses[k]);
			goto out;
		}
		if (!strcmp(opt, "--answer")) {
			if (!kk_cert_read_file(rest, filedir, &body[k], msg, sizeof msg)) {
				snprintf(err, errlen, "--answer %u: %s", kk_answer_statuses[k], msg);
				goto out;
			}
		} else if (!strcmp(opt, "--answer-data")) {
			if (!kk_base64_decode(rest, strlen(rest), &body[k].p, &body[k].len)) {
				snprintf(err, errlen, errno == ENOMEM ? "out of memory decoding %s"
				    : "%s %u: not base64 (RFC 4648: A-Z a-z 0-9 + /, '=' padding, one "
				    "line)", opt, kk_answer_statuses[k]);
				goto out;
			}
		} else {
			size_t n = strlen(rest);
			if ((body[k].p = malloc(n)))
				memcpy(body[k].p, rest, n);
			body[k].len = body[k].p ? n : 0;
		}
		if (!body[k].len) {
			snprintf(err, errlen, "%s %u: the answer is empty", opt,
			    kk_answer_statuses[k]);
			goto out;
		}
		if (body[k].len > KK_ANSWER_MAX) {
			snprintf(err, errlen, "%s %u: the answer is %zu bytes, more than the %d an "
			    "answer may have", opt, kk_answer_statuses[k], body[k].len,
			    KK_ANSWER_MAX);
			goto out;
		}
		if (!kk_answer_check_template((const char *)body[k].p, body[k].len, msg,
		    sizeof msg)) {
			snprintf(err, errlen, "%s %u: %s", opt, kk_answer_statuses[k], msg);
			goto out;
		}
	}
	for (k = 0; k < KK_ANSWER_NSTATUS; k++) {
		if (type[k] && !body[k].len) {
			snprintf(err, errlen, "--answer-type %u: the type of an answer not given: "
			    "give --answer, --answer-text or --answer-data %u: too",
			    kk_answer_statuses[k], kk_answer_statuses[k]);
			goto out;
		}
		if (!body[k].len)
			continue;
		if ((out->len && !kk_str_catb(out, "\n", 1))
		    || !kk_str_catf(out, "%u ", kk_answer_statuses[k])
		    || !kk_base64_encode(out, body[k].p, body[k].len)
		    || !kk_str_catf(out, " %s", type[k] ? type[k] : KK_ANSWER_DEFAULT_TYPE)) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	ok = 1;
out:
	for (k = 0; k < KK_ANSWER_NSTATUS; k++)
		kk_blob_free(&body[k]);
	return ok;
}

int
kk_answer_next(const char *text, size_t *pos, kk_answer_item *a)
{
	const char *p = text + *pos, *end, *sp;
	if (!*p)
		return 0;
	end = p + strcspn(p, "\n");
	a->status = (unsigned)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
	a->b64 = p + 4;
	sp = memchr(a->b64, ' ', (size_t)(end - a->b64));
	a->b64len = (size_t)(sp - a->b64);
	a->type = sp + 1;
	a->typelen = (size_t)(end - a->type);
	*pos = (size_t)(end - text) + (*end == '\n');
	return 1;
}

/* Whether a body prints as --answer-text: printable ASCII, tabs and
 * UTF-8, no newline (a verb line is one line). */
static int
is_text(const unsigned char *p, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return 0;
	return 1;
}

int
kk_answer_print(kk_str *out, const char *text)
{
	size_t pos = 0;
	kk_answer_item a;
	while (text && kk_answer_next(text, &pos, &a)) {
		unsigned char *p = 0;
		size_t n = 0;
		kk_str word = KK_STR_ZERO;
		int ok;
		if (!kk_base64_decode(a.b64, a.b64len, &p, &n))
			return 0;
		if (is_text(p, n))
			ok = kk_str_catf(&word, "%u:%.*s", a.status, (int)n, (const char *)p)
			    && kk_str_cats(out, " --answer-text ") && kk_str_catword(out, word.s);
		else
			ok = kk_str_catf(out, " --answer-data %u:%.*s", a.status, (int)a.b64len,
			    a.b64);
		kk_str_reset(&word);
		free(p);
		if (!ok) {
			kk_str_free(&word);
			return 0;
		}
		if ((a.typelen != strlen(KK_ANSWER_DEFAULT_TYPE)
		    || memcmp(a.type, KK_ANSWER_DEFAULT_TYPE, a.typelen))
		    && (!kk_str_catf(&word, "%u:%.*s", a.status, (int)a.typelen, a.type)
			|| !kk_str_cats(out, " --answer-type ") || !kk_str_catword(out, word.s)))
			ok = 0;
		kk_str_free(&word);
		if (!ok)
			return 0;
	}
	return 1;
}

/* Appends s[0, n) at out[*o], HTML-escaped. 0 when it does not fit. */
static int
put_escaped(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		const char *e = NULL;
		size_t el = 1;
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default:
			if (c < 0x20 || c == 0x7f)
				continue;
		}
		if (e)
			el = strlen(e);
		if (cap - *o < el)
			return 0;
		if (e)
			memcpy(out + *o, e, el);
		else
			out[*o] = (char)c;
		*o += el;
	}
	return 1;
}

size_t
kk_answer_expand(const char *body, size_t len, const char *const vals[KK_ANSWER_NVARS],
    const size_t lens[KK_ANSWER_NVARS], char *out, size_t cap)
{
	size_t i, o = 0, n;
	int k;
	for (i = 0; i < len; i++) {
		if (body[i] == '$' && (k = var_at(body + i, len - i, &n)) >= 0) {
			if (vals[k] && !put_escaped(out, cap, &o, vals[k], lens[k]))
				return 0;
			i += n - 1;
			continue;
		}
		if (o == cap)
			return 0;
		out[o++] = body[i];
	}
	return o;
}
