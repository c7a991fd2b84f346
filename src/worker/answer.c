/* ISC license. */
/* Custom answers in the worker (answer.h): decoded per snapshot, chosen
 * per answer, expanded into the caller's buffer. Nothing allocates per
 * request: the context is static, one answer is made at a time. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <kakehi/base64.h>
#include <kakehi/htpasswd.h>
#include "answer.h"
#include "status.h"

struct kk_ranswers {
	unsigned refs;
	unsigned n;
	struct {
		unsigned short status;
		const char *body, *type;
		size_t blen, tlen;
	} a[KK_ANSWER_NSTATUS];
	/* The bodies and types follow, owned with the block. */
};

kk_ranswers *
kk_ranswers_new(const char *text)
{
	kk_answer_item it;
	size_t pos = 0, bytes = 0;
	kk_ranswers *r;
	char *at;
	if (!text)
		return NULL;
	/* A body's bytes are at most three quarters of its base64. */
	while (kk_answer_next(text, &pos, &it))
		bytes += it.b64len / 4 * 3 + it.typelen;
	if (!(r = malloc(sizeof *r + bytes)))
		return NULL;
	r->refs = 1;
	r->n = 0;
	at = (char *)(r + 1);
	pos = 0;
	while (r->n < KK_ANSWER_NSTATUS && kk_answer_next(text, &pos, &it)) {
		unsigned char *p;
		size_t n;
		/* The state encoded it: only ENOMEM can stop this. */
		if (!kk_base64_decode(it.b64, it.b64len, &p, &n)) {
			free(r);
			return NULL;
		}
		r->a[r->n].status = (unsigned short)it.status;
		r->a[r->n].body = memcpy(at, p, n);
		r->a[r->n].blen = n;
		at += n;
		free(p);
		r->a[r->n].type = memcpy(at, it.type, it.typelen);
		r->a[r->n].tlen = it.typelen;
		at += it.typelen;
		r->n++;
	}
	return r;
}

void
kk_ranswers_ref(kk_ranswers *r)
{
	if (r)
		r->refs++;
}

void
kk_ranswers_unref(kk_ranswers *r)
{
	if (r && !--r->refs)
		free(r);
}

/* The context of the next answer; ids as the state bounds them. */
#define ID_MAX 64
#define ROUTE_MAX (KK_HEAD_HOSTMAX + 512)
static struct {
	kk_ranswers *cl;	/* referenced while set */
	char cluster[ID_MAX + 1], backend[ID_MAX + 1], reqid[KK_HEAD_REQID_MAX + 1];
	char route[ROUTE_MAX];
	size_t clusterlen, backendlen, reqidlen, routelen;
	/* The challenge of the next answer, then of the one made. */
	char challenge[KK_AUTH_REALMMAX + 48], made[KK_AUTH_REALMMAX + 48];
	size_t challengelen, madelen;
} ctx;

/* Copies s[0, n) into buf (cap bytes), cut to fit; its length. */
static size_t
keep(char *buf, size_t cap, const char *s, size_t n)
{
	if (!s)
		return 0;
	if (n > cap)
		n = cap;
	memcpy(buf, s, n);
	return n;
}

void
kk_answer_about(kk_ranswers *cluster_answers, const char *cluster, const char *backend,
    const char *reqid, size_t reqidlen)
{
	kk_ranswers_unref(ctx.cl);
	ctx.cl = cluster_answers;
	kk_ranswers_ref(ctx.cl);
	ctx.clusterlen = keep(ctx.cluster, ID_MAX, cluster, cluster ? strlen(cluster) : 0);
	ctx.backendlen = keep(ctx.backend, ID_MAX, backend, backend ? strlen(backend) : 0);
	ctx.reqidlen = keep(ctx.reqid, KK_HEAD_REQID_MAX, reqid, reqidlen);
}

