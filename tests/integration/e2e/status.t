#!/bin/sh
# kakehi-ctl status: a summary first (the supervisor, the objects, the
# totals of the workers' counters, the backends avoided now and which
# backends of the state they are), the workers one line each; each
# worker's own counters only with --workers. The totals are the sums of
# those counters, as text and as JSON.
. "$(dirname "$0")/../lib.sh"

kk_backend b1 ; p1=$kk_port
kk_dead_port ; dead=$kk_port
port=$(kk_free_port)
cat > "$T/kakehi.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
cluster add app
cluster add broken
frontend add app --listener 127.0.0.1:$port --host app.test
frontend add broken --listener 127.0.0.1:$port --host broken.test
backend add app b1 127.0.0.1:$p1
backend add broken d1 127.0.0.1:$dead
backend add broken d2 127.0.0.1:$dead
EOF
kk_proxy "$T/kakehi.conf" "127.0.0.1:$port"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }

ok=0
for i in 1 2 3 4 5 6 7 8 9 10 ; do
	test "$(kk_http_code -H 'Host: app.test' "http://127.0.0.1:$port/")" = 200 && ok=$((ok + 1))
done
tap_is "$ok" 10 "ten requests served"
# An address is avoided for a moment after a refused connect: each try
# refuses one, then asks (a slow machine may take longer than the moment).
for i in 1 2 3 4 5 6 7 8 9 10 ; do
	kk_http_code -H 'Host: broken.test' "http://127.0.0.1:$port/" > /dev/null
	st=$(ctl status)
	printf '%s\n' "$st" | grep -q '^backend-avoided ' && break
done
fives=$(printf '%s\n' "$st" | awk '$1 == "total" && $2 == "responses-5xx" { print $3 }')
tap_like "$st" '^objects 2 clusters, 2 frontends, 3 backends$' "the objects counted"
tap_like "$st" '^totals from 2 workers$' "totals from both workers"
tap_like "$st" '^total responses-2xx 10$' "the totals: ten 2xx"
tap_is "$fives" "$i" "... and a 5xx for each refused connect"
tap_like "$st" '^total closes-back-connect [1-9]' "... and the non-zero closes by reason"
tap_like "$st" "^backend-avoided 127\\.0\\.0\\.1:$dead in [12] of 2 workers: broken/d1 broken/d2\$" \
	"the refusing address is avoided, named by the backends at it"
tap_fails "without --workers, no worker's own counters" sh -c "printf '%s\n' \"\$1\" | grep -q '^  '" \
	sh "$st"
tap_is "$(printf '%s\n' "$st" | grep -c '^worker [01] pid [0-9]* state ready ')" 2 \
	"the two workers, one line each"
line_total=$(printf '%s\n' "$st" | grep -n '^total requests' | cut -d: -f1)
line_worker=$(printf '%s\n' "$st" | grep -n '^worker 0 ' | cut -d: -f1)
tap_ok "the totals before the workers" test "$line_total" -lt "$line_worker"

# --workers: each worker's counters, which add up to the totals.
sw=$(ctl status --workers)
tap_is "$(printf '%s\n' "$sw" | awk '/^  responses-2xx / { n += $2 } END { print n + 0 }')" 10 \
	"--workers: the workers' own 2xx add up to the total"
tap_is "$(printf '%s\n' "$sw" | awk '/^  requests / { n += $2 } END { print n + 0 }')" \
	"$(printf '%s\n' "$sw" | awk '$1 == "total" && $2 == "requests" { print $3 }')" \
	"--workers: and their requests"

tap_ok "JSON: the same, with each worker's counters only with --workers" python3 -c '
import json, subprocess, sys
sock, dead = sys.argv[1], sys.argv[2]
def st(*extra):
    out = subprocess.run(["kakehi-ctl", "-s", sock, "--json", "status"] + list(extra),
                         capture_output=True, text=True, timeout=20).stdout
    return json.loads(out)
a, b = st(), st("--workers")
assert a["objects"] == {"clusters": 2, "frontends": 2, "backends": 3}, a["objects"]
assert a["totals"]["workers"] == 2 and a["totals"]["responses-2xx"] == 10, a["totals"]
assert all("counters" not in w for w in a["workers"]), a["workers"]
assert sum(w["counters"]["requests"] for w in b["workers"]) == b["totals"]["requests"], b
av = a["backends_avoided"]
assert len(av) == 1 and av[0]["address"] == "127.0.0.1:" + dead, av
assert av[0]["backends"] == [{"cluster": "broken", "backend": "d1"},
                             {"cluster": "broken", "backend": "d2"}], av
' "$kk_sock" "$dead"
tap_done
