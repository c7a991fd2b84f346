#!/bin/sh
# kakehi-worker and the PROXY protocol on tcp and http listeners: headers
# received (--expect-proxy, v1 and v2) and sent (--send-proxy v1|v2) to an
# echo backend that shows what it got; HAProxy as the sending peer, and as
# the receiving one behind --send-proxy clusters, where no two clients share
# a back connection; garbage, truncated and slow headers refused and
# counted.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

command -v haproxy >/dev/null || { echo "Bail out! haproxy is needed (tools/install-deps)" ; exit 1 ; }

pe=$(kk_free_port) ; kk_spawn echo python3 "$kw_dir/pp.py" serve "$pe"
kk_wait_for 10 kk_port_open "$pe" || { echo "Bail out! echo backend did not start" ; exit 1 ; }
send() { python3 "$kw_dir/pp.py" send "$kw_port" "$@" | sed -n 1p ; }
SIG=0d0a0d0a000d0a515549540a

kw_start in \
	'listener add tcp 127.0.0.1:@PORT --expect-proxy --front-timeout 2s' \
	'cluster add echo --send-proxy v1' \
	"frontend add echo --listener 127.0.0.1:@PORT" \
	"backend add echo e 127.0.0.1:$pe"
PIN=$kw_port
counters() { python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-in.log" "$@" ; }

tap_is "$(send '' 'PROXY TCP4 192.0.2.1 198.51.100.2 1111 2222\r\nhello')" \
	"b'PROXY TCP4 192.0.2.1 198.51.100.2 1111 2222\\r\\nhello'" \
	"v1 in, v1 out: the header's addresses go upstream, then the client's bytes"
tap_is "$(send '' 'PROXY TCP6 2001:db8::1 2001:db8::2 1111 2222\r\nsix')" \
	"b'PROXY TCP6 2001:db8::1 2001:db8::2 1111 2222\\r\\nsix'" "v1 TCP6 in, v1 out"
tap_is "$(send "${SIG}2111000cc0000201c6336402045708ae" 'v2')" \
	"b'PROXY TCP4 192.0.2.1 198.51.100.2 1111 2222\\r\\nv2'" "v2 in, v1 out"
tap_like "$(send "${SIG}20000000" 'local')" \
	"^b'PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1 [0-9]+ $PIN\\\\r\\\\nlocal'$" \
	"v2 LOCAL: the connection's own addresses go upstream"
tap_like "$(send '' 'PROXY UNKNOWN\r\nunk')" \
	"^b'PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1 [0-9]+ $PIN\\\\r\\\\nunk'$" \
	"v1 UNKNOWN: the connection's own addresses go upstream"
tap_is "$(send '' 'GET / HTTP/1.0\r\n\r\n')" closed "garbage instead of a header: closed"
tap_is "$(send '' 'PROXY TCP4 192.0.2.1 198.51')" closed "a truncated header: closed"
tap_is "$(send '' 'PROXY TCP4 192.0.2.1 198.51.100.2 1111 2222\n')" closed \
	"a v1 header ending in a bare LF: closed"
tap_is "$(send "${SIG}21" '' 10)" closed "a header that stops coming: closed at the deadline"
c=$(counters proxy-signature proxy-truncated proxy-timeout proxy-v1-crlf closes-bad-proxy)
tap_like "$c" 'proxy-signature 1' "garbage counted"
tap_like "$c" 'proxy-truncated 1' "truncated header counted"
tap_like "$c" 'proxy-v1-crlf 1' "bare LF counted"
tap_like "$c" 'proxy-timeout 1' "slow header counted"
tap_like "$c" 'closes-bad-proxy 4' "each closed as a bad PROXY header"

# Sent as v2 by a cluster, from the socket's own addresses.
kw_start out2 \
	'listener add tcp 127.0.0.1:@PORT' \
	'cluster add echo --send-proxy v2' \
	"frontend add echo --listener 127.0.0.1:@PORT" \
	"backend add echo e 127.0.0.1:$pe"
out=$(python3 "$kw_dir/pp.py" send "$kw_port" '' 'x')
cport=$(printf '%s\n' "$out" | sed -n 's/^port=//p')
want=$(python3 -c 'import sys; print(repr(bytes.fromhex(sys.argv[1]) + bytes([0x21, 0x11, 0, 12,
	127, 0, 0, 1, 127, 0, 0, 1]) + int(sys.argv[2]).to_bytes(2, "big") +
	int(sys.argv[3]).to_bytes(2, "big") + b"x"))' "$SIG" "$cport" "$kw_port")
