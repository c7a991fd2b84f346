/* ISC license. */
/* The stats page of a --service stats listener: the metrics segment as
 * server-rendered HTML tables, readable with JavaScript off (a meta
 * refresh reloads it), and a few lines of plain script that read the
 * JSON form (GET /stats.json) again to update the numbers in place and
 * compute rates between two samples. Every number cell names its JSON
 * member (data-f), so the page and the JSON cannot disagree on what a
 * column is. A row per object, of fixed columns and keys of under
 * KK_METRICS_KEYMAX bytes: a page the size of the state.
 * Sums, gauges, health and errors come from metrics.c. */
#include <string.h>

#include <kakehi/hist.h>
#include <kakehi/metrics.h>
#include <kakehi/str.h>

#include "metricsobj.h"

/* Seconds between two reloads with JavaScript off, and between two
 * samples with it on. */
#define RELOAD_S 5
#define SAMPLE_MS 2000

enum value {
	V_HEALTH, V_CONNS_ACTIVE, V_CONNS, V_REQUESTS, V_ACTIVE, V_RESPONSES, V_ERRORS,
	V_RETRIES, V_QUEUE, V_IN, V_OUT, V_TOTAL_Q, V_RATE
};

/* A column: its heading, the JSON member its cells show (a path, "."
 * between levels), the kinds that have it, and its value. */
typedef struct col col;
struct col {
	const char *head, *path;
	unsigned kinds;
	enum value v;
	unsigned arg;	/* V_RESPONSES: the class; V_TOTAL_Q: the quantile's index */
};
#define L (1u << KK_METRICS_LISTENER)
#define C (1u << KK_METRICS_CLUSTER)
#define B (1u << KK_METRICS_BACKEND)
static const col cols[] = {
	{ "state", "health", B, V_HEALTH, 0 },
	{ "open conns", "connections_active", L, V_CONNS_ACTIVE, 0 },
	{ "connections", "connections", L | C | B, V_CONNS, 0 },
	{ "requests", "requests", L | C | B, V_REQUESTS, 0 },
	{ "req/s", "requests", L | C | B, V_RATE, 0 },
	{ "active", "requests_active", C | B, V_ACTIVE, 0 },
	{ "1xx", "responses.1xx", L | C | B, V_RESPONSES, 1 },
	{ "2xx", "responses.2xx", L | C | B, V_RESPONSES, 2 },
	{ "3xx", "responses.3xx", L | C | B, V_RESPONSES, 3 },
	{ "4xx", "responses.4xx", L | C | B, V_RESPONSES, 4 },
	{ "5xx", "responses.5xx", L | C | B, V_RESPONSES, 5 },
	{ "errors", "errors", L | C | B, V_ERRORS, 0 },
	{ "retries", "retries", C | B, V_RETRIES, 0 },
	{ "queue", "queue_length", C, V_QUEUE, 0 },
	{ "bytes in", "bytes_in", L | C | B, V_IN, 0 },
	{ "bytes out", "bytes_out", L | C | B, V_OUT, 0 },
	{ "out B/s", "bytes_out", L | C | B, V_RATE, 0 },
	{ "p50 \xc2\xb5s", "total_us.p50", C | B, V_TOTAL_Q, 0 },
	{ "p90 \xc2\xb5s", "total_us.p90", C | B, V_TOTAL_Q, 1 },
	{ "p99 \xc2\xb5s", "total_us.p99", C | B, V_TOTAL_Q, 2 },
};

static uint64_t
value(const col *k, const kk_msum *c)
{
	switch (k->v) {
	case V_CONNS_ACTIVE: return kk_metrics_gauge(c->conns_opened, c->conns_closed);
	case V_CONNS: return c->conns_opened;
	case V_REQUESTS: return c->requests;
	case V_ACTIVE: return kk_metrics_gauge(c->requests, c->ended);
	case V_RESPONSES: return c->responses[k->arg];
	case V_ERRORS: return kk_metrics_errors(c);
	case V_RETRIES: return c->retries;
	case V_QUEUE: return kk_metrics_gauge(c->queued, c->dequeued);
	case V_IN: return c->bytes_in;
	case V_OUT: return c->bytes_out;
	case V_TOTAL_Q: return c->total.q[k->arg];
	default: return 0;
	}
}

/* Text or an attribute value, double-quoted: the five characters HTML
 * gives a meaning to become references (HTML Living Standard, 13.1.2.6
 * and 13.1.4); control characters, which an id could carry, too. */
