#!/bin/sh
# Readiness and the control socket: -d gets its newline once every worker
# is ready, READY=1 reaches an abstract $NOTIFY_SOCKET, the socket is
# 0600, a second supervisor is refused the live socket, a stale one is
# replaced, unknown uids and malformed or oversized frames close only
# their own connection; TERM and QUIT stop it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sv.sh"

port=$(kk_free_port)
cat > "$T/k.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
EOF

# An abstract datagram socket stands in for systemd's notify socket.
notify="@kakehi-test-$$-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')"
kk_spawn notify python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1][1:])
s.settimeout(60)
# STATUS= lines come too (notify.t): print each message until READY=1.
while True:
    m = s.recv(4096).decode()
    print(m, flush=True)
    if "READY=1" in m.split("\n"):
        break
' "$notify"
kk_wait_for 10 grep -q "@${notify#@}" /proc/net/unix

NOTIFY_SOCKET=$notify sv_start a "$T/k.conf"
tap_ok "readiness: newline on the -d fd" sv_ready a
tap_is "$(od -An -c "$T/a.ready" | tr -d ' ')" '\n' "readiness: exactly one newline"
tap_ok "readiness: READY=1 on \$NOTIFY_SOCKET (abstract)" \
	kk_wait_for 10 grep -q '^READY=1$' "$T/notify.log"
tap_is "$(ready_count)" 2 "both workers ready"
tap_like "$(cat "$T/a.log")" "info: ready: 2 workers serving" "readiness is logged"

tap_is "$(stat -c %a "$sv_sock")" 600 "control socket is mode 0600"
tap_ok "control socket answers" ctl status

# A second supervisor must not take over a live socket, nor bind anything.
kakehi-supervisor -s "$sv_sock" -W "$FAKE_WORKER" "$T/k.conf" > "$T/second.out" 2>&1
tap_is "$?" 111 "second supervisor on the same socket: exit 111"
tap_like "$(cat "$T/second.out")" "in use by a running supervisor" "second supervisor: says why"
tap_ok "first supervisor still answers" ctl status

# Malformed and oversized frames close only that connection.
frame() {	# frame huge|bad: sends a raw frame, prints what came back
	python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(10)
if sys.argv[2] == "huge":
    s.sendall(struct.pack(">I", 0x7fffffff) + b"x" * 16)
else:
    p = b"status"	# no NUL terminator: not a list of words
    s.sendall(struct.pack(">I", len(p)) + p)
try:
    data = s.recv(100)
except Exception:
    data = b"timeout"
print("closed" if data == b"" else repr(data))
' "$sv_sock" "$1"
}
tap_is "$(frame huge)" closed "oversized frame: connection closed"
tap_is "$(frame bad)" closed "malformed frame: connection closed"
tap_like "$(cat "$T/a.log")" "closing control client uid=.* frame larger than" "oversized frame is logged"
tap_ok "supervisor still answers after bad frames" ctl status

# An unknown uid is refused (switching uid needs root).
if test "$(id -u)" = 0 && command -v setpriv > /dev/null ; then
	chmod 711 "$T"
	chmod 666 "$sv_sock"
	out=$(setpriv --reuid 65534 --regid 65534 --clear-groups \
		"$KK_BIN/kakehi-ctl" -s "$sv_sock" status 2>&1)
	tap_is "$?" 1 "uid 65534: refused with exit 1"
	tap_like "$out" "permission denied: uid 65534" "uid 65534: told why and how to allow it"
	chmod 600 "$sv_sock"
else
	tap_diag "not root: uid checks skipped"
fi

# Graceful stop on TERM: workers drain, the socket goes away, exit 0.
# Silent workers keep a change in flight (for the 5 s worker timeout), and
# a second one waits behind it: TERM refuses that one, and audits it.
# Each client is waited for until the supervisor holds its connection (a
# connected socket on the control path in /proc/net/unix), not for a
# fixed time, which a loaded machine's slow start of kakehi-ctl outlasts.
clients_at_least() {
	test "$(awk -v p="$sv_sock" '$8 == p && $6 == "03"' /proc/net/unix | wc -l)" -ge "$1"
}
touch "$FAKE_WORKER_DIR/silent"
kk_spawn inflight kakehi-ctl -s "$sv_sock" cluster add c1
kk_wait_for 4 clients_at_least 1
sleep 0.5
kk_spawn held kakehi-ctl -s "$sv_sock" cluster add c2
kk_wait_for 4 clients_at_least 2
sleep 0.5
kill -TERM "$sv_pid"
wait "$sv_pid"
tap_is "$?" 0 "TERM: exit 0"
tap_fails "TERM: control socket removed" test -e "$sv_sock"
tap_like "$(cat "$T/a.log")" "worker 0 .* exited with status 0" "TERM: worker 0 drained"
rm -f "$FAKE_WORKER_DIR/silent"
tap_like "$(cat "$T/inflight.log" "$T/held.log")" "shutting down; nothing changed" \
	"TERM: a held mutation is refused"
tap_like "$(cat "$T/a.log")" 'verb="cluster add c[12]" result=refused: the supervisor is shutting down' \
	"TERM: the held mutation's refusal is audited"

# A stale socket file (left by a crash) is replaced.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/b.sock"
sv_start b "$T/k.conf"
tap_ok "stale socket: new supervisor starts" sv_ready b
tap_like "$(cat "$T/b.log")" "removed stale control socket" "stale socket: logged"

# QUIT: fast stop.
kill -QUIT "$sv_pid"
wait "$sv_pid"
tap_is "$?" 0 "QUIT: exit 0"
tap_like "$(cat "$T/b.log")" "stopping now" "QUIT: stops now"

tap_done
