#!/bin/sh
# Backend connection limits and cluster queues through the whole proxy,
# one worker: a backend at its --max-connections is not chosen, so a slow
# backend never holds more requests at once than its limit, and the
# surplus waits in the cluster's queue and is served in turn; past
# --queue the surplus gets 503 at once, and past --queue-timeout a waiting
# request gets 503 then, both with Retry-After; a client that goes away
# while queued leaves the queue without taking a slot; HTTP/2 streams
# queue alike. --slow-start prints back (its ramp is lb.c's unit test). The options print
# back canonically and bad values change nothing.
. "$(dirname "$0")/../lib.sh"
test -x "$KK_BIN/kakehi-supervisor" || tap_skip_all "kakehi-supervisor is not built"
here=$(cd "$(dirname "$0")" && pwd)

# slow NAME: starts slowcount.py; sets its port in port_NAME.
slow() {
	kk_spawn "slow-$1" python3 "$here/slowcount.py"
	kk_wait_for 10 test -s "$T/slow-$1.log" || { echo "Bail out! slowcount.py did not start" ; exit 1 ; }
	eval "port_$1=\$(head -n 1 \"\$T/slow-\$1.log\")"
}
for n in lim tight short gone ; do slow $n ; done
port=$(kk_free_port)
L=127.0.0.1:$port
cat > "$T/k.conf" <<EOF
set workers 1
listener add http $L
cluster add lim --queue-timeout 30s
cluster add tight --queue 1 --queue-timeout 30s
cluster add short --queue-timeout 500ms
cluster add gone --queue-timeout 30s
frontend add lim --listener $L --path /l/
frontend add tight --listener $L --path /t/
frontend add short --listener $L --path /s/
frontend add gone --listener $L --path /g/
backend add lim b1 127.0.0.1:$port_lim --max-connections 2
backend add tight b1 127.0.0.1:$port_tight --max-connections 2
backend add short b1 127.0.0.1:$port_short --max-connections 1
backend add gone b1 127.0.0.1:$port_gone --max-connections 1
EOF
kk_proxy "$T/k.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
# peak NAME: the most requests the backend held at once since the last call.
peak() { eval "kk_curl http://127.0.0.1:\$port_$1/peak" ; }
seen() { eval "kk_curl http://127.0.0.1:\$port_$1/seen" ; }
# count STATUS: the answers of the last burst with that status.
count() { grep -c "^$1 " "$T/burst.out" ; }
burst() { python3 "$here/burst.py" "$port" "$1" "$2" > "$T/burst.out" ; }
# within STATUS LOW HIGH: every answer with STATUS came within LOW..HIGH s.
within() {
	awk -v s="$1" -v lo="$2" -v hi="$3" '$1 == s && ($2 < lo || $2 > hi) { bad = 1 }
		END { exit bad }' "$T/burst.out"
}

dump=$(ctl state dump)
tap_like "$dump" "backend add lim b1 127.0.0.1:$port_lim --max-connections 2\$" \
	"state dump prints --max-connections"
tap_like "$dump" "cluster add tight --queue 1 --queue-timeout 30s\$" \
	"state dump prints --queue and --queue-timeout"
tap_like "$dump" "cluster add lim --queue-timeout 30s\$" "the default --queue is left out"
tap_like "$(ctl backend list lim)" "--max-connections 2" "backend list shows the limit"
tap_like "$(ctl --json backend list lim)" '"max-connections":2' "so does its --json"
tap_like "$(ctl cluster list)" "cluster add tight --queue 1" "cluster list shows the queue"
tap_like "$(ctl --json cluster list)" '"id":"tight"[^}]*"queue":1,"queue-timeout":30000' \
	"so does its --json"

peak lim >/dev/null
burst 6 /l/wait/1000
tap_ok "max-connections 2: the backend held 2 requests at most" test "$(peak lim)" -le 2
tap_is "$(count 200)" 6 "the four past the limit waited, and all six were served"
tap_ok "... in turns: the last after two of them" sh -c \
	"awk '\$2 >= 2.5' '$T/burst.out' | grep -q ."

