#!/bin/sh
# A listener with --service prometheus: the worker answers GET /metrics
# itself with the sums of the metrics segment in the Prometheus text
# format, which promtool accepts; the counts match the requests made;
# other paths and methods are refused; kakehi-ctl metrics --prometheus
# gives the same families.
. "$(dirname "$0")/../lib.sh"

command -v promtool >/dev/null 2>&1 ||
	tap_skip_all "promtool not installed (Debian package prometheus; tools/install-deps)"

kk_backend b1 ; p1=$kk_port
port=$(kk_free_port)
mport=$(kk_free_port)
cat > "$T/kakehi.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
listener add http 127.0.0.1:$mport --service prometheus
cluster add app
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:$p1
EOF
kk_proxy "$T/kakehi.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }

tap_like "$(ctl state dump)" "listener add http 127.0.0.1:$mport --service prometheus" \
	"the state keeps --service"
tap_fails "--service on a tcp listener: refused" ctl listener add tcp 127.0.0.1:$(kk_free_port) \
	--service prometheus

ok=0
for i in 1 2 3 4 5 6 7 ; do
	test "$(kk_http_code "http://127.0.0.1:$port/")" = 200 && ok=$((ok + 1))
done
test "$(kk_http_code "http://127.0.0.1:$port/status/503")" = 503 && ok=$((ok + 1))
tap_is "$ok" 8 "eight requests answered"

kk_curl -D "$T/head" -o "$T/metrics" "http://127.0.0.1:$mport/metrics"
tap_is "$?" 0 "GET /metrics answered"
tap_like "$(cat "$T/head")" "Content-Type: text/plain; version=0.0.4" "in the text format 0.0.4"
tap_ok "promtool check metrics accepts it" sh -c "promtool check metrics < '$T/metrics' > '$T/promtool.out' 2>&1"
sed 's/^/# promtool: /' "$T/promtool.out"
got() { awk -v k="$1" '$1 == k { print $2 }' "$T/metrics" ; }
tap_is "$(got 'kakehi_backend_requests_total{cluster="app",backend="b1"}')" 8 \
	"kakehi_backend_requests_total of b1: 8"
tap_is "$(got 'kakehi_cluster_responses_total{cluster="app",class="2xx"}')" 7 "cluster: 7 2xx"
tap_is "$(got 'kakehi_cluster_responses_status_total{cluster="app",status="503"}')" 1 "cluster: one 503"
tap_is "$(got 'kakehi_backend_up{cluster="app",backend="b1"}')" 1 "b1 is up"
tap_is "$(got "kakehi_listener_requests_total{listener=\"127.0.0.1:$port\"}")" 8 \
	"the proxying listener: 8 requests"
tap_is "$(got 'kakehi_cluster_total_seconds_count{cluster="app"}')" 8 "8 total latencies"
tap_like "$(cat "$T/metrics")" '^# HELP kakehi_backend_requests_total ' "with # HELP"
tap_like "$(cat "$T/metrics")" '^# TYPE kakehi_backend_requests_total counter$' "and # TYPE"

tap_is "$(kk_http_code "http://127.0.0.1:$mport/other")" 404 "another path: 404"
tap_is "$(kk_http_code -X POST "http://127.0.0.1:$mport/metrics")" 405 "POST: 405"
tap_is "$(kk_http_code -I "http://127.0.0.1:$mport/metrics")" 200 "HEAD: 200"
tap_is "$(got "kakehi_listener_requests_total{listener=\"127.0.0.1:$mport\"}")" 1 \
	"the scrape counts itself"
kk_curl -o "$T/metrics2" "http://127.0.0.1:$mport/metrics"
tap_is "$(awk -v k="kakehi_listener_requests_total{listener=\"127.0.0.1:$mport\"}" \
	'$1 == k { print $2 }' "$T/metrics2")" 5 "the service listener counts its own requests"

ctl metrics --prometheus > "$T/ctl-metrics"
tap_ok "kakehi-ctl metrics --prometheus: promtool accepts it too" sh -c \
	"promtool check metrics < '$T/ctl-metrics' >/dev/null 2>&1"
tap_is "$(grep -c '^# TYPE' "$T/ctl-metrics")" "$(grep -c '^# TYPE' "$T/metrics2")" \
	"the same families"
tap_done
