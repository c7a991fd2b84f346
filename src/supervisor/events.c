/* ISC license. */
/* The events stream (kakehi-ctl events): one record per thing that
 * changes, built once in two forms, a text line ("TIME EVENT key=value
 * ...", values quoted when they hold a space) and a JSON object, and
 * handed to the control socket's subscribers (control.c), each taking the
 * form it asked for. Nothing is built while nobody follows: an event
 * costs a test of the subscriber count. */

#include <stdio.h>
#include <string.h>

#include <kakehi/cert.h>
#include <kakehi/logline.h>

#include "sv.h"

int
sv_event_begin(sv_event *e, const char *kind)
{
	char t[KK_LOG_STAMPLEN];

	memset(e, 0, sizeof e[0]);
	if (!sv_control_followers())
		return 0;
	kk_log_stamp(t);
	e->ok = kk_str_catf(&e->text, "%s %s", t, kind)
	    && kk_str_cats(&e->json, "{\"time\":") && kk_str_catjson(&e->json, t)
	    && kk_str_cats(&e->json, ",\"event\":") && kk_str_catjson(&e->json, kind);
	return 1;
}

void
sv_event_str(sv_event *e, const char *key, const char *value)
{
	char clean[1024];

	if (!e->ok)
		return;
	sv_scrub(clean, sizeof clean, value ? value : "");
	e->ok = kk_str_catf(&e->text, " %s=", key)
	    && (clean[0] && !strpbrk(clean, " \"\\=") ? kk_str_cats(&e->text, clean)
		: kk_str_catjson(&e->text, clean))
	    && kk_str_cats(&e->json, ",") && kk_str_catjson(&e->json, key)
	    && kk_str_cats(&e->json, ":") && kk_str_catjson(&e->json, clean);
}

void
sv_event_num(sv_event *e, const char *key, unsigned long long value)
{
	if (!e->ok)
		return;
	e->ok = kk_str_catf(&e->text, " %s=%llu", key, value)
	    && kk_str_cats(&e->json, ",") && kk_str_catjson(&e->json, key)
	    && kk_str_catf(&e->json, ":%llu", value);
}

void
sv_event_verb(sv_event *e, const char *key, const char *verbline)
{
	kk_str shown = KK_STR_ZERO;

	/* A certificate's key never leaves in an event, as in the log. */
	if (kk_cert_redact(&shown, verbline, strlen(verbline)))
		sv_event_str(e, key, shown.s);
	else
		e->ok = 0;
	kk_str_free(&shown);
}

void
sv_event_end(sv_event *e)
{
	if (e->ok && kk_str_cats(&e->text, "\n") && kk_str_cats(&e->json, "}\n"))
		sv_control_event(e->text.s, e->text.len, e->json.s, e->json.len);
	else if (sv_control_followers())
		sv_warn("out of memory building an event; it is lost");
	kk_str_free(&e->text);
	kk_str_free(&e->json);
}
