#!/bin/sh
# kakehi-worker standalone: each timeout measures its own side. The back
# timeout runs only while the backend owes something, so a slow upload is
# not blamed on it; a client that stops sending its body or stops reading
# its response is timed out by the front timeout and counted as the
# client's, and releases its backend connection.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_spawn bodyback python3 "$kw_dir/bodyback.py"
kk_wait_for 10 test -s "$T/bodyback.log" || { echo "Bail out! bodyback did not start" ; exit 1 ; }
pb=$(head -n 1 "$T/bodyback.log")
kk_backend slow ; ps=$kk_port
kw_start tmo \
	'listener add http 127.0.0.1:@PORT --front-timeout 3s --back-timeout 2s' \
	'cluster add app' 'cluster add slow' \
	'frontend add app --listener 127.0.0.1:@PORT --host app.test' \
	'frontend add slow --listener 127.0.0.1:@PORT --host slow.test' \
	"backend add app b1 127.0.0.1:$pb" "backend add slow s1 127.0.0.1:$ps"
client() { python3 "$kw_dir/bodyclient.py" "$kw_port" "$@" ; }
counters() { python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-tmo.log" "$@" ; }

# An upload that lasts three back timeouts (1.5 MB at 250 kB/s), chunked
# and with a length: the backend is not timed while the client sends.
tap_is "$(client upload 1500000 length 0 250000)" ok \
	"an upload slower than the back timeout succeeds (Content-Length)"
tap_is "$(client upload 1500000 chunked 30000 250000)" ok \
	"an upload slower than the back timeout succeeds (chunked)"
tap_like "$(counters closes-back-timeout)" '^closes-back-timeout 0$' \
	"slow uploads are not counted as back timeouts"

# A client that stops in the middle of its body: 408 from the front
# timeout (3 s), counted as the client's; not a 504 at the back timeout.
out=$(client stall 1000 100000)
tap_like "$out" '^HTTP/1.1 408 ' "a client that stops mid-body gets 408 ($out)"
took=${out##* }
tap_ok "after the front timeout, not the back timeout ($took s)" \
	python3 -c "import sys; sys.exit(not 2.8 <= float('$took') < 20)"
out=$(counters closes-body-timeout closes-back-timeout back-active)
tap_like "$out" '^closes-body-timeout 1$' "counted as closes-body-timeout"
tap_like "$out" '^closes-back-timeout 0$' "not as closes-back-timeout"
tap_like "$out" '^back-active 0$' "its backend connection is released"

# The backend is still timed once it has the whole request.
out=$(kk_http_code --max-time 20 -H 'Host: slow.test' -d 'some body' \
	"http://127.0.0.1:$kw_port/slow/15000")
tap_is "$out" 504 "a backend silent past the back timeout after the body: 504"
tap_like "$(counters closes-back-timeout)" '^closes-back-timeout 1$' \
	"counted as closes-back-timeout"

# A client that never reads a large response: closed by the front
# timeout, and the backend connection with it.
client noread /big/33554432 10 > "$T/noread.out" &
noread=$!
# Until then the worker waits: with both buffers full, neither side has
# anything to do (its CPU time, from /proc, stays small).
cpu() { awk '{ print $14 + $15 }' "/proc/$kw_pid/stat" ; }
sleep 0.5 ; c0=$(cpu) ; sleep 2 ; c1=$(cpu)
tap_ok "the worker waits on the stalled client without spinning ($((c1 - c0)) ticks in 2 s)" \
	test $(( (c1 - c0) * 4 )) -lt $(( 2 * $(getconf CLK_TCK) ))
kk_wait_for 20 sh -c "python3 '$kw_dir/counters.py' $kw_pid '$T/worker-tmo.log' \
	closes-send-timeout | grep -q '^closes-send-timeout 1$'"
out=$(counters closes-send-timeout back-active connections-active)
tap_like "$out" '^closes-send-timeout 1$' "a client that stops reading is timed out"
tap_like "$out" '^back-active 0$' "and its backend connection released"
tap_like "$out" '^connections-active 0$' "and its own connection closed"
wait $noread
tap_done
