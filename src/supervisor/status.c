/* ISC license. */
/* The status verb: the supervisor's own view (pid, generation, uptime,
 * each worker's lifecycle), then the totals of the counters asked from
 * every ready worker and the backends they avoid now, and with --workers
 * each worker's own counters; gathered under a deadline so one stuck
 * worker cannot hang the reply.
 * Several requests may be out at once; a worker answers in order, so an
 * answer belongs to the oldest request still waiting for that worker. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kakehi/hist.h>
#include <kakehi/proto.h>

#include "sv.h"

#define STATUS_MAX_PENDING 16
/* Counters are cheap to produce: a worker that needs longer is stuck,
 * and status must still answer. */
#define STATUS_TIMEOUT_MS 2000

typedef struct poll_req poll_req;
struct poll_req {
	int active;
	sv_origin origin;
	int json;
	int per_worker;		/* --workers */
	tain deadline;
	char waiting[SV_MAX_SLOTS];
	unsigned nwaiting;
	char *counters[SV_MAX_SLOTS];	/* the worker's "key value" lines */
};

static poll_req reqs[STATUS_MAX_PENDING];
static unsigned long long seq[STATUS_MAX_PENDING], next_seq = 1;

void
sv_status_deadline(tain *earliest)
{
	unsigned i;

	for (i = 0; i < STATUS_MAX_PENDING; i++)
		if (reqs[i].active)
			sv_deadline_earliest(earliest, &reqs[i].deadline);
}

/* The histograms a worker sends ("latency-NAME HIST", kakehi/hist.h),
 * shown as these percentiles. */
static const char *const hist_keys[] = { "latency-ttfb", "latency-total" };
#define HIST_KEYS (sizeof hist_keys / sizeof *hist_keys)
static const unsigned hist_permille[] = { 500, 900, 990 };

/* Which of hist_keys the line p[0, len) carries, read into h; -1 when
 * it is another line, or its histogram does not parse. */
static int
hist_line(const char *p, size_t len, kk_hist *h)
{
	unsigned i;

	for (i = 0; i < HIST_KEYS; i++) {
		size_t k = strlen(hist_keys[i]);
		if (len > k && !memcmp(p, hist_keys[i], k) && p[k] == ' ')
			return kk_hist_scan(h, p + k + 1, len - k - 1) ? (int)i : -1;
	}
	return -1;
}

/* Histogram i's percentiles: "KEY-pNN-us N" lines, each after lead; as
 * JSON members (json), the first after lead ("," or ""). */
static void
percentiles(kk_str *out, unsigned i, const kk_hist *h, const char *lead, int json)
{
	unsigned k;

	for (k = 0; k < sizeof hist_permille / sizeof *hist_permille; k++) {
		unsigned long long v = kk_hist_quantile(h, hist_permille[k]);
		if (json)
			kk_str_catf(out, "%s\"%s-p%u-us\":%llu", k ? "," : lead, hist_keys[i],
			    hist_permille[k] / 10, v);
		else
			kk_str_catf(out, "%s%s-p%u-us %llu\n", lead, hist_keys[i],
			    hist_permille[k] / 10, v);
	}
}

/* Counters as JSON members: numbers stay numbers, histograms become
 * their percentiles. */
static void
counters_json(kk_str *out, const char *text)
{
	const char *p = text;
	int first = 1;

	kk_str_cats(out, "{");
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[512];
		char *sp;
		kk_hist h;
		int hi;

		if ((hi = hist_line(p, len, &h)) >= 0) {
			percentiles(out, (unsigned)hi, &h, first ? "" : ",", 1);
			first = 0;
			p += len + (eol ? 1 : 0);
			continue;
		}
		if (len >= sizeof line)
			len = sizeof line - 1;
		memcpy(line, p, len);
		line[len] = 0;
		p += len + (eol ? 1 : 0);
		sp = strchr(line, ' ');
		if (!len || !sp)
			continue;
		*sp++ = 0;
		kk_str_cats(out, first ? "" : ",");
		first = 0;
		kk_str_catjson(out, line);
		kk_str_cats(out, ":");
		if (*sp && strspn(sp, "0123456789") == strlen(sp) && strlen(sp) < 19)
			kk_str_cats(out, sp);
		else
			kk_str_catjson(out, sp);
	}
	kk_str_cats(out, "}");
}

