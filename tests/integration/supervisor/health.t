#!/bin/sh
# Passive health with real workers (doc/health.html): answers of 500
# (--fail-5xx) and refused connects take a backend out once --max-fails
# of them come in a row; the verdict reaches both workers, is logged, is
# an event and is counted in status; the backoff brings it back once it
# answers again, and doubles while it does not; a cluster whose backends
# are all out answers 503 with Retry-After; a restarted worker starts
# with the verdicts in force.
. "$(dirname "$0")/../lib.sh"
test -x "$KK_BIN/kakehi-worker" || tap_skip_all "kakehi-worker is not built"
SV_WORKER=$KK_BIN/kakehi-worker
. "$(dirname "$0")/sv.sh"

kk_backend b1 -f "$T/b1.sick" ; p1=$kk_port ; b1_pid=$kk_last_pid
kk_backend b2 ; p2=$kk_port
kk_backend s1 -f "$T/s1.sick" ; p3=$kk_port
kk_backend h1 ; p4=$kk_port ; h1_pid=$kk_last_pid
kk_backend h2 ; p5=$kk_port
port=$(kk_free_port)
port2=$(kk_free_port)
cat > "$T/k.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
cluster add app --max-fails 2 --fail-5xx
cluster add solo --max-fails 1 --fail-5xx
frontend add solo --listener 127.0.0.1:$port --host solo.test
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:$p1
backend add app b2 127.0.0.1:$p2
backend add solo s1 127.0.0.1:$p3
listener add http 127.0.0.1:$port2 --back-timeout 300ms
cluster add hang --max-fails 1
frontend add hang --listener 127.0.0.1:$port2
backend add hang h1 127.0.0.1:$p4
backend add hang h2 127.0.0.1:$p5
EOF
sv_start a "$T/k.conf"
sv_ready a || { echo "Bail out! supervisor not ready" ; sed 's/^/# /' "$T/a.log" ; exit 1 ; }
kk_spawn events kakehi-ctl -s "$sv_sock" events
kk_wait_for 10 grep -q '^following events' "$T/events.log"

tap_like "$(ctl state dump | grep '^cluster add app')" \
	'^cluster add app --max-fails 2 --fail-5xx$' "state dump: the health options, canonical"

# served N: the status and X-Backend of N requests, one a line
served() {
	_i=0
	while test $_i -lt "$1" ; do
		kk_curl -s -D - -o /dev/null "http://127.0.0.1:$port/" | tr -d '\r' |
			awk '/^HTTP/ { s = $2 } /^X-Backend:/ { b = $2 } END { print s, b }'
		_i=$((_i + 1))
	done
}
out_of() {	# out_of CLUSTER BACKEND: the supervisor's verdict is down
	ctl status | grep -q "^health-out $1 $2 "
}
back_in() { ! out_of "$@" ; }
workers_out() {	# how many workers hold a backend out, summed over backends
	ctl status | awk '$1 == "total" && $2 == "health-backends-out" { n = $3 } END { print n + 0 }'
}
load_until() {	# load_until SECONDS CMD...: requests while CMD fails, answers in $T/load
	_end=$(( $(date +%s) + $1 )) ; shift
	until "$@" ; do
		test "$(date +%s)" -ge $_end && return 1
		served 4 >> "$T/load"
	done
}

tap_is "$(served 6 | sort -u | tr '\n' ' ')" "200 b1 200 b2 " "both backends serve"

# --fail-5xx: b1 falls sick and answers 500.
: > "$T/b1.sick"
tap_ok "500s in a row take b1 out" load_until 20 out_of app b1
tap_is "$(workers_out)" 2 "the verdict is in both workers"
tap_is "$(served 20 | sort -u | tr '\n' ' ')" "200 b2 " "b1 out: only b2 serves, in either worker"
tap_ok "the verdict is logged" grep -q "backend b1 of cluster app is down" "$T/a.log"
tap_ok "the verdict is an event" kk_wait_for 10 sh -c \
	"grep ' health ' '$T/events.log' | grep -q 'cluster=app backend=b1 state=down was=up by=\"worker [01]\"'"
