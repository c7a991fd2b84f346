#!/bin/sh
# Workers keep to their share of a shared listener (the board: kakehi/
# board.h, lsock.c). Two workers; while one is stopped (SIGSTOP) the other
# takes a first batch of connections alone: a stopped worker stops beating
# and holds nobody back. Once the first resumes, the second is over its
# share, steps aside, and the next connections go to the one that holds
# none. Without the board the two would take turns on the next batch and
# split it about evenly.
. "$(dirname "$0")/../lib.sh"

kk_backend b1 ; p1=$kk_port
port=$(kk_free_port)
cat > "$T/kakehi.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
cluster add app
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:$p1
EOF
kk_proxy "$T/kakehi.conf" "127.0.0.1:$port"

cat > "$T/share.py" <<'EOF'
import os, re, signal, socket, subprocess, sys, time
port, sock = int(sys.argv[1]), sys.argv[2]
def workers():
    out = subprocess.run(["kakehi-ctl", "-s", sock, "status", "--workers"], capture_output=True,
                         text=True, timeout=20).stdout
    pids = [int(x) for x in re.findall(r"^  pid (\d+)", out, re.M)]
    act = [int(x) for x in re.findall(r"^  connections-active (\d+)", out, re.M)]
    return dict(zip(pids, act))
def burst(n):
    conns = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: share\r\n\r\n")
        conns.append(s)
    answered = 0
    for s in conns:
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                d = s.recv(65536)
                if not d:
                    break
                data += d
        except OSError:
            pass
        answered += data.startswith(b"HTTP/1.1 200")
    return conns, answered
w = workers()
if len(w) != 2:
    print("workers", w)
    sys.exit(1)
stopped, running = sorted(w)
os.kill(stopped, signal.SIGSTOP)
try:
    time.sleep(0.6)   # longer than KK_BOARD_STALE_MS: its heartbeat is stale
    first, a1 = burst(30)
    print("first answered", a1)
finally:
    os.kill(stopped, signal.SIGCONT)
time.sleep(0.6)       # it beats again and counts in the share
w = workers()
print("after-first", w.get(stopped, -1), w.get(running, -1))
second, a2 = burst(20)
w = workers()
print("second answered", a2)
print("after-second", w.get(stopped, -1), w.get(running, -1))
EOF
python3 "$T/share.py" "$port" "$kk_sock" > "$T/share.out" 2>&1
sed 's/^/# /' "$T/share.out"
set -- $(sed -n 's/^after-first //p' "$T/share.out")
tap_ok "while one worker is stopped the other takes the first 30 (got $1 and $2)" \
	test "${1:--1}" -eq 0 -a "${2:--1}" -eq 30
set -- $(sed -n 's/^after-second //p' "$T/share.out")
tap_ok "the next 20 go to the worker that held none: at least 16 of them (got $1 and $2)" \
	test "${1:--1}" -ge 16 -a "${2:-99}" -le 34
tap_like "$(grep answered "$T/share.out" | tr '\n' ' ')" '^first answered 30 second answered 20 $' \
	"every connection was answered"
tap_done
