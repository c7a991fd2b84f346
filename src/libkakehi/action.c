/* ISC license. */
/* The actions of a frontend: checked, kept as text in the order given,
 * walked (action.h). What they do to a request is the worker's. */

#include <stdio.h>
#include <string.h>
#include <kakehi/action.h>
#include <kakehi/regex.h>

static const struct {
	const char *opt;
	char kind, op;
} opts[] = {
	{ "--request-header-add", KK_ACTION_REQUEST, KK_ACTION_ADD },
	{ "--request-header-set", KK_ACTION_REQUEST, KK_ACTION_SET },
	{ "--request-header-delete", KK_ACTION_REQUEST, KK_ACTION_DELETE },
	{ "--response-header-add", KK_ACTION_RESPONSE, KK_ACTION_ADD },
	{ "--response-header-set", KK_ACTION_RESPONSE, KK_ACTION_SET },
	{ "--response-header-delete", KK_ACTION_RESPONSE, KK_ACTION_DELETE },
	{ "--rewrite-path-prefix", KK_ACTION_REQUEST, KK_ACTION_PATH_PREFIX },
	{ "--rewrite-path", KK_ACTION_REQUEST, KK_ACTION_PATH_REGEX },
	{ "--rewrite-host", KK_ACTION_REQUEST, KK_ACTION_HOST },
	{ "--deny", KK_ACTION_ANSWER, KK_ACTION_DENY },
	{ "--redirect", KK_ACTION_ANSWER, KK_ACTION_REDIRECT },
};

const char *const kk_action_vars[KK_ACTION_NVARS] = { "${scheme}", "${host}", "${path}",
    "${query}" };
#define NOPTS (sizeof opts / sizeof *opts)

/* Fields no edit may touch, and why: the proxy frames the body itself,
 * a hop-by-hop field speaks of one connection (RFC 9110 §7.6.1), and the
 * request fields of the forwarding rules are the proxy's to write (the
 * worker's head.c). request: 1 refused in requests only. */
static const struct {
	const char *name;
	int request;
	const char *why;
} fixed[] = {
	{ "content-length", 0, "it frames the body, which the proxy frames itself" },
	{ "transfer-encoding", 0, "it frames the body, which the proxy frames itself" },
	{ "connection", 0, "it is hop-by-hop: it speaks of one connection only" },
	{ "keep-alive", 0, "it is hop-by-hop: it speaks of one connection only" },
	{ "proxy-connection", 0, "it is hop-by-hop: it speaks of one connection only" },
	{ "te", 0, "it is hop-by-hop: it speaks of one connection only" },
	{ "trailer", 0, "the proxy announces trailers from the body it sends" },
	{ "upgrade", 0, "the proxy writes it for the protocol switches it forwards" },
	{ "http2-settings", 1, "it is hop-by-hop: it speaks of one connection only" },
	{ "host", 1, "the proxy writes it from the authority the request was routed by" },
	{ "expect", 1, "the proxy forwards or answers the expectation itself" },
	{ "x-forwarded-for", 1, "the proxy writes it itself, for each hop" },
	{ "x-forwarded-proto", 1, "the proxy writes it itself, for each hop" },
	{ "x-forwarded-port", 1, "the proxy writes it itself, for each hop" },
	{ "x-forwarded-host", 1, "the proxy writes it itself, for each hop (--forward)" },
	{ "forwarded", 1, "the proxy writes it itself, for each hop (--forward)" },
	{ "x-client-cert-subject", 1, "the proxy writes it from the client's certificate" },
	{ "x-client-cert-verified", 1, "the proxy writes it from the client's certificate" },
};
#define NFIXED (sizeof fixed / sizeof *fixed)

int
kk_action_var(const char *s, size_t len, size_t *n)
{
	int i;
	for (i = 0; i < KK_ACTION_NVARS; i++) {
		*n = strlen(kk_action_vars[i]);
		if (*n <= len && !memcmp(s, kk_action_vars[i], *n))
			return i;
	}
	return -1;
}

