#!/bin/sh
# kakehi-worker standalone: max-connections applies backpressure (no
# accept beyond it, resume below), request head timeout (408), keep-alive
# idle timeout.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_backend b1 ; p1=$kk_port
kw_start lim \
	'set max-connections 2' \
	'listener add http 127.0.0.1:@PORT --request-timeout 1s --front-timeout 2s' \
	'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT' \
	"backend add app b1 127.0.0.1:$p1"

cat > "$T/limits.py" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def conn():
    return socket.create_connection(("127.0.0.1", port), 5)
def ask(s, wait):
    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    s.settimeout(wait)
    try:
        return s.recv(65536)
    except socket.timeout:
        return b""
n = 0
def tap(cond, name):
    global n
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, name), flush=True)
a = conn(); b = conn()
tap(ask(a, 5).startswith(b"HTTP/1.1 200"), "first connection served")
tap(ask(b, 5).startswith(b"HTTP/1.1 200"), "second connection served")
c = conn()		# queued by the kernel, not accepted by the worker
tap(ask(c, 1.0) == b"", "third connection waits at max-connections")
a.close()
c.settimeout(5)
got = b""
try:
    got = c.recv(65536)
except socket.timeout:
    pass
tap(got.startswith(b"HTTP/1.1 200"), "served once a connection closed")
b.close(); c.close()
# Request head timeout: half a head, then silence.
d = conn()
d.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
d.settimeout(6)
t0 = time.time()
try:
    got = d.recv(65536)
except socket.timeout:
    got = b""
tap(got.startswith(b"HTTP/1.1 408"), "incomplete head answered 408")
tap(time.time() - t0 < 5, "within the request timeout (1s) and a margin")
d.close()
# Keep-alive idle timeout: the connection is closed, without an answer.
e = conn()
tap(ask(e, 5).startswith(b"HTTP/1.1 200"), "keep-alive request served")
e.settimeout(8)
t0 = time.time()
try:
    got = e.recv(65536)
except (socket.timeout, ConnectionResetError):
    got = b"timeout"
tap(got == b"" and 1 <= time.time() - t0 < 7, "idle keep-alive connection closed after the front timeout")
print("1..%d" % n)
PY
python3 "$T/limits.py" "$kw_port"
