#!/bin/sh
# The drain of an HTTP/2 connection (RFC 9113 §6.8): a GOAWAY naming the
# largest stream id first, then, a round trip later (a PING's), the GOAWAY
# naming the last stream taken; the stream in flight completes, then the
# connection and the worker end. Standalone worker, drained by SIGTERM.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_backend app ; pa=$kk_port
kw_start drain \
	'listener add http 127.0.0.1:@PORT' 'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT' "backend add app a 127.0.0.1:$pa"

# A slow stream in flight (stream 1: no priority streams before it).
nghttp -v --no-dep "http://127.0.0.1:$kw_port/slow/1500" > "$T/slow.out" 2>&1 &
slow=$!
kk_pids="$kk_pids $slow"
sleep 0.5
kill -TERM "$kw_pid"
wait "$slow"
tap_result $? "the stream in flight when the drain began completes"
out=$(cat "$T/slow.out")
tap_like "$out" ':status: 200' "and is answered 200"
tap_like "$out" 'last_stream_id=2147483647, error_code=NO_ERROR' \
	"the first GOAWAY names the largest stream id"
tap_like "$out" 'last_stream_id=1, error_code=NO_ERROR' \
	"the second names the last stream taken"
first=$(grep -n 'last_stream_id=2147483647' "$T/slow.out" | head -n 1 | cut -d: -f1)
ack=$(grep -n 'send PING frame <length=8, flags=0x01' "$T/slow.out" | head -n 1 | cut -d: -f1)
last=$(grep -n 'last_stream_id=1,' "$T/slow.out" | head -n 1 | cut -d: -f1)
tap_result $(( ! (first < last && ack < last) )) \
	"the second comes after the client answered the PING sent with the first"
kk_wait_for 10 sh -c "! kill -0 $kw_pid 2>/dev/null"
tap_result $? "the worker exits once its streams are done"
tap_done
