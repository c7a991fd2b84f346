#!/bin/sh
# What a worker inherits: its std fds, its channel and the listeners,
# nothing else. fds the supervisor was started with but does not use
# (a shell's `exec 7>file`) must not reach the workers.
. "$(dirname "$0")/../lib.sh"
SV_WORKER=$KK_BIN/kakehi-worker
. "$(dirname "$0")/sv.sh"

port=$(kk_free_port)
cat > "$T/k.conf" <<EOF2
set workers 2
listener add http 127.0.0.1:$port
EOF2

: > "$T/x"
: > "$T/y"
exec 7> "$T/x" 8< "$T/y"
sv_start a "$T/k.conf"
exec 7>&- 8<&-
tap_ok "supervisor ready" sv_ready a

# fd_targets PID: where each of PID's fds above 2 points, one per line
fd_targets() {
	for f in /proc/"$1"/fd/* ; do
		n=${f##*/}
		test "$n" -gt 2 && echo "$n $(readlink "$f")"
	done
}

for id in 0 1 ; do
	pid=$(worker_pid $id)
	tap_ok "worker $id has a pid ($pid)" test -n "$pid"
	fds=$(fd_targets "$pid")
	tap_fails "worker $id: no fd of the supervisor's parent (exec 7>file, 8<file)" \
		sh -c "printf '%s\n' '$fds' | grep -q '$T/[xy]\$'"
	# Anything else that names a file is an fd that leaked; the
	# supervisor's memfds (the metrics segment) are given on purpose.
	tap_fails "worker $id: no fd on a regular file" \
		sh -c "printf '%s\n' '$fds' | grep -v ' /memfd:kakehi-' | grep -q ' /'"
	tap_like "$fds" "^3 socket:" "worker $id: fd 3 is the listener"
done
# Marked, not closed: the supervisor leaves what it was given alone.
tap_is "$(readlink /proc/"$sv_pid"/fd/7)" "$T/x" "the supervisor itself still holds fd 7"
tap_ok "supervisor still answers" ctl status

tap_done
