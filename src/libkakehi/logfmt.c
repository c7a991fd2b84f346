/* ISC license. */
/* Access-log templates: the variable names and the compiler from a
 * template's text to pieces the worker renders without parsing again.
 * What a variable's value is and how it is escaped is the worker's
 * (src/worker/accesslog.c). */
#include <stdio.h>
#include <string.h>
#include <kakehi/logfmt.h>

static const char *const names[KK_LV_COUNT] = {
	[KK_LV_TIME] = "time",
	[KK_LV_CLIENT] = "client",
	[KK_LV_CLIENT_PORT] = "client_port",
	[KK_LV_LISTENER] = "listener",
	[KK_LV_METHOD] = "method",
	[KK_LV_HOST] = "host",
	[KK_LV_PATH] = "path",
	[KK_LV_PROTO] = "proto",
	[KK_LV_STATUS] = "status",
	[KK_LV_BYTES_IN] = "bytes_in",
	[KK_LV_BYTES_OUT] = "bytes_out",
	[KK_LV_CLUSTER] = "cluster",
	[KK_LV_BACKEND] = "backend",
	[KK_LV_BACKEND_ADDR] = "backend_addr",
	[KK_LV_DURATION_MS] = "duration_ms",
	[KK_LV_TTFB_MS] = "ttfb_ms",
	[KK_LV_CLOSE] = "close",
	[KK_LV_WORKER] = "worker",
};

const char kk_logfmt_default[] =
    "${time} ${client}:${client_port} ${listener} \"${method} ${host}${path} ${proto}\" "
    "${status} ${bytes_in} ${bytes_out} ${cluster} ${backend} ${backend_addr} "
    "${duration_ms} ${ttfb_ms} ${close} ${worker}";

const char *
kk_logfmt_name(enum kk_logvar v)
{
	return v < KK_LV_COUNT ? names[v] : "text";
}

static int
lookup(const char *p, size_t n)
{
	for (int v = 0; v < KK_LV_COUNT; v++)
		if (strlen(names[v]) == n && !memcmp(names[v], p, n))
			return v;
	return -1;
}

static int
add(kk_logfmt *out, unsigned char var, size_t off, size_t len, char *err, size_t errlen)
{
	if (out->n == KK_LOGFMT_MAXITEMS) {
		snprintf(err, errlen, "access-log-format: more than %d pieces", KK_LOGFMT_MAXITEMS);
		return 0;
	}
	out->item[out->n].var = var;
	out->item[out->n].off = (uint16_t)off;
	out->item[out->n].len = (uint16_t)len;
	out->n++;
	return 1;
}

/* The literal piece open at *lit (its start in out->text, or -1 for
 * none) is closed. */
static int
close_text(kk_logfmt *out, long *lit, size_t at, char *err, size_t errlen)
{
	if (*lit < 0)
		return 1;
	if (!add(out, KK_LV_TEXT, (size_t)*lit, at - (size_t)*lit, err, errlen))
		return 0;
	*lit = -1;
	return 1;
}

int
kk_logfmt_compile(kk_logfmt *out, const char *fmt, char *err, size_t errlen)
{
	size_t at = 0, len;
	long lit = -1;
	const char *p;

	out->json = 0;
	out->n = 0;
	if (!strcmp(fmt, "json")) {
		out->json = 1;
		return 1;
	}
	if (!strcmp(fmt, "default"))
		fmt = kk_logfmt_default;
	len = strlen(fmt);
	if (!len || len >= KK_LOGFMT_MAX) {
		snprintf(err, errlen, "access-log-format: a template of 1 to %d bytes, json "
		    "or default", KK_LOGFMT_MAX - 1);
		return 0;
	}
	for (p = fmt; *p; ) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			/* A newline would split a line in two. */
			snprintf(err, errlen, "access-log-format: control character at byte %zu",
			    (size_t)(p - fmt));
			return 0;
		}
		if (p[0] == '$' && p[1] == '$') {
			if (lit < 0)
				lit = (long)at;
			out->text[at++] = '$';
			p += 2;
			continue;
		}
		if (p[0] == '$') {
			const char *end = p[1] == '{' ? strchr(p + 2, '}') : NULL;
			int v = end ? lookup(p + 2, (size_t)(end - p - 2)) : -1;
			if (v < 0) {
				size_t n = end ? (size_t)(end - p + 1) : strcspn(p + 1, " ") + 1;
				snprintf(err, errlen, "access-log-format: \"%.*s\" is not a variable; "
				    "write ${NAME} (see kakehi-ctl help set, doc/logs.html) or $$ for $",
				    (int)(n > 40 ? 40 : n), p);
				return 0;
			}
			if (!close_text(out, &lit, at, err, errlen) ||
			    !add(out, (unsigned char)v, 0, 0, err, errlen))
				return 0;
			p = end + 1;
			continue;
		}
		if (lit < 0)
			lit = (long)at;
		out->text[at++] = *p++;
	}
	return close_text(out, &lit, at, err, errlen);
}
