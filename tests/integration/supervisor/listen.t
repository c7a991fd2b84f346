#!/bin/sh
# kakehi-listen: listeners on fds 3.. with LISTEN_FDS / LISTEN_FDNAMES /
# LISTEN_PID, honest exit codes, and the chain into kakehi-supervisor,
# which adopts the sockets instead of binding its own.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sv.sh"

p1=$(kk_free_port)
have_v6=0
python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null && have_v6=1

show='echo "$LISTEN_FDS|$LISTEN_FDNAMES|$LISTEN_PID|$$" ; for f in 3 4 ; do readlink /proc/$$/fd/$f ; done'
if test $have_v6 = 1 ; then
	out=$(kakehi-listen 127.0.0.1:$p1 "[::1]:$p1" -- sh -c "$show")
	tap_like "$(echo "$out" | head -n 1)" "^2\\|127\\.0\\.0\\.1:$p1:\\[::1\\]:$p1\\|([0-9]+)\\|" "LISTEN_FDS and LISTEN_FDNAMES"
	pids=$(echo "$out" | head -n 1 | awk -F'|' '{ print $3 " " $4 }')
	tap_is "$(echo "$pids" | cut -d' ' -f1)" "$(echo "$pids" | cut -d' ' -f2)" "LISTEN_PID is the exec'd program's pid"
	tap_is "$(echo "$out" | grep -c '^socket:')" 2 "fds 3 and 4 are sockets"
else
	tap_diag "no IPv6 loopback: IPv6 case skipped"
fi

# Fd 3 already open: replaced by the socket; the copies made while
# moving it are not leaked, and fd 4 (not a target) is left alone.
out=$(kakehi-listen 127.0.0.1:$p1 -- sh -c 'echo $LISTEN_FDNAMES ; for f in /proc/$$/fd/* ; do readlink $f ; done ; echo fd4=$(readlink /proc/$$/fd/4)' \
	3</dev/null 4</dev/null)
tap_like "$out" "^127\\.0\\.0\\.1:$p1\$" "one listener named"
tap_is "$(echo "$out" | grep -c '^socket:')" 1 "an fd already at 3 is replaced, no copy leaked"
tap_is "$(echo "$out" | grep -c '^fd4=/dev/null$')" 1 "fd 4 is left alone"
kakehi-listen 127.0.0.1:$p1 -- true 3</dev/null 2> "$T/err"
tap_like "$(cat "$T/err")" "warning: fd 3 was already open and is replaced by listener 127\\.0\\.0\\.1:$p1; .*\\(4 or more\\)" \
	"replacing an open fd is warned about"

# Exit codes.
kk_spawn holder python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); print("up",flush=True); time.sleep(60)' "$p1"
kk_wait_for 10 grep -q up "$T/holder.log"
kakehi-listen 127.0.0.1:$p1 true > "$T/out" 2>&1
tap_is "$?" 111 "port in use: exit 111"
tap_is "$(cat "$T/out")" "kakehi-listen: fatal: unable to bind 127.0.0.1:$p1: Address already in use; another process holds the port (check: ss -ltnp)" \
	"port in use: message says what to check"
kk_stop "$kk_last_pid"
kakehi-listen true > "$T/out" 2>&1 ; tap_is "$?" 100 "no address: exit 100"
kakehi-listen 127.0.0.1:$p1 > "$T/out" 2>&1 ; tap_is "$?" 100 "no program: exit 100"
kakehi-listen 127.0.0.1:$p1 127.0.0.1:$p1 true > "$T/out" 2>&1 ; tap_is "$?" 100 "same address twice: exit 100"
kakehi-listen -b x 127.0.0.1:$p1 true > "$T/out" 2>&1 ; tap_is "$?" 100 "bad backlog: exit 100"
kakehi-listen 127.0.0.1:$p1 -- "$T/nonexistent" > "$T/out" 2>&1 ; tap_is "$?" 127 "program not found: exit 127"
printf '#!/bin/sh\n' > "$T/noexec" ; chmod 644 "$T/noexec"
kakehi-listen 127.0.0.1:$p1 -- "$T/noexec" > "$T/out" 2>&1 ; tap_is "$?" 126 "program not executable: exit 126"
tap_ok "-b backlog accepted" kakehi-listen -b 16 127.0.0.1:$p1 true