burst 6 /t/wait/1500
tap_is "$(count 200)" 3 "--queue 1: two served, one waited and was served"
tap_is "$(count 503)" 3 "the other three got 503"
tap_ok "... at once" within 503 0 1.2
tap_ok "... with Retry-After: 1" test "$(grep -c '^503 [0-9.]* 1$' "$T/burst.out")" -eq 3

burst 3 /s/wait/4000
tap_is "$(count 200)" 1 "--queue-timeout 500ms: the one with the slot was served"
tap_is "$(count 503)" 2 "the two waiting got 503"
tap_ok "... after about the timeout" within 503 0.4 3
tap_ok "... with Retry-After: 1" test "$(grep -c '^503 [0-9.]* 1$' "$T/burst.out")" -eq 2

python3 "$here/leave.py" "$port" /g > "$T/leave.out"
tap_like "$(cat "$T/leave.out")" "^A 200" "the request holding the slot was served"
tap_like "$(cat "$T/leave.out")" "C 200" "so was the one queued after a client that went away"
tap_is "$(seen gone)" 2 "the gone client's request never reached the backend"
if command -v h2load > /dev/null ; then
	out=$(h2load -n 4 -c 1 -m 4 "http://$L/g/wait/300" 2>&1)
	tap_like "$out" "status codes: 4 2xx, 0 3xx, 0 4xx, 0 5xx" \
		"HTTP/2: four streams at once on one connection, one slot: all served in turn"
	out=$(h2load -n 6 -c 1 -m 6 "http://$L/t/wait/1000" 2>&1)
	tap_like "$out" "status codes: 3 2xx, 0 3xx, 0 4xx, 3 5xx" \
		"HTTP/2: past --queue 1, 503"
else
	tap_result 0 "# SKIP h2load is not installed (nghttp2-client)"
	tap_result 0 "# SKIP h2load is not installed (nghttp2-client)"
fi
st=$(ctl status --workers)
# 4 + 1 + 2 + 2 waited; a slow machine may let a burst's requests come
# so far apart that some find a slot free.
tap_ok "status counts the requests that waited" test \
	"$(printf '%s\n' "$st" | awk '$1 == "queued" { print $2 ; exit }')" -ge 5
tap_like "$st" "queue-full [36]" "status counts the queue-full 503s"
tap_like "$st" "queue-timeouts 2" "and the timeouts"

ctl backend add lim b3 127.0.0.1:$port_lim --weight 50 --slow-start 30000ms > /dev/null
tap_like "$(ctl backend list lim)" "backend add lim b3 127.0.0.1:$port_lim --weight 50 --slow-start 30s\$" \
	"--slow-start printed back canonically"
tap_like "$(ctl --json backend list lim)" '"id":"b3"[^}]*"slow-start":30000' "so in --json"
tap_is "$(kk_http_code "http://$L/l/wait/0")" 200 "the cluster serves with a ramping backend"

before=$(ctl state dump)
for bad in 0 -1 x 1000001 ; do
	tap_fails "--max-connections $bad is refused" \
		ctl backend add lim b2 127.0.0.1:$port_lim --max-connections $bad
done
tap_like "$(ctl backend add lim b2 127.0.0.1:$port_lim --max-connections 0 2>&1)" \
	"max-connections" "the refusal names the option"
for bad in 0 -5s soon ; do
	tap_fails "--slow-start $bad is refused" \
		ctl backend add lim b4 127.0.0.1:$port_lim --slow-start $bad
done
for bad in "--queue -1" "--queue 100001" "--queue-timeout 0" "--queue-timeout soon" ; do
	tap_fails "cluster add $bad is refused" ctl cluster add other $bad
done
tap_is "$(ctl state dump)" "$before" "the state is unchanged"

tap_done
