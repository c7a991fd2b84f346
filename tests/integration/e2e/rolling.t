#!/bin/sh
# Rolling worker upgrades and the worker lifecycle under load (issue 9,
# cases 3, 5 and 9): `upgrade workers` back to back under keep-alive and
# Connection: close clients with no failure and never more than one extra
# worker; a change made during a roll reaches every worker once; a tcp
# tunnel through a replaced worker lasts until the drain timeout and ends
# cleanly; kill -9 of a worker costs only what it held; a stopped worker
# is killed and replaced; a worker binary that cannot start makes the
# roll fail with the reason and changes nothing; a crash loop backs off.
. "$(dirname "$0")/../lib.sh"

if kk_soak ; then seconds=20 ; else seconds=4 ; fi

kk_backend b1 ; p1=$kk_port
kk_backend b2 ; p2=$kk_port
# A tcp echo server, for the tunnel.
kk_spawn echo python3 -c '
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
def serve(c):
    while True:
        d = c.recv(4096)
        if not d:
            break
        c.sendall(d)
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
'
kk_wait_for 10 test -s "$T/echo.log" || { echo "Bail out! echo server" ; exit 1 ; }
pe=$(head -n 1 "$T/echo.log")
port=$(kk_free_port)
tport=$(kk_free_port)

# The workers run from a copy, so the test can replace the binary on disk.
mkdir -p "$T/bin"
cp "$KK_BIN/kakehi-worker" "$T/bin/kakehi-worker"
cat > "$T/kakehi.conf" <<EOF
set workers 2
set drain-timeout 3s
set ping-timeout 1s
listener add http 127.0.0.1:$port
listener add tcp 127.0.0.1:$tport
cluster add app
cluster add echo
frontend add app --listener 127.0.0.1:$port
frontend add echo --listener 127.0.0.1:$tport
backend add app b1 127.0.0.1:$p1
backend add echo e1 127.0.0.1:$pe
EOF

# An abstract datagram socket stands in for systemd's notify socket: each
# message on one line, its lines joined by "|".
notify="@kakehi-test-$$-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')"
kk_spawn notify python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1][1:])
s.settimeout(300)
while True:
    print("|".join(s.recv(4096).decode().split("\n")), flush=True)
' "$notify"
kk_wait_for 10 grep -q "@${notify#@}" /proc/net/unix

sock=$T/control
: > "$T/ready"
NOTIFY_SOCKET=$notify kk_spawn kakehi \
	sh -c 'exec kakehi-supervisor -d 5 -s "$1" -W "$2" "$3" 5>"$4"' sh \
	"$sock" "$T/bin/kakehi-worker" "$T/kakehi.conf" "$T/ready"
sup=$kk_last_pid
tap_ok "supervisor ready" kk_wait_for 30 test -s "$T/ready"
ctl() { kakehi-ctl -s "$sock" "$@" ; }

# Worker lines of status: "ID PID STATE" each.
workers() { ctl status | awk '$1 == "worker" { print $2, $4, $6 }' ; }
pids() { workers | awk '{ print $2 }' | sort -n | tr '\n' ' ' ; }
ready_n() { workers | awk '$3 == "ready"' | wc -l ; }
settled() { test "$(ready_n)" = 2 && test "$(workers | wc -l)" = 2 ; }

# The supervisor's children, sampled every 20 ms until $T/sample.stop
# exists (or 200 s): the largest count seen is written at the end.
kk_spawn sampler python3 -c '
import os, sys, time
sup, stop, out = sys.argv[1], sys.argv[2], sys.argv[3]
most = 0
end = time.monotonic() + 200
while not os.path.exists(stop) and time.monotonic() < end:
    n = 0
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            st = open("/proc/%s/stat" % p).read()
        except OSError:
            continue
        if st[st.rindex(")") + 2:].split()[1] == sup:
            n += 1
    most = max(most, n)
    time.sleep(0.02)
open(out, "w").write("%d\n" % most)
' "$sup" "$T/sample.stop" "$T/sample.max"
sampler=$kk_last_pid

# Case 3: rolls back to back under load ------------------------------------
before=$(pids)
kk_load ka -c 6 -m keepalive -d 0 "127.0.0.1:$port"
kk_load cl -c 3 -m close -d 0 "127.0.0.1:$port"
# And curl, reusing its connection as long as the proxy keeps it: 25 ms
# per request for about as long as the rolls run.
n=$((seconds * 30))
kk_spawn curl curl -sS --max-time 120 -o /dev/null -w '%{http_code} %{num_connects}\n' \
	"http://127.0.0.1:$port/slow/25?n=[1-$n]"
