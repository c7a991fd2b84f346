#!/bin/sh
# kakehi-worker SNI passthrough: a tcp listener routes TLS connections by
# the server name of their ClientHello, without terminating TLS, to
# openssl s_server backends that each show their own certificate: exact,
# wildcard and default routes, no name, a ClientHello in many pieces, and
# ClientHellos that are truncated, oversized or too slow.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

command -v openssl >/dev/null || { echo "Bail out! openssl is needed (tools/install-deps)" ; exit 1 ; }

server() {	# server NAME: an s_server with a certificate for NAME; sets port
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj "/CN=$1" -days 2 -keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null ||
		{ echo "Bail out! openssl req failed" ; exit 1 ; }
	port=$(kk_free_port)
	kk_spawn "s_server-$1" openssl s_server -accept "127.0.0.1:$port" -www \
		-cert "$T/$1.crt" -key "$T/$1.key"
	kk_wait_for 10 kk_port_open "$port" || { echo "Bail out! s_server $1 did not start" ;
		exit 1 ; }
}
server exact.test ; pe=$port
server wild.test ; pw=$port
server default.test ; pd=$port

kw_start sni \
	'listener add tcp 127.0.0.1:@PORT' \
	'cluster add exact' 'cluster add wild' 'cluster add default' \
	"frontend add exact --listener 127.0.0.1:@PORT --sni exact.test" \
	"frontend add wild --listener 127.0.0.1:@PORT --sni *.wild.test" \
	"frontend add default --listener 127.0.0.1:@PORT" \
	"backend add exact e 127.0.0.1:$pe" \
	"backend add wild w 127.0.0.1:$pw" \
	"backend add default d 127.0.0.1:$pd"
P=$kw_port
counters() { python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-sni.log" "$@" ; }

# s_client: the subject of the certificate the backend sent.
subject() {
	openssl s_client -connect "127.0.0.1:$P" "$@" < /dev/null 2>&1 |
		sed -n 's/^subject=.*CN *= *//p' | head -n 1
}
tap_is "$(subject -servername exact.test)" exact.test "exact server name routes"
tap_is "$(subject -servername EXACT.Test)" exact.test "server names match case-insensitively"
tap_is "$(subject -servername a.b.wild.test)" wild.test "wildcard server name routes"
tap_is "$(subject -servername other.test)" default.test "unknown name: the default route"
tap_is "$(subject -noservername)" default.test "no server name: the default route"
tap_is "$(subject -servername wild.test)" default.test \
	"a wildcard does not match its bare domain"

hello() { python3 "$kw_dir/hello.py" "$P" "$@" ; }
tap_is "$(hello exact.test split)" CN=exact.test \
	"a ClientHello in 40-byte pieces is read whole, and reaches the backend unchanged"
tap_is "$(hello a.wild.test whole)" CN=wild.test "the handshake completes through the proxy"
tap_is "$(hello exact.test truncated)" closed "a truncated ClientHello closes the connection"
tap_is "$(hello - oversized)" closed "an oversized ClientHello closes the connection"
tap_like "$(printf 'GET / HTTP/1.1\r\n\r\n' | kw_raw 5)" '^$' \
	"bytes that are not TLS close the connection, with nothing sent"
c=$(counters clienthello-truncated clienthello-too-large clienthello-record closes-bad-clienthello)
tap_like "$c" 'clienthello-truncated 1' "the truncated ClientHello is counted"
tap_like "$c" 'clienthello-too-large 1' "the oversized ClientHello is counted"
tap_like "$c" 'clienthello-record 1' "the non-TLS bytes are counted"
tap_like "$c" 'closes-bad-clienthello 3' "each closed as a bad ClientHello"

# Without a default route, a name that matches nothing is closed.
kw_start nodefault \
	'listener add tcp 127.0.0.1:@PORT --front-timeout 2s' \
	'cluster add exact' \
	"frontend add exact --listener 127.0.0.1:@PORT --sni exact.test" \
	"backend add exact e 127.0.0.1:$pe"
P=$kw_port
tap_is "$(subject -servername exact.test)" exact.test "exact name without a default route"
tap_is "$(hello other.test whole)" closed "no matching name and no default: closed"
tap_is "$(hello - whole)" closed "no name and no default: closed"

# A ClientHello that stops coming: closed at the deadline (here the front
# timeout, shorter than the 10 s bound), counted.
tap_is "$(python3 "$kw_dir/tcppeer.py" probe "$P" "$(printf '\026\003\001')" 20)" "eof 0" \
	"a ClientHello that stops coming is closed at its deadline"
c=$(python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-nodefault.log" clienthello-timeout \
	closes-no-route)
tap_like "$c" 'clienthello-timeout 1' "the slow ClientHello is counted"
tap_like "$c" 'closes-no-route 2' "names without a route are counted as no route"

tap_done
