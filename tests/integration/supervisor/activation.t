#!/bin/sh
# Socket activation as systemd does it (activate.py binds, keeps its own
# copies and passes LISTEN_FDS / LISTEN_PID / LISTEN_FDNAMES): a socket
# whose address a listener names is adopted, whatever its name; one that
# no listener names is kept close-on-exec and taken by a later
# `listener add` of its address (binding it again would fail: the parent
# holds it); LISTEN_PID of another process: nothing adopted, and the
# variables do not reach the workers.
. "$(dirname "$0")/../lib.sh"
SV_WORKER=$KK_BIN/kakehi-worker
. "$(dirname "$0")/sv.sh"

kk_backend b1 ; pb=$kk_port
p1=$(kk_free_port) ; p2=$(kk_free_port) ; p3=$(kk_free_port)
cat > "$T/k.conf" <<EOF2
set workers 2
listener add http 127.0.0.1:$p1
cluster add app
frontend add app --listener 127.0.0.1:$p1
backend add app b1 127.0.0.1:$pb
EOF2

act_start() {	# act_start NAME CONFIG: the supervisor under activate.py, ports $ports
	sv_sock=$T/$1.sock
	: > "$T/$1.ready"
	kk_spawn "$1" python3 "$SV_DIR/activate.py" $ports -- \
		sh -c 'exec kakehi-supervisor -d 9 -s "$1" -W "$2" "$3" 9>"$4"' sh \
		"$sv_sock" "$SV_WORKER" "$2" "$T/$1.ready"
	act_pid=$kk_last_pid
}
serves() { curl -sf --max-time 5 "http://127.0.0.1:$1/" | grep -q '^backend b1' ; }

# systemd names sockets after the unit unless FileDescriptorName= is set,
# and a name cannot hold a ':': adoption goes by the bound address.
ports="127.0.0.1:$p1 127.0.0.1:$p2"
export ACTIVATE_NAMES=kakehi.socket:spare
act_start a "$T/k.conf"
unset ACTIVATE_NAMES
tap_ok "activated supervisor ready" sv_ready a
tap_like "$(cat "$T/a.log")" "adopted inherited listener 127\\.0\\.0\\.1:$p1 \\(fd 3\\)" \
	"the socket named by a listener is adopted by its address"
tap_fails "it did not bind one of its own" grep -q "listening on 127.0.0.1:$p1" "$T/a.log"
tap_ok "serves on the adopted socket" serves "$p1"
tap_like "$(cat "$T/a.log")" \
	"keeping inherited socket 127\\.0\\.0\\.1:$p2 \\(fd 4\\) unused: no listener" \
	"an unnamed socket: a warning, and kept"
sup=$(tr -d ' ' < "/proc/$act_pid/task/$act_pid/children")
tap_like "$(readlink "/proc/$sup/fd/4")" '^socket:' "the supervisor still holds it (fd 4)"
tap_is "$(awk '$1 == "flags:" { print substr($2, length($2) - 6, 1) }' "/proc/$sup/fdinfo/4")" 2 \
	"... close-on-exec"
for id in 0 1 ; do
	wp=$(worker_pid $id)
	tap_fails "worker $id does not get the unused socket" \
		sh -c "for f in /proc/$wp/fd/* ; do readlink \$f ; done |
			grep -qx '$(readlink "/proc/$sup/fd/4")'"
done
tap_ok "listener add of its address takes the kept socket" \
	ctl listener add http "127.0.0.1:$p2"
tap_ok "frontend add on it" ctl frontend add app --listener "127.0.0.1:$p2"
tap_ok "serves on the socket it took" serves "$p2"
tap_like "$(cat "$T/a.log")" "adopted inherited listener 127\\.0\\.0\\.1:$p2" \
	"the log says it was adopted"
tap_is "$(ss -Hltn "sport = :$p2" | wc -l)" 1 "still one listening socket for that port"
kk_stop "$act_pid" TERM

# LISTEN_PID names another process: the sockets are not ours.
cat > "$T/k3.conf" <<EOF2
set workers 1
listener add http 127.0.0.1:$p3
cluster add app
frontend add app --listener 127.0.0.1:$p3
backend add app b1 127.0.0.1:$pb
EOF2
ports="127.0.0.1:$p1"
export ACTIVATE_WRONG_PID=1 ACTIVATE_NAMES=x
act_start w "$T/k3.conf"
unset ACTIVATE_WRONG_PID ACTIVATE_NAMES
tap_ok "LISTEN_PID of another process: ready" sv_ready w
tap_fails "... nothing adopted" grep -q "inherited" "$T/w.log"
tap_ok "... serves what it bound" serves "$p3"
wp=$(worker_pid 0)
tap_is "$(tr '\0' '\n' < "/proc/$wp/environ" | grep '^LISTEN_FDNAMES=')" \
	"LISTEN_FDNAMES=127.0.0.1:$p3" "... the worker sees only the supervisor's own listeners"
tap_is "$(tr '\0' '\n' < "/proc/$wp/environ" | grep '^LISTEN_PID=' | cut -d= -f2)" "$wp" \
	"... with its own pid as LISTEN_PID"
kk_stop "$act_pid" TERM
tap_done
