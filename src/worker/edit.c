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

int
kk_edit_request(kk_reqhead *h, const char *actions)
{
	size_t pos = 0;
	kk_action a;
	while (actions && kk_action_next(actions, &pos, &a)) {
		if (a.kind != KK_ACTION_REQUEST)
			continue;
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