/* The counters an operator reads first, summed over the workers, in
 * this order; then, under these prefixes, whichever are not zero. */
static const char *const total_keys[] = {
	"connections-active", "connections-total", "requests", "responses-1xx",
	"responses-2xx", "responses-3xx", "responses-4xx", "responses-5xx", "retries",
	"back-connects", "back-reused", "back-active", "back-idle", "accept-errors",
	"tunnels-active", "tls-handshakes", "tls-resumed", "tls-handshake-failures",
	"h2-connections", "h2-streams", "bytes-in", "bytes-out",
};
static const char *const total_prefixes[] = {
	"errors-", "closes-", "h2-errors-", "h2-flood-", "clienthello-", "proxy-",
	"access-log-", "answers-", "auth-", "health-",
};
#define TOTAL_KEYS (sizeof total_keys / sizeof *total_keys)
/* Room for every prefixed counter a worker prints (about 90 today). */
#define TOTAL_MAX 192
/* Addresses listed as avoided; past this, only their number. */
#define DOWN_MAX 64

typedef struct totals totals;
struct totals {
	unsigned nworkers;
	unsigned long long sum[TOTAL_KEYS];
	struct { char key[48]; unsigned long long v; } more[TOTAL_MAX];
	unsigned nmore;
	/* "backend-down ADDR": an address one worker avoids after failed
	 * connects, and how many workers do. */
	struct { char addr[KK_ADDR_FMTLEN]; unsigned workers; } down[DOWN_MAX];
	unsigned ndown, down_dropped;
	kk_hist hist[HIST_KEYS];	/* merged over the workers */
};

static int
prefixed(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof total_prefixes / sizeof *total_prefixes; i++)
		if (!strncmp(key, total_prefixes[i], strlen(total_prefixes[i])))
			return 1;
	return 0;
}

static void
add_down(totals *t, const char *addr)
{
	unsigned i;

	for (i = 0; i < t->ndown; i++)
		if (!strcmp(t->down[i].addr, addr)) {
			t->down[i].workers++;
			return;
		}
	if (t->ndown == DOWN_MAX || strlen(addr) >= sizeof t->down[0].addr) {
		t->down_dropped++;
		return;
	}
	snprintf(t->down[t->ndown].addr, sizeof t->down[0].addr, "%s", addr);
	t->down[t->ndown++].workers = 1;
}

/* Adds one worker's "key value" lines. */
static void
add_counters(totals *t, const char *text)
{
	const char *p = text;

	t->nworkers++;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[256], *val;
		unsigned long long n;
		size_t i;
		kk_hist h;
		int hi;

		if ((hi = hist_line(p, len, &h)) >= 0) {
			kk_hist_merge(&t->hist[hi], &h);
			p += len + (eol ? 1 : 0);
			continue;
		}
		if (len >= sizeof line)
			len = sizeof line - 1;
		memcpy(line, p, len);
		line[len] = 0;
		p += len + (eol ? 1 : 0);
		if (!(val = strchr(line, ' ')))
			continue;
		*val++ = 0;
		if (!strcmp(line, "backend-down")) {
			add_down(t, val);
			continue;
		}
		if (!*val || strspn(val, "0123456789") != strlen(val) || strlen(val) > 19)
			continue;
		n = strtoull(val, 0, 10);
		for (i = 0; i < TOTAL_KEYS && strcmp(total_keys[i], line); i++)
			;
		if (i < TOTAL_KEYS) {
			t->sum[i] += n;
			continue;
		}
		if (!prefixed(line) || strlen(line) >= sizeof t->more[0].key)
			continue;
		for (i = 0; i < t->nmore && strcmp(t->more[i].key, line); i++)
			;
		if (i == t->nmore) {
			if (t->nmore == TOTAL_MAX)
				continue;
			snprintf(t->more[t->nmore++].key, sizeof t->more[0].key, "%s", line);
			t->more[i].v = 0;
		}
		t->more[i].v += n;
	}
}