/* A Location template: printable bytes without blanks (a field value that
 * needs no quoting; what the variables bring is escaped by the worker),
 * each '$' starting a variable, an absolute URL of http or https or a
 * path. */
static int
check_location(const char *t, char *err, size_t errlen)
{
	size_t i, n, len = strlen(t);
	if (len > KK_ACTION_VALUEMAX) {
		snprintf(err, errlen, "--location: the template is longer than %d bytes",
		    KK_ACTION_VALUEMAX);
		return 0;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f) {
			snprintf(err, errlen, "--location: the template holds a blank, a control "
			    "character or a byte past ASCII at offset %zu; write it percent-encoded "
			    "(%%20)", i);
			return 0;
		}
		if (t[i] != '$')
			continue;
		if (kk_action_var(t + i, len - i, &n) < 0) {
			snprintf(err, errlen, "--location \"%s\": offset %zu: '$' starts one of "
			    "${scheme}, ${host}, ${path}, ${query}; write a '$' itself as %%24", t, i);
			return 0;
		}
		i += n - 1;
	}
	if (t[0] != '/' && strncmp(t, "http://", 7) && strncmp(t, "https://", 8)
	    && strncmp(t, "${scheme}://", 12)) {
		snprintf(err, errlen, "--location \"%s\": give a path (/...) or an absolute URL "
		    "(http://, https:// or ${scheme}://)", t);
		return 0;
	}
	return 1;
}

int
kk_action_is_option(const char *opt)
{
	size_t i;
	if (!strcmp(opt, "--location"))
		return 1;
	for (i = 0; i < NOPTS; i++)
		if (!strcmp(opts[i].opt, opt))
			return 1;
	return 0;
}

const char *
kk_action_option(char kind, char op)
{
	size_t i;
	for (i = 0; i < NOPTS; i++)
		if (opts[i].kind == kind && opts[i].op == op)
			return opts[i].opt;
	return NULL;
}

/* A field name is a token (RFC 9110 §5.6.2). */
static int
is_token(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
	    || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Whether s[0, n) is lit (lower case) ignoring case, '_' read as '-':
 * a backend that maps names to variables (HTTP_CONTENT_LENGTH) reads
 * Content_Length as Content-Length. */
static int
same_name(const char *s, size_t n, const char *lit)
{
	size_t i;
	if (strlen(lit) != n)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c == '_')
			c = '-';
		if (c != (unsigned char)lit[i])
			return 0;
	}
	return 1;
}

/* Statuses a refusal cannot answer alone: each needs a field the proxy
 * has no value for (RFC 9110 §15.5). */
static const struct {
	const char *status, *why;
} unanswerable[] = {
	{ "401", "it needs the WWW-Authenticate challenge of an authentication scheme" },
	{ "405", "it needs the Allow field of the methods the resource has" },
	{ "407", "it needs the Proxy-Authenticate challenge of an authentication scheme" },
	{ "416", "it needs the Content-Range of a representation" },
	{ "426", "it needs the Upgrade field of the protocol to switch to" },
};

/* --deny's status, which the verb parser has bounded to 400-599. */
static int
check_deny(const char *value, char *err, size_t errlen)
{
	size_t k;
	for (k = 0; k < sizeof unanswerable / sizeof *unanswerable; k++)
		if (!strcmp(value, unanswerable[k].status)) {
			snprintf(err, errlen, "--deny %s: the proxy cannot answer %s alone: %s; "
			    "deny with 403 or 404", value, value, unanswerable[k].why);
			return 0;
		}
	return 1;
}

