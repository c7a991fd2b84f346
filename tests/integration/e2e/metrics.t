#!/bin/sh
# kakehi-ctl metrics: counters per listener, cluster and backend, kept in
# the segment the supervisor shares with its workers and summed there.
# After N requests the counts are exactly N; --cluster and --backend pick;
# --json parses; the sums survive a worker's restart (its stripe stays)
# and a config change (slots stay with their objects); a removed
# backend's counts go to the retired total, so no sum goes back; an
# in-place upgrade of the supervisor keeps them all.
. "$(dirname "$0")/../lib.sh"

kk_backend b1 ; p1=$kk_port
kk_backend b2 ; p2=$kk_port
kk_backend c1 ; p3=$kk_port
port=$(kk_free_port)
cat > "$T/kakehi.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
cluster add app
cluster add other
frontend add app --listener 127.0.0.1:$port --host app.test
frontend add other --listener 127.0.0.1:$port --host other.test
backend add app b1 127.0.0.1:$p1
backend add app b2 127.0.0.1:$p2
backend add other o1 127.0.0.1:$p3
EOF
kk_proxy "$T/kakehi.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
# val TEXT KIND NAME KEY: the value of KEY on the line of object NAME
val() {
	printf '%s\n' "$1" | awk -v kind="$2" -v name="$3" -v k="$4" '
		$1 == kind && ($2 == name || $2 " " $3 == name) {
			for (i = 2; i < NF; i++) if ($i == k) { print $(i + 1); exit } }'
}
req() {	# req HOST PATH: the status
	kk_http_code -H "Host: $1" "http://127.0.0.1:$port$2"
}

ok=0
for i in 1 2 3 4 5 6 7 8 9 10 ; do
	test "$(req app.test /)" = 200 && ok=$((ok + 1))
done
for i in 1 2 3 ; do
	test "$(req app.test /status/404)" = 404 && ok=$((ok + 1))
done
for i in 1 2 3 4 5 ; do
	test "$(req other.test /)" = 200 && ok=$((ok + 1))
done
test "$(req nowhere.test /)" = 404 && ok=$((ok + 1))
tap_is "$ok" 19 "nineteen requests answered as expected"

m=$(ctl metrics)
tap_is "$(val "$m" cluster app requests)" 13 "cluster app: 13 requests"
tap_is "$(val "$m" cluster app 2xx)" 10 "cluster app: 10 2xx"
tap_is "$(val "$m" cluster app 4xx)" 3 "cluster app: 3 4xx"
tap_is "$(val "$m" cluster app status-404)" 3 "cluster app: 3 404s by status"
tap_is "$(val "$m" cluster other requests)" 5 "cluster other: 5 requests"
b1=$(val "$m" backend "app b1" requests)
b2=$(val "$m" backend "app b2" requests)
tap_is "$((b1 + b2))" 13 "backends b1 and b2: 13 requests between them"
tap_ok "round-robin: both took some ($b1, $b2)" test "$b1" -ge 5 -a "$b2" -ge 5
tap_is "$(val "$m" listener "127.0.0.1:$port" requests)" 19 "listener: 19 requests"
tap_is "$(val "$m" listener "127.0.0.1:$port" 4xx)" 4 "listener: 4 4xx (one its own 404)"
tap_is "$(val "$m" listener "127.0.0.1:$port" connections)" 19 "listener: 19 connections"
tap_is "$(val "$m" listener "127.0.0.1:$port" connections-active)" 0 "listener: none open"
tap_is "$(val "$m" backend "app b1" health)" up "backend b1 is up"
tap_is "$(val "$m" cluster app total-count)" 13 "cluster app: 13 total latencies"
tap_like "$m" "^retired backend requests 0 " "nothing retired yet"