# A readiness fd that is also a listener fd: refused before any harm.
printf 'set workers 1\nlistener add http 127.0.0.1:%s\n' "$p1" > "$T/one.conf"
kakehi-listen 127.0.0.1:$p1 -- kakehi-supervisor -d 3 -s "$T/x.sock" -W "$FAKE_WORKER" "$T/one.conf" \
	> "$T/out" 2>&1
tap_is "$?" 100 "-d on a listener fd: exit 100"
tap_like "$(cat "$T/out")" "fatal: -d 3 is also inherited listener fd 3 .*4 or more" "-d on a listener fd: says which number to use"

# The chain: the supervisor adopts the listener; the extra socket that no
# listener names is kept, unused, with a warning (activation.t takes it).
p2=$(kk_free_port)
cat > "$T/k.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$p1
EOF
sv_sock=$T/chain.sock
: > "$T/chain.ready"
kk_spawn chain kakehi-listen 127.0.0.1:$p1 127.0.0.1:$p2 -- \
	sh -c 'exec kakehi-supervisor -d 7 -s "$1" -W "$2" "$3" 7>"$4"' sh \
	"$sv_sock" "$FAKE_WORKER" "$T/k.conf" "$T/chain.ready"
sv_pid=$kk_last_pid
tap_ok "chain: supervisor ready" sv_ready chain
tap_like "$(cat "$T/chain.log")" "adopted inherited listener 127\\.0\\.0\\.1:$p1 \\(fd 3\\)" "chain: listener adopted"
tap_like "$(cat "$T/chain.log")" "warning: keeping inherited socket 127\\.0\\.0\\.1:$p2 \\(fd 4\\) unused" \
	"chain: unnamed socket kept with a warning"
tap_fails "chain: the supervisor did not bind its own socket" grep -q "listening on 127.0.0.1:$p1" "$T/chain.log"
tap_is "$(ss -Hltn "sport = :$p1" | wc -l)" 1 "chain: one listening socket for the port"
ino=$(readlink "/proc/$sv_pid/fd/3")
tap_like "$ino" '^socket:' "chain: the supervisor still holds the inherited fd 3"
tap_is "$(ss -Hltn "sport = :$p2" | wc -l)" 1 "chain: the unnamed socket is kept"
tap_like "$(ctl status --workers)" "listeners 127\\.0\\.0\\.1:$p1" "chain: workers got the adopted socket"
# A refused change that would have taken the kept socket gives it back;
# the next one takes it.
spare=$(readlink "/proc/$sv_pid/fd/4")
echo "127.0.0.1:$p2 not today" > "$FAKE_WORKER_DIR/nack"
tap_fails "chain: a refused listener add of the kept socket's address" \
	ctl listener add http "127.0.0.1:$p2"
rm -f "$FAKE_WORKER_DIR/nack"
tap_is "$(readlink "/proc/$sv_pid/fd/4")" "$spare" "chain: ... the socket is kept, still fd 4"
tap_ok "chain: listener add takes the kept socket" ctl listener add http "127.0.0.1:$p2"
tap_like "$(ctl status --workers)" "listeners 127\\.0\\.0\\.1:$p1,127\\.0\\.0\\.1:$p2" \
	"chain: workers got it"
tap_fails "chain: ... and no socket was bound for it" grep -q "listening on 127.0.0.1:$p2" "$T/chain.log"
kill -TERM "$sv_pid"
wait "$sv_pid"
tap_is "$?" 0 "chain: TERM stops it"

tap_done
