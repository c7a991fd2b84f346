#!/bin/sh
# The foundation's acceptance scenario, end to end with real programs:
# kakehi-listen -> kakehi-supervisor -> two workers, one listener, one
# cluster, one frontend, two backends. curl requests alternate between the
# backends; `kakehi-ctl backend remove` takes one out live; kill -9 of a
# worker does not stop service for more than a second.
. "$(dirname "$0")/../lib.sh"

kk_backend b1 ; p1=$kk_port
kk_backend b2 ; p2=$kk_port
port=$(kk_free_port)
sock=$T/control

cat > "$T/kakehi.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
cluster add app
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:$p1
backend add app b2 127.0.0.1:$p2
EOF

# Readiness arrives on fd 5 once every worker serves: a fifo stands in for
# the supervisor's notification pipe.
mkfifo "$T/ready"
kk_spawn kakehi kakehi-listen "127.0.0.1:$port" -- \
	sh -c 'exec kakehi-supervisor -d 5 -s "$1" "$2" 5>"$3"' sh "$sock" "$T/kakehi.conf" "$T/ready"
sup=$kk_last_pid
ready=$(timeout 20 head -c 1 "$T/ready" | od -An -c | tr -d ' ')
tap_is "$ready" '\n' "supervisor signals readiness on its -d fd"

which_backend() { kk_curl "http://127.0.0.1:$port/" | head -n 1 ; }

seq=
for i in 1 2 3 4 ; do seq="$seq $(which_backend)" ; done
tap_like "$seq" '^ backend (b1|b2) backend (b1|b2) backend (b1|b2) backend (b1|b2)$' "four requests are answered by the backends"
tap_like "$seq" 'b1.*b2|b2.*b1' "both backends serve"
# With two workers each keeping its own rotation, strict alternation holds
# per worker; over four requests each backend answers exactly twice when
# one worker serves them all, and at least once otherwise.
n1=$(printf '%s\n' $seq | grep -c b1)
n2=$(printf '%s\n' $seq | grep -c b2)
tap_ok "requests are spread over both backends (b1=$n1 b2=$n2)" test "$n1" -ge 1 -a "$n2" -ge 1

# Alternation on one keep-alive connection (one worker): strictly b1 b2 b1 b2 or b2 b1 b2 b1.
alt=$(curl -s --max-time 10 "http://127.0.0.1:$port/a" "http://127.0.0.1:$port/b" \
	"http://127.0.0.1:$port/c" "http://127.0.0.1:$port/d" | grep '^backend ' | tr '\n' ' ')
tap_like "$alt" '^backend (b1 backend b2 backend b1 backend b2|b2 backend b1 backend b2 backend b1) $' \
	"round-robin alternates on one connection"

tap_ok "kakehi-ctl backend remove app b2" kakehi-ctl -s "$sock" backend remove app b2
seq=
for i in 1 2 3 4 5 6 ; do seq="$seq $(which_backend)" ; done
tap_is "$seq" " backend b1 backend b1 backend b1 backend b1 backend b1 backend b1" \
	"after the removal every request goes to b1, without a restart"
tap_ok "kakehi-ctl backend add app b2 puts it back" kakehi-ctl -s "$sock" backend add app b2 "127.0.0.1:$p2"
seq=
for i in 1 2 3 4 ; do seq="$seq $(which_backend)" ; done
tap_like "$seq" 'b2' "b2 serves again after backend add"

# kill -9 of a worker: poll continuously and measure the longest run of
# failed requests; it must stay under a second.
KK_PARENT=$sup
workers=$(kk_descendants "$sup")
victim=$(echo $workers | cut -d' ' -f1)
tap_ok "the supervisor runs two workers ($workers)" test "$(echo $workers | wc -w)" -eq 2
python3 - "$port" "$victim" > "$T/gap" <<'EOF'
import os, signal, socket, sys, time
port, victim = int(sys.argv[1]), int(sys.argv[2])
def get():
    try:
        s = socket.create_connection(("127.0.0.1", port), 1)
        s.settimeout(2)
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d: break
            data += d
        s.close()
        return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False
start = time.monotonic()
killed = False
fail_since = None
longest = 0.0
ok = 0
while time.monotonic() - start < 4.0:
    if not killed and time.monotonic() - start > 1.0:
        os.kill(victim, signal.SIGKILL)
        killed = True
    t = time.monotonic()
    if get():
        ok += 1
        if fail_since is not None:
            longest = max(longest, t - fail_since)
            fail_since = None
    elif fail_since is None:
        fail_since = t
    time.sleep(0.01)
if fail_since is not None:
    longest = max(longest, time.monotonic() - fail_since)
print("%.3f %d" % (longest, ok))
EOF
read gap served < "$T/gap"
tap_ok "service gap after kill -9 of a worker is under 1 s (${gap}s, $served served)" \
	python3 -c "import sys; sys.exit(0 if float('$gap') < 1.0 and $served > 10 else 1)"
two_live_workers() {
	KK_PARENT=$sup
	test "$(kk_descendants "$sup" | grep -vx "$victim" | wc -l)" -eq 2
}
tap_ok "a replacement worker is started" kk_wait_for 10 two_live_workers
tap_is "$(which_backend | cut -c1-7)" "backend" "the proxy serves after the replacement"

kk_stop "$sup"
tap_done