f=$(ctl metrics --cluster other)
tap_is "$(printf '%s\n' "$f" | wc -l)" 2 "--cluster other: the cluster and its backend"
tap_like "$f" "^backend other o1 .* requests 5 " "--cluster other: o1's 5 requests"
f=$(ctl metrics --backend b2)
tap_is "$(printf '%s\n' "$f" | awk '{ print $1, $2, $3 }')" "backend app b2" "--backend b2: that backend alone"
tap_fails "--cluster of no cluster: refused" ctl metrics --cluster nosuch
tap_fails "--backend of no backend: refused" ctl metrics --backend nosuch
tap_fails "--backend not in that --cluster: refused" ctl metrics --cluster other --backend b1
tap_fails "a bad option: refused" ctl metrics --nosuch

tap_ok "JSON parses, and agrees" python3 -c '
import json, subprocess, sys
out = subprocess.run(["kakehi-ctl", "-s", sys.argv[1], "--json", "metrics"],
                     capture_output=True, text=True, timeout=20).stdout
m = json.loads(out)
c = {x["id"]: x for x in m["clusters"]}
assert c["app"]["requests"] == 13 and c["app"]["responses"]["2xx"] == 10, c
assert c["app"]["status"]["404"] == 3, c
assert c["app"]["total_us"]["count"] == 13, c
b = {(x["cluster"], x["id"]): x for x in m["backends"]}
assert b[("other", "o1")]["requests"] == 5 and b[("other", "o1")]["health"] == "up", b
assert m["listeners"][0]["requests"] == 19, m
assert m["retired"]["backends"]["requests"] == 0, m
' "$kk_sock"