static int
esc(kk_str *out, const char *s)
{
	int ok = 1;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '&')
			ok &= kk_str_cats(out, "&amp;");
		else if (ch == '<')
			ok &= kk_str_cats(out, "&lt;");
		else if (ch == '>')
			ok &= kk_str_cats(out, "&gt;");
		else if (ch == '"')
			ok &= kk_str_cats(out, "&quot;");
		else if (ch == '\'')
			ok &= kk_str_cats(out, "&#39;");
		else if (ch < 0x20 || ch == 0x7f)
			ok &= kk_str_catf(out, "&#%u;", ch);
		else
			ok &= kk_str_catb(out, s, 1);
	}
	return ok;
}

static const char head[] =
	"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<title>kakehi stats</title>\n"
	"<meta name=\"viewport\" content=\"width=device-width\">\n";
static const char style[] =
	"<style>\n"
	"body{font:13px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}\n"
	"h1{font-size:1.4em}h2{font-size:1.1em;margin:1.2em 0 .3em}\n"
	"table{border-collapse:collapse}\n"
	"th,td{padding:2px 6px;border-bottom:1px solid #ddd;text-align:right;"
	"font-variant-numeric:tabular-nums}\n"
	"th{background:#f3f3f3;white-space:nowrap}th.k,td.k{text-align:left}\n"
	"td.up{color:#176f2c}td.down{color:#fff;background:#b8322a}\n"
	"#when{color:#666}\n"
	"</style>\n";

/* With JavaScript on: sample /stats.json, put each member in the cell
 * that names it, and rates from the last two samples; a new or gone
 * object reloads the page, whose server render has its row. */
static const char script[] =
	"<script>\n"
	"(function(){\n"
	"var last=null,when=document.getElementById('when');\n"
	"function get(o,p){p=p.split('.');for(var i=0;i<p.length&&o!=null;i++)o=o[p[i]];"
	"return o;}\n"
	"function key(k,a,b){return k+'\\n'+a+'\\n'+b;}\n"
	"function tick(){fetch('stats.json',{cache:'no-store'})"
	".then(function(r){return r.json();}).then(function(j){\n"
	" var t=Date.now(),objs={},n=0,rows=document.querySelectorAll('tr[data-kind]');\n"
	" (j.listeners||[]).forEach(function(o){objs[key('listener',o.address,'')]=o;n++;});\n"
	" (j.clusters||[]).forEach(function(o){objs[key('cluster',o.id,'')]=o;n++;});\n"
	" (j.backends||[]).forEach(function(o){objs[key('backend',o.cluster,o.id)]=o;n++;});\n"
	" if(n!==rows.length){location.reload();return;}\n"
	" for(var i=0;i<rows.length;i++){var tr=rows[i],"
	"k=key(tr.dataset.kind,tr.dataset.a,tr.dataset.b),o=objs[k],p=last&&last.objs[k];\n"
	"  if(!o){location.reload();return;}\n"
	"  tr.querySelectorAll('[data-f]').forEach(function(td){var v=get(o,td.dataset.f);\n"
	"   td.textContent=v;if(td.dataset.f==='health')td.className=v;});\n"
	"  tr.querySelectorAll('[data-rate]').forEach(function(td){var f=td.dataset.rate;\n"
	"   td.textContent=p&&t>last.t?((get(o,f)-get(p,f))*1000/(t-last.t)).toFixed(1)"
	":'\\u2013';});\n"
	" }\n"
	" last={t:t,objs:objs};when.textContent='updated '+new Date(t).toLocaleTimeString()"
	"+', every %u s';\n"
	"}).catch(function(){when.textContent='stats.json unreachable, trying again';});}\n"
	"tick();setInterval(tick,%u);\n"
	"})();\n"
	"</script>\n";

