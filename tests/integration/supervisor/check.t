#!/bin/sh
# Active health checks (cluster health-check, kakehi-check) with real
# workers: a backend whose health path fails is taken out of both workers
# after --fall probes, held out while requests would still succeed, then
# stopped with no request failing under load; restarted, it is back after
# --rise probes. kakehi-check is one process, restarted when killed; it
# stops with the last check, which lifts the verdicts.
. "$(dirname "$0")/../lib.sh"
test -x "$KK_BIN/kakehi-worker" || tap_skip_all "kakehi-worker is not built"
test -x "$KK_BIN/kakehi-check" || tap_skip_all "kakehi-check is not built"
SV_WORKER=$KK_BIN/kakehi-worker
. "$(dirname "$0")/sv.sh"

kk_backend b1 -f "$T/b1.sick" -F /health ; p1=$kk_port ; b1_pid=$kk_last_pid
kk_backend b2 -f "$T/b2.sick" -F /health ; p2=$kk_port
kk_backend b3 ; p3=$kk_port ; b3_pid=$kk_last_pid
port=$(kk_free_port)
cat > "$T/k.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
cluster add app
cluster health-check app --path /health --interval 200ms --timeout 150ms --rise 2 --fall 2
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:$p1
backend add app b2 127.0.0.1:$p2
cluster add quiet
cluster health-check quiet --path /health --interval 200ms --timeout 150ms --rise 1 --fall 1
frontend add quiet --listener 127.0.0.1:$port --host quiet.test
backend add quiet b3 127.0.0.1:$p3
EOF
sv_start a "$T/k.conf"
sv_ready a || { echo "Bail out! supervisor not ready" ; sed 's/^/# /' "$T/a.log" ; exit 1 ; }
kk_spawn events kakehi-ctl -s "$sv_sock" events
kk_wait_for 10 grep -q '^following events' "$T/events.log"

served() {	# served N: the status and X-Backend of N requests, one a line
	_i=0
	while test $_i -lt "$1" ; do
		kk_curl -s -D - -o /dev/null "http://127.0.0.1:$port/" | tr -d '\r' |
			awk '/^HTTP/ { s = $2 } /^X-Backend:/ { b = $2 } END { print s, b }'
		_i=$((_i + 1))
	done
}
checker_pid() { ctl status | awk '$1 == "checker" { print $3 }' ; }
held() { ctl status | grep -q "^health-out app $1 held-by-check" ; }
back_in() { ! ctl status | grep -q "^health-out app $1 " ; }
workers_out() {
	ctl status | awk '$1 == "total" && $2 == "health-backends-out" { n = $3 } END { print n + 0 }'
}

tap_is "$(ctl state dump | grep '^cluster health-check app')" \
	"cluster health-check app --path /health --interval 200ms --timeout 150ms --fall 2" \
	"state dump: the check, canonical, after its cluster"
tap_ok "kakehi-check runs, one for the proxy" kk_wait_for 10 sh -c \
	"kakehi-ctl -s '$sv_sock' status | grep -q '^checker pid [1-9][0-9]* restarts 0'"
children() {	# children NAME: how many children of the supervisor run NAME
	cat /proc/[0-9]*/stat 2>/dev/null |
		awk -v pp="$sv_pid" -v n="($1)" '$4 == pp && $2 == n' | wc -l | tr -d ' '
}
tap_is "$(children kakehi-check)" 1 "one process, not one per worker"
tap_is "$(served 6 | sort -u | tr '\n' ' ')" "200 b1 200 b2 " "both backends serve"

kk_load steady -c 4 "127.0.0.1:$port"
# b1's health path fails: taken down on purpose, while it still serves.
: > "$T/b1.sick"
tap_ok "--fall failed probes take b1 out" kk_wait_for 10 held b1
tap_is "$(workers_out)" 2 "the verdict is in both workers"
tap_ok "an event by kakehi-check" kk_wait_for 10 sh -c \
	"grep ' health ' '$T/events.log' | grep -q 'cluster=app backend=b1 state=down was=up by=kakehi-check'"
tap_ok "logged" grep -q "backend b1 of cluster app is down (its health check fails)" "$T/a.log"
sleep 2
tap_is "$(served 10 | sort -u | tr '\n' ' ')" "200 b2 " "held out: requests, which b1 would answer, do not bring it back"
kk_stop "$b1_pid"
sleep 1
kk_load_assert steady "b1 taken out by its check, then stopped: no request failed"

