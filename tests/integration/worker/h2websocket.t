#!/bin/sh
# WebSocket over HTTP/2 (RFC 8441): an h2c listener announces
# SETTINGS_ENABLE_CONNECT_PROTOCOL; an extended CONNECT (:protocol
# websocket) goes to an HTTP/1.1 WebSocket backend (wsback.py, Debian's
# python3-websockets) as an Upgrade request, its 101 comes back as a 200,
# then the stream's DATA and the backend's bytes are the tunnel: a text
# and a 300 kB binary message echoed, the close handshake, END_STREAM
# both ways. Refused: another :protocol (501), an
# --h2 cluster (501), a backend that answers 200 without switching (502).
# The same over TLS (ALPN h2). The tunnel phase is timed by
# --tunnel-timeout.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

py=/usr/bin/python3
"$py" -c 'import h2' 2> /dev/null ||
	tap_skip_all "python3-h2 is not installed for $py (run tools/install-deps)"
"$py" -c 'import websockets' 2> /dev/null ||
	tap_skip_all "python3-websockets is not installed for $py (run tools/install-deps)"

kk_spawn wsback "$py" "$kw_dir/wsback.py"
kk_wait_for 10 test -s "$T/wsback.log" || { echo "Bail out! wsback did not start" ; exit 1 ; }
pws=$(head -n 1 "$T/wsback.log")
kk_backend app ; pa=$kk_port

kk_certs
ptls=$(kk_free_port)
kw_start h2ws \
	'listener add http 127.0.0.1:@PORT --tunnel-timeout 1s' \
	"listener add https 127.0.0.1:$ptls --no-strict-sni" \
	"certificate add 127.0.0.1:$ptls --cert $kk_certs_dir/a.crt --key $kk_certs_dir/a.key --chain $kk_certs_dir/chain.crt" \
	'cluster add ws' 'cluster add app' 'cluster add h2 --h2' \
	"frontend add ws --listener 127.0.0.1:$ptls --path /chat" \
	'frontend add ws --listener 127.0.0.1:@PORT --path /chat' \
	'frontend add app --listener 127.0.0.1:@PORT --path /plain' \
	'frontend add h2 --listener 127.0.0.1:@PORT --path /h2' \
	"backend add ws w 127.0.0.1:$pws" "backend add app a 127.0.0.1:$pa" \
	"backend add h2 h 127.0.0.1:$pa"
counters() { python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-h2ws.log" "$@" ; }
ws() { timeout 30 "$py" "$kw_dir/wsh2client.py" "$kw_port" "$@" 2>&1 ; }

out=$(ws /chat)
tap_like "$out" '^settings 1$' "the listener announces SETTINGS_ENABLE_CONNECT_PROTOCOL"
tap_like "$out" '^status 200$' "the backend's 101 is the client's 200"
tap_like "$out" '^accept-field False$' "without Sec-WebSocket-Accept"
tap_like "$out" '^text hello over h2$' "a text message goes through and back"
tap_like "$out" '^binary 300000 True$' "a 300 kB binary message, whole, under flow control"
tap_like "$out" '^close 1000$' "the close handshake"
tap_like "$out" '^ended$' "END_STREAM both ways ends the stream" || tap_diag "$out"
out=$(counters upgrades tunnel-bytes-in)
tap_like "$out" '^upgrades 1$' "counted as an upgrade"
tap_like "$out" '^tunnel-bytes-in 3000[0-9][0-9]$' "its bytes as tunnel bytes"

out=$(WSH2_TLS=1 timeout 30 "$py" "$kw_dir/wsh2client.py" "$ptls" /chat 2>&1)
tap_like "$out" '^binary 300000 True$' "over TLS (ALPN h2): the same messages" || tap_diag "$out"
tap_like "$out" '^ended$' "over TLS: the stream ends both ways"

tap_like "$(ws /chat idle)" '^reset 8$' "an idle tunnel is reset (CANCEL) after --tunnel-timeout"
tap_like "$(ws /chat chat)" '^status 501$' "a :protocol other than websocket: 501"
tap_like "$(ws /h2)" '^status 501$' "to an --h2 cluster: 501"
tap_like "$(ws /plain)" '^status 502$' "a backend that answers 200 without switching: 502"
kk_wait_for 5 sh -c "python3 '$kw_dir/counters.py' '$kw_pid' '$T/worker-h2ws.log' tunnels-active |
	grep -qx 'tunnels-active 0'"
tap_result $? "every tunnel's back connection is gone once it ended"
tap_is "$(curl -sS --http2-prior-knowledge --max-time 10 -o /dev/null -w '%{http_code}' \
	"http://127.0.0.1:$kw_port/plain")" 200 "other requests are served as before"
tap_done
