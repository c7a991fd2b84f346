/* ISC license. */
/* The health verdicts (doc/health.html): which backends are out, decided
 * here from what the workers report (kakehi/proto.h, health), so that
 * every worker holds the same verdict. Each transition is broadcast to
 * the workers, logged, sent as an event and counted in status; a worker
 * starting gets the verdicts in force. The table holds the backends out
 * only, found by cluster and backend id. Nothing is timed here: the
 * backoff travels with the verdict and the workers time the retry. It
 * is not carried through an in-place upgrade: the workers keep their
 * verdicts, and the next report starts a backend's backoff again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kakehi/index.h>
#include <kakehi/proto.h>
#include "sv.h"

typedef struct out out;
struct out {
	char *key;		/* CLUSTER NUL BACKEND NUL */
	size_t klen;		/* both parts and the first NUL */
	unsigned long backoff_ms;
	tain at;		/* when the last verdict down went out */
	/* By kakehi-check: out until it says up, no retry by requests
	 * (a backend taken down on purpose still answers them). */
	int held;
};

static out *outs;
static size_t nouts, aouts;
static kk_index by_key;
static unsigned long long ndowns, nups, nretries;

static size_t
make_key(char *buf, size_t max, const char *cluster, const char *backend)
{
	size_t c = strlen(cluster), b = strlen(backend);
	if (c + b + 2 > max)
		return 0;
	memcpy(buf, cluster, c + 1);
	memcpy(buf + c + 1, backend, b + 1);
	return c + 1 + b;
}

static out *
find(const char *key, size_t klen)
{
	size_t *v = kk_index_get(&by_key, key, klen);
	return v ? &outs[*v] : NULL;
}

static out *
add(const char *key, size_t klen)
{
	out *o;
	if (nouts == aouts) {
		size_t n = aouts ? 2 * aouts : 8;
		out *m = realloc(outs, n * sizeof *m);
		if (!m)
			return NULL;
		outs = m;
		aouts = n;
	}
	o = &outs[nouts];
	if (!(o->key = malloc(klen + 1)))
		return NULL;
	memcpy(o->key, key, klen + 1);
	o->klen = klen;
	if (!kk_index_put(&by_key, key, klen, nouts)) {
		free(o->key);
		return NULL;
	}
	nouts++;
	return o;
}

/* Removes o: the last entry takes its place. */
static void
drop(out *o)
{
	size_t i = (size_t)(o - outs);
	kk_index_del(&by_key, o->key, o->klen);
	free(o->key);
	if (i != --nouts) {
		outs[i] = outs[nouts];
		*kk_index_get(&by_key, outs[i].key, outs[i].klen) = i;
	}
}

static const char *
backend_of(const out *o)
{
	return o->key + strlen(o->key) + 1;
}

/* "health C B down MS" with MS what is left of o's backoff, "-" for a
 * held verdict (up: "... up"). */
static int
send_verdict(sv_worker *w, const char *cluster, const char *backend, int up,
    unsigned long ms, int held)
{
	char msbuf[24];
	const char *argv[5] = { KK_MSG_HEALTH, cluster, backend, up ? "up" : "down", msbuf };
	snprintf(msbuf, sizeof msbuf, held ? KK_HEALTH_HELD : "%lu", ms);
	return sv_worker_send(w, up ? 4 : 5, argv);
}

static void
broadcast(const char *cluster, const char *backend, int up, unsigned long ms, int held)
{
	unsigned i;
	for (i = 0; i < SV_MAX_SLOTS; i++)
		if (sv_worker_follows(&sv.workers[i]))
			send_verdict(&sv.workers[i], cluster, backend, up, ms, held);
}

static void
health_event(const char *cluster, const char *backend, const char *state, const char *was,
    const char *by, unsigned long ms)
{
	sv_event e;
	if (!sv_event_begin(&e, "health"))
		return;
	sv_event_str(&e, "cluster", cluster);
	sv_event_str(&e, "backend", backend);
	sv_event_str(&e, "state", state);
	sv_event_str(&e, "was", was);
	sv_event_str(&e, "by", by);
	if (ms)
		sv_event_num(&e, "retry-ms", ms);
	sv_event_end(&e);
}

