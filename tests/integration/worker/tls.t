#!/bin/sh
# kakehi-worker standalone: https listeners. Which certificate the
# ClientHello gets (the exact name, then a one-label wildcard, then the
# default; the one that expires last; RSA or ECDSA by what the client
# offers), ALPN, the versions policy, the handshake timeout (nothing
# leaks), 421 when the Host is not the certificate's, HSTS, the redirect
# of a plain listener, --expect-proxy before the ClientHello, keep-alive,
# large bodies and an upgraded tunnel over TLS.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_certs
c=$kk_certs_dir
kk_backend app
pb=$kk_port
kk_spawn switch python3 "$kw_dir/switch.py"
kk_wait_for 10 test -s "$T/switch.log" || { echo "Bail out! switch did not start" ; exit 1 ; }
psw=$(head -n 1 "$T/switch.log")
p13=$(kk_free_port)
ploose=$(kk_free_port)
pplain=$(kk_free_port)
ppp=$(kk_free_port)
# An OCSP response for a.crt ("good"), signed by its issuer.
serial=$(openssl x509 -in "$c/a.crt" -noout -serial | cut -d= -f2)
until=$(date -u -d "$(openssl x509 -in "$c/a.crt" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
printf 'V\t%s\t\t%s\tunknown\t/CN=a.test\n' "$until" "$serial" > "$T/ocsp.index"
openssl ocsp -issuer "$c/inter.crt" -cert "$c/a.crt" -reqout "$T/ocsp.req" -no_nonce &&
openssl ocsp -index "$T/ocsp.index" -rsigner "$c/inter.crt" -rkey "$c/inter.key" \
	-CA "$c/inter.crt" -reqin "$T/ocsp.req" -respout "$T/ocsp.der" -ndays 7 > /dev/null 2>&1 ||
	{ echo "Bail out! openssl ocsp could not make a response" ; exit 1 ; }
cert() {	# cert LISTENER NAME: the verb line serving NAME.crt with its chain
	echo "certificate add $1 --cert $c/$2.crt --key $c/$2.key --chain $c/chain.crt"
}
L=127.0.0.1:@PORT
kw_start tls \
	"listener add https $L --hsts 3600 --hsts-subdomains --handshake-timeout 1s" \
	"listener add https 127.0.0.1:$p13 --tls-versions 1.3 --hsts 100 --hsts-preload" \
	"listener add https 127.0.0.1:$ploose --no-strict-sni --alpn http/1.1" \
	"listener add https 127.0.0.1:$ppp --expect-proxy" \
	"listener add http 127.0.0.1:$pplain" \
	'cluster add app' 'cluster add sw' 'cluster add short' \
	'cluster add redir --https-redirect 308 --https-port 8443' \
	"frontend add app --listener $L" \
	"frontend add sw --listener 127.0.0.1:$ploose --host sw.test" \
	"frontend add short --listener $L --host b.test --hsts 60" \
	"frontend add app --listener 127.0.0.1:$p13" \
	"frontend add app --listener 127.0.0.1:$ploose" \
	"frontend add app --listener 127.0.0.1:$ppp" \
	"frontend add app --listener 127.0.0.1:$pplain" \
	"frontend add redir --listener 127.0.0.1:$pplain --host r.test" \
	"backend add app b1 127.0.0.1:$pb" "backend add short s1 127.0.0.1:$pb" \
	"backend add sw w1 127.0.0.1:$psw" \
	"$(cert "$L" default)" "$(cert "$L" a)" "$(cert "$L" a-rsa)" "$(cert "$L" a-late)" \
	"$(cert "$L" wild)" "$(cert "$L" b)" \
	"$(cert 127.0.0.1:$p13 a) --ocsp $T/ocsp.der" "$(cert 127.0.0.1:$ploose b)" \
	"$(cert 127.0.0.1:$ppp a)"
P=$kw_port
counters() { python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-tls.log" "$@" ; }
fp_of() { openssl x509 -in "$c/$1.crt" -noout -fingerprint -sha256 | cut -d= -f2 ; }
# served ARGS...: the fingerprint of the leaf s_client ARGS is served.
served() {
	openssl s_client -connect "127.0.0.1:$P" "$@" < /dev/null 2> /dev/null |
	    openssl x509 -noout -fingerprint -sha256 2> /dev/null | cut -d= -f2
}
# hcurl NAME [PORT] CURL-ARGS...: curl to https://NAME:PORT/ in HTTP/1.1,
# trusting the test CA. These checks are of the h1 path over TLS; h2tls.t
# makes them of h2 streams.
hcurl() {
	_n=$1 _p=$2 ; shift 2
	kk_curl --http1.1 --resolve "$_n:$_p:127.0.0.1" --cacert "$c/ca.crt" "$@"
}

# The chain verifies and the request goes through.
out=$(hcurl a.test "$P" "https://a.test:$P/hello" 2>&1 | tr -d '\r')
tap_like "$out" '^GET /hello HTTP/1.1$' \
	"curl verifies the chain and the request reaches the backend"
tap_like "$out" '^X-Forwarded-Proto: https$' "... with X-Forwarded-Proto: https"

# Which certificate.
tap_is "$(served -servername a.test)" "$(fp_of a-late)" \
	"a.test: of the two ECDSA certificates for it, the one that expires last"
tap_is "$(served -servername www.a.test)" "$(fp_of a)" "www.a.test: its exact name"
tap_is "$(served -servername WWW.A.TEST)" "$(fp_of a)" "the server name is matched in lower case"
tap_is "$(served -servername x.w.test)" "$(fp_of wild)" "x.w.test: the wildcard *.w.test"
tap_is "$(served -servername a.b.w.test)" "$(fp_of default)" \
	"a.b.w.test: a wildcard covers one label only, the default answers"
tap_is "$(served -servername w.test)" "$(fp_of default)" "w.test: not covered by *.w.test"
tap_is "$(served -servername b.test)" "$(fp_of b)" "b.test: its own"
tap_is "$(served -servername nowhere.test)" "$(fp_of default)" "an unknown name: the default"
tap_is "$(served -noservername)" "$(fp_of default)" \
	"no server name: the default (the first certificate added)"
tap_is "$(served -servername www.a.test -sigalgs RSA-PSS+SHA256)" "$(fp_of a-rsa)" \
	"a TLS 1.3 client that signs with RSA only gets the RSA twin"
tap_is "$(served -servername www.a.test -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256)" \
	"$(fp_of a-rsa)" "a TLS 1.2 client with ECDHE-RSA suites only gets the RSA twin"
tap_is "$(served -servername www.a.test -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256)" \
	"$(fp_of a)" "a TLS 1.2 client with ECDHE-ECDSA suites only gets the ECDSA one"

# A TLS 1.2 session resumed on the same worker, and counted.
sc12() { openssl s_client -connect "127.0.0.1:$P" -servername a.test -tls1_2 "$@" < /dev/null ; }
sc12 -sess_out "$T/sess" > /dev/null 2>&1
before=$(counters tls-resumed | cut -d' ' -f2)
out=$(sc12 -sess_in "$T/sess" 2>&1)
tap_like "$out" '^Reused, TLSv1.2' "a TLS 1.2 session is resumed"
after=$(counters tls-resumed | cut -d' ' -f2)
tap_is "$((after - before))" 1 "... and counted as tls-resumed"

# A last request (Connection: close) is closed at once, with close_notify:
# without it, a client takes the end as a truncation and drops the session.
out=$(python3 "$kw_dir/tlsclient.py" "$P" "$c/ca.crt" last 2>&1)
tap_like "$out" '^end clean$' "a connection closed after its last response ends with close_notify"
# Two segments with data: the server's flight, then the response with the
# session tickets, close_notify and the FIN (held with MSG_MORE until the
# shutdown), not one segment each.
tap_like "$out" '^segments 2$' "... which leaves with the response in one segment"
tap_like "$out" '^reused True$' "... so its session resumes"

# ALPN: ours first among the client's (h2,http/1.1 by default); none in
# common ends the handshake.
sc() { openssl s_client -connect "127.0.0.1:$P" -servername a.test "$@" < /dev/null ; }
tap_like "$(sc -alpn http/1.1,h2 2>&1)" '^ALPN protocol: h2' \
	"ALPN by default: h2 chosen from http/1.1,h2, our order first"
tap_like "$(sc -alpn http/1.1 2>&1)" '^ALPN protocol: http/1.1' \
	"ALPN by default: http/1.1 for a client offering only it"
tap_like "$(sc -alpn spdy/3,foo 2>&1)" 'no application protocol|alert number 120' \
	"ALPN by default: a client offering neither gets no_application_protocol"

# Plain HTTP on an https listener is a failed handshake, not a request.
before=$(counters tls-handshake-failures | cut -d' ' -f2)
out=$(printf 'GET / HTTP/1.1\r\nHost: a.test\r\n\r\n' | kw_raw 2 | head -c 5 | tr -dc 'A-Z/')
tap_ok "plain HTTP to an https listener gets no HTTP answer" test "x$out" != "xHTTP/"
after=$(counters tls-handshake-failures | cut -d' ' -f2)
tap_is "$((after - before))" 1 "... and counts as a failed handshake"

out=$(openssl s_client -connect "127.0.0.1:$ploose" -servername b.test -alpn h2,http/1.1 \
	< /dev/null 2>&1)
tap_like "$out" '^ALPN protocol: http/1.1' "--alpn http/1.1: http/1.1 chosen from h2,http/1.1"
scl() { openssl s_client -connect "127.0.0.1:$ploose" -servername b.test "$@" < /dev/null ; }
tap_fails "--alpn http/1.1: a client offering only h2 is refused" scl -alpn h2
tap_like "$(scl -alpn h2 2>&1)" 'no application protocol|alert number 120' \
	"... with the no_application_protocol alert"

# Versions.
P13() { openssl s_client -connect "127.0.0.1:$p13" -servername a.test "$@" < /dev/null ; }
tap_ok "--tls-versions 1.3: TLS 1.3 is accepted" P13 -tls1_3
tap_fails "--tls-versions 1.3: TLS 1.2 is refused" P13 -tls1_2
tap_ok "the default listener takes TLS 1.2" sc -tls1_2
tap_fails "... and never TLS 1.1" sc -tls1_1

# OCSP stapling: the response given with the certificate, to a client
# that asks.
out=$(P13 -status 2>&1)
tap_like "$out" 'OCSP Response Status: successful' "--ocsp: the response is stapled"
tap_like "$out" 'Cert Status: good' "... the one given, for this certificate"
out=$(sc -status 2>&1)
tap_like "$out" 'OCSP response: no response sent' "a certificate without --ocsp staples none"

# 421 when the Host is not covered by the certificate served.
code=$(kk_http_code --resolve "b.test:$P:127.0.0.1" --cacert "$c/ca.crt" -H 'Host: a.test' \
	"https://b.test:$P/")
tap_is "$code" 421 "SNI b.test, Host a.test: 421 Misdirected Request"
code=$(kk_http_code --resolve "x.w.test:$P:127.0.0.1" --cacert "$c/ca.crt" -H 'Host: y.w.test' \
	"https://x.w.test:$P/")
tap_is "$code" 200 "SNI x.w.test, Host y.w.test: the wildcard covers both"
code=$(kk_http_code --resolve "b.test:$ploose:127.0.0.1" --cacert "$c/ca.crt" \
	-H 'Host: a.test' "https://b.test:$ploose/")
tap_is "$code" 200 "--no-strict-sni: the same request is served"

# HSTS: the listener's, a frontend's own; never on plain http.
out=$(hcurl a.test "$P" -D - -o /dev/null "https://a.test:$P/" | tr -d '\r')
tap_like "$out" '^Strict-Transport-Security: max-age=3600; includeSubDomains$' \
	"HSTS: the listener's max-age and includeSubDomains"
out=$(hcurl b.test "$P" -D - -o /dev/null "https://b.test:$P/" | tr -d '\r')
tap_like "$out" '^Strict-Transport-Security: max-age=60; includeSubDomains$' \
	"HSTS: a frontend's --hsts overrides the listener's max-age"
out=$(hcurl a.test "$p13" -D - -o /dev/null "https://a.test:$p13/" | tr -d '\r')
tap_like "$out" '^Strict-Transport-Security: max-age=100; preload$' "HSTS: --hsts-preload"
kk_curl -D "$T/plain.head" -o /dev/null "http://127.0.0.1:$pplain/"
tap_fails "no HSTS on a plain listener" grep -qi '^strict-transport' "$T/plain.head"

# --https-redirect on a plain listener.
out=$(kk_curl -D - -o /dev/null -H 'Host: r.test' "http://127.0.0.1:$pplain/p/q?x=1&y" |
	tr -d '\r')
tap_like "$out" '^HTTP/1.1 308 ' "--https-redirect 308: a 308"
tap_like "$out" '^Location: https://r.test:8443/p/q\?x=1&y$' \
	"... to https, the cluster's port, the same path and query"
out=$(kk_curl -D - -o /dev/null -H 'Host: other.test' "http://127.0.0.1:$pplain/" | tr -d '\r')
tap_like "$out" '^HTTP/1.1 200 ' "a cluster without the redirect is served on the same listener"

# --expect-proxy: the PROXY header before the ClientHello.
out=$(python3 "$kw_dir/tlsclient.py" "$ppp" "$c/ca.crt" proxy 2>&1)
tap_like "$out" '^X-Forwarded-For: 192.0.2.7' \
	"--expect-proxy on https: the header first, then TLS; its source is the client"

# Keep-alive: two requests on one connection.
before=$(counters connections-total | cut -d' ' -f2)
out=$(hcurl a.test "$P" -v "https://a.test:$P/one" "https://a.test:$P/two" 2>&1)
tap_like "$out" 'GET /two HTTP/1.1' "keep-alive over TLS: the second request is served"
after=$(counters connections-total | cut -d' ' -f2)
tap_is "$((after - before))" 1 "... on the same connection"

# Large bodies both ways: 4 MiB up, echoed back.
head -c 4194304 /dev/urandom > "$T/big"
hcurl a.test "$P" --data-binary @"$T/big" "https://a.test:$P/big" > "$T/big.out"
tail -c 4194304 "$T/big.out" > "$T/big.back"
tap_ok "a 4 MiB body up and back over TLS, byte for byte" cmp "$T/big" "$T/big.back"

# An upgrade tunnelled over TLS.
out=$(python3 "$kw_dir/tlsclient.py" "$ploose" "$c/ca.crt" upgrade b.test 2>&1)
tap_like "$out" '^status HTTP/1.1 101 ' "an upgrade over TLS: the 101"
tap_like "$out" '^later later$' "... then the tunnel carries bytes both ways over TLS"

# The handshake timeout: silent and half-sent ClientHellos are closed at
# 1 s, and nothing stays behind.
before=$(counters tls-handshake-timeouts | cut -d' ' -f2)
out=$(python3 "$kw_dir/tlsclient.py" "$P" "$c/ca.crt" stall 2>&1)
tap_like "$out" '^closed after (0\.9|1\.[0-9])$' "a client that sends nothing is closed at 1 s"
out=$(python3 "$kw_dir/tlsclient.py" "$P" "$c/ca.crt" half 2>&1)
tap_like "$out" '^closed after (0\.9|1\.[0-9])$' "half a ClientHello: closed at 1 s"
# A record's first bytes and the end of the stream in one segment: the
# end is read though no edge follows it.
out=$(python3 "$kw_dir/tlsclient.py" "$P" "$c/ca.crt" torn 2>&1)
tap_like "$out" '^closed after 0\.[0-9]$' "a record cut by the client's end: closed at once ($out)"
after=$(counters tls-handshake-timeouts | cut -d' ' -f2)
tap_is "$((after - before))" 2 "both counted as handshake timeouts"
# Part of a request head and the end of the stream in one segment: the
# library returns the bytes and the end is kept for the next read, which
# no edge announces; the request timeout (10 s by default) must not be what
# closes it.
out=$(python3 "$kw_dir/tlsclient.py" "$P" "$c/ca.crt" partial 2>&1)
tap_like "$out" '^closed after 0\.[0-8]$' "part of a head cut by the client's end: closed at once ($out)"
# The socket is read a flight at a time: a handshake and a request take a
# read for each flight of the client (and one that says EAGAIN), not one
# for each record's header and one for its body.
syscr() { awk '$1 == "syscr:" { print $2 }' "/proc/$kw_pid/io" ; }
r0=$(syscr)
i=0
while test $i -lt 20 ; do
	hcurl a.test "$P" -s -o /dev/null "https://a.test:$P/hello"
	i=$((i + 1))
done
per=$(( ($(syscr) - r0) / 20 ))
tap_ok "reads a connection: $per (at most 8)" test "$per" -le 8
idle() { counters connections-active | grep -q '^connections-active 0$' ; }
kk_wait_for 10 idle
tap_ok "no connection is left open" idle
out=$(counters tls-handshakes tls-handshake-failures closes-handshake-timeout)
tap_like "$out" '^tls-handshakes [1-9]' "handshakes counted ($(echo $out))"
tap_like "$out" '^tls-handshake-failures [1-9]' "failed handshakes counted (the refused ALPN)"
tap_like "$out" '^closes-handshake-timeout 2$' "closes by reason: handshake-timeout"

tap_done
