/* ISC license. */
/* The state model: life cycle, lookups, kk_state_apply for one verb and
 * kk_state_load_text for a batch. Printing is in stateprint.c, the diff
 * in statediff.c. Every change is checked in full before anything is
 * touched, so a refused verb leaves the state as it was. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <kakehi/addr.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>
#include "setting.h"
#include "stateprint.h"

/* A config or state file larger than this is a mistake, not a config. */
#define LOAD_MAX (64UL << 20)
#define HOST_BUF 256

void
kk_state_init(kk_state *st)
{
	memset(st, 0, sizeof *st);
	kk_setting_defaults(&st->set);
}

static void
free_listener(kk_listener *l)
{
	free(l->addr_text);
	free(l->public_address);
}

static void
free_frontend(kk_frontend *f)
{
	free(f->cluster);
	free(f->listener);
	free(f->host);
	free(f->path);
	free(f->method);
}

static void
free_backend(kk_backend *b)
{
	free(b->cluster);
	free(b->id);
	free(b->addr_text);
}

void
kk_state_free(kk_state *st)
{
	size_t i;
	for (i = 0; i < st->nlisteners; i++) free_listener(&st->listeners[i]);
	for (i = 0; i < st->nclusters; i++) free(st->clusters[i].id);
	for (i = 0; i < st->nfrontends; i++) free_frontend(&st->frontends[i]);
	for (i = 0; i < st->nbackends; i++) free_backend(&st->backends[i]);
	free(st->listeners);
	free(st->clusters);
	free(st->frontends);
	free(st->backends);
	kk_setting_free(&st->set);
	kk_state_init(st);
}

/* strdup that keeps NULL as NULL; *ok turns 0 on allocation failure. */
static char *
dup_opt(const char *s, int *ok)
{
	char *d;
	if (!s) return 0;
	if (!(d = strdup(s))) *ok = 0;
	return d;
}

/* Makes room for one more element in *arr. 1 ok, 0 ENOMEM. */
static int
grow(void *arr, size_t n, size_t *alloc, size_t size)
{
	void **p = arr;
	size_t a;
	void *q;
	if (n < *alloc) return 1;
	a = *alloc ? *alloc * 2 : 8;
	if (!(q = realloc(*p, a * size))) return 0;
	*p = q;
	*alloc = a;
	return 1;
}

int
kk_state_copy(kk_state *dst, const kk_state *src)
{
	kk_state st;
	size_t i;
	int ok = 1;
	kk_state_init(&st);
	if (!kk_setting_copy(&st.set, &src->set)) return 0;
	/* Sized exactly, so a failure half-way frees only what was copied. */
	if ((src->nlisteners && !(st.listeners = calloc(src->nlisteners, sizeof *st.listeners)))
	    || (src->nclusters && !(st.clusters = calloc(src->nclusters, sizeof *st.clusters)))
	    || (src->nfrontends && !(st.frontends = calloc(src->nfrontends, sizeof *st.frontends)))
	    || (src->nbackends && !(st.backends = calloc(src->nbackends, sizeof *st.backends))))
		goto fail;
	st.alisteners = src->nlisteners;
	st.aclusters = src->nclusters;
	st.afrontends = src->nfrontends;
	st.abackends = src->nbackends;
	for (i = 0; i < src->nlisteners; i++, st.nlisteners++) {
		kk_listener *l = &st.listeners[i];
		*l = src->listeners[i];
		l->addr_text = dup_opt(l->addr_text, &ok);
		l->public_address = dup_opt(l->public_address, &ok);
	}
	for (i = 0; i < src->nclusters; i++, st.nclusters++) {
		st.clusters[i] = src->clusters[i];
		st.clusters[i].id = dup_opt(st.clusters[i].id, &ok);
	}
	for (i = 0; i < src->nfrontends; i++, st.nfrontends++) {
		kk_frontend *f = &st.frontends[i];
		*f = src->frontends[i];
		f->cluster = dup_opt(f->cluster, &ok);
		f->listener = dup_opt(f->listener, &ok);
		f->host = dup_opt(f->host, &ok);
		f->path = dup_opt(f->path, &ok);
		f->method = dup_opt(f->method, &ok);
	}
	for (i = 0; i < src->nbackends; i++, st.nbackends++) {
		kk_backend *b = &st.backends[i];
		*b = src->backends[i];
		b->cluster = dup_opt(b->cluster, &ok);
		b->id = dup_opt(b->id, &ok);
		b->addr_text = dup_opt(b->addr_text, &ok);
	}
	if (!ok) goto fail;
	*dst = st;
	return 1;
fail:
	kk_state_free(&st);
	errno = ENOMEM;
	return 0;
}