/* kakehi-check's word: held verdicts, which only it lifts. */
static void
report_held(const char *by, const char *cluster, const char *backend, const char *key,
    size_t klen, int up)
{
	out *o = find(key, klen);
	char cl[128], be[128];
	sv_scrub(cl, sizeof cl, cluster);
	sv_scrub(be, sizeof be, backend);
	if (up) {
		/* Out by requests' failures: theirs to retry. Unknown here: a
		 * verdict the workers may hold from before an in-place upgrade
		 * (this table is not carried), which only this lifts. */
		if (!o) {
			broadcast(cluster, backend, 1, 0, 0);
			return;
		}
		if (!o->held)
			return;
		drop(o);
		nups++;
		sv_info("backend %s of cluster %s is up again (its health check passes)", be, cl);
		broadcast(cluster, backend, 1, 0, 0);
		health_event(cluster, backend, "up", "down", by, 0);
		return;
	}
	if (o && o->held)
		return;
	if (!o && !(o = add(key, klen))) {
		sv_warn("out of memory taking backend %s of cluster %s out; the workers "
		    "keep choosing it", be, cl);
		return;
	}
	o->held = 1;
	o->backoff_ms = 0;
	sv_now(&o->at);
	ndowns++;
	sv_warn("backend %s of cluster %s is down (its health check fails); taken out of the "
	    "cluster until it passes", be, cl);
	broadcast(cluster, backend, 0, 0, 1);
	health_event(cluster, backend, "down", "up", by, 0);
}

void
sv_health_report(const char *by, int held, unsigned argc, char **argv)
{
	char key[2 * KK_ERRLEN], cl[128], be[128];
	size_t klen;
	out *o;
	int up;
	if (argc != 4 || (strcmp(argv[3], "up") && strcmp(argv[3], "down"))
	    || !(klen = make_key(key, sizeof key, argv[1], argv[2]))) {
		sv_warn("%s sent a malformed health report; ignored", by);
		return;
	}
	/* A change may have removed it while the report travelled. */
	if (!kk_state_backend(&sv.state, argv[1], argv[2]))
		return;
	sv_scrub(cl, sizeof cl, argv[1]);
	sv_scrub(be, sizeof be, argv[2]);
	up = !strcmp(argv[3], "up");
	if (held) {
		report_held(by, argv[1], argv[2], key, klen, up);
		return;
	}
	o = find(key, klen);
	/* Held by the active check: requests neither put it back nor
	 * lengthen anything. */
	if (o && o->held)
		return;
	if (up) {
		if (!o)
			return;		/* up already: another worker said so first */
		drop(o);
		nups++;
		sv_info("backend %s of cluster %s is up again (a retry through %s succeeded)",
		    be, cl, by);
		broadcast(argv[1], argv[2], 1, 0, 0);
		health_event(argv[1], argv[2], "up", "down", by, 0);
		return;
	}
	if (o) {
		/* Out already: a failed retry doubles the backoff, once per
		 * retry window, however many workers tried at its end. */
		if (sv_ms_since(&o->at) < (long long)o->backoff_ms)
			return;
		o->backoff_ms = kk_health_backoff_next(o->backoff_ms);
		sv_now(&o->at);
		nretries++;
		sv_info("backend %s of cluster %s is still down (a retry through %s failed); "
		    "next retry in %lu ms", be, cl, by, o->backoff_ms);
		broadcast(argv[1], argv[2], 0, o->backoff_ms, 0);
		return;
	}
	if (!(o = add(key, klen))) {
		sv_warn("out of memory taking backend %s of cluster %s out; the workers "
		    "keep choosing it", be, cl);
		return;
	}
	o->held = 0;
	o->backoff_ms = kk_health_backoff_next(0);
	sv_now(&o->at);
	ndowns++;
	sv_warn("backend %s of cluster %s is down (reported by %s); taken out of the cluster, "
	    "retried in %lu ms", be, cl, by, o->backoff_ms);
	broadcast(argv[1], argv[2], 0, o->backoff_ms, 0);
	health_event(argv[1], argv[2], "down", "up", by, o->backoff_ms);
}

/* The clusters that had a health check at the last sweep, by id: when
 * one loses it, the workers may hold verdicts of it this table does not
 * know (from before an in-place upgrade), so each of its backends not
 * out by requests is put back. Rare (a check removed), hence the pass
 * over the backends. */