/* The backends at an address, as "cluster/id" words, in state order. */
static void
backends_at(kk_str *out, const char *addr, int json)
{
	size_t i;
	int first = 1;

	for (i = 0; i < sv.state.nbackends; i++) {
		const kk_backend *b = &sv.state.backends[i];
		if (!b->cluster || strcmp(b->addr_text, addr))
			continue;
		if (json) {
			kk_str_cats(out, first ? "" : ",");
			kk_str_cats(out, "{\"cluster\":");
			kk_str_catjson(out, b->cluster);
			kk_str_cats(out, ",\"backend\":");
			kk_str_catjson(out, b->id);
			kk_str_cats(out, "}");
		} else
			kk_str_catf(out, " %s/%s", b->cluster, b->id);
		first = 0;
	}
}

static void
render_totals(const totals *t, kk_str *out, int json)
{
	unsigned long nc = sv.state.nclusters - sv.state.dclusters;
	unsigned long nf = sv.state.nfrontends - sv.state.dfrontends;
	unsigned long nb = sv.state.nbackends - sv.state.dbackends;
	unsigned i;

	if (json) {
		kk_str_catf(out, ",\"objects\":{\"clusters\":%lu,\"frontends\":%lu,"
		    "\"backends\":%lu},\"totals\":{\"workers\":%u", nc, nf, nb, t->nworkers);
		for (i = 0; i < TOTAL_KEYS; i++)
			kk_str_catf(out, ",\"%s\":%llu", total_keys[i], t->sum[i]);
		for (i = 0; i < t->nmore; i++)
			if (t->more[i].v)
				kk_str_catf(out, ",\"%s\":%llu", t->more[i].key, t->more[i].v);
		for (i = 0; i < HIST_KEYS; i++)
			percentiles(out, i, &t->hist[i], ",", 1);
		kk_str_cats(out, "},\"backends_avoided\":[");
		for (i = 0; i < t->ndown; i++) {
			kk_str_cats(out, i ? ",{\"address\":" : "{\"address\":");
			kk_str_catjson(out, t->down[i].addr);
			kk_str_catf(out, ",\"workers\":%u,\"backends\":[", t->down[i].workers);
			backends_at(out, t->down[i].addr, 1);
			kk_str_cats(out, "]}");
		}
		kk_str_catf(out, "],\"backends_avoided_unlisted\":%u", t->down_dropped);
		return;
	}
	kk_str_catf(out, "objects %lu clusters, %lu frontends, %lu backends\n", nc, nf, nb);
	/* "total KEY VALUE", apart from the workers' own indented lines. */
	kk_str_catf(out, "totals from %u worker%s\n", t->nworkers, t->nworkers == 1 ? "" : "s");
	for (i = 0; i < TOTAL_KEYS; i++)
		kk_str_catf(out, "total %s %llu\n", total_keys[i], t->sum[i]);
	for (i = 0; i < t->nmore; i++)
		if (t->more[i].v)
			kk_str_catf(out, "total %s %llu\n", t->more[i].key, t->more[i].v);
	for (i = 0; i < HIST_KEYS; i++)
		percentiles(out, i, &t->hist[i], "total ", 0);
	/* Avoided: refused a connect in the last seconds (a worker retries
	 * it after KK_BEND_DOWN_MS); the state's backends at that address. */
	for (i = 0; i < t->ndown; i++) {
		kk_str_catf(out, "backend-avoided %s in %u of %u worker%s:", t->down[i].addr,
		    t->down[i].workers, t->nworkers, t->nworkers == 1 ? "" : "s");
		backends_at(out, t->down[i].addr, 0);
		kk_str_cats(out, "\n");
	}
	if (t->down_dropped)
		kk_str_catf(out, "backend-avoided %u more not listed\n", t->down_dropped);
}