static int
row(kk_str *out, const kk_metrics_obj *o, unsigned kind, uint64_t now)
{
	const kk_mdir *d = o->d;
	unsigned i;
	int ok = 1;

	ok &= kk_str_catf(out, "<tr data-kind=\"%s\" data-a=\"", kind == KK_METRICS_LISTENER
	    ? "listener" : kind == KK_METRICS_CLUSTER ? "cluster" : "backend");
	ok &= esc(out, d->a) & kk_str_cats(out, "\" data-b=\"") & esc(out, d->b);
	ok &= kk_str_cats(out, "\"><td class=\"k\">") & esc(out, d->a) & kk_str_cats(out, "</td>");
	if (kind == KK_METRICS_BACKEND)
		ok &= kk_str_cats(out, "<td class=\"k\">") & esc(out, d->b)
		    & kk_str_cats(out, "</td>");
	for (i = 0; i < sizeof cols / sizeof cols[0]; i++) {
		const col *k = &cols[i];
		if (!(k->kinds & (1u << kind)))
			continue;
		if (k->v == V_HEALTH) {
			const char *h = kk_metrics_health(d, &o->c, now);
			ok &= kk_str_catf(out, "<td class=\"%s\" data-f=\"%s\">%s</td>", h,
			    k->path, h);
		} else if (k->v == V_RATE)
			ok &= kk_str_catf(out, "<td data-rate=\"%s\">\xe2\x80\x93</td>", k->path);
		else
			ok &= kk_str_catf(out, "<td data-f=\"%s\">%llu</td>", k->path,
			    (unsigned long long)value(k, &o->c));
	}
	return ok & kk_str_cats(out, "</tr>\n");
}

/* The parts of the page, in order: its head, then each kind's table (its
 * head, its rows, its end), then its script and end; kk_metrics_html is
 * all of them, the printer (metrics.c) a part at a time. */
int
kk_metrics_html_open(kk_str *out)
{
	int ok = kk_str_cats(out, head);

	ok &= kk_str_catf(out, "<noscript><meta http-equiv=\"refresh\" content=\"%u\">"
	    "</noscript>\n", RELOAD_S);
	ok &= kk_str_cats(out, style);
	return ok & kk_str_catf(out, "</head><body>\n<h1>kakehi</h1>\n<p id=\"when\">reloads"
	    " every %u s; rates need JavaScript; the same numbers: <a href=\"stats.json\">"
	    "stats.json</a></p>\n", RELOAD_S);
}

static unsigned
columns(unsigned kind)
{
	unsigned i, n = kind == KK_METRICS_BACKEND ? 2 : 1;
	for (i = 0; i < sizeof cols / sizeof cols[0]; i++)
		n += (cols[i].kinds & (1u << kind)) != 0;
	return n;
}

int
kk_metrics_html_table(kk_str *out, unsigned kind)
{
	static const char *const title[KK_METRICS_NKINDS] = { "", "Listeners", "Clusters",
	    "Backends" };
	static const char *const first[KK_METRICS_NKINDS] = { "", "address", "cluster",
	    "cluster</th><th class=\"k\">backend" };
	unsigned i;
	int ok = 1;

	ok &= kk_str_catf(out, "<h2>%s</h2>\n<table id=\"%s\"><thead><tr><th class=\"k\">%s</th>",
	    title[kind], kind == KK_METRICS_LISTENER ? "listeners" : kind == KK_METRICS_CLUSTER
	    ? "clusters" : "backends", first[kind]);
	for (i = 0; i < sizeof cols / sizeof cols[0]; i++)
		if (cols[i].kinds & (1u << kind))
			ok &= kk_str_catf(out, "<th>%s</th>", cols[i].head);
	return ok & kk_str_cats(out, "</tr></thead>\n<tbody>\n");
}

int
kk_metrics_html_row(kk_str *out, const kk_metrics_obj *o, uint64_t now_ms)
{
	return row(out, o, o->d->kind, now_ms);
}

int
kk_metrics_html_table_end(kk_str *out, unsigned kind, size_t rows)
{
	int ok = 1;

	if (!rows)
		ok &= kk_str_catf(out, "<tr><td class=\"k\" colspan=\"%u\">none</td></tr>\n",
		    columns(kind));
	return ok & kk_str_cats(out, "</tbody></table>\n");
}

int
kk_metrics_html_close(kk_str *out)
{
	int ok = kk_str_catf(out, script, SAMPLE_MS / 1000, SAMPLE_MS);
	return ok & kk_str_cats(out, "</body></html>\n");
}

int
kk_metrics_html(kk_str *out, const kk_metrics_obj *v, size_t n, uint64_t now_ms)
{
	unsigned k;
	size_t j, rows;
	int ok = kk_metrics_html_open(out);

	for (k = KK_METRICS_LISTENER; k < KK_METRICS_NKINDS; k++) {
		ok &= kk_metrics_html_table(out, k);
		for (j = rows = 0; j < n; j++)
			if (v[j].d->kind == k) {
				ok &= kk_metrics_html_row(out, &v[j], now_ms);
				rows++;
			}
		ok &= kk_metrics_html_table_end(out, k, rows);
	}
	return ok & kk_metrics_html_close(out);
}