void
kk_answer_route(const kk_reqhead *h)
{
	size_t n = keep(ctx.route, ROUTE_MAX, h->host, h->hostlen);
	const char *base = h->flags & KK_HEAD_F_PATH_TEXT ? h->text : h->fl.base;
	ctx.routelen = n + keep(ctx.route + n, ROUTE_MAX - n, base + h->path.off, h->pathlen);
}

void
kk_answer_challenge(const char *realm, size_t len)
{
	int n;
	if (len > KK_AUTH_REALMMAX)	/* the state bounds it */
		len = KK_AUTH_REALMMAX;
	n = snprintf(ctx.challenge, sizeof ctx.challenge, "Basic realm=\"%.*s\", "
	    "charset=\"UTF-8\"", (int)len, realm);
	ctx.challengelen = n > 0 ? (size_t)n : 0;
}

const char *
kk_answer_made_challenge(size_t *len)
{
	*len = ctx.madelen;
	return ctx.madelen ? ctx.made : NULL;
}

void
kk_answer_forget(void)
{
	kk_ranswers_unref(ctx.cl);
	ctx.cl = NULL;
	ctx.clusterlen = ctx.backendlen = ctx.reqidlen = ctx.routelen = 0;
	ctx.challengelen = 0;
}

/* The index of status in r, -1 when r has none for it. */
static int
find(const kk_ranswers *r, int status)
{
	unsigned i;
	for (i = 0; r && i < r->n; i++)
		if (r->a[i].status == status)
			return (int)i;
	return -1;
}

/* An expanded body: a template of KK_ANSWER_MAX bytes whose variables
 * take up to six times their bytes escaped; past this, the built-in
 * answer. */
static char scratch[2 * KK_ANSWER_MAX];
/* Its type, copied: the context's reference to a cluster's answers,
 * which may be the last, goes with the call. */
static char type_copy[KK_ANSWER_TYPEMAX];

size_t
kk_answer_make(const kk_ranswers *la, int status, const char **body, const char **type,
    size_t *typelen)
{
	const kk_ranswers *r = ctx.cl;
	const char *vals[KK_ANSWER_NVARS];
	size_t lens[KK_ANSWER_NVARS], n = 0;
	char digits[3];
	int i = find(r, status);
	memcpy(ctx.made, ctx.challenge, ctx.challengelen);
	ctx.madelen = ctx.challengelen;
	if (i < 0)
		i = find(r = la, status);
	if (i >= 0) {
		const char *reason = kk_answer_reason(status);
		digits[0] = (char)('0' + status / 100);
		digits[1] = (char)('0' + status / 10 % 10);
		digits[2] = (char)('0' + status % 10);
		vals[KK_ANSWER_VAR_REQUEST_ID] = ctx.reqid;
		lens[KK_ANSWER_VAR_REQUEST_ID] = ctx.reqidlen;
		vals[KK_ANSWER_VAR_CLUSTER] = ctx.cluster;
		lens[KK_ANSWER_VAR_CLUSTER] = ctx.clusterlen;
		vals[KK_ANSWER_VAR_BACKEND] = ctx.backend;
		lens[KK_ANSWER_VAR_BACKEND] = ctx.backendlen;
		vals[KK_ANSWER_VAR_ROUTE] = ctx.route;
		lens[KK_ANSWER_VAR_ROUTE] = ctx.routelen;
		vals[KK_ANSWER_VAR_STATUS] = digits;
		lens[KK_ANSWER_VAR_STATUS] = 3;
		vals[KK_ANSWER_VAR_REASON] = reason;
		lens[KK_ANSWER_VAR_REASON] = strlen(reason);
		n = kk_answer_expand(r->a[i].body, r->a[i].blen, vals, lens, scratch,
		    sizeof scratch);
		if (n) {
			*body = scratch;
			*typelen = r->a[i].tlen < sizeof type_copy ? r->a[i].tlen : sizeof type_copy;
			*type = memcpy(type_copy, r->a[i].type, *typelen);
			kk_stats.answers_custom++;
		} else {
			kk_stats.answers_too_large++;
		}
	}
	kk_answer_forget();
	return n;
}
