/* ISC license. */
/* Header edits on neutral heads (edit.h). Which names may be edited is
 * the state's to check (libkakehi's action.c): here every edit applies. */
#include <string.h>
#include <strings.h>
#include "edit.h"

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
		if (a.kind != KK_ACTION_REQUEST)
			continue;
		if (a.op == KK_ACTION_PATH_PREFIX) {
			if (!rewrite_prefix(h, a.name, a.nlen, a.value, a.vlen))
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
