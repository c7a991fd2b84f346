#!/bin/sh
# Latency percentiles in kakehi-ctl status: each worker counts the time to
# the backend's first byte and the total time of every request in a
# histogram; the supervisor merges them and shows p50/p90/p99 in the
# totals, each worker's own with --workers, numbers in --json. A backend
# answering after 200 ms moves the percentiles past 200 ms; fast answers
# keep them well below; a 504 the proxy makes counts in the total time
# only. Bounds are generous: the machine may be slow.
. "$(dirname "$0")/../lib.sh"

kk_backend b1 ; p1=$kk_port
port=$(kk_free_port)
short=$(kk_free_port)
cat > "$T/kakehi.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
listener add http 127.0.0.1:$short --back-timeout 500ms
cluster add app
frontend add app --listener 127.0.0.1:$port
frontend add app --listener 127.0.0.1:$short
backend add app b1 127.0.0.1:$p1
EOF
kk_proxy "$T/kakehi.conf" "127.0.0.1:$port" "127.0.0.1:$short"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
# total KEY's value in a status text
total() { printf '%s\n' "$1" | awk -v k="$2" '$1 == "total" && $2 == k { print $3 }' ; }

ok=0
for i in 1 2 3 4 5 6 7 8 9 10 ; do
	test "$(kk_http_code "http://127.0.0.1:$port/")" = 200 && ok=$((ok + 1))
done
tap_is "$ok" 10 "ten fast requests served"
st=$(ctl status)
for k in ttfb total ; do
	for q in p50 p90 p99 ; do
		tap_like "$st" "^total latency-$k-$q-us [0-9]+\$" "total latency-$k-$q-us shown"
	done
	v=$(total "$st" "latency-$k-p50-us")
	tap_ok "fast: $k p50 ${v}us is under 100 ms" test "${v:-x}" -lt 100000
done

# Twice as many slow answers: the median is one of them.
ok=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 ; do
	test "$(kk_http_code "http://127.0.0.1:$port/slow/200")" = 200 && ok=$((ok + 1))
done
tap_is "$ok" 20 "twenty requests answered after 200 ms"
st=$(ctl status)
for k in ttfb total ; do
	v=$(total "$st" "latency-$k-p50-us")
	tap_ok "slow: $k p50 ${v}us is at least 200 ms" test "${v:-0}" -ge 200000
	tap_ok "slow: $k p50 ${v}us is under 5 s" test "${v:-x}" -lt 5000000
	v=$(total "$st" "latency-$k-p99-us")
	tap_ok "slow: $k p99 ${v}us is at least 200 ms" test "${v:-0}" -ge 200000
done

# --workers: each worker's own percentiles, not its raw histogram; the
# one that served a slow request shows it.
sw=$(ctl status --workers)
tap_is "$(printf '%s\n' "$sw" | grep -Ec '^  latency-(ttfb|total)-p(50|90|99)-us [0-9]+$')" 12 \
	"--workers: six percentiles for each of the two workers"
tap_fails "--workers: no raw histogram" sh -c "printf '%s\n' \"\$1\" | grep -Eq '^  latency-(ttfb|total) '" \
	sh "$sw"
tap_ok "--workers: a worker's ttfb p99 is past 200 ms" sh -c "printf '%s\n' \"\$1\" |
	awk '\$1 == \"latency-ttfb-p99-us\" && \$2 >= 200000 { f = 1 } END { exit !f }'" sh "$sw"

tap_ok "JSON: the percentiles are numbers, the totals' and each worker's" python3 -c '
import json, subprocess, sys
out = subprocess.run(["kakehi-ctl", "-s", sys.argv[1], "--json", "status", "--workers"],
                     capture_output=True, text=True, timeout=20).stdout
st = json.loads(out)
t = st["totals"]
for k in ("ttfb", "total"):
    for q in ("p50", "p90", "p99"):
        v = t["latency-%s-%s-us" % (k, q)]
        assert isinstance(v, int) and 200000 <= v < 5000000, (k, q, v)
        for w in st["workers"]:
            assert isinstance(w["counters"]["latency-%s-%s-us" % (k, q)], int), w
    assert "latency-" + k not in t
' "$kk_sock"

# Three 504s after 500 ms, the slowest of 33 requests: the total's p99 is
# one of them; the time to first byte never saw them.
ok=0
for i in 1 2 3 ; do
	test "$(kk_http_code "http://127.0.0.1:$short/slow/3000")" = 504 && ok=$((ok + 1))
done
tap_is "$ok" 3 "three requests answered 504 by the proxy"
st=$(ctl status)
v=$(total "$st" latency-total-p99-us)
tap_ok "504s: total p99 ${v}us is at least 500 ms" test "${v:-0}" -ge 500000
v=$(total "$st" latency-ttfb-p99-us)
tap_ok "504s: ttfb p99 ${v}us stays under 500 ms" test "${v:-x}" -lt 500000
tap_done
