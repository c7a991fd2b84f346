#!/bin/sh
# gRPC through kakehi, HTTP/2 to HTTP/2 (cluster add --h2): a real gRPC
# client and server (grpcpeer.py, Debian's python3-grpcio) with messages
# as raw bytes. Unary with metadata both ways and trailing metadata,
# server streaming, client streaming, bidirectional streaming (each
# message waits for its answer), an error status in a trailers-only
# response and one after a message, a 12 MB message; the peer is checked
# alone first, so a failure through the proxy is the proxy's.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

# Debian's python3-grpcio is installed for Debian's /usr/bin/python3;
# the python3 first on PATH may be another build that cannot import it.
py=/usr/bin/python3
"$py" -c 'import grpc' 2> /dev/null ||
	tap_skip_all "python3-grpcio is not installed for $py (run tools/install-deps)"

kk_spawn grpcpeer "$py" "$kw_dir/grpcpeer.py" server
kk_wait_for 10 test -s "$T/grpcpeer.log" || { echo "Bail out! grpcpeer.py did not start" ; exit 1 ; }
pg=$(head -n 1 "$T/grpcpeer.log")

kw_start grpc \
	'listener add http 127.0.0.1:@PORT' \
	'cluster add g --h2' \
	'frontend add g --listener 127.0.0.1:@PORT' \
	"backend add g g1 127.0.0.1:$pg"

call() { timeout 60 "$py" "$kw_dir/grpcpeer.py" client "$1" "$2" 2>&1 ; }

check() {	# check CASE REGEX NAME: directly, then through the proxy
	direct=$(call "$pg" "$1")
	tap_like "$direct" "$2" "$3 (the peer alone)" || tap_diag "$direct"
	out=$(call "$kw_port" "$1")
	tap_like "$out" "$2" "$3, through kakehi" || tap_diag "$out"
}

check unary '^reply hello grpc$' "unary: the reply"
tap_like "$out" '^initial x-seen=yes$' "unary: initial metadata comes back"
tap_like "$out" '^trailing x-len=10$' "unary: trailing metadata, in the trailers"
tap_like "$out" '^code OK$' "unary: grpc-status 0"
check down '^messages 200 whole True$' "server streaming: 200 messages of 30 kB, whole"
check up '^match True 300$' "client streaming: 300 messages up, whole"
check bidi '^echoed 50$' "bidirectional: 50 messages, each answered before the next"
check fail '^status NOT_FOUND no such thing$' "an error status in a trailers-only response"
check late '^status DATA_LOSS cut$' "an error status in the trailers after a message"
tap_like "$out" '^got first$' "and the message before it"
check large '^same True 12582912$' "a 12 MB message both ways"

# Many calls at once share the backend connection.
i=0 ; many=
while test $i -lt 8 ; do
	call "$kw_port" down > "$T/many.$i" &
	many="$many $!"
	i=$((i + 1))
done
wait $many
tap_is "$(cat "$T"/many.* | grep -c '^messages 200 whole True$')" 8 \
	"8 server-streaming calls at once, each whole"

tap_done