kk_listener *
kk_state_listener(const kk_state *st, const char *addr_text)
{
	for (size_t i = 0; i < st->nlisteners; i++)
		if (!strcmp(st->listeners[i].addr_text, addr_text))
			return &st->listeners[i];
	return 0;
}

kk_cluster *
kk_state_cluster(const kk_state *st, const char *id)
{
	for (size_t i = 0; i < st->nclusters; i++)
		if (!strcmp(st->clusters[i].id, id))
			return &st->clusters[i];
	return 0;
}

kk_backend *
kk_state_backend(const kk_state *st, const char *cluster, const char *id)
{
	for (size_t i = 0; i < st->nbackends; i++)
		if (!strcmp(st->backends[i].cluster, cluster) && !strcmp(st->backends[i].id, id))
			return &st->backends[i];
	return 0;
}

static int
nomem(char *err, size_t errlen, const kk_verb *v)
{
	snprintf(err, errlen, "%s%s%s: out of memory; nothing changed", v->def->word1,
	    v->def->word2 ? " " : "", v->def->word2 ? v->def->word2 : "");
	return 0;
}

/* The canonical text of an address the parser already accepted. */
static void
canon_addr(const char *s, char *buf)
{
	kk_addr a;
	if (kk_addr_parse(&a, s)) kk_addr_fmt(buf, &a);
	else snprintf(buf, KK_ADDR_FMTLEN, "%s", s);
}

static unsigned long
opt_duration(const kk_verb *v, const char *name, unsigned long def)
{
	const char *s = kk_verb_opt(v, name);
	unsigned long ms;
	return s && kk_scan_duration_ms(s, &ms) ? ms : def;
}

static int
apply_listener_add(kk_state *st, const kk_verb *v, char *err, size_t errlen)
{
	char text[KK_ADDR_FMTLEN], pub[KK_ADDR_FMTLEN];
	const char *pubopt = kk_verb_opt(v, "--public-address");
	kk_listener l;
	int ok = 1;
	memset(&l, 0, sizeof l);
	if (!kk_addr_parse(&l.addr, v->pos[1])) {
		snprintf(err, errlen, "listener add: \"%s\" is not an address", v->pos[1]);
		return 0;
	}
	kk_addr_fmt(text, &l.addr);
	if (kk_state_listener(st, text)) {
		snprintf(err, errlen, "listener add: listener %s already exists; to change it, "
		    "remove it first with: listener remove %s", text, text);
		return 0;
	}
	if (pubopt) canon_addr(pubopt, pub);
	l.proto = KK_PROTO_HTTP;
	l.front_timeout_ms = opt_duration(v, "--front-timeout", KK_DEFAULT_FRONT_TIMEOUT_MS);
	l.request_timeout_ms = opt_duration(v, "--request-timeout", KK_DEFAULT_REQUEST_TIMEOUT_MS);
	l.back_timeout_ms = opt_duration(v, "--back-timeout", KK_DEFAULT_BACK_TIMEOUT_MS);
	l.connect_timeout_ms = opt_duration(v, "--connect-timeout",
	    KK_DEFAULT_CONNECT_TIMEOUT_MS);
	l.addr_text = dup_opt(text, &ok);
	l.public_address = dup_opt(pubopt ? pub : 0, &ok);
	if (!ok || !grow(&st->listeners, st->nlisteners, &st->alisteners, sizeof l)) {
		free_listener(&l);
		return nomem(err, errlen, v);
	}
	st->listeners[st->nlisteners++] = l;
	return 1;
}

