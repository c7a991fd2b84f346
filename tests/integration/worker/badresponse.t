#!/bin/sh
# kakehi-worker standalone: backend answers that are cut or malformed. A
# head cut by the backend's close is a 502 at once, not a 504 at the back
# timeout; invalid chunk framing is a 502 while nothing of the response
# reached the client, and a visible cut (a close without the final chunk,
# counted as closes-backend-error) once some did.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_spawn bodyback python3 "$kw_dir/bodyback.py"
kk_wait_for 10 test -s "$T/bodyback.log" || { echo "Bail out! bodyback did not start" ; exit 1 ; }
pb=$(head -n 1 "$T/bodyback.log")
kw_start bad \
	'listener add http 127.0.0.1:@PORT --back-timeout 20s' 'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT' "backend add app b1 127.0.0.1:$pb"
get() { python3 "$kw_dir/bodyclient.py" "$kw_port" get "$1" ; }
counters() { python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-bad.log" "$@" ; }
secs() { python3 -c "import sys; sys.exit(not float(sys.argv[1]) < float(sys.argv[2]))" "$@" ; }

out=$(get /cut-head)
tap_like "$out" '^HTTP/1.1 502 ' "a head cut by the backend's close: 502 ($out)"
tap_ok "at once, not after the back timeout (${out##*|} s)" secs "${out##*|}" 10

out=$(get /bad-chunk)
tap_like "$out" '^HTTP/1.1 502 ' "invalid chunk framing before any body byte: 502 ($out)"
tap_ok "at once (${out##*|} s)" secs "${out##*|}" 10
tap_like "$(counters closes-back-invalid)" '^closes-back-invalid 2$' \
	"both counted as closes-back-invalid"

out=$(get /bad-chunk-late/100000)
tap_like "$out" '^HTTP/1.1 200 ' "invalid chunk framing after some body: the response began ($out)"
body=$(printf '%s' "$out" | sed 's/.*|body \([0-9]*\)|.*/\1/')
tap_ok "every body byte before the fault reached the client ($body)" test "$body" -ge 100000
tap_like "$out" '\|final-chunk no\|' "and it ends without the final chunk"
tap_ok "at once (${out##*|} s)" secs "${out##*|}" 10
tap_like "$(counters closes-backend-error)" '^closes-backend-error 1$' \
	"counted as closes-backend-error"
tap_done
