#!/bin/sh
# kakehi-check under a busy control plane: a probe takes a while (its
# backend answers the health path after 600 ms), and a change comes every
# 100 ms, to another cluster and to the checked one itself. Changes that
# do not touch a check cost kakehi-check nothing, and a probe in flight
# whose target did not change goes on through a change that touches its
# cluster, so the verdicts keep coming: a backend taken out comes back.
# Were each change to drop the probes in flight, none would ever end.
. "$(dirname "$0")/../lib.sh"
test -x "$KK_BIN/kakehi-worker" || tap_skip_all "kakehi-worker is not built"
test -x "$KK_BIN/kakehi-check" || tap_skip_all "kakehi-check is not built"
SV_WORKER=$KK_BIN/kakehi-worker
. "$(dirname "$0")/sv.sh"

cat > "$T/slow.py" <<'PY'
import http.server, os, socketserver, sys, time
sick = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(0.6)
        code = 503 if os.path.exists(sick) else 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
: > "$T/sick"
kk_spawn slow python3 "$T/slow.py" "$T/sick"
kk_wait_for 10 test -s "$T/slow.log" || { echo "Bail out! slow.py did not start" ; exit 1 ; }
ps=$(head -n 1 "$T/slow.log")
kk_backend other ; po=$kk_port
port=$(kk_free_port)
cat > "$T/k.conf" <<CONF
set workers 1
listener add http 127.0.0.1:$port
cluster add app
cluster health-check app --path /health --interval 1s --timeout 1s --rise 1 --fall 1
frontend add app --listener 127.0.0.1:$port
backend add app s 127.0.0.1:$ps
cluster add other
frontend add other --listener 127.0.0.1:$port --host other.test
CONF
sv_start a "$T/k.conf"
sv_ready a || { echo "Bail out! supervisor not ready" ; sed 's/^/# /' "$T/a.log" ; exit 1 ; }
held() { ctl status | grep -q "^health-out app s held-by-check" ; }
back_in() { ! ctl status | grep -q "^health-out app s " ; }
tap_ok "its slow probes fail: the backend is out" kk_wait_for 10 held

# Changes every 100 ms: a backend of another cluster, and one of the
# checked cluster (whose targets then change, s's included in the pass).
cat > "$T/churn.sh" <<CHURN
i=0
while : ; do
	kakehi-ctl -s '$sv_sock' backend add other o\$i 127.0.0.1:$po >/dev/null
	kakehi-ctl -s '$sv_sock' backend add app x\$i 127.0.0.1:$po >/dev/null
	sleep 0.1
	kakehi-ctl -s '$sv_sock' backend remove other o\$i >/dev/null
	kakehi-ctl -s '$sv_sock' backend remove app x\$i >/dev/null
	i=\$((i + 1))
done
CHURN
kk_spawn churn sh "$T/churn.sh"
churn_pid=$kk_last_pid
sleep 1
rm -f "$T/sick"
tap_ok "healthy again, under changes: its probes end, and it is back" kk_wait_for 15 back_in
gen=$(ctl status | awk '$1 == "generation" { print $2 ; exit }')
tap_ok "while the changes went on (generation $gen)" test "${gen:-0}" -gt 10
kk_stop "$churn_pid"
tap_done
