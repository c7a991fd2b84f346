#!/bin/sh
# Control client slots: connections that hold a slot without a request
# cannot lock kakehi-ctl out. With more idle connections open than there
# are slots, kakehi-ctl still gets its answer (the oldest idle one makes
# room); a frame cut short is closed after its deadline, an idle client
# after its own; and the warnings about them are rate-limited, not one
# line per connection.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sv.sh"

port=$(kk_free_port)
cat > "$T/k.conf" <<EOF
set workers 1
listener add http 127.0.0.1:$port
EOF

sv_start a "$T/k.conf"
tap_ok "supervisor ready" sv_ready a

# hold N SECONDS [truncated]: opens N connections (sending nothing, or a
# frame header announcing 100 bytes followed by 3 of them), keeps them
# SECONDS at most, and prints how many the supervisor closed by then.
# Writes "open" to $T/hold.state once all are connected.
hold() {
	python3 -c '
import select, socket, struct, sys, time
path, n, secs, mode, state = sys.argv[1:6]
n, secs = int(n), float(secs)
socks = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    if mode == "truncated":
        s.sendall(struct.pack(">I", 100) + b"abc")
    socks.append(s)
open(state, "w").write("open\n")
closed = set()
end = time.monotonic() + secs
while time.monotonic() < end and len(closed) < n:
    live = [s for s in socks if s not in closed]
    r, _, _ = select.select(live, [], [], 0.2)
    for s in r:
        try:
            data = s.recv(100)
        except OSError:
            data = b""
        if not data:
            closed.add(s)
print(len(closed), flush=True)
' "$sv_sock" "$1" "$2" "${3:-idle}" "$T/hold.state"
}

# 70 idle connections, more than the 64 slots, held while kakehi-ctl runs.
hold70() {	# hold70 OUT SECONDS: holds 70 idle connections in the background
	: > "$T/hold.state"
	( hold 70 "$2" > "$1" ) &
	hold_pid=$!
	kk_pids="$kk_pids $hold_pid"
	kk_wait_for 20 grep -q open "$T/hold.state"
}
lines0=$(wc -l < "$T/a.log")
hold70 "$T/hold70.out" 5
out=$(ctl status 2>&1)
tap_is "$?" 0 "70 idle connections held: kakehi-ctl status still answers"
tap_like "$out" "^supervisor " "status: the supervisor's own line"
out=$(ctl backend list 2>&1)
tap_is "$?" 0 "and a second kakehi-ctl as well"
wait "$hold_pid"
lines1=$(wc -l < "$T/a.log")
tap_ok "the oldest idle connections were closed to make room" \
	test "$(cat "$T/hold70.out")" -ge 6
tap_like "$(cat "$T/a.log")" "closing control client .* all 64 slots taken" \
	"making room is logged"
tap_ok "log: not one line per connection (grew by $((lines1 - lines0)))" \
	test $((lines1 - lines0)) -le 3

# A frame cut short holds its slot only until its deadline (5 s).
: > "$T/hold.state"
t0=$(date +%s)
got=$(hold 1 30 truncated)
t1=$(date +%s)
tap_is "$got" 1 "truncated frame: connection closed by the supervisor"
tap_ok "truncated frame: closed after about 5 s, well before 30 s ($((t1 - t0)) s)" \
	test $((t1 - t0)) -ge 4 -a $((t1 - t0)) -lt 25
tap_ok "status still answers" ctl status

# A client that sends nothing is closed after the idle deadline (10 s).
t0=$(date +%s)
got=$(hold 1 40)
t1=$(date +%s)
tap_is "$got" 1 "idle connection: closed by the supervisor"
tap_ok "idle connection: closed after about 10 s, well before 40 s ($((t1 - t0)) s)" \
	test $((t1 - t0)) -ge 9 -a $((t1 - t0)) -lt 35
tap_like "$(cat "$T/a.log")" "frame was not complete within 5s" "frame deadline is logged"

# More than 10 s after the first round: the next warning of the kind
# counts what was left out.
hold70 "$T/hold70b.out" 3
ctl status > /dev/null
wait "$hold_pid"
tap_like "$(cat "$T/a.log")" \
	"slots taken .*and [0-9]+ more like it in the last [0-9]+s, not logged" \
	"log: the warnings left out are counted on the next one"

tap_done
