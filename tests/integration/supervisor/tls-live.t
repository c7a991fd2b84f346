#!/bin/sh
# Certificates changed live under load: with two real workers terminating
# TLS and a loop of curl requests running throughout, certificate add,
# replace and remove through kakehi-ctl are each served from the next
# handshake, a connection opened before a replace keeps the certificate
# it was served and goes on serving requests, and no request of the loop
# fails.
. "$(dirname "$0")/../lib.sh"

kk_certs
c=$kk_certs_dir
kk_backend app
pb=$kk_port
port=$(kk_free_port)
L=127.0.0.1:$port
cat > "$T/kakehi.conf" <<EOF
set workers 2
listener add https $L
cluster add app
frontend add app --listener $L
backend add app b1 127.0.0.1:$pb
certificate add $L --cert $c/a.crt --key $c/a.key --chain $c/chain.crt
EOF
kk_proxy "$T/kakehi.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
fp() { openssl x509 -noout -fingerprint -sha256 -in "$c/$1.crt" | sed 's/.*=//; s/://g' |
	tr 'A-F' 'a-f' ; }
# served NAME: the fingerprint of the leaf a new handshake for NAME gets.
served() {
	openssl s_client -connect "$L" -servername "$1" < /dev/null 2> /dev/null |
	    openssl x509 -outform DER 2> /dev/null | sha256sum | cut -d' ' -f1
}
# served_all NAME WANT: ten handshakes (both workers, whichever accepts)
# all get WANT.
served_all() {
	_i=0
	while test $_i -lt 10 ; do
		test "$(served "$1")" = "$2" || return 1
		_i=$((_i + 1))
	done
}

tap_is "$(served a.test)" "$(fp a)" "the config's certificate is served"

# The load: curl requests back to back, every answer checked, until told
# to stop.
loop() {
	_n=0 _f=0
	while test ! -f "$T/stop" ; do
		_code=$(kk_http_code --resolve "a.test:$port:127.0.0.1" --cacert "$c/ca.crt" \
			"https://a.test:$port/loop")
		_n=$((_n + 1))
		test "$_code" = 200 || { _f=$((_f + 1)) ; echo "failed: $_code" >> "$T/loop.err" ; }
	done
	echo "$_n $_f" > "$T/loop.out"
}
loop &
loop_pid=$!
kk_pids="$kk_pids $loop_pid"

# A connection opened now, held across the replace below.
kk_spawn keep python3 "$(dirname "$0")/../worker/tlsclient.py" "$port" "$c/ca.crt" keep \
	"$T/a.test"
keep_pid=$kk_last_pid
kk_wait_for 10 grep -q '^cert ' "$T/keep.log"

out=$(ctl certificate add "$L" --cert "$c/b.crt" --key "$c/b.key" --chain "$c/chain.crt")
tap_is "$?" 0 "certificate add: ok"
tap_ok "b.test is served from the next handshake, by every worker" served_all b.test "$(fp b)"

out=$(ctl certificate replace "$L" --old "$(fp a)" --cert "$c/a-late.crt" --key "$c/a-late.key" \
	--chain "$c/chain.crt")
tap_is "$?" 0 "certificate replace: ok"
tap_ok "a.test gets the replacement from the next handshake" served_all a.test "$(fp a-late)"
tap_ok "the replacement takes its predecessor's place: it is the default now" \
	served_all nowhere.test "$(fp a-late)"

touch "$T/a.test.go"
wait "$keep_pid"
tap_is "$(grep -c '^status HTTP/1.1 200' "$T/keep.log")" 2 \
	"a connection opened before the replace serves its next request"
tap_is "$(grep '^cert ' "$T/keep.log" | sort -u | wc -l)" 1 \
	"... with the certificate its handshake was served"

out=$(ctl certificate remove "$L" "$(fp b)")
tap_is "$?" 0 "certificate remove: ok"
tap_ok "b.test falls back to the default once its certificate is gone" \
	served_all b.test "$(fp a-late)"

sleep 1
touch "$T/stop"
wait "$loop_pid"
read n f < "$T/loop.out"
tap_ok "the curl loop made requests throughout ($n)" test "$n" -gt 10
tap_is "$f" 0 "no request of the loop failed"
test -f "$T/loop.err" && tap_diag "$(sort "$T/loop.err" | uniq -c)"

tap_done
