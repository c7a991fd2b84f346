#!/bin/sh
# Connections opened at once spread over the workers of a shared listener:
# kakehi-listen binds one socket, two workers wait on it. Python opens 200
# keep-alive connections in one burst, sends a request on each, reads the
# answers and holds the connections while kakehi-ctl status gives each
# worker's connections-active. The most loaded worker must hold at most
# 1.5 times its share in the median of five bursts (the bench measures
# the tighter target; this machine may be slow and shared). A worker that
# gets no CPU during a burst cannot take its turn, so on a loaded machine
# a round of five may say more about the machine than about kakehi: up to
# three rounds are run and one must pass. Before workers took turns on
# the listener, every round gave 1.7 to 2.0. With two
# CPUs or more the client keeps to one of them: a burst from a client
# that takes the CPU a woken worker was placed on decides the spread by
# itself (real clients are other machines).
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

pin_client=
set -- $(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0))[:2])')
test $# -ge 2 && pin_client=$2

mkfifo "$T/ready"
kk_spawn kakehi kakehi-listen "127.0.0.1:$port" -- \
	sh -c 'exec kakehi-supervisor -d 5 -s "$1" "$2" 5>"$3"' sh "$sock" "$T/kakehi.conf" "$T/ready"
sup=$kk_last_pid
ready=$(timeout 20 head -c 1 "$T/ready" | od -An -c | tr -d ' ')
tap_is "$ready" '\n' "supervisor signals readiness"

# Prints one line per burst: the active count of each worker, then the
# number of connections answered. Every wait is bounded.
cat > "$T/bursts.py" <<'EOF'
import os, re, select, socket, subprocess, sys, time
port, sock, n, bursts = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if len(sys.argv) > 5:
    os.sched_setaffinity(0, {int(sys.argv[5])})
def active():
    out = subprocess.run(["kakehi-ctl", "-s", sock, "status", "--workers"],
                         capture_output=True, text=True, timeout=20).stdout
    return [int(x) for x in re.findall(r"^  connections-active (\d+)", out, re.M)]
for b in range(bursts):
    conns = []
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        conns.append(s)
    answered = 0
    for s in conns:
        try:
            select.select([], [s], [], 10)
            s.setblocking(True)
            s.settimeout(10)
            s.sendall(b"GET / HTTP/1.1\r\nHost: spread\r\n\r\n")
        except OSError:
            pass
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
    print(" ".join(map(str, active())), answered, flush=True)
    for s in conns:
        s.close()
    end = time.monotonic() + 20
    while time.monotonic() < end and sum(active()) > 0:
        time.sleep(0.1)
EOF
# Five bursts into $T/bursts.R, then the median of max/share in them.
r=0 median= medians=
while test $r -lt 3 ; do
	r=$((r + 1))
	timeout 120 python3 "$T/bursts.py" "$port" "$sock" 200 5 $pin_client \
	    > "$T/bursts.$r" 2>> "$T/bursts.err"
	sed "s/^/# round $r burst: /" "$T/bursts.$r"
	median=$(awk '{ m = $1 > $2 ? $1 : $2 ; print m / 100 }' "$T/bursts.$r" |
	    sort -n | sed -n 3p)
	medians="$medians ${median:-none}"
	awk -v m="${median:-9}" 'BEGIN { exit !(m <= 1.5) }' && break
done
sed 's/^/# /' "$T/bursts.err"
cat "$T"/bursts.[0-9] > "$T/bursts"
tap_ok "five bursts of 200 connections ran in each round" \
	test "$(wc -l < "$T/bursts")" -eq $((5 * r))
tap_ok "every connection of every burst was answered" \
	awk '$3 != 200 { exit 1 }' "$T/bursts"
tap_ok "every connection was held by a worker while counted" \
	awk 'NF != 3 || $1 + $2 != 200 { exit 1 }' "$T/bursts"
tap_ok "the most loaded worker holds at most 1.5x its share in the median of a round (medians:$medians)" \
	awk -v m="${median:-9}" 'BEGIN { exit !(m <= 1.5) }'

kk_stop "$sup"
tap_done