static int
apply_listener_remove(kk_state *st, const kk_verb *v, char *err, size_t errlen)
{
	char text[KK_ADDR_FMTLEN];
	kk_listener *l;
	size_t i, users = 0, first = 0;
	canon_addr(v->pos[0], text);
	if (!(l = kk_state_listener(st, text))) {
		snprintf(err, errlen, "listener remove: listener %s does not exist; "
		    "see: listener list", text);
		return 0;
	}
	for (i = st->nfrontends; i--; )
		if (!strcmp(st->frontends[i].listener, text)) {
			users++;
			first = i;
		}
	if (users) {
		kk_str line = KK_STR_ZERO;
		kk_stateprint_frontend(&line, &st->frontends[first], "remove");
		snprintf(err, errlen, "listener remove: listener %s is used by %zu frontend%s; "
		    "remove %s first, with: %s%s", text, users, users > 1 ? "s" : "",
		    users > 1 ? "them" : "it", line.s ? line.s : "",
		    users > 1 ? " (and the others: frontend list)" : "");
		kk_str_free(&line);
		return 0;
	}
	free_listener(l);
	i = (size_t)(l - st->listeners);
	memmove(l, l + 1, (st->nlisteners - i - 1) * sizeof *l);
	st->nlisteners--;
	return 1;
}

static int
apply_cluster_add(kk_state *st, const kk_verb *v, char *err, size_t errlen)
{
	const char *lb = kk_verb_opt(v, "--lb");
	kk_cluster c;
	int ok = 1;
	if (kk_state_cluster(st, v->pos[0])) {
		snprintf(err, errlen, "cluster add: cluster \"%s\" already exists", v->pos[0]);
		return 0;
	}
	c.lb = KK_LB_ROUND_ROBIN;
	for (int i = 0; lb && kk_lb_names[i]; i++)
		if (!strcmp(kk_lb_names[i], lb))
			c.lb = (enum kk_lb)i;
	c.id = dup_opt(v->pos[0], &ok);
	if (!ok || !grow(&st->clusters, st->nclusters, &st->aclusters, sizeof c)) {
		free(c.id);
		return nomem(err, errlen, v);
	}
	st->clusters[st->nclusters++] = c;
	return 1;
}

static int
apply_cluster_remove(kk_state *st, const kk_verb *v, char *err, size_t errlen)
{
	const char *id = v->pos[0];
	kk_cluster *c = kk_state_cluster(st, id);
	size_t i, nf = 0, nb = 0, ff = 0, fb = 0;
	if (!c) {
		snprintf(err, errlen, "cluster remove: cluster \"%s\" does not exist; "
		    "see: cluster list", id);
		return 0;
	}
	for (i = st->nfrontends; i--; )
		if (!strcmp(st->frontends[i].cluster, id)) nf++, ff = i;
	for (i = st->nbackends; i--; )
		if (!strcmp(st->backends[i].cluster, id)) nb++, fb = i;
	if (nf || nb) {
		kk_str line = KK_STR_ZERO;
		if (nf) kk_stateprint_frontend(&line, &st->frontends[ff], "remove");
		if (nf && nb) kk_str_cats(&line, "; ");
		if (nb) kk_stateprint_backend(&line, &st->backends[fb], "remove");
		snprintf(err, errlen, "cluster remove: cluster \"%s\" is still used by %zu "
		    "frontend%s and %zu backend%s; remove them first (see: frontend list %s, "
		    "backend list %s), e.g. with: %s", id, nf, nf == 1 ? "" : "s", nb,
		    nb == 1 ? "" : "s", id, id, line.s ? line.s : "");
		kk_str_free(&line);
		return 0;
	}
	free(c->id);
	i = (size_t)(c - st->clusters);
	memmove(c, c + 1, (st->nclusters - i - 1) * sizeof *c);
	st->nclusters--;
	return 1;
}

