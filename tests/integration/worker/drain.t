#!/bin/sh
# The drain does not race a request on the wire. A response whose head
# went out before the drain began promised a kept connection: a request
# the client sends (or pipelined) before that response ends is answered,
# with Connection: close, not read and dropped by the close. A connection
# that goes idle during the drain still gets the grace period for its next
# request. Standalone worker, drained by SIGTERM.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

# A backend that sends the head of /held at once and its body 2 s later;
# anything else is answered at once.
cat > "$T/held.py" <<'PY'
import socket, sys, threading, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
def serve(c):
    buf = b""
    while True:
        d = c.recv(65536)
        if not d: break
        buf += d
        while b"\r\n\r\n" in buf:
            head, buf = buf.split(b"\r\n\r\n", 1)
            if head.split(b" ")[1] == b"/held":
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")
                time.sleep(2)
                c.sendall(b"held")
            else:
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
kk_spawn held python3 "$T/held.py"
kk_wait_for 10 test -s "$T/held.log" || { echo "Bail out! held backend" ; exit 1 ; }
bp=$(head -n 1 "$T/held.log")

# The client: the head of /held first; then, once $T/go exists (the
# drain has begun), the next request, before the first body arrives.
cat > "$T/client.py" <<'PY'
import os, socket, sys, time
port, go, pipelined = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
s = socket.create_connection(("127.0.0.1", port), 10)
s.settimeout(20)
data = b""
def head():
    global data
    while b"\r\n\r\n" not in data:
        b = s.recv(4096)
        if not b:
            return None
        data += b
    h, data = data.split(b"\r\n\r\n", 1)
    return h.decode()
def body(n):
    global data
    while len(data) < n:
        b = s.recv(4096)
        if not b:
            break
        data += b
    out, data = data[:n], data[n:]
    return out
s.sendall(b"GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
h = head()
print("first-head:", h.split("\r\n")[0], "close" if "connection: close" in h.lower() else "keep",
      flush=True)
print("ready", flush=True)
for i in range(200):
    if os.path.exists(go):
        break
    time.sleep(0.05)
req = b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"
if pipelined:
    s.sendall(req)
print("first-body:", body(4).decode(), flush=True)
if not pipelined:
    s.sendall(req)
try:
    h = head()
except OSError as e:
    print("error:", type(e).__name__, flush=True)
    h = None
if h is None:
    print("second: none", flush=True)
else:
    print("second:", h.split("\r\n")[0], body(4).decode(), flush=True)
    print("close:", "connection: close" in h.lower(), flush=True)
    print("then:", "eof" if s.recv(100) == b"" else "more", flush=True)
PY

for mode in 1 0 ; do
	test "$mode" = 1 && what="pipelined before the response ends" ||
		what="sent right after the response"
	kw_start "d$mode" \
		'listener add http 127.0.0.1:@PORT' \
		'cluster add app' \
		'frontend add app --listener 127.0.0.1:@PORT' \
		"backend add app b1 127.0.0.1:$bp"
	rm -f "$T/go"
	kk_spawn "client$mode" python3 "$T/client.py" "$kw_port" "$T/go" "$mode"
	client=$kk_last_pid
	kk_wait_for 20 grep -q '^ready' "$T/client$mode.log"
	tap_like "$(cat "$T/client$mode.log")" '^first-head: HTTP/1.1 200 OK keep' \
		"$what: the first head went out before the drain, keeping the connection"
	kill -TERM "$kw_pid"
	sleep 0.3
	touch "$T/go"
	wait "$client"
	out=$(cat "$T/client$mode.log")
	tap_like "$out" 'first-body: held' "$what: the first response arrives whole"
	tap_like "$out" 'second: HTTP/1.1 200 OK next' "$what: the next request is answered"
	tap_like "$out" 'close: True' "$what: with Connection: close"
	tap_like "$out" 'then: eof' "$what: then the connection ends"
	wait "$kw_pid"
	tap_is "$?" 0 "$what: the drained worker exits 0"
done

tap_done
