#!/bin/sh
# kakehi-worker tcp listeners: bytes both ways through the tunnel, byte
# for byte, with either side's end of file first; connect failures tried
# on another backend; backends that refuse, reset or never answer (the
# connect timeout); the idle timeout.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

peer() { python3 "$kw_dir/tcppeer.py" "$@" ; }
MiB100=104857600
export TCPPEER_BYTES=$MiB100

pr=$(kk_free_port) ; kk_spawn peer-reply peer serve "$pr" reply
pf=$(kk_free_port) ; kk_spawn peer-first peer serve "$pf" first "$T/first.out"
px=$(kk_free_port) ; kk_spawn peer-reset peer serve "$px" reset
kk_dead_port ; dead=$kk_port
for p in "$pr" "$pf" "$px" ; do
	kk_wait_for 10 kk_port_open "$p" || { echo "Bail out! tcp peer did not start" ; exit 1 ; }
done
# The peers took one connection each to show they listen: "reply" and
# "first" finish it on the client's end of file; "reset" on its close.

kw_start tcp \
	'listener add tcp 127.0.0.1:@PORT --front-timeout 3s --connect-timeout 2s' \
	'cluster add reply' \
	"frontend add reply --listener 127.0.0.1:@PORT" \
	"backend add reply dead 127.0.0.1:$dead" \
	"backend add reply up 127.0.0.1:$pr"
