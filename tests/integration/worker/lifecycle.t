#!/bin/sh
# kakehi-worker standalone: SIGHUP reload (good and bad), retries on
# connect failure and on a pooled connection the backend dropped, 504,
# and the drain on SIGTERM.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_backend b1 ; p1=$kk_port
kk_backend b2 ; p2=$kk_port
kk_dead_port ; dead=$kk_port

# A backend that answers the first request of each connection with
# keep-alive, then closes the connection when the second one arrives: the
# race of a pooled connection closed by its server as it is reused.
cat > "$T/oneshot.py" <<'PY'
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
def serve(c):
    buf = b""; n = 0
    while True:
        d = c.recv(65536)
        if not d: break
        buf += d
        while b"\r\n\r\n" in buf:
            head, buf = buf.split(b"\r\n\r\n", 1)
            n += 1
            if n > 1:
                c.close(); return
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\noneshot")
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
kk_spawn oneshot python3 "$T/oneshot.py"
kk_wait_for 10 test -s "$T/oneshot.log" || { echo "Bail out! oneshot backend" ; exit 1 ; }
p3=$(head -n 1 "$T/oneshot.log")

kw_start life \
	'listener add http 127.0.0.1:@PORT --back-timeout 1s' \
	'cluster add app' \
	'cluster add retry' \
	'cluster add oneshot' \
	'frontend add app --listener 127.0.0.1:@PORT --host app.test' \
	'frontend add retry --listener 127.0.0.1:@PORT --host retry.test' \
	'frontend add oneshot --listener 127.0.0.1:@PORT --host oneshot.test' \
	"backend add app b1 127.0.0.1:$p1" \
	"backend add retry dead 127.0.0.1:$dead" \
	"backend add retry b2 127.0.0.1:$p2" \
	"backend add oneshot o 127.0.0.1:$p3"
U="http://127.0.0.1:$kw_port"

# Connect failures: every request still answered, by the live backend.
codes=
for i in 1 2 3 4 ; do codes="$codes$(kk_http_code -H 'Host: retry.test' "$U/r$i")" ; done
tap_is "$codes" 200200200200 "connect failure retried on the other backend"

# Pooled connection dropped by the backend: retried on a fresh one.
codes=
for i in 1 2 3 4 5 6 ; do codes="$codes$(kk_curl -H 'Host: oneshot.test' "$U/o$i")" ; done
tap_is "$codes" oneshotoneshotoneshotoneshotoneshotoneshot \
	"reused connection closed by the backend: request sent again on a fresh one"

tap_is "$(kk_http_code -H 'Host: app.test' "$U/slow/3000")" 504 "backend slower than --back-timeout: 504"

# SIGHUP: the cluster moves to b2.
cfg="$T/life.conf"
sed "s/backend add app b1 127.0.0.1:$p1/backend add app b2 127.0.0.1:$p2/" "$cfg" > "$cfg.new"
mv "$cfg.new" "$cfg"
kill -HUP "$kw_pid"
kk_wait_for 10 sh -c "curl -s -H 'Host: app.test' '$U/h' | grep -q '^backend b2'"
tap_result $? "SIGHUP reload applies the new configuration"
tap_like "$(cat "$T/worker-life.log")" 'reloaded .*generation 2' "reload logged with its generation"

# A broken configuration changes nothing.
echo 'backend add nosuchcluster x 127.0.0.1:1' >> "$cfg"
kill -HUP "$kw_pid"
kk_wait_for 10 grep -q 'reload of .* failed' "$T/worker-life.log"
tap_result $? "bad reload reported"
tap_like "$(kk_curl -H 'Host: app.test' "$U/h2")" '^backend b2' "bad reload left the running configuration"

# SIGTERM drains: a request in flight completes, with Connection: close.
kk_curl -s -D - -H 'Host: app.test' "$U/slow/600" > "$T/slow.out" 2>&1 &
slow=$!
kk_wait_for 5 sh -c "kill -USR1 $kw_pid; grep -q '^back-active 1' '$T/worker-life.log'"
kill -TERM "$kw_pid"
wait "$slow"
tap_like "$(cat "$T/slow.out")" 'HTTP/1.1 200' "request in flight during the drain completes"
tap_like "$(cat "$T/slow.out")" '[Cc]onnection: close' "its response closes the connection"
wait "$kw_pid"
tap_is "$?" 0 "worker exits 0 after draining"
tap_fails "listener closed after the drain" kk_port_open "$kw_port"

tap_done