curl=$kk_last_pid
sleep 0.5
rolls=0 failed=0
end=$(( $(date +%s) + seconds ))
while test "$(date +%s)" -lt "$end" ; do
	if ctl upgrade workers > "$T/roll.out" 2>&1 ; then
		rolls=$((rolls + 1))
	else
		failed=$((failed + 1))
		sed 's/^/# upgrade workers: /' "$T/roll.out"
	fi
done
tap_ok "rolling upgrades ran back to back ($rolls in ${seconds}s, none failed)" \
	test "$rolls" -ge 2 -a "$failed" -eq 0
tap_like "$(cat "$T/roll.out")" '^2 workers replaced, one at a time' \
	"upgrade workers says how many workers it replaced"
line='^worker [0-9]* (pid [0-9]*) replaced by worker [0-9]* (pid [0-9]*), [12] of 2$'
tap_is "$(grep -v "$line" "$T/roll.out" | wc -l)" 1 \
	"and nothing else than a line per worker before that"
kk_load_assert ka "keep-alive clients across $rolls rolls: no failure"
kk_load_assert cl "Connection: close clients across $rolls rolls: no failure"
wait "$curl"
tap_is "$?" 0 "curl keep-alive across the rolls: no error"
tap_is "$(awk '$1 == 200' "$T/curl.log" | wc -l)" "$n" "curl: all $n requests answered 200"
conns=$(awk '{ n += $2 } END { print n }' "$T/curl.log")
tap_diag "curl opened $conns connections for $n requests"
touch "$T/sample.stop"
wait "$sampler"
most=$(cat "$T/sample.max")
tap_ok "never more than 3 workers (2 + 1) at once: at most $most seen" test "$most" -le 3
tap_ok "the roll ends with 2 ready workers" kk_wait_for 20 settled
after=$(pids)
common=0
for p in $after ; do case " $before " in *" $p "*) common=$((common + 1)) ;; esac ; done
tap_is "$common" 0 "every worker pid changed ($before-> $after)"
tap_like "$(ctl status)" 'worker-binary .*/bin/kakehi-worker \(binary [0-9]+\)' \
	"status names the worker binary"
tap_like "$(ctl --json status)" \
	'"state":"ready","restarts":0,"generation":[0-9]+,"binary":[0-9]+,"why":"serving"' \
	"status --json gives each worker's generation, binary and why"

# A change during a roll reaches every worker, old and new, once ----------
ctl upgrade workers > "$T/roll2.out" 2>&1 &
roll=$!
changes=0
for i in 1 2 3 4 5 6 ; do
	ctl backend add app "x$i" "127.0.0.1:$p2" > /dev/null && changes=$((changes + 1))
	sleep 0.2
done
wait "$roll"
tap_is "$?" 0 "upgrade workers with changes arriving during it"
tap_is "$changes" 6 "every change during the roll was applied"
tap_ok "settled again" kk_wait_for 20 settled
gen=$(ctl status | awk '$1 == "generation" { print $2 ; exit }')
tap_is "$(ctl status | awk -v g="$gen" '$1 == "worker" && $10 != g' | wc -l)" 0 \
	"every worker is on the committed generation $gen"
tap_fails "no worker refused a change or missed one" \
	grep -q 'refused\|asking for the whole state' "$T/kakehi.log"
for i in 1 2 3 4 5 6 ; do ctl backend remove app "x$i" > /dev/null ; done

# Case 5: a tcp tunnel through replaced workers -----------------------------
kk_spawn tunnel python3 -c '
import os, socket, sys, time
port, go = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), 10)
s.settimeout(10)
s.sendall(b"ping\n")
assert s.recv(100) == b"ping\n"
print("echo ok", flush=True)
for i in range(200):
    if os.path.exists(go):
        break
    time.sleep(0.05)
t0 = time.monotonic()
n = 0
how = "timeout"
while time.monotonic() - t0 < 30:
    try:
        s.sendall(b"x")
        d = s.recv(100)
    except ConnectionResetError:
        how = "reset"
        break
    except BrokenPipeError:
        how = "reset"
        break
    if d == b"":
        how = "eof"
        break
    n += 1
    time.sleep(0.1)
print("ended %s after %.1f s, %d echoes" % (how, time.monotonic() - t0, n), flush=True)
' "$tport" "$T/tunnel.go"
tunnel=$kk_last_pid
kk_wait_for 10 grep -q 'echo ok' "$T/tunnel.log"
t0=$(date +%s)
touch "$T/tunnel.go"
ctl upgrade workers > "$T/roll3.out" 2>&1
tap_is "$?" 0 "upgrade workers with a tunnel open"
wait "$tunnel"
res=$(cat "$T/tunnel.log")
tap_diag "tunnel: $res"
tap_like "$res" 'ended eof after' "the tunnel ends with a clean end of file, not a reset"
secs=$(printf '%s\n' "$res" | sed -n 's/.*after \([0-9]*\)\..*/\1/p')
tap_ok "it lasted until the drain timeout (3 s): ${secs}s" \
	test "${secs:-0}" -ge 2 -a "${secs:-0}" -le 15
