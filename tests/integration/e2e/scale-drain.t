#!/bin/sh
# Lowering `set workers` under load loses no request: the workers taken
# away drain as in a rolling upgrade (stop accepting, finish what is in
# flight, answer the next request on an idle keep-alive connection with
# Connection: close) instead of resetting their connections. Keep-alive
# clients run a bounded loop while the worker count goes up and down.
. "$(dirname "$0")/../lib.sh"

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

: > "$T/ready"
kk_spawn kakehi sh -c 'exec kakehi-supervisor -d 5 -s "$1" "$2" 5>"$3"' sh \
	"$sock" "$T/kakehi.conf" "$T/ready"
sup=$kk_last_pid
tap_ok "supervisor ready" kk_wait_for 30 test -s "$T/ready"
ctl() { kakehi-ctl -s "$sock" "$@" ; }

# Keep-alive clients: 16 threads, each one connection at a time, until
# $T/stop exists (or 120 s). A connection the server ends with
# Connection: close is replaced, as any HTTP/1.1 client does; a reset, an
# early close or a status other than 200 counts as a failure.
kk_spawn load python3 -c '
import http.client, os, sys, threading, time
port, stop = int(sys.argv[1]), sys.argv[2]
ok = [0]; bad = [0]; why = {}
lock = threading.Lock()
def count(good, reason):
    with lock:
        if good:
            ok[0] += 1
        else:
            bad[0] += 1
            why[reason] = why.get(reason, 0) + 1
def run():
    conn = None
    end = time.monotonic() + 120
    while not os.path.exists(stop) and time.monotonic() < end:
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            conn.request("GET", "/")
            r = conn.getresponse()
            r.read()
            count(r.status == 200, "status %d" % r.status)
            if r.will_close:
                conn.close()
                conn = None
        except Exception as e:
            count(False, type(e).__name__)
            if conn is not None:
                conn.close()
            conn = None
ts = [threading.Thread(target=run) for i in range(16)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("ok %d failed %d %s" % (ok[0], bad[0], why), flush=True)
' "$port" "$T/stop"
load=$kk_last_pid

# settled N: N workers ready and none left draining
settled() {
	st=$(ctl status) || return 1
	test "$(printf '%s\n' "$st" | awk '$1 == "worker" && $6 == "ready"' | wc -l)" = "$1" &&
	! printf '%s\n' "$st" | grep -q ' state draining '
}

sleep 1
for n in 4 1 3 1 4 2 1 4 1 2 ; do
	ctl set workers $n > /dev/null
	tap_ok "set workers $n: settles with $n ready, the others drained" kk_wait_for 60 settled $n
	sleep 0.5
done
touch "$T/stop"
wait "$load"
res=$(cat "$T/load.log")
tap_diag "load: $res"
tap_like "$res" '^ok [1-9][0-9]* failed 0 ' "no request failed while workers were taken away"
tap_like "$(cat "$T/kakehi.log")" 'worker [0-9]+ \(pid [0-9]+\) exited with status 0' \
	"a drained worker exits 0"
tap_fails "no worker had to be killed at its drain deadline" \
	grep -q 'did not exit in time\|drain timeout reached' "$T/kakehi.log"

# A keep-alive connection idle when the drain starts (TERM) is not cut
# under its next request: that one is answered, with Connection: close,
# and the connection then ends cleanly.
kk_spawn idle python3 -c '
import os, socket, sys, time
port, go = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), 10)
s.settimeout(20)
req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
def response():
    data = b""
    while b"\r\n\r\n" not in data:
        b = s.recv(4096)
        if not b:
            return None
        data += b
    head, body = data.split(b"\r\n\r\n", 1)
    fields = [l.split(b":", 1) for l in head.split(b"\r\n")[1:]]
    n = int([v for k, v in fields if k.lower() == b"content-length"][0])
    while len(body) < n:
        body += s.recv(4096)
    return head.decode()
s.sendall(req)
print("first:", response().split("\r\n")[0], flush=True)
for i in range(200):
    if os.path.exists(go):
        break
    time.sleep(0.05)
try:
    s.sendall(req)
    h = response()
except OSError as e:
    h = None
    print("error:", type(e).__name__, flush=True)
if h is None:
    print("second: none", flush=True)
else:
    print("second:", h.split("\r\n")[0], flush=True)
    print("close:", "connection: close" in h.lower(), flush=True)
    print("then:", "eof" if s.recv(100) == b"" else "more", flush=True)
' "$port" "$T/go"
idle=$kk_last_pid
kk_wait_for 20 grep -q '^first:' "$T/idle.log"
t0=$(date +%s)
kill -TERM "$sup"
sleep 0.3
touch "$T/go"
wait "$idle"
tap_like "$(cat "$T/idle.log")" 'second: HTTP/1.1 200' \
	"drain: the next request on an idle connection is served"
tap_like "$(cat "$T/idle.log")" 'close: True' "drain: and answered with Connection: close"
tap_like "$(cat "$T/idle.log")" 'then: eof' "drain: then the connection ends"
wait "$sup"
tap_is "$?" 0 "TERM: the supervisor exits 0"
t1=$(date +%s)
tap_ok "TERM: drained well before the 30 s drain deadline ($((t1 - t0)) s)" \
	test $((t1 - t0)) -lt 20

tap_done