tap_is "$(printf '%s\n' "$out" | head -n 1)" "$want" \
	"--send-proxy v2: the client's address and port, then its bytes"

# HAProxy sends the header (send-proxy, send-proxy-v2) to --expect-proxy;
# the addresses kakehi passes on are the ones HAProxy saw.
for v in send-proxy send-proxy-v2 ; do
	hp=$(kk_free_port)
	cat > "$T/haproxy-$v.cfg" <<HAP
global
	maxconn 100
defaults
	mode tcp
	timeout connect 5s
	timeout client 20s
	timeout server 20s
listen in
	bind 127.0.0.1:$hp
	server k 127.0.0.1:$PIN $v
HAP
	kk_spawn "haproxy-$v" haproxy -f "$T/haproxy-$v.cfg" -db
	kk_wait_for 10 kk_port_open "$hp" || { echo "Bail out! haproxy did not start" ;
		sed 's/^/# /' "$T/haproxy-$v.log" ; exit 1 ; }
	out=$(python3 "$kw_dir/pp.py" send "$hp" '' 'via haproxy')
	cport=$(printf '%s\n' "$out" | sed -n 's/^port=//p')
	tap_is "$(printf '%s\n' "$out" | head -n 1)" \
		"b'PROXY TCP4 127.0.0.1 127.0.0.1 $cport $hp\\r\\nvia haproxy'" \
		"HAProxy $v in front: its client's addresses reach the backend"
done

# http listeners with --expect-proxy: the header's source is the client
# address the backend sees in X-Forwarded-For; the header is read within
# the request timeout, and refused headers are counted as on tcp.
kk_backend hb ; ph=$kk_port
kw_start hin \
	'listener add http 127.0.0.1:@PORT --expect-proxy --request-timeout 2s' \
	'cluster add web' \
	"frontend add web --listener 127.0.0.1:@PORT" \
	"backend add web hb 127.0.0.1:$ph"
HIN=$kw_port
GET='GET /pp HTTP/1.0\r\nHost: web.test\r\n\r\n'
xff() { printf '%s\n' "$1" | grep -o 'X-Forwarded-For: [^\\]*' ; }
tap_is "$(xff "$(send '' "PROXY TCP4 192.0.2.7 198.51.100.2 1111 80\\r\\n$GET")")" \
	"X-Forwarded-For: 192.0.2.7" "http, v1: X-Forwarded-For is the header's source"
V6=2121002420010db800000000000000000000000920010db800000000000000000000000204570050
tap_is "$(xff "$(send "$SIG$V6" "$GET")")" \
	"X-Forwarded-For: 2001:db8::9" "http, v2 TCP6: X-Forwarded-For is the header's source"
tap_is "$(xff "$(send "${SIG}20000000" "$GET")")" "X-Forwarded-For: 127.0.0.1" \
	"http, v2 LOCAL: the socket's own address stands"
