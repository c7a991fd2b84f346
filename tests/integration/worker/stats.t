#!/bin/sh
# A listener with --service stats: the worker answers GET / with a live
# HTML page of the metrics segment and GET /stats.json with its JSON.
# After a known number of requests the page's numbers are those of
# kakehi-ctl metrics --json; a hostile-looking id never reaches the page
# (ids are refused; the page's escaping of any key in the segment is
# tests/unit/libkakehi/metricshtml.c); in headless Chromium the page renders (a screenshot) and its
# script, run, leaves the same numbers in the DOM and fills the rates
# (KK_STATS_PNG=FILE keeps a copy of the screenshot to look at). Without
# chromium those last checks are skipped, and the test says so.
. "$(dirname "$0")/../lib.sh"

kk_backend b1 ; p1=$kk_port
port=$(kk_free_port)
sport=$(kk_free_port)
hostile='<script>x&"y'"'"'</script>'
cat > "$T/kakehi.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
listener add http 127.0.0.1:$sport --service stats
cluster add app
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:$p1
EOF
kk_proxy "$T/kakehi.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }

tap_like "$(ctl state dump)" "listener add http 127.0.0.1:$sport --service stats" \
	"the state keeps --service stats"
tap_fails "a cluster with a hostile-looking id: refused" ctl cluster add "$hostile"
tap_fails "a backend with one: refused" ctl backend add app "$hostile" 127.0.0.1:$p1
tap_ok "an id of every kind of character an id may hold: added" \
	ctl backend add app "B.-_9" 127.0.0.1:$p1

ok=0
for i in 1 2 3 4 5 6 7 8 ; do
	test "$(kk_http_code "http://127.0.0.1:$port/")" = 200 && ok=$((ok + 1))
done
test "$(kk_http_code "http://127.0.0.1:$port/status/503")" = 503 && ok=$((ok + 1))
test "$(kk_http_code "http://127.0.0.1:$port/status/404")" = 404 && ok=$((ok + 1))
tap_is "$ok" 10 "ten requests answered"

kk_curl -D "$T/head" -o "$T/page.html" "http://127.0.0.1:$sport/"
tap_is "$?" 0 "GET / answered"
tap_like "$(cat "$T/head")" "Content-Type: text/html; charset=utf-8" "as HTML"
tap_like "$(cat "$T/head")" "Cache-Control: no-store" "never cached"
tap_is "$(kk_http_code "http://127.0.0.1:$sport/stats")" 200 "GET /stats: the page too"
kk_curl -D "$T/jhead" -o "$T/stats.json" "http://127.0.0.1:$sport/stats.json"
tap_like "$(cat "$T/jhead")" "Content-Type: application/json" "GET /stats.json: JSON"
tap_ok "which parses" python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/stats.json"
tap_is "$(kk_http_code "http://127.0.0.1:$sport/metrics")" 404 "/metrics is prometheus', not here"
tap_is "$(kk_http_code -X POST "http://127.0.0.1:$sport/")" 405 "POST: 405"
tap_is "$(kk_http_code -I "http://127.0.0.1:$sport/")" 200 "HEAD: 200"

ctl --json metrics > "$T/metrics.json"

# check.py PAGE JSON SKIP [rates]: every number cell of PAGE (named by
# its data-f) equals that member of the object in JSON, except the
# listener SKIP (the stats listener, which counts the page's own
# requests); with "rates", every rate cell holds a number.
cat > "$T/check.py" <<'EOF'
import html.parser, json, sys

page, js, skip = sys.argv[1], sys.argv[2], sys.argv[3]
rates = len(sys.argv) > 4
m = json.load(open(js))
objs = {}
for o in m["listeners"]:
    objs[("listener", o["address"], "")] = o
for o in m["clusters"]:
    objs[("cluster", o["id"], "")] = o
for o in m["backends"]:
    objs[("backend", o["cluster"], o["id"])] = o

