#!/bin/sh
# The execline chain kakehi-listen -> kakehi-supervisor run by
# s6-svscan / s6-supervise, with notification-fd readiness checked by
# s6-svwait -U, as in examples/s6 and make run.
. "$(dirname "$0")/../lib.sh"
command -v s6-svscan >/dev/null || tap_skip_all "s6 is not installed (tools/install-deps installs it)"

kk_backend b1 ; p1=$kk_port
port=$(kk_free_port)
scan=$T/service
mkdir -p "$scan/kakehi"
cat > "$T/kakehi.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
cluster add app
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:$p1
EOF
cat > "$scan/kakehi/run" <<EOF
#!/usr/bin/execlineb -P
fdmove -c 2 1
$KK_BIN/kakehi-listen 127.0.0.1:$port --
$KK_BIN/kakehi-supervisor -d 4 -s $T/control $T/kakehi.conf
EOF
chmod 755 "$scan/kakehi/run"
echo 4 > "$scan/kakehi/notification-fd"

kk_spawn svscan s6-svscan "$scan"
svscan=$kk_last_pid
tap_ok "s6-svscan starts s6-supervise for kakehi" kk_wait_for 10 s6-svok "$scan/kakehi"
# Generous: under the sanitizers, beside another test, a start can be slow.
tap_ok "s6-svwait -U sees kakehi ready" s6-svwait -U -t 60000 "$scan/kakehi"
tap_like "$(kk_curl "http://127.0.0.1:$port/" | head -n 1)" '^backend b1$' "serves under s6-supervise"
tap_ok "kakehi-ctl reaches the supervised instance" kakehi-ctl -s "$T/control" status
pid1=$(s6-svstat -p "$scan/kakehi")
restarted() {
	s6-svc -wR -T 20000 -r "$scan/kakehi" &&
	test "$(s6-svstat -p "$scan/kakehi")" != "$pid1"
}
tap_ok "s6-svc -r restarts it and it becomes ready again" restarted
serves_b1() { curl -sf "http://127.0.0.1:$port/" | grep -q '^backend b1' ; }
tap_ok "serves after the restart" kk_wait_for 10 serves_b1
tap_ok "s6-svc -d stops it cleanly" s6-svc -wD -T 20000 -d "$scan/kakehi"
tap_fails "nothing listens once it is down" kk_port_open "$port"
s6-svscanctl -t "$scan"
svscan_gone() { ! kill -0 "$svscan" 2>/dev/null ; }
kk_wait_for 10 svscan_gone
tap_done