kk_spawn backend-b1-again kk-testbackend -n b1 -f "$T/b1.sick" -F /health "127.0.0.1:$p1"
kk_wait_for 10 kk_port_open "$p1"
rm -f "$T/b1.sick"
tap_ok "restarted and healthy: --rise probes put b1 back" kk_wait_for 10 back_in b1
tap_like "$(served 6 | sort -u | tr '\n' ' ')" "200 b1" "b1 serves again"
tap_ok "its return is an event" kk_wait_for 10 sh -c \
	"grep ' health ' '$T/events.log' | grep -q 'cluster=app backend=b1 state=up was=down by=kakehi-check'"

# A backend that accepts and never answers: its probes time out.
kill -STOP "$b3_pid"
tap_ok "probes past --timeout take b3 out" kk_wait_for 10 sh -c \
	"kakehi-ctl -s '$sv_sock' status | grep -q '^health-out quiet b3 held-by-check'"
tap_is "$(kk_http_code -H 'Host: quiet.test' "http://127.0.0.1:$port/")" 503 \
	"its cluster has no backend left: 503"
kill -CONT "$b3_pid"
tap_ok "answering again, b3 is back" kk_wait_for 10 sh -c \
	"! kakehi-ctl -s '$sv_sock' status | grep -q '^health-out quiet b3 '"

# kakehi-check killed: supervised, it comes back, and probes again.
old=$(checker_pid)
kill -9 "$old"
tap_ok "kakehi-check killed: restarted" kk_wait_for 10 sh -c \
	"kakehi-ctl -s '$sv_sock' status | grep -q '^checker pid [1-9][0-9]* restarts 1'"
new_pid() { test "$(checker_pid)" != "$old" ; }
tap_ok "under a new pid" new_pid
tap_ok "the restart is logged" grep -q "kakehi-check died on signal 9" "$T/a.log"
: > "$T/b2.sick"
tap_ok "the new one probes: b2 out" kk_wait_for 10 held b2

# An in-place upgrade: its channel closes with the exec, the new
# supervisor starts another, and a verdict held from before is kept, then
# lifted by the new one's probes.
old=$(checker_pid)
tap_ok "upgrade in place" ctl upgrade --no-workers
tap_ok "a new kakehi-check after the upgrade" kk_wait_for 10 sh -c \
	"p=\$(kakehi-ctl -s '$sv_sock' status | awk '\$1 == \"checker\" { print \$3 }') ; test -n \"\$p\" && test \"\$p\" != $old"
tap_ok "the old one is gone" kk_wait_for 10 sh -c "! kill -0 $old 2>/dev/null"
tap_is "$(workers_out)" 2 "b2 still out in both workers"
rm -f "$T/b2.sick"
tap_ok "the new one's probes put b2 back" kk_wait_for 10 sh -c \
	"kakehi-ctl -s '$sv_sock' status | awk '\$1 == \"total\" && \$2 == \"health-backends-out\" { n = \$3 } END { exit n + 0 != 0 }'"
: > "$T/b2.sick"
tap_ok "and take it out again" kk_wait_for 10 held b2

# A reload changes the check: kakehi-check follows the delta, probes the
# new path (which b2 answers), and puts b2 back.
sed 's|--path /health |--path /ready |' "$T/k.conf" > "$T/k2.conf"
tap_ok "reload with another path" ctl reload "$T/k2.conf"
tap_like "$(ctl state dump | grep '^cluster health-check app')" "--path /ready " "the new check stands"
tap_ok "probed on the new path, b2 is back" kk_wait_for 10 back_in b2
ctl reload "$T/k.conf" > /dev/null
tap_ok "and back on /health, out again" kk_wait_for 10 held b2

# The check removed: kakehi-check stops, its verdicts are lifted.
tap_ok "cluster health-check --off" ctl cluster health-check app --off
tap_ok "one check left: kakehi-check goes on" sh -c \
	"kakehi-ctl -s '$sv_sock' status | grep -q '^checker pid [1-9]'"
tap_ok "b2's verdict is lifted at once" back_in b2
ctl cluster health-check quiet --off > /dev/null
tap_ok "no check left: kakehi-check stops" kk_wait_for 10 sh -c \
	"! kakehi-ctl -s '$sv_sock' status | grep -q '^checker '"
tap_ok "and its verdicts are lifted" back_in b2
tap_is "$(workers_out)" 0 "in both workers"
tap_ok "a bad check changes nothing" sh -c \
	"! kakehi-ctl -s '$sv_sock' cluster health-check app --path nope 2>/dev/null"

tap_is "$(grep -c 'kakehi-check \(died\|exited\)' "$T/a.log")" 1 \
	"kakehi-check ended only when it was killed"

tap_ok "shutdown" ctl shutdown
wait "$sv_pid"
tap_is "$?" 0 "shutdown: exit 0"
tap_done