tap_like "$(cat "$T/kakehi.log")" 'drain timeout reached with 1 connections open' \
	"the worker holding it closed it at its drain timeout"

# Case 9: kill -9 of a worker under load -------------------------------------
tap_ok "settled before the kill" kk_wait_for 20 settled
kk_load k9 -c 8 -m keepalive -d 0 "127.0.0.1:$port"
sleep 1
victim=$(workers | awk 'NR == 1 { print $1, $2 }')
vid=${victim% *} ; vpid=${victim#* }
held=$(ctl status --workers | awk -v id="$vid" '$1 == "worker" { cur = $2 }
	cur == id && $1 == "connections-active" { print $2 ; exit }')
kill -KILL "$vpid"
t0=$(date +%s%N)
replaced() {	# worker $vid serves with a pid other than $vpid
	workers | awk -v id="$vid" -v p="$vpid" '$1 == id && $2 != p && $3 == "ready"' | grep -q .
}
kk_wait_for 10 replaced
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
tap_ok "the killed worker is replaced and ready within 3 s (${ms} ms)" test "$ms" -le 3000
sleep 1
kk_load_finish k9
req=$(printf '%s\n' "$kk_load_counts" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
okn=$(printf '%s\n' "$kk_load_counts" | sed -n 's/.* ok=\([0-9]*\).*/\1/p')
lost=$(( ${req:-0} - ${okn:-0} ))
tap_ok "only requests in flight on the killed worker failed: $lost, it held $held connections\
 ($kk_load_counts)" \
	test "${req:-0}" -gt 0 -a "$lost" -le "${held:-0}"

# A stopped worker (SIGSTOP) is killed and replaced --------------------------
tap_ok "settled before the stop" kk_wait_for 20 settled
victim=$(workers | awk 'NR == 2 { print $1, $2 }')
vid=${victim% *} ; vpid=${victim#* }
kill -STOP "$vpid"
tap_ok "the stopped worker is replaced" kk_wait_for 20 replaced
tap_fails "and its process is gone" kill -0 "$vpid"
tap_like "$(cat "$T/kakehi.log")" "worker $vid \\(pid $vpid\\) did not answer a ping within 1s" \
	"the log says it did not answer a ping"
codes=
for i in 1 2 3 4 5 6 ; do codes="$codes$(kk_http_code "http://127.0.0.1:$port/s$i")" ; done
tap_is "$codes" 200200200200200200 "service continues"

# A worker binary that cannot start: the roll fails, nothing changes ---------
before=$(pids)
cp "$T/bin/kakehi-worker" "$T/kakehi-worker.good"
printf '#!/bin/sh\necho "broken build" >&2\nexit 1\n' > "$T/bin/kakehi-worker.new"
chmod +x "$T/bin/kakehi-worker.new"
mv "$T/bin/kakehi-worker.new" "$T/bin/kakehi-worker"
out=$(ctl upgrade workers 2>&1)
tap_is "$?" 1 "upgrade workers to a binary that exits at start: exit 1"
tap_like "$out" 'upgrade workers stopped: worker [0-9]+ \(pid [0-9]+\), started to replace'\
' worker [0-9]+ \(pid [0-9]+\), died with status 1 .*before it was ready' \
	"the reply says which replacement failed and how"
tap_like "$out" '0 of 2 workers were replaced' "and that no worker was replaced"
tap_is "$(pids)" "$before" "the workers are the same processes"
tap_is "$(kk_http_code "http://127.0.0.1:$port/after-bad")" 200 "service continues"
# A crash now restarts from the binary the supervisor holds open, not
# from the broken file on disk.
victim=$(workers | awk 'NR == 1 { print $1, $2 }')
vid=${victim% *} ; vpid=${victim#* }
kill -KILL "$vpid"
tap_ok "a killed worker restarts from the binary held open, not the file on disk" \
	kk_wait_for 10 replaced
chmod -x "$T/bin/kakehi-worker"
out=$(ctl upgrade workers 2>&1)
tap_is "$?" 1 "upgrade workers to a file that is not executable: exit 1"
tap_like "$out" 'worker binary .*/bin/kakehi-worker is not executable; nothing changed' \
	"the reply says so, before touching any worker"
cp "$T/kakehi-worker.good" "$T/bin/kakehi-worker.new"
mv "$T/bin/kakehi-worker.new" "$T/bin/kakehi-worker"
before=$(pids)
tap_ok "upgrade workers to a good binary again" ctl upgrade workers
tap_ok "settled" kk_wait_for 20 settled
after=$(pids)
tap_ok "the workers were replaced ($before-> $after)" test "$before" != "$after"

# status during a roll: its progress, and why each worker is where it is.
# The new binary takes a second to start, so the roll is seen starting.
printf '#!/bin/sh\nsleep 1\nexec "%s" "$@"\n' "$T/kakehi-worker.good" > "$T/bin/kakehi-worker.new"
chmod +x "$T/bin/kakehi-worker.new"
mv "$T/bin/kakehi-worker.new" "$T/bin/kakehi-worker"
ctl upgrade workers > "$T/roll5.out" 2>&1 &
roll=$!
sleep 0.4
st=$(ctl status)
js=$(ctl --json status)
wait "$roll"
tap_is "$?" 0 "upgrade workers from a binary slow to start"
tap_like "$st" \
	'^upgrade-workers 0 of 2 replaced, worker [0-9]+ \(pid [0-9]+\) by worker [0-9]+:'\
' starting' \
	"status shows the roll in progress"
tap_like "$st" 'state spawned .*\(replacing worker [0-9]+ \(upgrade workers\)\)' \
	"the replacement says what it replaces"
tap_like "$st" 'state ready .*\(being replaced by worker [0-9]+ \(upgrade workers\)\)' \
	"the worker being replaced says so"
tap_like "$js" '"upgrade_workers":\{"phase":"starting","done":0,"total":2,"replacing":[0-9]+' \
	"status --json too"

# systemd saw each roll as a reload: RELOADING=1, then READY=1 once done.
seq=$(awk -F'|' '$1 == "RELOADING=1" || $1 == "READY=1" { print $1 }' "$T/notify.log" |
	uniq -c | awk '{ print $2 ($1 > 1 ? "x" $1 : "") }' | tr '\n' ' ')
nrel=$(grep -c '^RELOADING=1|MONOTONIC_USEC=[0-9]*$' "$T/notify.log")
tap_ok "systemd is told RELOADING=1 at each roll ($nrel), READY=1 after it" \
	test "$nrel" -ge "$rolls"
case "$seq" in
"READY=1 "*"RELOADING=1 READY=1 ") res=0 ;;
*) res=1 ;;
esac
case "$seq" in *x[0-9]*) res=1 ;; esac
tap_result "$res" "the two alternate and the last one is READY=1" ||
	tap_diag "sequence: $(printf '%s' "$seq" | cut -c1-300)"

kill -TERM "$sup"
wait "$sup"
tap_is "$?" 0 "TERM: the supervisor exits 0"

# A crash loop backs off -------------------------------------------------------
printf '#!/bin/sh\nexit 1\n' > "$T/crash"
chmod +x "$T/crash"
: > "$T/ready2"
kk_spawn crashing sh -c 'exec kakehi-supervisor -d 5 -s "$1" -W "$2" "$3" 5>"$4"' sh \
	"$T/control2" "$T/crash" "$T/kakehi.conf" "$T/ready2"
crashing=$kk_last_pid
restarts() {	# the restarts of every worker, summed
	kakehi-ctl -s "$T/control2" status | awk '$1 == "worker" { n += $8 } END { print n + 0 }'
}
kk_wait_for 10 test -S "$T/control2"
sleep 3
r3=$(restarts)
sleep 3
r6=$(restarts)
tap_diag "restarts of both workers: $r3 after 3 s, $r6 after 6 s"
tap_ok "a crash loop restarts, backing off: at most 10 per worker in 6 s ($r6 for 2)" \
	test "$r6" -ge 2 -a "$r6" -le 20
tap_ok "and slows down: at most 3 per worker in the last 3 s ($((r6 - r3)) for 2)" \
	test $((r6 - r3)) -le 6
st=$(kakehi-ctl -s "$T/control2" status)
tap_like "$st" 'state (backoff|spawned) .*died with status 1' \
	"status shows the crash loop and why"
tap_like "$(cat "$T/crashing.log")" \
	'worker [01] restarts in [0-9]+ms \(restart [0-9]+; its last process died with'\
' status 1\)' \
	"the log says each delayed restart and why"
tap_ok "readiness was never signalled" test ! -s "$T/ready2"
# The way out: a working binary installed at the path, then upgrade
# workers; the crashing workers start from it at their next restart.
printf '#!/bin/sh\nexec "%s" "$@"\n' "$T/kakehi-worker.good" > "$T/crash.new"
chmod +x "$T/crash.new"
mv "$T/crash.new" "$T/crash"
out=$(kakehi-ctl -s "$T/control2" upgrade workers 2>&1)
tap_is "$?" 0 "upgrade workers during a crash loop"
tap_like "$out" '2 workers waiting to restart after a crash \(see status\) will start from it' \
	"says the restarting workers take the new binary"
tap_ok "they start from it: the supervisor becomes ready" kk_wait_for 20 test -s "$T/ready2"
kill -TERM "$crashing"
wait "$crashing"
tap_is "$?" 0 "TERM: the supervisor exits 0"

tap_done