int
kk_action_check(const char *opt, const char *value, char *err, size_t errlen)
{
	size_t i, k, n = strcspn(value, "="), vlen;
	int del = 0, request = 0;
	if (!strcmp(opt, "--location"))
		return check_location(value, err, errlen);
	for (k = 0; k < NOPTS; k++)
		if (!strcmp(opts[k].opt, opt)) {
			/* The parser's choices; paths and hosts, the verb's checks. */
			if (opts[k].op == KK_ACTION_REDIRECT || opts[k].op == KK_ACTION_PATH_PREFIX
			    || opts[k].op == KK_ACTION_HOST || opts[k].op == KK_ACTION_PATH_REGEX)
				return 1;
			if (opts[k].op == KK_ACTION_DENY)
				return check_deny(value, err, errlen);
			del = opts[k].op == KK_ACTION_DELETE;
			request = opts[k].kind == KK_ACTION_REQUEST;
		}
	if (!n || n > KK_ACTION_NAMEMAX) {
		snprintf(err, errlen, "%s \"%s\": give a field name of 1 to %d bytes first", opt,
		    value, KK_ACTION_NAMEMAX);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (!is_token((unsigned char)value[i])) {
			snprintf(err, errlen, "%s \"%s\": the field name must be a token (letters, "
			    "digits, !#$%%&'*+-.^_`|~)", opt, value);
			return 0;
		}
	for (k = 0; k < NFIXED; k++)
		if ((request || !fixed[k].request) && same_name(value, n, fixed[k].name)) {
			snprintf(err, errlen, "%s \"%s\": %.*s cannot be edited: %s", opt, value,
			    (int)n, value, fixed[k].why);
			return 0;
		}
	if (del) {
		if (!value[n])
			return 1;
		snprintf(err, errlen, "%s \"%s\": give only the field name: a deletion removes "
		    "every field of that name, whatever its value", opt, value);
		return 0;
	}
	if (!value[n]) {
		snprintf(err, errlen, "%s \"%s\": give the value after the name: NAME=VALUE", opt,
		    value);
		return 0;
	}
	vlen = strlen(value + n + 1);
	if (vlen > KK_ACTION_VALUEMAX) {
		snprintf(err, errlen, "%s: the value is longer than %d bytes", opt,
		    KK_ACTION_VALUEMAX);
		return 0;
	}
	/* A field value (RFC 9110 §5.5): no control character but HTAB,
	 * which could end the field (CR, LF) or the message's text (NUL);
	 * no blank at either end, which a parser strips. */
	for (i = n + 1; value[i]; i++)
		if (((unsigned char)value[i] < 0x20 && value[i] != '\t') || value[i] == 0x7f) {
			snprintf(err, errlen, "%s %.*s: the value holds a control character (CR, "
			    "LF...), which no field value may", opt, (int)n, value);
			return 0;
		}
	if (vlen && strchr(" \t", value[n + 1])) {
		snprintf(err, errlen, "%s \"%s\": the value starts with a blank, which the "
		    "receiver would strip", opt, value);
		return 0;
	}
	if (vlen && strchr(" \t", value[n + vlen])) {
		snprintf(err, errlen, "%s \"%s\": the value ends with a blank, which the "
		    "receiver would strip", opt, value);
		return 0;
	}
	return 1;
}

int
kk_action_canon(const kk_verb *v, kk_str *out)
{
	unsigned i;
	size_t k;
	kk_str_reset(out);
	for (i = 0; i < v->nopt; i++) {
		const char *opt = v->opt[i].def->name, *val = v->opt[i].value;
		size_t n;
		for (k = 0; k < NOPTS && strcmp(opts[k].opt, opt); k++)
			;
		if (k == NOPTS)	/* not an action (a flag among them has no value) */
			continue;
		n = strcspn(val, "=");
		if (opts[k].op == KK_ACTION_REDIRECT) {
			/* Its status, then the --location it requires. */
			if ((out->len && !kk_str_catb(out, "\n", 1)) || !kk_str_cats(out, "nR")
			    || !kk_str_cats(out, val) || !kk_str_catb(out, ":", 1)
			    || !kk_str_cats(out, kk_verb_opt(v, "--location")))
				return 0;
			continue;
		}
		if (opts[k].op == KK_ACTION_PATH_REGEX) {
			if ((out->len && !kk_str_catb(out, "\n", 1)) || !kk_str_cats(out, "qX")
			    || !kk_str_cats(out, val) || !kk_str_catb(out, "\t", 1)
			    || !kk_str_cats(out, v->opt[i].value2))
				return 0;
			continue;
		}
		if ((out->len && !kk_str_catb(out, "\n", 1))
		    || !kk_str_catb(out, &opts[k].kind, 1) || !kk_str_catb(out, &opts[k].op, 1)
		    || !kk_str_catb(out, val, n)
		    || (val[n] && (!kk_str_catb(out, opts[k].op == KK_ACTION_PATH_PREFIX ? " " : ":",
			1) || !kk_str_cats(out, val + n + 1))))
			return 0;
	}
	return 1;
}

int
kk_action_next(const char *text, size_t *pos, kk_action *a)
{
	const char *p = text + *pos, *end;
	if (!*p)
		return 0;
	end = p + strcspn(p, "\n");
	a->kind = p[0];
	a->op = p[1];
	a->name = p + 2;
	a->nlen = strcspn(a->name, a->op == KK_ACTION_PATH_PREFIX ? " \n"
	    : a->op == KK_ACTION_PATH_REGEX || a->kind == 'a' ? "\t\n" : ":\n");
	a->value = a->name + a->nlen + (a->name[a->nlen] == ':' || a->name[a->nlen] == ' '
	    || a->name[a->nlen] == '\t');
	a->vlen = (size_t)(end - a->value);
	*pos = (size_t)(end - text) + (*end == '\n');
	return 1;
}

int
kk_action_check_rewrite(const char *regex, const char *tmpl, char *err, size_t errlen)
{
	char msg[256];
	size_t i, n = strlen(tmpl);
	int groups;
	if (strlen(regex) > KK_ACTION_NAMEMAX || n > KK_ACTION_VALUEMAX) {
		snprintf(err, errlen, "--rewrite-path: the regex is longer than %d bytes or the "
		    "template than %d", KK_ACTION_NAMEMAX, KK_ACTION_VALUEMAX);
		return 0;
	}
	for (i = 0; regex[i]; i++)
		if ((unsigned char)regex[i] < 0x20 || regex[i] == 0x7f) {
			snprintf(err, errlen, "--rewrite-path: the regex holds a control character; "
			    "write it as an escape (\\t, \\x7f)");
			return 0;
		}
	if ((groups = kk_regex_groups(regex, msg, sizeof msg)) < 0) {
		snprintf(err, errlen, "--rewrite-path \"%s\" is not a valid regex: %s", regex, msg);
		return 0;
	}
	if (tmpl[0] != '/') {
		snprintf(err, errlen, "--rewrite-path %s \"%s\": the template is a path: start "
		    "it with /", regex, tmpl);
		return 0;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)tmpl[i];
		if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#') {
			snprintf(err, errlen, "--rewrite-path: the template holds a blank, a control "
			    "character, '?', '#' or a byte past ASCII at offset %zu; write it "
			    "percent-encoded (%%20)", i);
			return 0;
		}
		if (c != '$')
			continue;
		if (tmpl[i + 1] == '$') {
			i++;
			continue;
		}
		if (tmpl[i + 1] < '0' || tmpl[i + 1] > '9' || tmpl[i + 1] - '0' > groups) {
			char which[32] = "";
			if (groups)
				snprintf(which, sizeof which, ", $1..$%d (its groups)",
				    groups < 9 ? groups : 9);
			snprintf(err, errlen, "--rewrite-path %s \"%s\": offset %zu: '$' starts $0 "
			    "(the match)%s or $$ (a '$')", regex, tmpl, i,
			    groups ? which : " (the regex has no group)");
			return 0;
		}
		i++;
	}
	return 1;
}