class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.cell = [], None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-kind" in a:
            self.rows.append([(a["data-kind"], a["data-a"], a["data-b"]), [], []])
        elif tag == "td" and self.rows and ("data-f" in a or "data-rate" in a):
            self.cell = [a.get("data-f") or a.get("data-rate"), "", "data-rate" in a]
    def handle_data(self, d):
        if self.cell:
            self.cell[1] += d
    def handle_endtag(self, tag):
        if tag == "td" and self.cell:
            self.rows[-1][2 if self.cell[2] else 1].append(self.cell)
            self.cell = None

p = P()
p.feed(open(page).read())
bad, n = [], 0
for key, cells, rcells in p.rows:
    if key not in objs:
        bad.append("row %r not in metrics --json" % (key,))
        continue
    if key == ("listener", skip, ""):
        continue
    for path, text, _ in cells:
        v = objs[key]
        for w in path.split("."):
            v = v[w]
        n += 1
        if text != str(v):
            bad.append("%r %s: page %r, json %r" % (key, path, text, v))
    for path, text, _ in rcells:
        if rates:
            try:
                float(text)
            except ValueError:
                bad.append("%r rate of %s: %r" % (key, path, text))
if len(p.rows) != len(objs):
    bad.append("%d rows, %d objects" % (len(p.rows), len(objs)))
for b in bad:
    print(b)
print("%d cells checked" % n)
sys.exit(1 if bad or n < 30 else 0)
EOF
check() { python3 "$T/check.py" "$1" "$2" "127.0.0.1:$sport" ${3:+"$3"} > "$T/check.out" 2>&1 ; }

tap_ok "every number of the page is that of metrics --json" check "$T/page.html" "$T/metrics.json"
sed 's/^/# /' "$T/check.out"
tap_ok "with the requests made: listener 10, cluster 10, 5xx 1, 4xx 1" python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
l = [x for x in m["listeners"] if x["address"] == sys.argv[2]][0]
c = [x for x in m["clusters"] if x["id"] == "app"][0]
assert l["requests"] == 10 and c["requests"] == 10, (l, c)
assert c["responses"]["5xx"] == 1 and c["responses"]["4xx"] == 1, c
assert c["total_us"]["count"] == 10, c
' "$T/metrics.json" "127.0.0.1:$port"
tap_like "$(cat "$T/page.html")" '<td class="up" data-f="health">up</td>' "b1's state: up"

tap_is "$(grep -c '<script>' "$T/page.html")" 1 "one script element: the page's own"

# Headless Chromium: a screenshot, and the DOM once the script ran.
# KK_CHROMIUM names another browser binary; set empty, it skips as if absent.
chromium=${KK_CHROMIUM-$(command -v chromium || true)}
if test -z "$chromium" ; then
	tap_diag "skipped: chromium not installed (Debian packages chromium, chromium-driver; tools/install-deps)"
	tap_done
fi
chrome() {
	timeout -k 3 25 "$chromium" --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$T/chrome" --window-size=1200,900 "$@"
}
chrome --screenshot="$T/page.png" "http://127.0.0.1:$sport/" > "$T/chrome.log" 2>&1
test -n "${KK_STATS_PNG:-}" && cp "$T/page.png" "$KK_STATS_PNG"
tap_ok "a screenshot was taken" test -s "$T/page.png"
tap_is "$(od -An -tx1 -N8 "$T/page.png" | tr -d ' \n')" 89504e470d0a1a0a "a PNG"
tap_ok "of a non-trivial size ($(wc -c < "$T/page.png") bytes)" test "$(wc -c < "$T/page.png")" -gt 20000
# Virtual time lets the script take two samples (SAMPLE_MS apart) before
# the dump, so the rates are numbers. (What a browser shows with scripts
# off is the page as served, checked above: headless Chromium itself
# needs scripts to take a screenshot or dump the DOM.)
chrome --virtual-time-budget=5000 --dump-dom "http://127.0.0.1:$sport/" > "$T/dom.html" \
	2> "$T/chrome.log"
ctl --json metrics > "$T/metrics2.json"
tap_like "$(cat "$T/dom.html")" 'updated .*every 2 s' "the script ran and updated the page"
tap_ok "the DOM's numbers are those of metrics --json, and the rates numbers" \
	check "$T/dom.html" "$T/metrics2.json" rates
sed 's/^/# /' "$T/check.out"
tap_done
