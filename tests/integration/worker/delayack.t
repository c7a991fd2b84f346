#!/bin/sh
# Delayed acknowledgement on accepted connections: the response carries
# the ACK of a request sent in one packet, but a client that sends its
# request in pieces (Nagle's algorithm on) is acknowledged at once, so
# its next piece does not wait for the delayed-ACK timer (40 ms or more).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_backend b1 ; p1=$kk_port
kw_start main \
	'listener add http 127.0.0.1:@PORT' \
	'cluster add app' \
	"frontend add app --listener 127.0.0.1:@PORT --host app.test" \
	"backend add app b1 127.0.0.1:$p1"

# The fastest of several requests: a loaded machine makes some slow, but
# without the quick ACK every one of them waits 40 ms.
ms=$(python3 "$kw_dir/pieces.py" "$kw_port" body 8)
tap_ok "head then body in two writes: answered without a delayed-ACK wait (${ms} ms)" \
	test -n "$ms" -a "${ms:-99}" -lt 30
ms=$(python3 "$kw_dir/pieces.py" "$kw_port" head 8)
tap_ok "head in two writes: answered without a delayed-ACK wait (${ms} ms)" \
	test -n "$ms" -a "${ms:-99}" -lt 30

tap_done
