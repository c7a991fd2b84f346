/* ISC license. */
/* Header edits on neutral heads (edit.h). Which names may be edited is
 * the state's to check (libkakehi's action.c): here every edit applies. */
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <kakehi/htpasswd.h>
#include <kakehi/index.h>
#include <kakehi/regex.h>
#include "edit.h"
#include "status.h"

/* The compiled regexes of --rewrite-path items, by the address of the
 * item's regex in a router's copy of the actions (each route has a copy
 * of its own for its snapshots' life): made when the route is built,
 * found by one hash probe per rewrite. */
static kk_index compiled;

/* The key of an item: the address of its regex. */
#define KEY(a) ((const char *)&(a)->name), sizeof (a)->name

int
kk_edit_compile(const char *actions)
{
	size_t pos = 0;
	kk_action a;
	while (actions && kk_action_next(actions, &pos, &a)) {
		char pat[KK_ACTION_NAMEMAX + 1];
		kk_regex *re;
		if (a.op != KK_ACTION_PATH_REGEX || a.nlen >= sizeof pat)
			continue;
		memcpy(pat, a.name, a.nlen);
		pat[a.nlen] = 0;
		if (!(re = kk_regex_new(pat)))
			return 0;
		if (!kk_index_put(&compiled, KEY(&a), (size_t)(uintptr_t)re)) {
			kk_regex_free(re);
			return 0;
		}
	}
	return 1;
}

void
kk_edit_release(const char *actions)
{
	size_t pos = 0, *v;
	kk_action a;
	while (actions && kk_action_next(actions, &pos, &a)) {
		if (a.op != KK_ACTION_PATH_REGEX || !(v = kk_index_get(&compiled, KEY(&a))))
			continue;
		kk_regex_free((kk_regex *)(uintptr_t)*v);
		kk_index_del(&compiled, KEY(&a));
	}
}

/* Drops from fields[0, n) of base those named name[0, len). */
static void
drop(const char *base, kk_field *fields, unsigned n, const char *name, size_t len)
{
	unsigned i;
	for (i = 0; i < n; i++)
		if (fields[i].fwd && fields[i].name.len == len
		    && !strncasecmp(base + fields[i].name.off, name, len))
			fields[i].fwd = 0;
}

/* --rewrite-path-prefix: a path starting with from[0, n) goes on
 * starting with to[0, tn), its query kept, the new target in the head's
 * text. 1 done or not that prefix; 0 it does not fit. */
static int
rewrite_prefix(kk_reqhead *h, const char *from, size_t n, const char *to, size_t tn)
{
	const char *base = h->flags & KK_HEAD_F_PATH_TEXT ? h->text : h->fl.base;
	const char *path = base + h->path.off;
	size_t rest;
	if (h->pathlen < n || memcmp(path, from, n))
		return 1;
	rest = h->path.len - n;
	if (KK_HEAD_ADDMAX - h->textlen < tn + rest)
		return 0;
	/* After the text's end: an earlier rewrite's target, which path may
	 * be in, stays where it is. */
	memcpy(h->text + h->textlen, to, tn);
	memmove(h->text + h->textlen + tn, path + n, rest);
	h->path.off = h->textlen;
	h->path.len = (uint32_t)(tn + rest);
	h->pathlen = (uint32_t)(h->pathlen - n + tn);
	h->textlen += h->path.len;
	h->flags |= KK_HEAD_F_PATH_TEXT;
	return 1;
}

/* Appends s[0, n) to the head's text at *o. 0 when it does not fit. */
static int
put_path(kk_reqhead *h, size_t *o, const char *s, size_t n)
{
	if (KK_HEAD_ADDMAX - *o < n)
		return 0;
	memmove(h->text + *o, s, n);
	*o += n;
	return 1;
}

/* --rewrite-path: a path the item's regex matches goes on as its
 * template, $N the groups' bytes, its query kept, the new target in the
 * head's text. 1 done or no match; 0 it does not fit. */
static int
rewrite_regex(kk_reqhead *h, const kk_action *a)
{
	const char *base = h->flags & KK_HEAD_F_PATH_TEXT ? h->text : h->fl.base;
	const char *path = base + h->path.off;
	size_t ov[2 * KK_REGEX_GROUPS], *v, o = h->textlen, i, newlen;
	int rc;
	if (!(v = kk_index_get(&compiled, KEY(a))))	/* no memory for it at build */
		return 1;
	rc = kk_regex_match_groups((const kk_regex *)(uintptr_t)*v, path, h->pathlen, ov,
	    2 * KK_REGEX_GROUPS);
	if (rc < 0)
		kk_stats.regex_stopped++;
	if (rc <= 0)
		return 1;
	for (i = 0; i < a->vlen; i++) {
		const char *t = a->value + i;
		unsigned g;
		if (*t != '$' || i + 1 == a->vlen) {
			if (!put_path(h, &o, t, 1))
				return 0;
			continue;
		}
		i++;
		if (t[1] == '$') {
			if (!put_path(h, &o, "$", 1))
				return 0;
			continue;
		}
		/* A digit: the state let no other through. A group that took
		 * no part, or past those the match filled, is empty. */
		g = (unsigned)(t[1] - '0');
		if (g < (unsigned)rc && ov[2 * g] != (size_t)-1
		    && !put_path(h, &o, path + ov[2 * g], ov[2 * g + 1] - ov[2 * g]))
			return 0;
	}
	newlen = o - h->textlen;
	if (!put_path(h, &o, path + h->pathlen, h->path.len - h->pathlen))	/* the query */
		return 0;
	h->path.off = h->textlen;
	h->path.len = (uint32_t)(o - h->textlen);
	h->pathlen = (uint32_t)newlen;
	h->textlen = (uint32_t)o;
	h->flags |= KK_HEAD_F_PATH_TEXT;
	return 1;
}

