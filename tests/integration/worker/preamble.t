#!/bin/sh
# The preamble of a front connection: on a plain HTTP listener that does not
# serve h2c (--no-h2c; h2c.t has those that do), the HTTP/2 client preface
# (RFC 9113 §3.4) gets an answer an HTTP/2 client can read,
# the server preface (an empty SETTINGS frame) and a GOAWAY with
# HTTP_1_1_REQUIRED, then the close, counted as closes-h2-refused; never an
# HTTP/1 error it would take for a garbled frame. HTTP/1 requests, those
# starting like the preface included, go on as before.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_backend app ; pa=$kk_port
kw_start pre \
	'listener add http 127.0.0.1:@PORT --no-h2c' \
	'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT' \
	"backend add app a 127.0.0.1:$pa"
counters() { python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-pre.log" "$@" ; }

why=$(printf 'HTTP/2 is not served on this listener; use HTTP/1.1' | od -An -tx1 | tr -d ' \n')
want="000000040000000000""00003b070000000000""00000000""0000000d$why"

out=$(python3 "$kw_dir/h2preface.py" "$kw_port")
tap_is "$(echo "$out" | head -n 1)" "$want" "a preface gets SETTINGS, then GOAWAY HTTP_1_1_REQUIRED"
tap_is "$(echo "$out" | tail -n 1)" closed "and the connection is closed"

out=$(python3 "$kw_dir/h2preface.py" "$kw_port" 5)
tap_is "$(echo "$out" | head -n 1)" "$want" "a preface in two pieces gets the same answer"
tap_is "$(echo "$out" | tail -n 1)" closed "and the close"

tap_like "$(counters closes-h2-refused)" '^closes-h2-refused 2$' "counted as closes-h2-refused"

U=http://127.0.0.1:$kw_port
tap_is "$(kk_http_code "$U/")" 200 "an HTTP/1 request is served"
tap_is "$(kk_http_code -X PUT "$U/")" 200 "one whose method starts with P too"
tap_like "$(printf 'PRI * HTTP/1.1\r\nHost: a\r\n\r\n' | kw_raw | kw_first)" '^HTTP/1.1 [45]' \
	"an HTTP/1 PRI request is answered in HTTP/1"
tap_like "$(counters closes-h2-refused)" '^closes-h2-refused 2$' "none of them counted as h2"
tap_done