/* The frontend a verb names, with borrowed strings: host folded to lower
 * case into hostbuf, listener made canonical into lbuf. */
static void
frontend_of(const kk_verb *v, kk_frontend *f, char *hostbuf, char *lbuf)
{
	const char *host = kk_verb_opt(v, "--host"), *path = kk_verb_opt(v, "--path");
	const char *exact = kk_verb_opt(v, "--path-exact");
	memset(f, 0, sizeof *f);
	f->cluster = (char *)v->pos[0];
	canon_addr(kk_verb_opt(v, "--listener"), lbuf);
	f->listener = lbuf;
	if (host) {
		size_t i;
		for (i = 0; host[i] && i < HOST_BUF - 1; i++)
			hostbuf[i] = (host[i] >= 'A' && host[i] <= 'Z') ? host[i] + 32 : host[i];
		hostbuf[i] = 0;
		f->host = hostbuf;
	}
	f->path_kind = path ? KK_PATH_PREFIX : exact ? KK_PATH_EXACT : KK_PATH_ANY;
	f->path = (char *)(path ? path : exact);
	f->method = (char *)kk_verb_opt(v, "--method");
}

static int
same_str(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

static int
same_frontend(const kk_frontend *a, const kk_frontend *b)
{
	return !strcmp(a->cluster, b->cluster) && !strcmp(a->listener, b->listener)
	    && same_str(a->host, b->host) && a->path_kind == b->path_kind
	    && same_str(a->path, b->path) && same_str(a->method, b->method);
}

static kk_frontend *
find_frontend(const kk_state *st, const kk_frontend *f)
{
	for (size_t i = 0; i < st->nfrontends; i++)
		if (same_frontend(&st->frontends[i], f))
			return &st->frontends[i];
	return 0;
}

static int
frontend_fail(char *err, size_t errlen, const kk_frontend *f, const char *fmt)
{
	kk_str line = KK_STR_ZERO;
	kk_stateprint_frontend(&line, f, "add");
	snprintf(err, errlen, fmt, line.s ? line.s : "");
	kk_str_free(&line);
	return 0;
}

static int
apply_frontend_add(kk_state *st, const kk_verb *v, char *err, size_t errlen)
{
	char hostbuf[HOST_BUF], lbuf[KK_ADDR_FMTLEN];
	kk_frontend f, copy;
	int ok = 1;
	frontend_of(v, &f, hostbuf, lbuf);
	if (!kk_state_cluster(st, f.cluster)) {
		snprintf(err, errlen, "frontend add: cluster \"%s\" does not exist; add it with: "
		    "cluster add %s", f.cluster, f.cluster);
		return 0;
	}
	if (!kk_state_listener(st, f.listener)) {
		snprintf(err, errlen, "frontend add: listener %s does not exist; add it with: "
		    "listener add http %s", f.listener, f.listener);
		return 0;
	}
	if (find_frontend(st, &f))
		return frontend_fail(err, errlen, &f, "frontend add: this frontend already "
		    "exists: %s");
	copy = f;
	copy.cluster = dup_opt(f.cluster, &ok);
	copy.listener = dup_opt(f.listener, &ok);
	copy.host = dup_opt(f.host, &ok);
	copy.path = dup_opt(f.path, &ok);
	copy.method = dup_opt(f.method, &ok);
	if (!ok || !grow(&st->frontends, st->nfrontends, &st->afrontends, sizeof copy)) {
		free_frontend(&copy);
		return nomem(err, errlen, v);
	}
	st->frontends[st->nfrontends++] = copy;
	return 1;
}

static int
apply_frontend_remove(kk_state *st, const kk_verb *v, char *err, size_t errlen)
{
	char hostbuf[HOST_BUF], lbuf[KK_ADDR_FMTLEN];
	kk_frontend f, *found;
	size_t i;
	frontend_of(v, &f, hostbuf, lbuf);
	if (!(found = find_frontend(st, &f)))
		return frontend_fail(err, errlen, &f, "frontend remove: no frontend matches "
		    "exactly (every match option counts; see: frontend list): %s");
	free_frontend(found);
	i = (size_t)(found - st->frontends);
	memmove(found, found + 1, (st->nfrontends - i - 1) * sizeof *found);
	st->nfrontends--;
	return 1;
}

static int
apply_backend_add(kk_state *st, const kk_verb *v, char *err, size_t errlen)
{
	const char *cluster = v->pos[0], *id = v->pos[1], *weight = kk_verb_opt(v, "--weight");
	char text[KK_ADDR_FMTLEN];
	unsigned long w = KK_DEFAULT_WEIGHT;
	kk_backend b;
	int ok = 1;
	memset(&b, 0, sizeof b);
	if (!kk_state_cluster(st, cluster)) {
		snprintf(err, errlen, "backend add: cluster \"%s\" does not exist; add it with: "
		    "cluster add %s", cluster, cluster);
		return 0;
	}
	if (kk_state_backend(st, cluster, id)) {
		snprintf(err, errlen, "backend add: backend \"%s\" already exists in cluster "
		    "\"%s\"; to change it, remove it first with: backend remove %s %s", id,
		    cluster, cluster, id);
		return 0;
	}
	if (!kk_addr_parse(&b.addr, v->pos[2])) {
		snprintf(err, errlen, "backend add: \"%s\" is not an address", v->pos[2]);
		return 0;
	}
	kk_addr_fmt(text, &b.addr);
	if (weight) kk_scan_uint(weight, 0, 1000, &w);
	b.weight = (unsigned)w;
	b.backup = !!kk_verb_opt(v, "--backup");
	b.cluster = dup_opt(cluster, &ok);
	b.id = dup_opt(id, &ok);
	b.addr_text = dup_opt(text, &ok);
	if (!ok || !grow(&st->backends, st->nbackends, &st->abackends, sizeof b)) {
		free_backend(&b);
		return nomem(err, errlen, v);
	}
	st->backends[st->nbackends++] = b;
	return 1;
}

static int
apply_backend_remove(kk_state *st, const kk_verb *v, char *err, size_t errlen)
{
	kk_backend *b = kk_state_backend(st, v->pos[0], v->pos[1]);
	size_t i;
	if (!b) {
		if (!kk_state_cluster(st, v->pos[0]))
			snprintf(err, errlen, "backend remove: cluster \"%s\" does not exist; "
			    "see: cluster list", v->pos[0]);
		else
			snprintf(err, errlen, "backend remove: backend \"%s\" does not exist in "
			    "cluster \"%s\"; see: backend list %s", v->pos[1], v->pos[0], v->pos[0]);
		return 0;
	}
	free_backend(b);
	i = (size_t)(b - st->backends);
	memmove(b, b + 1, (st->nbackends - i - 1) * sizeof *b);
	st->nbackends--;
	return 1;
}

static int
apply_set(kk_state *st, const kk_verb *v, char *err, size_t errlen)
{
	kk_settings next;
	char msg[KK_ERRLEN];
	if (!kk_setting_copy(&next, &st->set)) return nomem(err, errlen, v);
	if (!kk_setting_apply(&next, v->pos[0], v->pos[1], msg, sizeof msg)) {
		kk_setting_free(&next);
		snprintf(err, errlen, "set: %s", msg);
		return 0;
	}
	kk_setting_free(&st->set);
	st->set = next;
	return 1;
}

int
kk_state_apply(kk_state *st, const kk_verb *v, char *err, size_t errlen)
{
	switch (v->def->id) {
	case KK_V_SET: return apply_set(st, v, err, errlen);
	case KK_V_LISTENER_ADD: return apply_listener_add(st, v, err, errlen);
	case KK_V_LISTENER_REMOVE: return apply_listener_remove(st, v, err, errlen);
	case KK_V_CLUSTER_ADD: return apply_cluster_add(st, v, err, errlen);
	case KK_V_CLUSTER_REMOVE: return apply_cluster_remove(st, v, err, errlen);
	case KK_V_FRONTEND_ADD: return apply_frontend_add(st, v, err, errlen);
	case KK_V_FRONTEND_REMOVE: return apply_frontend_remove(st, v, err, errlen);
	case KK_V_BACKEND_ADD: return apply_backend_add(st, v, err, errlen);
	case KK_V_BACKEND_REMOVE: return apply_backend_remove(st, v, err, errlen);
	default:
		snprintf(err, errlen, "%s%s%s: not a change of the state; it cannot appear in a "
		    "config or state file", v->def->word1, v->def->word2 ? " " : "",
		    v->def->word2 ? v->def->word2 : "");
		return 0;
	}
}

/* One line of a batch: split, parse, check, apply to next. */
static int
load_line(kk_state *next, char *line, char *msg, size_t msglen)
{
	char *argv[KK_LINE_MAXWORDS];
	unsigned argc;
	kk_verb v;
	if (!kk_line_split(line, argv, KK_LINE_MAXWORDS, &argc, msg, msglen)) return 0;
	if (!argc) return 1;
	if (!kk_verb_parse(&v, argc, (const char *const *)argv, msg, msglen)) return 0;
	if (!(v.def->flags & KK_VERB_F_CONFIG)) {
		snprintf(msg, msglen, "%s%s%s: a runtime command, not allowed in a config or "
		    "state file", v.def->word1, v.def->word2 ? " " : "",
		    v.def->word2 ? v.def->word2 : "");
		return 0;
	}
	return kk_state_apply(next, &v, msg, msglen);
}

int
kk_state_load_text(kk_state *st, const char *text, size_t len, const char *source,
    char *err, size_t errlen)
{
	kk_state next;
	char msg[KK_ERRLEN];
	char *line = 0;
	size_t pos = 0, lineno = 0, linecap = 0;
	if (!kk_state_copy(&next, st)) {
		snprintf(err, errlen, "%s: out of memory; nothing changed", source);
		return 0;
	}
	while (pos < len) {
		const char *start = text + pos, *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		pos += n + !!nl;
		lineno++;
		if (memchr(start, 0, n)) {
			snprintf(msg, sizeof msg, "NUL byte in the line; is this a text file?");
			goto fail;
		}
		if (n && start[n - 1] == '\r') n--;
		if (n + 1 > linecap) {
			char *p = realloc(line, n + 1);
			if (!p) {
				snprintf(msg, sizeof msg, "out of memory");
				goto fail;
			}
			line = p;
			linecap = n + 1;
		}
		memcpy(line, start, n);
		line[n] = 0;
		if (!load_line(&next, line, msg, sizeof msg)) goto fail;
	}
	free(line);
	kk_state_free(st);
	*st = next;
	return 1;
fail:
	snprintf(err, errlen, "%s:%zu: %s", source, lineno, msg);
	free(line);
	kk_state_free(&next);
	return 0;
}

int
kk_state_load_file(kk_state *st, const char *path, char *err, size_t errlen)
{
	kk_str text = KK_STR_ZERO;
	struct stat sb;
	int fd, r;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "unable to open %s: %s", path, strerror(errno));
		return 0;
	}
	if (fstat(fd, &sb) < 0) {
		snprintf(err, errlen, "unable to stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "unable to read %s: it is a directory", path);
		goto fail;
	}
	for (;;) {
		ssize_t n;
		if (text.len > LOAD_MAX) {
			snprintf(err, errlen, "unable to read %s: larger than %lu MiB", path,
			    LOAD_MAX >> 20);
			goto fail;
		}
		if (!kk_str_ready(&text, 65536)) {
			snprintf(err, errlen, "unable to read %s: %s", path, strerror(errno));
			goto fail;
		}
		n = read(fd, text.s + text.len, text.cap - text.len - 1);
		if (n < 0) {
			if (errno == EINTR) continue;
			snprintf(err, errlen, "unable to read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (!n) break;
		text.len += (size_t)n;
	}
	close(fd);
	r = kk_state_load_text(st, text.s ? text.s : "", text.len, path, err, errlen);
	kk_str_free(&text);
	return r;
fail:
	close(fd);
	kk_str_free(&text);
	return 0;
}