static kk_index checked;

static void
lift_backends_of(const char *id)
{
	size_t k;
	for (k = 0; k < sv.state.nbackends; k++) {
		const kk_backend *b = &sv.state.backends[k];
		char key[2 * KK_ERRLEN];
		size_t klen;
		if (!b->cluster || strcmp(b->cluster, id))
			continue;
		klen = make_key(key, sizeof key, id, b->id);
		if (klen && !find(key, klen))
			broadcast(id, b->id, 1, 0, 0);
	}
}

static void
lift_unchecked(void)
{
	kk_index now = KK_INDEX_ZERO;
	size_t i;
	for (i = 0; i < sv.state.nclusters; i++) {
		const kk_cluster *c = &sv.state.clusters[i];
		if (c->id && c->hc.path && !kk_index_put(&now, c->id, strlen(c->id), 1)) {
			kk_index_free(&now);
			return;		/* out of memory: the next sweep sees it */
		}
	}
	for (i = 0; i < checked.nslots; i++) {
		const kk_index_slot *s = &checked.slots[i];
		if (kk_index_get(&checked, s->key, s->klen) && !kk_index_get(&now, s->key, s->klen)
		    && kk_state_cluster(&sv.state, s->key))
			lift_backends_of(s->key);
	}
	kk_index_free(&checked);
	checked = now;
}

void
sv_health_sweep(void)
{
	size_t i = 0;
	lift_unchecked();
	while (i < nouts) {
		const kk_cluster *c = kk_state_cluster(&sv.state, outs[i].key);
		if (!kk_state_backend(&sv.state, outs[i].key, backend_of(&outs[i]))) {
			drop(&outs[i]);
		} else if (outs[i].held && !c->hc.path) {
			/* Its check removed: nothing will lift the verdict. */
			broadcast(outs[i].key, backend_of(&outs[i]), 1, 0, 0);
			nups++;
			drop(&outs[i]);
		} else
			i++;
	}
}

int
sv_health_send(sv_worker *w)
{
	size_t i;
	sv_health_sweep();
	for (i = 0; i < nouts; i++) {
		long long left = (long long)outs[i].backoff_ms - sv_ms_since(&outs[i].at);
		if (!send_verdict(w, outs[i].key, backend_of(&outs[i]), 0,
		    left > 0 ? (unsigned long)left : 0, outs[i].held))
			return 0;
	}
	return 1;
}

void
sv_health_status(kk_str *out, int json)
{
	size_t i;
	sv_health_sweep();
	if (json) {
		kk_str_catf(out, ",\"health\":{\"downs\":%llu,\"ups\":%llu,\"failed_retries\":%llu,"
		    "\"out\":[", ndowns, nups, nretries);
		for (i = 0; i < nouts; i++) {
			long long left = (long long)outs[i].backoff_ms - sv_ms_since(&outs[i].at);
			kk_str_cats(out, i ? ",{\"cluster\":" : "{\"cluster\":");
			kk_str_catjson(out, outs[i].key);
			kk_str_cats(out, ",\"backend\":");
			kk_str_catjson(out, backend_of(&outs[i]));
			if (outs[i].held)
				kk_str_cats(out, ",\"held\":true}");
			else
				kk_str_catf(out, ",\"backoff_ms\":%lu,\"retry_in_ms\":%lld}",
				    outs[i].backoff_ms, left > 0 ? left : 0);
		}
		kk_str_cats(out, "]}");
		return;
	}
	kk_str_catf(out, "health %zu out, %llu downs, %llu ups, %llu failed retries\n", nouts,
	    ndowns, nups, nretries);
	for (i = 0; i < nouts; i++) {
		long long left = (long long)outs[i].backoff_ms - sv_ms_since(&outs[i].at);
		kk_str_cats(out, "health-out ");
		kk_str_catword(out, outs[i].key);
		kk_str_cats(out, " ");
		kk_str_catword(out, backend_of(&outs[i]));
		if (outs[i].held)
			kk_str_cats(out, " held-by-check\n");
		else
			kk_str_catf(out, " backoff %lums retry-in %lldms\n", outs[i].backoff_ms,
			    left > 0 ? left : 0);
	}
}