/* --rewrite-host: the Host the backend receives; the client's Host
 * field, or its target's authority, no longer goes. */
static int
rewrite_host(kk_reqhead *h, const char *name, size_t n)
{
	drop(h->fl.base, h->fl.f, h->fl.n, "host", 4);
	drop(h->text, h->add, h->nadd, "host", 4);
	h->flags |= KK_HEAD_F_HOST_FIELD;
	return kk_head_add(h, "Host", 4, name, (uint32_t)n);
}

int
kk_edit_request(kk_reqhead *h, const char *actions)
{
	size_t pos = 0;
	kk_action a;
	while (actions && kk_action_next(actions, &pos, &a)) {
		/* Basic authentication passed: the credentials are the
		 * proxy's, not the backend's, unless --auth-forward. */
		if (a.kind == KK_ACTION_AUTH && a.value[0] != 'f')
			drop(h->fl.base, h->fl.f, h->fl.n, "authorization", 13);
		if (a.kind != KK_ACTION_REQUEST)
			continue;
		if (a.op == KK_ACTION_PATH_PREFIX) {
			if (!rewrite_prefix(h, a.name, a.nlen, a.value, a.vlen))
				return 0;
			continue;
		}
		if (a.op == KK_ACTION_PATH_REGEX) {
			if (!rewrite_regex(h, &a))
				return 0;
			continue;
		}
		if (a.op == KK_ACTION_HOST) {
			if (!rewrite_host(h, a.name, a.nlen))
				return 0;
			continue;
		}
		if (a.op != KK_ACTION_ADD) {
			drop(h->fl.base, h->fl.f, h->fl.n, a.name, a.nlen);
			drop(h->text, h->add, h->nadd, a.name, a.nlen);
		}
		if (a.op != KK_ACTION_DELETE && !kk_head_add(h, a.name, (uint32_t)a.nlen, a.value,
		    (uint32_t)a.vlen))
			return 0;
	}
	return 1;
}

int
kk_edit_answer(const char *actions)
{
	size_t pos = 0;
	kk_action a;
	while (actions && kk_action_next(actions, &pos, &a))
		if (a.kind == KK_ACTION_ANSWER)	/* three digits, the parser's */
			return (a.name[0] - '0') * 100 + (a.name[1] - '0') * 10 + a.name[2] - '0';
	return 0;
}

/* Appends s[0, n) to buf at *o, percent-encoding what a field value
 * cannot hold as it is when escape is set. 0 when it does not fit. */
static int
put(char *buf, size_t len, size_t *o, const char *s, size_t n, int escape)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!escape || (c > 0x20 && c < 0x7f)) {
			if (*o == len)
				return 0;
			buf[(*o)++] = (char)c;
			continue;
		}
		if (len - *o < 3)
			return 0;
		buf[(*o)++] = '%';
		buf[(*o)++] = hex[c >> 4];
		buf[(*o)++] = hex[c & 15];
	}
	return 1;
}

size_t
kk_edit_location(const char *actions, const kk_reqhead *h, char *buf, size_t len)
{
	const char *base = h->fl.base + h->path.off;
	size_t pos = 0, o = 0, i, n;
	kk_action a;
	int ok = 1;
	while (actions && kk_action_next(actions, &pos, &a) && a.op != KK_ACTION_REDIRECT)
		;
	if (!actions || a.op != KK_ACTION_REDIRECT || !len--)	/* room for the NUL */
		return 0;
	for (i = 0; ok && i < a.vlen; i += n) {
		const char *t = a.value + i;
		n = 1;
		if (*t != '$') {
			ok = put(buf, len, &o, t, 1, 0);
			continue;
		}
		switch (kk_action_var(t, a.vlen - i, &n)) {
		case KK_ACTION_VAR_SCHEME:
			ok = h->scheme == KK_SCHEME_HTTPS ? put(buf, len, &o, "https", 5, 0)
			    : put(buf, len, &o, "http", 4, 0);
			break;
		case KK_ACTION_VAR_HOST:	/* host bytes only (kk_head_set_host) */
			ok = put(buf, len, &o, h->host, h->hostlen, 0);
			break;
		case KK_ACTION_VAR_PATH:
			ok = put(buf, len, &o, base, h->pathlen, 1);
			break;
		case KK_ACTION_VAR_QUERY:	/* with its '?' */
			ok = put(buf, len, &o, base + h->pathlen, h->path.len - h->pathlen, 1);
			break;
		default:	/* the state let none other through */
			ok = put(buf, len, &o, t, 1, 0);
			n = 1;
		}
	}
	if (!ok)
		return 0;
	buf[o] = 0;
	return o;
}

void
kk_edit_response(kk_resphead *h, const char *actions)
{
	size_t pos = 0;
	kk_action a;
	h->abase = actions;
	h->nadd = 0;
	while (actions && h->status >= 200 && kk_action_next(actions, &pos, &a)) {
		kk_field *f;
		if (a.kind != KK_ACTION_RESPONSE)
			continue;
		if (a.op != KK_ACTION_ADD) {
			drop(h->fl.base, h->fl.f, h->fl.n, a.name, a.nlen);
			drop(actions, h->add, h->nadd, a.name, a.nlen);
		}
		/* The state lets no more through than there is room for. */
		if (a.op == KK_ACTION_DELETE || h->nadd == KK_ACTION_MAX)
			continue;
		f = &h->add[h->nadd++];
		f->name.off = (uint32_t)(a.name - actions);
		f->name.len = (uint32_t)a.nlen;
		f->value.off = (uint32_t)(a.value - actions);
		f->value.len = (uint32_t)a.vlen;
		f->id = KK_FLD_OTHER;
		f->fwd = 1;
	}
}
