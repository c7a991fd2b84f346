#!/bin/sh
# kakehi-worker standalone: WebSocket and other upgrades (RFC 9110 §7.8).
# A real WebSocket client and server through the proxy (text, binary, a
# 10 MiB message, ping/pong, the close handshake); an upgrade that is not
# WebSocket, with bytes sent past the heads, a request body before the
# switch, half-close, the tunnel's idle timeout and a drain; a backend
# answering 200 to an upgrade keeps the connection HTTP; Upgrade: h2c is
# never forwarded; a 101 nobody asked for is a 502.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

# Debian's python3-websockets is installed for Debian's /usr/bin/python3;
# the python3 first on PATH may be another build that cannot import it.
ws_python=/usr/bin/python3
$ws_python -c 'import websockets' 2>/dev/null ||
	tap_skip_all "python3-websockets is not installed for $ws_python (run tools/install-deps)"

kk_spawn wsback $ws_python "$kw_dir/wsback.py"
kk_wait_for 10 test -s "$T/wsback.log" || { echo "Bail out! wsback did not start" ; exit 1 ; }
pws=$(head -n 1 "$T/wsback.log")
kk_spawn switch python3 "$kw_dir/switch.py"
kk_wait_for 10 test -s "$T/switch.log" || { echo "Bail out! switch did not start" ; exit 1 ; }
psw=$(head -n 1 "$T/switch.log")
kk_backend plain
pplain=$kk_port
# ws_start NAME TUNNEL-TIMEOUT: a worker in front of the three backends.
ws_start() {
	kw_start "$1" 'set drain-timeout 4s' \
		"listener add http 127.0.0.1:@PORT --tunnel-timeout $2" \
		'cluster add ws' 'cluster add sw' 'cluster add plain' \
		'frontend add ws --listener 127.0.0.1:@PORT --host ws.test' \
		'frontend add sw --listener 127.0.0.1:@PORT --host sw.test' \
		'frontend add plain --listener 127.0.0.1:@PORT --host plain.test' \
		"backend add ws w1 127.0.0.1:$pws" "backend add sw s1 127.0.0.1:$psw" \
		"backend add plain p1 127.0.0.1:$pplain"
	ws_log=$T/worker-$1.log
}
# The exchanges get a tunnel timeout no pause of a loaded machine reaches
# (a 10 MiB message through two Python peers can stall for seconds); the
# timeout itself is tested on a second worker below.
ws_start ws 60s
counters() { python3 "$kw_dir/counters.py" "$kw_pid" "$ws_log" "$@" ; }
secs() { python3 -c "import sys; sys.exit(not float(sys.argv[1]) < float(sys.argv[2]))" "$@" ; }

# WebSocket, end to end.
out=$($ws_python "$kw_dir/wsclient.py" "$kw_port" ws.test 2>&1)
tap_like "$out" '^text ok$' "WebSocket: a text message echoed"
tap_like "$out" '^binary ok$' "WebSocket: a binary message echoed"
tap_like "$out" '^big ok$' "WebSocket: a 10 MiB message echoed whole"
tap_like "$out" '^ping ok$' "WebSocket: a ping answered by a pong"
tap_like "$out" '^close 1000$' "WebSocket: the close handshake completes (1000)"

# Another protocol: bytes past the heads go first, in order; half-close.
out=$(python3 "$kw_dir/rawup.py" "$kw_port" echo 2>&1)
tap_like "$out" '^status HTTP/1.1 101 ' "an upgrade the backend accepts: the client gets the 101"
tap_like "$out" '^early early$' "bytes sent with the request, past its head, come through first"
tap_like "$out" '^later later$' "then the tunnel carries both ways"
tap_like "$out" '^eof ok$' "the client's half-close comes back as the backend's end of file"
out=$(python3 "$kw_dir/rawup.py" "$kw_port" body 2>&1)
tap_like "$out" '^after body abcde xyz$' \
	"a request body reaches the backend whole before the switch, tunnel bytes after it"

# Each tunnel ends once both sides have closed, a moment after the client.
no_tunnel() { counters tunnels-active | grep -q '^tunnels-active 0$' ; }
kk_wait_for 30 no_tunnel
c=$(counters upgrades closes-tunnel-done closes-back-tunnel tunnels-active)
tap_like "$c" '^upgrades 3$' "three upgrades counted ($(echo $c))"
tap_like "$c" '^closes-tunnel-done 3$' "three tunnels ended by both sides"
tap_like "$c" '^tunnels-active 0$' "none left open"
c=$(counters tunnel-bytes-in tunnel-bytes-out)
n=$(printf '%s\n' "$c" | sed -n 's/^tunnel-bytes-in //p')
tap_ok "tunnel bytes counted from the clients ($n)" test "$n" -gt 10485760

# Kept HTTP: a backend that answers 200 to an upgrade, and h2c.
printf 'GET /up HTTP/1.1\r\nHost: plain.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n' |
	kw_raw > "$T/kept.out"
tr -d '\r' < "$T/kept.out" > "$T/kept.txt"
tap_is "$(grep -c '^HTTP/1.1 200' "$T/kept.txt")" 2 \
	"an upgrade answered 200: the connection stays HTTP and serves the next request"
tap_ok "the upgrade went upstream with Upgrade" grep -aqi '^upgrade: websocket$' "$T/kept.txt"
tap_ok "and with Connection: upgrade" grep -aqi '^connection: upgrade$' "$T/kept.txt"
printf 'GET /h2c HTTP/1.1\r\nHost: plain.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nConnection: close\r\n\r\n' |
	kw_raw > "$T/h2c.out"
tr -d '\r' < "$T/h2c.out" > "$T/h2c.txt"
tap_like "$(head -n 1 "$T/h2c.txt")" '^HTTP/1.1 200 ' "Upgrade: h2c is served as HTTP/1.1"
tap_fails "neither Upgrade nor HTTP2-Settings goes upstream" \
	grep -aqiE '^(upgrade|http2-settings|connection: upgrade)' "$T/h2c.txt"
out=$(printf 'GET /nope HTTP/1.1\r\nHost: sw.test\r\n\r\n' | kw_raw | kw_first)
tap_like "$out" '^HTTP/1.1 502 ' "a 101 to a request that asked for no upgrade: 502 ($out)"

# The tunnel's idle timeout (3 s here), and a busy tunnel outliving it.
kk_stop "$kw_pid"
ws_start idle 3s
out=$(python3 "$kw_dir/rawup.py" "$kw_port" idle 2>&1)
t=$(printf '%s\n' "$out" | sed -n 's/^closed after //p')
tap_ok "an idle tunnel closes after --tunnel-timeout (${t:-never} s)" secs 2.5 "${t:-999}"
tap_ok "not long after it" secs "${t:-999}" 30
tap_like "$(counters closes-tunnel-timeout)" '^closes-tunnel-timeout 1$' \
	"counted as closes-tunnel-timeout"

# A drain lets an established tunnel live until the drain deadline (4 s).
kk_spawn hold python3 "$kw_dir/rawup.py" "$kw_port" hold
hold=$kk_last_pid
kk_wait_for 20 grep -q '^up' "$T/hold.log"
kill -TERM "$kw_pid"
kk_wait_for 60 grep -q '^closed after' "$T/hold.log"
t=$(sed -n 's/^closed after //p' "$T/hold.log")
tap_ok "a draining worker keeps a busy tunnel past the tunnel timeout (${t:-never} s)" \
	secs 3.5 "${t:-0}"
tap_ok "and closes it at the drain deadline" secs "${t:-999}" 40
wait "$kw_pid"
tap_is "$?" 0 "the worker exits 0 after the drain"
tap_done