tap_is "$(send '' "$GET")" closed "http, a request without a header: closed"
tap_is "$(send '' 'PROXY TCP4 192.0.2.7 19')" closed "http, a truncated header: closed"
tap_is "$(send "${SIG}21" '' 10)" closed "http, a header that stops coming: closed at the deadline"
c=$(python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-hin.log" proxy-signature \
	proxy-truncated proxy-timeout closes-bad-proxy)
tap_like "$c" 'proxy-signature 1' "http: garbage counted"
tap_like "$c" 'proxy-truncated 1' "http: truncated header counted"
tap_like "$c" 'proxy-timeout 1' "http: slow header counted"
tap_like "$c" 'closes-bad-proxy 3' "http: each closed as a bad PROXY header"

# HAProxy send-proxy in front of the http listener, connecting from
# 127.0.0.3: the client HAProxy
# saw is the X-Forwarded-For the backend gets.
hp=$(kk_free_port)
cat > "$T/haproxy-http.cfg" <<HAP
global
	maxconn 100
defaults
	mode tcp
	timeout connect 5s
	timeout client 20s
	timeout server 20s
listen in
	bind 127.0.0.1:$hp
	server k 127.0.0.1:$HIN send-proxy source 127.0.0.3
HAP
kk_spawn haproxy-http haproxy -f "$T/haproxy-http.cfg" -db
kk_wait_for 10 kk_port_open "$hp" || { echo "Bail out! haproxy did not start" ;
	sed 's/^/# /' "$T/haproxy-http.log" ; exit 1 ; }
tap_is "$(xff "$(python3 "$kw_dir/pp.py" send "$hp" '' "$GET" | sed -n 1p)")" \
	"X-Forwarded-For: 127.0.0.1" "HAProxy send-proxy in front of an http listener"

# HAProxy as the receiving peer (accept-proxy on its bind, http mode)
# behind --send-proxy clusters: the addresses it took from kakehi's header
# are the X-Src and X-Dst of the request the echo backend shows.
kk_backend hecho ; pb=$kk_port
# haproxy_recv NAME PORT KEEPALIVE: HAProxy on PORT, closing a client
# connection idle for KEEPALIVE.
haproxy_recv() {
	cat > "$T/haproxy-$1.cfg" <<HAP
global
	maxconn 100
defaults
	mode http
	timeout connect 5s
	timeout client 20s
	timeout server 20s
	timeout http-keep-alive $3
frontend in
	bind 127.0.0.1:$2 accept-proxy
	http-request set-header X-Src %[src]:%[src_port]
	http-request set-header X-Dst %[dst]:%[dst_port]
	default_backend echo
backend echo
	server b 127.0.0.1:$pb
HAP
	kk_spawn "haproxy-$1" haproxy -f "$T/haproxy-$1.cfg" -db
	kk_wait_for 10 kk_port_open "$2" || { echo "Bail out! haproxy did not start" ;
		sed 's/^/# /' "$T/haproxy-$1.log" ; exit 1 ; }
}
hr=$(kk_free_port) ; haproxy_recv recv "$hr" 20s
ka() { python3 "$kw_dir/ka.py" "$@" ; }
# The lines of ka.py where HAProxy saw another source than the client's
# own address and port, or another destination than $2.
not_own() { printf '%s\n' "$1" | awk -v d="$2" '$2 != $3 || $4 != d' ; }
# How many requests HAProxy passed on to the echo backend.
answered() { printf '%s\n' "$1" | awk '$3 != "closed" && $3 != "none"' | wc -l ; }
# The X-Src and X-Dst client $2 got, once per distinct pair.
seen() { printf '%s\n' "$1" | awk -v n="$2" '$1 == n { print $3, $4 }' | sort -u ; }
# wstat NAME KEY...: the counters of the worker started last, as NAME.
wstat() { _n=$1 ; shift ; python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-$_n.log" "$@" ; }
no_idle() { wstat "$1" back-idle | grep -qx 'back-idle 0' ; }
# Two clients from two addresses, interleaved on keep-alive: a back
# connection that sent one client's header must never carry the other's
# requests.
STEPS='a@127.0.0.2 a a b@127.0.0.3 b a b a'

for v in v1 v2 ; do
	kw_start "hs$v" \
		'listener add http 127.0.0.1:@PORT' \
		"cluster add recv --send-proxy $v" \
		"frontend add recv --listener 127.0.0.1:@PORT" \
		"backend add recv h 127.0.0.1:$hr"
	out=$(ka "$kw_port" $STEPS)
	tap_is "$(answered "$out")" 6 \
		"http, --send-proxy $v: HAProxy accepts the header, every request answered"
	tap_is "$(not_own "$out" "127.0.0.1:$kw_port")" "" \
		"http, --send-proxy $v: each client's own address and port, over keep-alive"
	kk_wait_for 10 no_idle "hs$v"
	tap_is "$(wstat "hs$v" back-connects back-reused closes-back-idle-timeout | tr '\n' ' ')" \
		"back-connects 2 back-reused 4 closes-back-idle-timeout 0 " \
		"http, --send-proxy $v: one back connection per client, closed with it"
done

# A connect refused by the first backend is retried on the next, which
# gets one header, then the request.
kk_dead_port ; dead=$kk_port
kw_start hsr \
	'listener add http 127.0.0.1:@PORT' \
	'cluster add recv --send-proxy v1' \
	"frontend add recv --listener 127.0.0.1:@PORT" \
	"backend add recv dead 127.0.0.1:$dead" \
	"backend add recv h 127.0.0.1:$hr"
out=$(ka "$kw_port" a@127.0.0.2 a a)
tap_is "$(answered "$out") $(not_own "$out" "127.0.0.1:$kw_port")" "2 " \
	"http, --send-proxy: after a refused connect, the next backend gets the header"
tap_like "$(wstat hsr retries)" 'retries [1-9]' "http, --send-proxy: the refused connect was retried"

# A held connection that the backend closes (HAProxy's keep-alive
# timeout, 200 ms) goes; the client's next request gets a new one, with a
# header of its own.
hk=$(kk_free_port) ; haproxy_recv short "$hk" 200ms
kw_start hsk \
	'listener add http 127.0.0.1:@PORT' \
	'cluster add recv --send-proxy v2' \
	"frontend add recv --listener 127.0.0.1:@PORT" \
	"backend add recv h 127.0.0.1:$hk"
out=$(ka "$kw_port" a@127.0.0.2 a '~2' a)
tap_is "$(answered "$out") $(not_own "$out" "127.0.0.1:$kw_port")" "2 " \
	"http, --send-proxy: a held connection the backend closed is replaced"
tap_is "$(wstat hsk back-connects)" "back-connects 2" \
	"http, --send-proxy: a new connection after the backend's close"

# An --expect-proxy listener: the header's addresses go on, per client;
# a LOCAL header leaves the socket's own.
kw_start hsx \
	'listener add http 127.0.0.1:@PORT --expect-proxy' \
	'cluster add recv --send-proxy v2' \
	"frontend add recv --listener 127.0.0.1:@PORT" \
	"backend add recv h 127.0.0.1:$hr"
out=$(ka "$kw_port" 'a@127.0.0.2::PROXY TCP4 192.0.2.7 198.51.100.2 1111 80\r\n' \
	"b@127.0.0.3:$SIG$V6" "c@127.0.0.4:${SIG}20000000" a b c a b c)
tap_is "$(seen "$out" a)" "192.0.2.7:1111 198.51.100.2:80" \
	"http, --expect-proxy v1 in, v2 out: the header's addresses reach HAProxy"
tap_is "$(seen "$out" b)" "2001:db8::9:1111 2001:db8::2:80" \
	"http, --expect-proxy v2 TCP6 in, v2 out: the header's addresses reach HAProxy"
tap_is "$(not_own "$(printf '%s\n' "$out" | grep '^c ')" "127.0.0.1:$kw_port")" "" \
	"http, --expect-proxy LOCAL in: the client socket's own addresses"
tap_is "$(answered "$out")" 6 "http, --expect-proxy: every request answered"

# tcp clusters: the tunnel's header, with HTTP through it to HAProxy.
for v in v1 v2 ; do
	kw_start "ts$v" \
		'listener add tcp 127.0.0.1:@PORT' \
		"cluster add recv --send-proxy $v" \
		"frontend add recv --listener 127.0.0.1:@PORT" \
		"backend add recv h 127.0.0.1:$hr"
	out=$(ka "$kw_port" $STEPS)
	tap_is "$(answered "$out")" 6 \
		"tcp, --send-proxy $v: HAProxy accepts the header, every request answered"
	tap_is "$(not_own "$out" "127.0.0.1:$kw_port")" "" \
		"tcp, --send-proxy $v: each client's own address and port"
done
kw_start tsx \
	'listener add tcp 127.0.0.1:@PORT --expect-proxy' \
	'cluster add recv --send-proxy v1' \
	"frontend add recv --listener 127.0.0.1:@PORT" \
	"backend add recv h 127.0.0.1:$hr"
out=$(ka "$kw_port" 'a@127.0.0.2::PROXY TCP4 192.0.2.7 198.51.100.2 1111 80\r\n' \
	"b@127.0.0.3:$SIG$V6" a b a b)
tap_is "$(seen "$out" a)" "192.0.2.7:1111 198.51.100.2:80" \
	"tcp, --expect-proxy v1 in, v1 out: the header's addresses reach HAProxy"
tap_is "$(seen "$out" b)" "2001:db8::9:1111 2001:db8::2:80" \
	"tcp, --expect-proxy v2 TCP6 in, v1 out: the header's addresses reach HAProxy"

tap_done
