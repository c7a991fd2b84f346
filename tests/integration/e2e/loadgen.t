#!/bin/sh
# kk-load, the load generator of the hitless tests, counts what it must:
# a test that asserts "0 failures" is only worth what the counting is. Each
# failure class is provoked directly against kk-testbackend (no proxy).
. "$(dirname "$0")/../lib.sh"

kk_backend b1 ; port=$kk_port

for m in keepalive close mixed ; do
	kk_load "ok_$m" -c 8 -d 1 -m "$m" "127.0.0.1:$port"
	wait "$kk_last_pid"
	tap_like "$(cat "$T/load-ok_$m.stats")" '^requests=([1-9][0-9]*) ok=\1 refused=0 reset=0 eof=0 non2xx=0 timeout=0' \
		"mode $m: every request completes ok"
done
tap_ok "a chunked response is read whole" kk-load -c 2 -d 1 -p /chunked "127.0.0.1:$port"

tap_fails "a 503 answer is a failure" kk-load -c 2 -d 1 -p /status/503 "127.0.0.1:$port"
tap_like "$(kk-load -c 2 -d 1 -p /status/503 "127.0.0.1:$port" 2>/dev/null)" ' ok=0 .* non2xx=[1-9]' \
	"and it is counted as non2xx"

kk_dead_port ; dead=$kk_port
tap_like "$(kk-load -c 2 -d 1 "127.0.0.1:$dead" 2>/dev/null)" ' ok=0 refused=[1-9]' \
	"a refused connect is counted as refused"
tap_like "$(kk-load -c 2 -d 1 -T 300 -p /slow/3000 "127.0.0.1:$port" 2>/dev/null)" \
	' ok=0 .* timeout=[1-9]' "a response later than -T is counted as a timeout"

# A server that answers with half a body, then closes: eof.
half=$(kk_free_port)
kk_spawn half python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly some")
    c.close()
' "$half"
kk_wait_for 10 kk_port_open "$half"
tap_like "$(kk-load -c 1 -d 1 "127.0.0.1:$half" 2>/dev/null)" ' ok=0 .* eof=[1-9]' \
	"a response cut short is counted as eof"

# SIGTERM ends the run: requests in flight are waited for, not counted as lost.
kk_load term -c 4 -d 0 -p /slow/500 "127.0.0.1:$port"
sleep 1
kk_load_finish term
tap_like "$kk_load_counts" '^requests=([1-9][0-9]*) ok=\1 ' \
	"SIGTERM lets the requests in flight complete"

tap_done
