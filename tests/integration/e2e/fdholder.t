#!/bin/sh
# kakehi under s6-supervise with its listeners held by s6-fdholder-daemon
# (the service set of examples/s6-fdholder, paths and addresses adapted),
# issue 9 case 10: clients under load, a mix of keep-alive and close, and
# kill -9 of the supervisor. No connection may be refused and no request
# may fail: the old workers see their channel close, finish what is in
# flight (a slow response among it) and leave; the supervisor that
# s6-supervise starts again retrieves the same sockets and serves.
. "$(dirname "$0")/../lib.sh"
for p in s6-svscan s6-supervise s6-fdholder-daemon s6-fdholder-retrieve s6-fdholder-store \
    s6-fdholder-list execlineb ; do
	command -v "$p" >/dev/null ||
		tap_skip_all "$p is not installed (s6 and execline: tools/install-deps installs them)"
done
EX=$(cd "$(dirname "$0")/../../../examples/s6-fdholder" && pwd)
# Short: one kill and 4 s of load after it; soak: a kill every 5 s, 20 s.
if kk_soak ; then seconds=5 kills=4 ; else seconds=4 kills=1 ; fi

kk_backend b1 ; pb=$kk_port
p1=$(kk_free_port) ; p2=$(kk_free_port)
uid=$(id -u)
scan=$T/service
mkdir -p "$scan"
cp -R "$EX/kakehi-fdholder" "$EX/kakehi" "$scan/"
rm -rf "$scan/kakehi/log"
test "$uid" = 0 || mv "$scan/kakehi-fdholder/data/rules/uid/0" \
	"$scan/kakehi-fdholder/data/rules/uid/$uid"
# The shipped scripts with this test's paths and ports; as the test user
# (no kakehi account here).
for f in "$scan/kakehi-fdholder/run" "$scan/kakehi/run" ; do
	sed -e "s|/run/kakehi-fdholder|$T/fdh|g" -e "s|/run/kakehi/control|$T/control|g" \
	    -e "s|/etc/kakehi/kakehi.conf|$T/kakehi.conf|g" \
	    -e "s|0\\.0\\.0\\.0:80|127.0.0.1:$p1|g" -e "s|\\[::\\]:80|127.0.0.1:$p2|g" \
	    -e '/^s6-envuidgid /d' -e '/^s6-applyuidgid /d' "$f" > "$f.new"
	mv "$f.new" "$f"
	chmod 755 "$f"
done
cat > "$T/kakehi.conf" <<EOF2
set workers 2
set drain-timeout 20s
listener add http 127.0.0.1:$p1
listener add http 127.0.0.1:$p2
cluster add app
frontend add app --listener 127.0.0.1:$p1
frontend add app --listener 127.0.0.1:$p2
backend add app b1 127.0.0.1:$pb
EOF2

kk_spawn svscan s6-svscan "$scan"
svscan=$kk_last_pid
stop_all() {
	s6-svscanctl -t "$scan" 2>/dev/null
	_i=0
	while kill -0 "$svscan" 2>/dev/null && test $_i -lt 100 ; do sleep 0.1 ; _i=$((_i + 1)) ; done
}
tap_ok "the holder becomes ready" kk_wait_for 20 s6-svwait -U -t 1000 "$scan/kakehi-fdholder"
tap_ok "kakehi becomes ready" s6-svwait -U -t 30000 "$scan/kakehi"
ids=$(s6-fdholder-list "$T/fdh/socket" 2>&1)
tap_like "$ids" "^kakehi:127\\.0\\.0\\.1:$p1\$" \
	"the holder keeps the first listener by its address"
tap_like "$ids" "^kakehi:127\\.0\\.0\\.1:$p2\$" "... and the second"
log=$T/svscan.log
tap_like "$(cat "$log")" "adopted inherited listener 127\\.0\\.0\\.1:$p1 \\(fd 3\\)" \
	"the supervisor adopts the retrieved sockets"
tap_fails "it binds none of its own" grep -q "listening on 127.0.0.1" "$log"
serves() { curl -sf --max-time 5 "http://127.0.0.1:$1/" | grep -q '^backend b1' ; }
tap_ok "serves on both listeners" sh -c "$(command -v curl) -sf http://127.0.0.1:$p1/ >/dev/null &&
	$(command -v curl) -sf http://127.0.0.1:$p2/ >/dev/null"

ctl() { kakehi-ctl -s "$T/control" "$@" ; }
workers_of() { ctl status | awk '$1 == "worker" { print $4 }' | tr '\n' ' ' ; }
workers=$(workers_of)
tap_like "$workers" '^[0-9]+ [0-9]+ $' "two workers ($workers)"

kk_load ka -c 6 -m keepalive -d 0 -T 30000 "127.0.0.1:$p1"
kk_load cl -c 3 -m close -d 0 -T 30000 "127.0.0.1:$p1"
kk_load mx -c 4 -m mixed -d 0 -T 30000 "127.0.0.1:$p2"
sleep 1
# A slow response in flight on an old worker when its supervisor dies.
kk_spawn slow curl -s -o "$T/slow.body" -w '%{http_code}' --max-time 30 \
	"http://127.0.0.1:$p1/slow/2500"
slow=$kk_last_pid
sleep 0.5

old_workers=
k=0
while test $k -lt $kills ; do
	k=$((k + 1))
	sup=$(s6-svstat -p "$scan/kakehi")
	# The old workers outlive their supervisor: ended at exit if still there.
	kk_pids="$kk_pids $workers"
	old_workers="$old_workers $workers"
	kill -KILL "$sup"
	tap_ok "kill $k: s6-supervise starts a new supervisor" kk_wait_for 20 sh -c \
		"p=\$(s6-svstat -p '$scan/kakehi') && test \"\$p\" != '$sup' && test \"\$p\" -gt 0"
	tap_ok "kill $k: the new supervisor answers" kk_wait_for 20 ctl status
	sleep "$seconds"
	workers=$(workers_of)
done
wait "$slow"
tap_is "$(cat "$T/slow.log")" 200 \
	"the slow response in flight across the kill arrives (200)"
tap_like "$(cat "$T/slow.body")" '^backend b1' "... whole"
kk_load_assert ka "keep-alive clients across $kills kill -9 of the supervisor: no failure"
kk_load_assert cl "Connection: close clients across them: no failure, none refused"
kk_load_assert mx "mixed clients on the second listener: no failure"

old_gone() {
	for p in $old_workers ; do kill -0 "$p" 2>/dev/null && return 1 ; done
	return 0
}
tap_ok "the old workers drain and exit on their own" kk_wait_for 30 old_gone
tap_is "$(grep -c "adopted inherited listener 127\\.0\\.0\\.1:$p1 " "$log")" $((kills + 1)) \
	"each new supervisor adopted the same held sockets"
tap_ok "the new supervisor serves" serves "$p1"
workers=$(workers_of)
tap_like "$workers" '^[0-9]+ [0-9]+ $' "with two new workers ($workers)"
tap_ok "still one listening socket per port" sh -c \
	"test \$(ss -Hltn 'sport = :$p1' | wc -l) -eq 1 && test \$(ss -Hltn 'sport = :$p2' | wc -l) -eq 1"

tap_ok "s6-svc -d stops kakehi cleanly" s6-svc -wD -T 30000 -d "$scan/kakehi"
tap_ok "the port still accepts while kakehi is down: the holder keeps it" kk_port_open "$p1"
stop_all
tap_fails "s6-svscan and its tree are gone" kill -0 "$svscan"
tap_done
