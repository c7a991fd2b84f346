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
import os, re, signal, socket, sys, time
port, pid, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
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
t_answer = time.time()
# An idle keep-alive connection (client and pooled backend) holds no buffer.
time.sleep(0.2)
os.kill(pid, signal.SIGUSR1)
inuse = None
for _ in range(50):
    time.sleep(0.1)
    found = re.findall(r"^buffers-in-use (\d+)$", open(log).read(), re.M)
    if found:
        inuse = int(found[-1])
        break
tap(inuse == 0, "idle keep-alive connections hold no buffer (in use: %s)" % inuse)
e.settimeout(8)
try:
    got = e.recv(65536)
except (socket.timeout, ConnectionResetError):
    got = b"timeout"
took = time.time() - t_answer
tap(got == b"" and 1.5 <= took < 8, "idle keep-alive connection closed after the front timeout (%.1fs)" % took)
print("1..%d" % n)
PY
python3 "$T/limits.py" "$kw_port" "$kw_pid" "$T/worker-lim.log"