P=$kw_port
counters() { python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-tcp.log" "$@" ; }

# The client's end of file first: the backend reads 100 MiB to its end,
# then answers with 100 MiB while the client's side stays shut.
out=$(peer client "$P" reply "$MiB100")
want_c=$(peer sha client "$MiB100")
want_r=$(peer sha reply "$MiB100")
got_srv=$(printf '%s\n' "$out" | sed -n 1p)
set -- $(printf '%s\n' "$out" | sed -n 2p)
tap_is "$got_srv" "$want_c $MiB100" "100 MiB client to backend, byte-identical (sha256)"
tap_is "$1" "$want_c" "the client sent what it meant to"
tap_is "$2 $3" "$want_r $MiB100" \
	"100 MiB backend to client after the client's end of file, byte-identical"

# Once more: the dead backend is avoided for a while, so both orders of
# the pick are covered, and the connect failure was tried elsewhere.
out=$(peer client "$P" reply 1000)
tap_like "$out" "^$(peer sha client 1000) 1000" "second connection tunnels too"
c=$(counters retries closes-back-connect closes-done)
tap_like "$c" 'retries [1-9]' "a refused connect is retried on another backend"
tap_like "$c" 'closes-back-connect [1-9]' "the refused connect is counted"
# Three: kw_start's check that the port is open was a connection too.
tap_like "$c" 'closes-done 3' "the connections ended as done"
# 100 MiB up and down, then 1000 bytes up and 100 MiB down, and the two
# answer lines: what is read is written.
c=$(counters bytes-in bytes-out | tr '\n' ' ')
set -- $c
tap_ok "bytes counted both ways ($c)" test "$2" -ge $((3 * MiB100 + 1000)) -a "$2" = "$4"

# The backend's end of file first: it sends 100 MiB and shuts its side;
# the client then sends 100 MiB, which still reaches it.
kw_start first \
	'listener add tcp 127.0.0.1:@PORT' \
	'cluster add first' \
	"frontend add first --listener 127.0.0.1:@PORT" \
	"backend add first up 127.0.0.1:$pf"
: > "$T/first.out"
set -- $(peer client "$kw_port" first "$MiB100")
tap_is "$2 $3" "$(peer sha first "$MiB100") $MiB100" \
	"100 MiB backend to client, then its end of file"
kk_wait_for 30 test -s "$T/first.out"
tap_is "$(cat "$T/first.out")" "$want_c $MiB100" \
	"100 MiB client to backend after the backend's end of file, byte-identical"

# A cluster whose only backend refuses: the client's connection ends,
# with no byte, once the tries are spent.
kw_start refuse \
	'listener add tcp 127.0.0.1:@PORT' \
	'cluster add refuse' \
	"frontend add refuse --listener 127.0.0.1:@PORT" \
	"backend add refuse dead 127.0.0.1:$dead"
tap_like "$(peer probe "$kw_port" hello 10)" '^(eof|reset) 0$' \
	"every backend refusing: the client's connection is closed"
c=$(python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-refuse.log" closes-backend-error)
# Two: kw_start's check that the port is open was a connection too.
tap_is "$c" "closes-backend-error 2" "counted as a backend error"

# A cluster without backends, and a listener without a frontend.
kw_start empty \
	'listener add tcp 127.0.0.1:@PORT' \
	'cluster add empty' \
	"frontend add empty --listener 127.0.0.1:@PORT"
tap_like "$(peer probe "$kw_port" hello 10)" '^(eof|reset) 0$' \
	"no backend to connect to: the client's connection is closed"
c=$(python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-empty.log" closes-no-route)
tap_is "$c" "closes-no-route 2" "counted as no route"
kw_start nofront \
	'listener add tcp 127.0.0.1:@PORT'
tap_like "$(peer probe "$kw_port" hello 10)" '^(eof|reset) 0$' \
	"no frontend on the listener: the client's connection is closed"

# A backend that answers, then resets: the client's connection ends too.
kw_start reset \
	'listener add tcp 127.0.0.1:@PORT' \
	'cluster add reset' \
	"frontend add reset --listener 127.0.0.1:@PORT" \
	"backend add reset x 127.0.0.1:$px"
tap_like "$(peer probe "$kw_port" 'hi
' 10)" '^(eof|reset) [0-9]+$' "a backend's reset ends the client's connection"
c=$(python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-reset.log" closes-back-reset \
	connections-active)
tap_like "$c" 'closes-back-reset 2' "counted as a backend reset"
tap_like "$c" 'connections-active 0' "nothing left open"

# A backend that never answers a SYN (blackhole.py: a full backlog drops
# them): the connect times out under --connect-timeout, is counted, and is
# tried on the next backend, here a backup one. kw_start's check that the
# port is open went to it first: once that timeout is counted and the
# backend's mark of failure (1.5 s) has run out, the next client meets the
# hole again.
bh=$(kk_free_port) ; kk_spawn blackhole python3 "$kw_dir/blackhole.py" "$bh"
kk_wait_for 20 grep -qx ready "$T/blackhole.log" || { echo "Bail out! blackhole did not start" ;
	sed 's/^/# /' "$T/blackhole.log" ; exit 1 ; }
kw_start hole \
	'listener add tcp 127.0.0.1:@PORT --connect-timeout 1s' \
	'cluster add reply' \
	"frontend add reply --listener 127.0.0.1:@PORT" \
	"backend add reply hole 127.0.0.1:$bh" \
	"backend add reply up 127.0.0.1:$pr --backup"
first_timeout() {
	test "$(python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-hole.log" \
		closes-back-connect-timeout)" = 'closes-back-connect-timeout 1'
}
kk_wait_for 20 first_timeout
sleep 2
out=$(peer client "$kw_port" reply 1000)
tap_like "$out" "^$(peer sha client 1000) 1000" \
	"a connect that times out is retried on another backend, which answers"
c=$(python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-hole.log" closes-back-connect-timeout \
	retries | tr '\n' ' ')
tap_is "$c" "closes-back-connect-timeout 2 retries 2 " "each timed-out connect counted and retried"

# With no other backend, the client's connection is closed after the
# timeout, without a byte.
kw_start holeonly \
	'listener add tcp 127.0.0.1:@PORT --connect-timeout 1s' \
	'cluster add hole' \
	"frontend add hole --listener 127.0.0.1:@PORT" \
	"backend add hole hole 127.0.0.1:$bh"
tap_like "$(peer probe "$kw_port" hello 15)" '^(eof|reset) 0$' \
	"the only backend never answering: the client's connection is closed"
c=$(python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-holeonly.log" \
	closes-back-connect-timeout closes-backend-error | tr '\n' ' ')
# Two of each: kw_start's check that the port is open was a connection too.
tap_is "$c" "closes-back-connect-timeout 2 closes-backend-error 2 " \
	"the timeout counted, the client's close counted as a backend error"

# The front timeout is the tunnel's idle timeout: a silent connection is
# closed after it, however patient both peers are.
kw_start idle \
	'listener add tcp 127.0.0.1:@PORT --front-timeout 1s' \
	'cluster add reply' \
	"frontend add reply --listener 127.0.0.1:@PORT" \
	"backend add reply up 127.0.0.1:$pr"
tap_like "$(peer probe "$kw_port" '' 15)" '^eof 0$' "an idle tunnel is closed at the front timeout"
c=$(python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-idle.log" closes-idle-timeout)
tap_is "$c" "closes-idle-timeout 1" "counted as an idle timeout"

tap_done
