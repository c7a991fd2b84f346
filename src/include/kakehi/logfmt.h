/* ISC license. */
/* Access-log line formats (`set access-log-format`): the variables a line
 * can carry and a template compiled into literal pieces and variables.
 * Shared by the setting's check (supervisor, ctl) and the worker, which
 * renders the compiled form; rendering itself is the worker's. */
#ifndef KAKEHI_LOGFMT_H
#define KAKEHI_LOGFMT_H

#include <stddef.h>
#include <stdint.h>

/* The variables, in the order a JSON line lists them. */
enum kk_logvar {
	KK_LV_TIME = 0,		/* RFC 3339, UTC, milliseconds */
	KK_LV_CLIENT,		/* client address (a PROXY header's when it gave one) */
	KK_LV_CLIENT_PORT,
	KK_LV_LISTENER,		/* the listener's address, as configured */
	KK_LV_METHOD,
	KK_LV_HOST,		/* lower case, no port */
	KK_LV_PATH,		/* as received, query included */
	KK_LV_PROTO,		/* HTTP/1.0, HTTP/1.1, HTTP/2 */
	KK_LV_STATUS,		/* 0: no response reached the client */
	KK_LV_BYTES_IN,		/* request body bytes passed upstream */
	KK_LV_BYTES_OUT,	/* response body bytes passed to the client */
	KK_LV_CLUSTER,
	KK_LV_BACKEND,		/* backend id */
	KK_LV_BACKEND_ADDR,
	KK_LV_DURATION_MS,	/* request head parsed to the stream's end */
	KK_LV_TTFB_MS,		/* request head parsed to the first response byte */
	KK_LV_CLOSE,		/* how the request ended (status close reasons) */
	KK_LV_WORKER,		/* worker id */
	KK_LV_COUNT,
	KK_LV_TEXT = KK_LV_COUNT	/* a literal piece of a template */
};

/* The longest template, in bytes: a line stays far below PIPE_BUF. */
#define KK_LOGFMT_MAX 1024
#define KK_LOGFMT_MAXITEMS 128

typedef struct kk_logitem kk_logitem;
struct kk_logitem {
	unsigned char var;	/* KK_LV_* */
	uint16_t off, len;	/* KK_LV_TEXT: the piece, in kk_logfmt.text */
};

/* A compiled format: json, or a template's items. */
typedef struct kk_logfmt kk_logfmt;
struct kk_logfmt {
	int json;
	unsigned n;
	kk_logitem item[KK_LOGFMT_MAXITEMS];
	char text[KK_LOGFMT_MAX];
};

/* The template used when access-log-format is not set. */
extern const char kk_logfmt_default[];

const char *kk_logfmt_name(enum kk_logvar);
/* Compiles fmt: "json", "default" (kk_logfmt_default) or a template where
 * ${NAME} is a variable and $$ a dollar sign. 1 ok; 0 with a message in
 * err naming the offending part (out is then undefined). */
int kk_logfmt_compile(kk_logfmt *out, const char *fmt, char *err, size_t errlen);

#endif