# A worker killed: the one that takes its slot goes on adding.
pids=$(ctl --json status | python3 -c 'import json,sys; print(" ".join(str(w["pid"]) for w in json.load(sys.stdin)["workers"]))')
set -- $pids
kill -KILL "$1"
kk_wait_for 20 sh -c "kakehi-ctl -s '$kk_sock' --json status | python3 -c '
import json, sys
w = json.load(sys.stdin)[\"workers\"]
sys.exit(not (len(w) == 2 and all(x[\"state\"] == \"ready\" for x in w) and $1 not in [x[\"pid\"] for x in w]))'"
tap_ok "a killed worker was replaced" test $? = 0
m=$(ctl metrics)
tap_is "$(val "$m" cluster app requests)" 13 "after the restart: cluster app still 13"
tap_is "$(val "$m" listener "127.0.0.1:$port" connections-active)" 0 "and no connection left open"
for i in 1 2 ; do req app.test / >/dev/null ; done
m=$(ctl metrics)
tap_is "$(val "$m" cluster app requests)" 15 "two more: 15"

# A change: a backend added, one removed; the others keep their slots.
before=$(val "$(ctl metrics)" backend "app b1" requests)
tap_ok "backend add" ctl backend add app b3 127.0.0.1:$p3
tap_ok "backend b2 removed" ctl backend remove app b2
m=$(ctl metrics)
tap_is "$(val "$m" cluster app requests)" 15 "after the change: cluster app still 15"
tap_is "$(val "$m" backend "app b1" requests)" "$before" "b1 kept its count ($before)"
retired=$(val "$m" retired backend requests)
tap_ok "b2's requests went to the retired total ($retired)" test "${retired:-0}" -ge 5
tap_fails "b2 is gone from the list" sh -c "printf '%s\n' \"\$1\" | grep -q '^backend app b2 '" sh "$m"
s1=$(val "$m" backend "app b1" requests)
s3=$(val "$m" backend "app b3" requests)
tap_is "$((s1 + s3 + retired))" 15 "backends plus retired: still 15"
for i in 1 2 3 4 ; do req app.test / >/dev/null ; done
m=$(ctl metrics)
tap_is "$(val "$m" cluster app requests)" 19 "four more: 19"
tap_is "$(( $(val "$m" backend "app b1" requests) + $(val "$m" backend "app b3" requests) + retired ))" 19 \
	"backends plus retired: 19"

# An in-place upgrade of the supervisor: the new one maps the same
# segment (the handoff's metrics line) and the workers go on writing it.
tap_ok "upgrade in place" ctl upgrade
m=$(ctl metrics)
tap_is "$(val "$m" cluster app requests)" 19 "after the upgrade: cluster app still 19"
tap_is "$(val "$m" retired backend requests)" "$retired" "and the retired total too"
for i in 1 2 ; do req app.test / >/dev/null ; done
tap_is "$(val "$(ctl metrics)" cluster app requests)" 21 "two more after the upgrade: 21"

# A tcp listener added at run time: a connection is a request of its
# cluster and of the backend it reached.
tport=$(kk_free_port)
tap_ok "a tcp listener, cluster, frontend and backend added" sh -c "
	kakehi-ctl -s '$kk_sock' listener add tcp 127.0.0.1:$tport &&
	kakehi-ctl -s '$kk_sock' cluster add raw &&
	kakehi-ctl -s '$kk_sock' frontend add raw --listener 127.0.0.1:$tport &&
	kakehi-ctl -s '$kk_sock' backend add raw r1 127.0.0.1:$p3"
ok=0
for i in 1 2 3 ; do
	test "$(kk_http_code "http://127.0.0.1:$tport/")" = 200 && ok=$((ok + 1))
done
tap_is "$ok" 3 "three requests through the tcp listener"
kk_wait_for 10 sh -c "test \"\$(kakehi-ctl -s '$kk_sock' metrics | awk '\$1 == \"listener\" && \$2 == \"127.0.0.1:$tport\" { for (i = 3; i < NF; i++) if (\$i == \"connections-active\") print \$(i + 1) }')\" = 0"
m=$(ctl metrics)
tap_is "$(val "$m" listener "127.0.0.1:$tport" connections)" 3 "tcp listener: 3 connections"
tap_is "$(val "$m" listener "127.0.0.1:$tport" connections-active)" 0 "none open"
tap_is "$(val "$m" cluster raw requests)" 3 "cluster raw: 3"
tap_is "$(val "$m" backend "raw r1" connections)" 3 "backend r1: 3 connections"
tap_is "$(val "$m" backend "raw r1" requests-active)" 0 "none in flight"
tap_ok "tcp bytes counted" test "$(val "$m" backend "raw r1" bytes-out)" -gt 0

# A backend nothing listens on: its connect fails, the client gets a 502,
# and the backend shows down while the worker avoids it.
kk_dead_port ; dead=$kk_port
tap_ok "a cluster whose backend is down" sh -c "
	kakehi-ctl -s '$kk_sock' cluster add gone &&
	kakehi-ctl -s '$kk_sock' frontend add gone --listener 127.0.0.1:$port --host gone.test &&
	kakehi-ctl -s '$kk_sock' backend add gone g1 127.0.0.1:$dead"
tap_is "$(req gone.test /)" 502 "its request: 502"
m=$(ctl metrics --cluster gone)
tap_is "$(val "$m" backend "gone g1" health)" down "the backend is down"
tap_is "$(val "$m" cluster gone 5xx)" 1 "the cluster counts the 502"
tap_is "$(val "$m" cluster gone status-502)" 1 "by status too"
tap_ok "and how the request ended ($(val "$m" cluster gone closes-back-connect))" \
	test "$(val "$m" cluster gone closes-back-connect)" -ge 1
kk_wait_for 5 sh -c "kakehi-ctl -s '$kk_sock' metrics --cluster gone | grep -q '^backend gone g1 health up '"
tap_like "$(ctl metrics --cluster gone)" "^backend gone g1 health up " "up again once no worker avoids it"

# A reload from a file without the clusters other, raw and gone: their
# counts go to the retired total; app's stay where they were.
m=$(ctl metrics)
app=$(val "$m" cluster app requests)
gone_sum=$(( $(val "$m" cluster other requests) + $(val "$m" cluster raw requests) + $(val "$m" cluster gone requests) ))
grep -v -e other -e '^backend add app b2' "$T/kakehi.conf" > "$T/next.conf"
tap_ok "reload without three clusters" ctl reload "$T/next.conf"
m=$(ctl metrics)
tap_is "$(val "$m" cluster app requests)" "$app" "after the reload: app still $app"
tap_is "$(val "$m" retired cluster requests)" "$gone_sum" "the removed clusters' $gone_sum requests retired"
tap_fails "cluster other is gone from the list" sh -c "printf '%s\n' \"\$1\" | grep -q '^cluster other '" sh "$m"
tap_done
