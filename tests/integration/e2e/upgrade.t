#!/bin/sh
# In-place supervisor upgrades (issue 9, cases 2, 4, 6, 7 and 8): the
# binary swaps between two copies of the build installed at different
# paths while keep-alive and Connection: close clients keep requesting;
# the pid, the listeners and the workers stay. A slow response in flight
# and connections waiting in the accept queue complete. A binary that
# exits at start, one that crashes when given the handoff and a path that
# does not exist each fail with the reason and leave the old supervisor
# serving. Many upgrades in a row do not grow the fd count or the RSS.
. "$(dirname "$0")/../lib.sh"

if kk_soak ; then seconds=20 ; many=200 ; else seconds=4 ; many=20 ; fi

mkdir "$T/a" "$T/b"
cp "$KK_BIN"/* "$T/a/"
cp "$KK_BIN"/* "$T/b/"

kk_backend b1 ; p1=$kk_port
port=$(kk_free_port)
sock=$T/control
cat > "$T/kakehi.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
cluster add app
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:$p1
EOF

mkfifo "$T/ready"
kk_spawn kakehi sh -c 'exec "$1"/kakehi-supervisor -d 5 -s "$2" "$3" 5>"$4"' sh \
	"$T/a" "$sock" "$T/kakehi.conf" "$T/ready"
sup=$kk_last_pid
test "$(timeout 30 head -c 1 "$T/ready" | od -An -c | tr -d ' ')" = '\n' || {
	echo "Bail out! kakehi-supervisor did not signal readiness" ; sed 's/^/# /' "$T/kakehi.log"
	exit 1 ; }

ctl() { kakehi-ctl -s "$sock" "$@" ; }
exe() { readlink "/proc/$sup/exe" ; }
workers() { ctl status | awk '$1 == "worker" { print $4 }' | sort | tr '\n' ' ' ; }
# The least of a few looks: a control client that just got its answer may
# not be closed yet.
fds() {
	_min=
	for _i in 1 2 3 ; do
		_n=$(ls "/proc/$sup/fd" | wc -l)
		test -z "$_min" || test "$_n" -lt "$_min" && _min=$_n
		sleep 0.2
	done
	echo "$_min"
}
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$sup/status" ; }

tap_is "$(kk_http_code "http://127.0.0.1:$port/")" 200 "the proxy serves"
tap_is "$(exe)" "$T/a/kakehi-supervisor" "the supervisor runs from the first copy"
before=$(workers)

# 1. Upgrades back and forth under load ---------------------------------------
kk_load ka -c 6 -m keepalive -d 0 "127.0.0.1:$port"
kk_load cl -c 3 -m close -d 0 "127.0.0.1:$port"
kk_load mx -c 2 -m mixed -d 0 "127.0.0.1:$port"
n=0 bad=0 swapped=0
end=$(( $(date +%s) + seconds ))
while test "$(date +%s)" -lt "$end" ; do
	if test $((n % 2)) -eq 0 ; then to=$T/b ; else to=$T/a ; fi
	if ctl upgrade --binary "$to/kakehi-supervisor" --no-workers > "$T/up.out" 2>&1 ; then
		n=$((n + 1))
		test "$(exe)" = "$to/kakehi-supervisor" && swapped=$((swapped + 1))
	else
		bad=$((bad + 1))
		sed 's/^/# upgrade: /' "$T/up.out"
	fi
	sleep 0.3
done
tap_ok "upgrades ran ($n in ${seconds}s, $bad refused)" test "$n" -ge 4 -a "$bad" -eq 0
tap_is "$swapped" "$n" "/proc/PID/exe followed every upgrade"
kk_load_assert ka "keep-alive clients across $n upgrades: no failure"
kk_load_assert cl "Connection: close clients across $n upgrades: no failure"
kk_load_assert mx "mixed clients across $n upgrades: no failure"
tap_ok "the supervisor keeps its pid" kill -0 "$sup"
tap_like "$(ctl status)" "^supervisor pid $sup\$" "status reports the same pid"
tap_is "$(workers)" "$before" "the workers keep their pids (--no-workers)"
tap_like "$(ctl status)" "^upgrades $n\$" "status counts the upgrades"
version=$("$T/b/kakehi-supervisor" -V | sed -n 's/^kakehi-supervisor //p')
tap_like "$version" '^[0-9]' "kakehi-supervisor -V prints its version ($version)"
answer="^upgraded in place: kakehi-supervisor $version \\($to/kakehi-supervisor\\), pid $sup,"
tap_like "$(cat "$T/up.out")" "$answer" \
	"the new supervisor answers the client itself, with its version and binary"

# 2. A slow response in flight across an upgrade ------------------------------
curl -sS --max-time 20 -o "$T/slow.body" -w '%{http_code}' \
	"http://127.0.0.1:$port/slow/3000" > "$T/slow.code" 2> "$T/slow.err" &
slow=$!
sleep 1
tap_ok "upgrade while a slow response is in flight" \
	ctl upgrade --binary "$T/b/kakehi-supervisor" --no-workers
wait "$slow"
tap_is "$?:$(cat "$T/slow.code")" "0:200" "the slow response arrives, status 200"
tap_like "$(head -n 1 "$T/slow.body")" '^backend b1$' "the slow response arrives whole"

# 3. Connections waiting in the accept queue at the handover -------------------
# With the workers stopped nothing accepts: the 100 connections wait in the
# listen queue while the supervisor changes binary, then all complete.
wpids=$(workers)
kill -STOP $wpids
python3 - "$port" 100 > "$T/queue.out" 2>&1 <<'EOF' &
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(b"GET /q HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    conns.append(s)
print("connected", len(conns), flush=True)
ok = 0
for s in conns:
    s.settimeout(20)
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except OSError as e:
        print("error", e)
    if data.startswith(b"HTTP/1.1 200"):
        ok += 1
print("complete", ok)
EOF
queue=$!
kk_wait_for 20 grep -q '^connected 100' "$T/queue.out"
tap_ok "upgrade with 100 connections in the accept queue" \
	ctl upgrade --binary "$T/a/kakehi-supervisor" --no-workers
kill -CONT $wpids
wait "$queue"
tap_like "$(cat "$T/queue.out")" '^complete 100$' "all 100 queued connections complete"

# 4. Upgrades that cannot take over ---------------------------------------------
printf '#!/bin/sh\nexit 1\n' > "$T/exits"
printf '#!/bin/sh\ncase "$*" in *handoff*) kill -SEGV $$ ;; esac\nexec "%s" "$@"\n' \
	"$T/b/kakehi-supervisor" > "$T/crashes"
chmod +x "$T/exits" "$T/crashes"
was=$(exe)
for case in "exits:$T/exits:exit 1" \
    "crashes:$T/crashes:signal 11" \
    "missing:$T/nowhere/kakehi-supervisor:No such file or directory" \
    "cannot run:$T/kakehi.conf:not an executable file" ; do
	name=${case%%:*} ; rest=${case#*:} ; bin=${rest%%:*} ; why=${rest#*:}
	ctl upgrade --binary "$bin" --no-workers > "$T/fail.out" 2>&1
	st=$?
	tap_ok "upgrade to a binary that $name: kakehi-ctl exits non-zero ($st)" test "$st" -ne 0
	tap_like "$(cat "$T/fail.out")" "$why" \
		"upgrade to a binary that $name: the reason is given"
	tap_ok "upgrade to a binary that $name: same pid, same binary" \
		test "$(exe)" = "$was" -a "$(ctl status | sed -n 's/^supervisor pid //p')" = "$sup"
	tap_is "$(kk_http_code "http://127.0.0.1:$port/")" 200 \
		"upgrade to a binary that $name: the proxy still serves"
done
tap_like "$(sed -n 's/^kakehi-ctl: //p' "$T/fail.out")" '^upgrade: --binary' \
	"a missing binary is refused before anything happens"
tap_ok "a good upgrade works after the failures" \
	ctl upgrade --binary "$T/b/kakehi-supervisor" --no-workers
tap_is "$(exe)" "$T/b/kakehi-supervisor" "and really swaps the binary"

# 5. SIGUSR2: the same, with the running binary -----------------------------------
ups=$(ctl status | sed -n 's/^upgrades //p')
kill -USR2 "$sup"
kk_wait_for 20 sh -c "kakehi-ctl -s '$sock' status | grep -qx 'upgrades $((ups + 1))'"
tap_is "$(ctl status | sed -n 's/^upgrades //p')" "$((ups + 1))" "SIGUSR2 upgrades in place"
tap_is "$(exe)" "$T/b/kakehi-supervisor" "SIGUSR2 keeps the running binary"
# It also rolls the workers, as `upgrade` without --no-workers does.
kk_wait_for 60 sh -c "! kakehi-ctl -s '$sock' status | grep -q '^upgrade-workers' &&
	test \"\$(kakehi-ctl -s '$sock' status | awk '\$1 == \"worker\" && \$6 == \"ready\"' |
	wc -l)\" -eq 2"
tap_ok "SIGUSR2 rolled the workers" test "$(workers)" != "$before"
before=$(workers)

# 6. Many upgrades in a row: no fd or memory growth -------------------------------
for i in 1 2 3 ; do ctl upgrade --no-workers > /dev/null ; done
fd0=$(fds) ; rss0=$(rss)
i=0 failed=0
while test $i -lt "$many" ; do
	if test $((i % 2)) -eq 0 ; then to=$T/a ; else to=$T/b ; fi
	ctl upgrade --binary "$to/kakehi-supervisor" --no-workers > /dev/null 2>&1 ||
		failed=$((failed + 1))
	i=$((i + 1))
done
fd1=$(fds) ; rss1=$(rss)
tap_is "$failed" 0 "$many upgrades in a row all succeed"
tap_ok "the fd count does not grow over $many upgrades ($fd0 -> $fd1)" test "$fd1" -le "$fd0"
# Each upgrade starts a fresh process image: allow for page-cache noise only.
tap_ok "the RSS does not grow over $many upgrades (${rss0} kB -> ${rss1} kB)" \
	test "$rss1" -le $((rss0 + rss0 / 4 + 512))
tap_is "$(workers)" "$before" "the workers are still the first ones"

# 7. The workers are the new supervisor's children: it reaps and replaces them.
victim=${before%% *}
kill -KILL "$victim"
replaced() {
	test "$(ctl status | awk '$1 == "worker" && $6 == "ready"' | wc -l)" -eq 2 &&
		! ctl status | grep -q " pid $victim "
}
kk_wait_for 20 replaced
tap_ok "a worker killed after the upgrades is reaped and replaced" \
	test "$(workers | wc -w)" -eq 2 -a -z "$(workers | grep -w "$victim")"
tap_ok "no zombie is left of it" test ! -e "/proc/$victim"
# The workers' board came through: the replacement maps the same segment
# as the first workers.
survivor=$(echo "$before" | awk '{ print $2 }')
newer=$(workers | tr ' ' '\n' | grep . | grep -vx "$survivor" | head -n 1)
board_of() { awk '/memfd:kakehi-board/ { print $5 ; exit }' "/proc/$1/maps" ; }
tap_ok "the replacement worker maps the board the first workers share" \
	test -n "$(board_of "$newer")" -a "$(board_of "$newer")" = "$(board_of "$survivor")"
tap_is "$(kk_http_code "http://127.0.0.1:$port/")" 200 "the proxy serves at the end"

# 8. A binary that passes its trial and then cannot adopt: its worker binary
# (-W) stops being executable between the trial and the adoption. The
# previous binary comes back, with the worker binary it ran.
mkdir "$T/w"
cp "$KK_BIN/kakehi-worker" "$T/w/"
port2=$(kk_free_port)
sock2=$T/control2
sed "s/127.0.0.1:$port/127.0.0.1:$port2/" "$T/kakehi.conf" > "$T/two.conf"
kk_spawn kakehi2 "$T/a/kakehi-supervisor" -s "$sock2" -W "$T/w/kakehi-worker" "$T/two.conf"
sup2=$kk_last_pid
kk_wait_for 30 sh -c "kakehi-ctl -s '$sock2' status | grep -q '^workers 2 wanted, 2 ready'"
printf '#!/bin/sh
case "$1" in --handoff) chmod -x "%s" ;; esac
exec "%s" "$@"
' \
	"$T/w/kakehi-worker" "$T/b/kakehi-supervisor" > "$T/adoptfails"
chmod +x "$T/adoptfails"
kakehi-ctl -s "$sock2" upgrade --binary "$T/adoptfails" --no-workers > "$T/fail.out" 2>&1
tap_ok "upgrade to a binary that cannot adopt: kakehi-ctl exits non-zero" test $? -ne 0
tap_like "$(cat "$T/fail.out")" \
	'could not adopt the handoff: worker binary .*/w/kakehi-worker is not executable' \
	"upgrade to a binary that cannot adopt: the reason is given"
tap_ok "upgrade to a binary that cannot adopt: same pid, the previous binary" \
	test "$(readlink "/proc/$sup2/exe")" = "$T/a/kakehi-supervisor"
tap_is "$(kk_http_code "http://127.0.0.1:$port2/")" 200 \
	"upgrade to a binary that cannot adopt: the proxy still serves"
chmod +x "$T/w/kakehi-worker"
tap_ok "a good upgrade works after it" \
	kakehi-ctl -s "$sock2" upgrade --binary "$T/b/kakehi-supervisor" --no-workers
tap_is "$(readlink "/proc/$sup2/exe")" "$T/b/kakehi-supervisor" "and swaps the binary"
tap_done