tap_like "$(ctl status | grep '^health ')" '^health 1 out, 1 downs, 0 ups' "status counts it"
ctl --json status > "$T/status.json"
tap_ok "status --json lists it" python3 -c '
import json, sys
h = json.load(open(sys.argv[1]))["health"]
assert h["downs"] == 1 and h["out"][0]["cluster"] == "app" and h["out"][0]["backend"] == "b1", h
' "$T/status.json"

# Still sick: the retry after the backoff fails, and the next is later.
tap_ok "a failed retry doubles the backoff" load_until 20 sh -c \
	"kakehi-ctl -s '$sv_sock' status | grep -q '^health-out app b1 backoff 2000ms'"
rm -f "$T/b1.sick"
tap_ok "well again: the retry after the backoff puts b1 back" load_until 20 back_in app b1
tap_like "$(served 6 | sort -u | tr '\n' ' ')" "200 b1" "b1 serves again"
tap_is "$(workers_out)" 0 "back in both workers"
tap_ok "its return is an event" kk_wait_for 10 sh -c \
	"grep ' health ' '$T/events.log' | grep -q 'cluster=app backend=b1 state=up was=down'"

# Refused connects: b1 stops; its requests are retried on b2 meanwhile.
kk_stop "$b1_pid"
: > "$T/load"
tap_ok "refused connects take b1 out" load_until 30 out_of app b1
served 10 >> "$T/load"
tap_is "$(sort -u "$T/load" | tr '\n' ' ')" "200 b2 " "no request failed meanwhile"
kk_spawn backend-b1-again kk-testbackend -n b1 "127.0.0.1:$p1"
kk_wait_for 10 kk_port_open "$p1"
tap_ok "restarted: a retry puts b1 back" load_until 60 back_in app b1

# Every backend of a cluster out: 503 with Retry-After.
: > "$T/s1.sick"
solo() { kk_curl -s -D - -o /dev/null -H 'Host: solo.test' "http://127.0.0.1:$port/" | tr -d '\r' ; }
tap_is "$(solo | head -n 1)" "HTTP/1.1 500 Internal Server Error" "solo: the sick backend's 500"
kk_wait_for 10 out_of solo s1
solo > "$T/solo.head"
tap_is "$(head -n 1 "$T/solo.head")" "HTTP/1.1 503 Service Unavailable" "all out: 503"
tap_ok "with Retry-After" grep -qi '^Retry-After: [0-9]' "$T/solo.head"
solo2() {	# the same over HTTP/2 (h2c): 0 when a 503 with Retry-After came
	kk_curl -s --http2-prior-knowledge -D - -o /dev/null -H 'Host: solo.test' \
		"http://127.0.0.1:$port/" | tr -d '\r' > "$T/solo2.head"
	grep -q '^HTTP/2 503' "$T/solo2.head" && grep -qi '^retry-after: [0-9]' "$T/solo2.head"
}
tap_ok "over HTTP/2 too" kk_wait_for 10 solo2

# A backend that stops answering (stopped, its kernel still accepts):
# 504 past --back-timeout, then out; the others serve; back once it
# answers a retry.
kill -STOP "$h1_pid"
hang() { kk_curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$port2/" ; }
tap_ok "no answer within --back-timeout takes h1 out" kk_wait_for 20 sh -c \
	"curl -s -o /dev/null --max-time 5 http://127.0.0.1:$port2/ ; kakehi-ctl -s '$sv_sock' status | grep -q '^health-out hang h1 '"
tap_is "$(for i in 1 2 3 4 5 6 ; do hang ; done | sort -u | tr '\n' ' ')" "200 " "h1 out: every request answered"
kill -CONT "$h1_pid"
tap_ok "answering again, h1 is back" kk_wait_for 20 sh -c \
	"curl -s -o /dev/null --max-time 5 http://127.0.0.1:$port2/ ; ! kakehi-ctl -s '$sv_sock' status | grep -q '^health-out hang h1 '"

# A new worker starts with the verdicts in force.
victim=$(worker_pid 0)
kill -9 "$victim"
kk_wait_for 20 sh -c "kakehi-ctl -s $sv_sock status | grep -q '^worker 0 .* state ready restarts 1 '"
tap_is "$(workers_out)" 2 "a restarted worker gets the verdicts in force (solo's s1)"

tap_ok "shutdown" ctl shutdown
wait "$sv_pid"
tap_is "$?" 0 "shutdown: exit 0"
tap_done