static void
render(poll_req *r, kk_str *out)
{
	long long up = sv_ms_since(&sv.started_at) / 1000;
	unsigned i, nready = 0, nlive = 0;
	totals *t = calloc(1, sizeof *t);

	if (!t) {
		kk_str_cats(out, "out of memory for the status\n");
		return;
	}
	for (i = 0; i < SV_MAX_SLOTS; i++)
		if (r->counters[i])
			add_counters(t, r->counters[i]);

	for (i = 0; i < SV_MAX_SLOTS; i++) {
		if (sv.workers[i].state == SV_W_READY)
			nready++;
		if (sv.workers[i].state != SV_W_GONE)
			nlive++;
	}
	if (r->json) {
		int first = 1;
		kk_str_catf(out, "{\"pid\":%d,\"generation\":%llu,\"uptime_s\":%lld,"
		    "\"upgrades\":%u,\"config\":", (int)getpid(), (unsigned long long)sv.gen, up,
		    sv.upgrades);
		kk_str_catjson(out, sv.config);
		kk_str_cats(out, ",\"control_socket\":");
		kk_str_catjson(out, sv.socket_path);
		kk_str_catf(out, ",\"workers_wanted\":%u,\"workers_ready\":%u,"
		    "\"stopping\":%s,\"worker_binary\":", sv.want, nready,
		    sv.stopping ? "true" : "false");
		kk_str_catjson(out, sv.worker_bin);
		kk_str_catf(out, ",\"worker_binary_serial\":%u", sv.worker_serial);
		sv_tlskeys_status(out, 1);
		sv_health_status(out, 1);
		sv_checker_status(out, 1);
		kk_str_cats(out, ",\"workers\":[");
		for (i = 0; i < SV_MAX_SLOTS; i++) {
			sv_worker *w = &sv.workers[i];
			if (w->state == SV_W_GONE)
				continue;
			kk_str_catf(out, "%s{\"id\":%u,\"pid\":%d,\"state\":\"%s\","
			    "\"restarts\":%u,\"generation\":%llu", first ? "" : ",", w->id,
			    (int)w->pid, sv_wstate_name(w->state), w->restarts,
			    (unsigned long long)w->acked_gen);
			if (w->late)
				kk_str_cats(out, ",\"late\":true");
			if (w->replaced_by)
				kk_str_catf(out, ",\"replaced_by\":%u", w->replaced_by - 1);
			if (w->replaces)
				kk_str_catf(out, ",\"replaces\":%u", w->replaces - 1);
			kk_str_catf(out, ",\"binary\":%u,\"why\":", w->bin_serial);
			kk_str_catjson(out, w->why);
			first = 0;
			if (r->counters[i] && r->per_worker) {
				kk_str_cats(out, ",\"counters\":");
				counters_json(out, r->counters[i]);
			}
			kk_str_cats(out, "}");
		}
		kk_str_cats(out, "]");
		render_totals(t, out, 1);
		sv_roll_status(out, 1);
		kk_str_cats(out, "}\n");
		free(t);
		return;
	}
	kk_str_catf(out, "supervisor pid %d\ngeneration %llu\nuptime %llds\nupgrades %u\n",
	    (int)getpid(), (unsigned long long)sv.gen, up, sv.upgrades);
	kk_str_catf(out, "config %s\ncontrol-socket %s\n", sv.config, sv.socket_path);
	kk_str_catf(out, "workers %u wanted, %u ready, %u running%s\n", sv.want, nready,
	    nlive, sv.stopping ? ", stopping" : "");
	kk_str_catf(out, "worker-binary %s (binary %u)\n", sv.worker_bin, sv.worker_serial);
	sv_tlskeys_status(out, 0);
	sv_health_status(out, 0);
	sv_checker_status(out, 0);
	sv_roll_status(out, 0);
	render_totals(t, out, 0);
	free(t);
	for (i = 0; i < SV_MAX_SLOTS; i++) {
		sv_worker *w = &sv.workers[i];
		const char *p;
		if (w->state == SV_W_GONE)
			continue;
		kk_str_catf(out, "worker %u pid %d state %s restarts %u generation %llu",
		    w->id, (int)w->pid, sv_wstate_name(w->state), w->restarts,
		    (unsigned long long)w->acked_gen);
		/* A late worker, and the one replacing it, say so (after the
		 * fixed fields: scripts read those by position). */
		if (w->late)
			kk_str_cats(out, " late");
		if (w->replaced_by)
			kk_str_catf(out, " replaced-by %u", w->replaced_by - 1);
		if (w->replaces)
			kk_str_catf(out, " replacing %u", w->replaces - 1);
		kk_str_catf(out, " binary %u", w->bin_serial);
		if (w->why[0])
			kk_str_catf(out, " (%s)", w->why);
		kk_str_cats(out, "\n");
		for (p = r->per_worker ? r->counters[i] : 0; p && *p;) {
			const char *eol = strchr(p, '\n');
			size_t len = eol ? (size_t)(eol - p) : strlen(p);
			kk_hist h;
			int hi = hist_line(p, len, &h);
			if (hi >= 0)
				percentiles(out, (unsigned)hi, &h, "  ", 0);
			else if (len) {
				kk_str_cats(out, "  ");
				kk_str_catb(out, p, len);
				kk_str_cats(out, "\n");
			}
			p += len + (eol ? 1 : 0);
		}
	}
}

static void
finish(poll_req *r)
{
	kk_str out = KK_STR_ZERO;
	unsigned i;

	render(r, &out);
	sv_control_reply(&r->origin, 'O', out.s ? out.s : "", out.len);
	kk_str_free(&out);
	for (i = 0; i < SV_MAX_SLOTS; i++)
		free(r->counters[i]);
	memset(r, 0, sizeof *r);
}

void
sv_status_begin(const sv_origin *o, int json, int workers)
{
	const char *word = KK_MSG_STATUS;
	poll_req *r = 0;
	unsigned i;

	for (i = 0; i < STATUS_MAX_PENDING; i++)
		if (!reqs[i].active) {
			r = &reqs[i];
			seq[i] = next_seq++;
			break;
		}
	if (!r) {
		const char *msg = "too many status requests at once; retry in a moment";
		sv_control_reply(o, 'E', msg, strlen(msg));
		return;
	}
	r->active = 1;
	r->origin = *o;
	r->json = json;
	r->per_worker = workers;
	sv_deadline_in(&r->deadline, STATUS_TIMEOUT_MS);
	for (i = 0; i < SV_MAX_SLOTS; i++) {
		sv_worker *w = &sv.workers[i];
		if (w->state != SV_W_READY || w->chan.fd < 0)
			continue;
		if (!sv_worker_send(w, 1, &word))
			continue;
		r->waiting[i] = 1;
		r->nwaiting++;
	}
	if (!r->nwaiting)
		finish(r);
}

/* The oldest active request waiting for worker i. */
static poll_req *
oldest_for(unsigned i)
{
	poll_req *best = 0;
	unsigned long long bs = 0;
	unsigned k;

	for (k = 0; k < STATUS_MAX_PENDING; k++)
		if (reqs[k].active && reqs[k].waiting[i] && (!best || seq[k] < bs)) {
			best = &reqs[k];
			bs = seq[k];
		}
	return best;
}

void
sv_status_reply(sv_worker *w, const char *text)
{
	poll_req *r = oldest_for(w->id);

	if (!r)
		return;
	r->counters[w->id] = strdup(text);
	r->waiting[w->id] = 0;
	if (!--r->nwaiting)
		finish(r);
}

void
sv_status_gone(sv_worker *w)
{
	poll_req *r;

	while ((r = oldest_for(w->id))) {
		r->waiting[w->id] = 0;
		if (!--r->nwaiting)
			finish(r);
	}
}

void
sv_status_timers(void)
{
	unsigned k, i;

	for (k = 0; k < STATUS_MAX_PENDING; k++) {
		poll_req *r = &reqs[k];
		if (!r->active || !sv_deadline_due(&r->deadline))
			continue;
		for (i = 0; i < SV_MAX_SLOTS; i++)
			if (r->waiting[i]) {
				/* Its answer may still come: it is not for the next request. */
				sv.workers[i].status_discard++;
				r->waiting[i] = 0;
			}
		finish(r);
	}
}

unsigned
sv_status_owed(unsigned slot)
{
	unsigned k, n = 0;

	for (k = 0; k < STATUS_MAX_PENDING; k++)
		if (reqs[k].active && reqs[k].waiting[slot])
			n++;
	return n;
}
