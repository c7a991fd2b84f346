#!/bin/sh
# kakehi-worker standalone: client certificates on https listeners
# (--client-ca, --client-auth). Required: a client without a certificate,
# with one of another CA or with an expired one is refused at the
# handshake, and counted; a verified one is served, its subject told to
# the backend. Optional: no certificate is served as NONE, a bad one is
# still refused. A client's own X-Client-Cert-* fields never reach the
# backend. A changed CA (a reload) rebuilds the listener's context.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_certs
c=$kk_certs_dir
cat "$c/ca.crt" "$c/inter.crt" > "$T/client-ca.pem"
kk_backend app
pb=$kk_port
popt=$(kk_free_port)
pplain=$(kk_free_port)
cert() {	# cert LISTENER: the verb line serving a.test with its chain
	echo "certificate add $1 --cert $c/a.crt --key $c/a.key --chain $c/chain.crt"
}
conf() {	# conf CA-FILE: the worker's configuration, the required listener's CA given
	echo "listener add https 127.0.0.1:@PORT --client-ca $1"
	echo "listener add https 127.0.0.1:$popt --client-ca $T/client-ca.pem --client-auth optional"
	echo "listener add http 127.0.0.1:$pplain"
	echo 'cluster add app'
	for p in @PORT "$popt" "$pplain" ; do echo "frontend add app --listener 127.0.0.1:$p" ; done
	echo "backend add app b1 127.0.0.1:$pb"
	cert 127.0.0.1:@PORT
	cert "127.0.0.1:$popt"
}
kw_start client "$(conf "$T/client-ca.pem")"
P=$kw_port
counters() { python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-client.log" "$@" ; }
refused() { counters tls-client-cert-refused | cut -d' ' -f2 ; }
# hcurl PORT LEAF CURL-ARGS...: GET https://a.test:PORT/ presenting LEAF (- for none).
hcurl() {
	_p=$1 _leaf=$2 ; shift 2
	if [ "$_leaf" = - ] ; then set -- "$@" ; else
		set -- --cert "$c/$_leaf.crt" --key "$c/$_leaf.key" "$@" ; fi
	kk_curl --resolve "a.test:$_p:127.0.0.1" --cacert "$c/ca.crt" "$@" "https://a.test:$_p/" \
	    2>&1 | tr -d '\r'
}

# Required.
before=$(refused)
out=$(hcurl "$P" -)
tap_fails "required: a client without a certificate is refused" \
	sh -c 'printf "%s\n" "$1" | grep -q "^GET / HTTP/1.1$"' - "$out"
out=$(hcurl "$P" client)
tap_like "$out" '^GET / HTTP/1.1$' "required: a verified client certificate is served"
tap_like "$out" '^X-Client-Cert-Subject: CN=client.test$' \
	"... its subject reaches the backend in RFC 4514 form"
tap_like "$out" '^X-Client-Cert-Verified: SUCCESS$' "... marked verified"
out=$(hcurl "$P" stray)
tap_fails "required: a certificate of another CA is refused" \
	sh -c 'printf "%s\n" "$1" | grep -q "^GET / HTTP/1.1$"' - "$out"
out=$(hcurl "$P" expired)
tap_fails "required: an expired client certificate is refused" \
	sh -c 'printf "%s\n" "$1" | grep -q "^GET / HTTP/1.1$"' - "$out"
tap_is "$(( $(refused) - before ))" 3 "the three refusals are counted as tls-client-cert-refused"

# openssl s_client as the client, one request each.
sreq() {	# sreq PORT [S_CLIENT-ARGS...]: a request over s_client, the answer
	_p=$1 ; shift
	printf 'GET /s HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n' |
	    timeout 10 openssl s_client -quiet -connect "127.0.0.1:$_p" -servername a.test \
	    -CAfile "$c/ca.crt" "$@" 2>&1 | tr -d '\r'
}
out=$(sreq "$P" -cert "$c/client.crt" -key "$c/client.key")
tap_like "$out" '^X-Client-Cert-Subject: CN=client.test$' "s_client -cert: served, subject forwarded"
out=$(sreq "$P")
tap_fails "s_client without -cert: refused, no answer" \
	sh -c 'printf "%s\n" "$1" | grep -q "^GET /s HTTP/1.1$"' - "$out"
tap_like "$out" 'alert' "... the client is told by an alert ($(echo "$out" | grep -m 1 alert))"

# Never spoofable: the client's own fields are dropped before ours go on.
out=$(hcurl "$P" client -H 'X-Client-Cert-Subject: CN=admin' -H 'X-Client-Cert-Verified: SUCCESS')
tap_is "$(printf '%s\n' "$out" | grep -ic '^X-Client-Cert-Subject:')" 1 \
	"a client-sent X-Client-Cert-Subject is removed: one field reaches the backend"
tap_like "$out" '^X-Client-Cert-Subject: CN=client.test$' "... ours"
tap_fails "... and never the client's" \
	sh -c 'printf "%s\n" "$1" | grep -qi "CN=admin"' - "$out"
out=$(kk_curl -H 'X-Client-Cert-Subject: CN=admin' -H 'x-client-cert-verified: SUCCESS' \
	"http://127.0.0.1:$pplain/" 2>&1 | tr -d '\r')
tap_like "$out" '^GET / HTTP/1.1$' "a plain listener serves the request"
tap_fails "... without the client's X-Client-Cert-* fields" \
	sh -c 'printf "%s\n" "$1" | grep -qi "^X-Client-Cert"' - "$out"

# Optional.
out=$(hcurl "$popt" - -H 'X-Client-Cert-Subject: CN=admin')
tap_like "$out" '^GET / HTTP/1.1$' "optional: a client without a certificate is served"
tap_like "$out" '^X-Client-Cert-Verified: NONE$' "... marked NONE"
tap_fails "... with no subject (the client's removed)" \
	sh -c 'printf "%s\n" "$1" | grep -qi "^X-Client-Cert-Subject"' - "$out"
out=$(hcurl "$popt" client)
tap_like "$out" '^X-Client-Cert-Subject: CN=client.test$' "optional: a certificate is verified"
tap_like "$out" '^X-Client-Cert-Verified: SUCCESS$' "... marked SUCCESS"
before=$(refused)
out=$(hcurl "$popt" stray)
tap_fails "optional: a certificate of another CA is still refused" \
	sh -c 'printf "%s\n" "$1" | grep -q "^GET / HTTP/1.1$"' - "$out"
tap_is "$(( $(refused) - before ))" 1 "... and counted"

# Bad input: a CA file that holds no certificate stops the load.
printf 'not a certificate\n' > "$T/bad-ca.pem"
printf '%s\n' "listener add https 127.0.0.1:$(kk_free_port) --client-ca $T/bad-ca.pem" \
	> "$T/bad.conf"
out=$(timeout 10 kakehi-worker "$T/bad.conf" 2>&1) ; rc=$?
tap_is "$rc" 100 "a client CA without a certificate is bad input (100)"
tap_like "$out" 'client CA' "... the error names the client CA ($out)"

# A changed CA is a changed listener: on reload its context is rebuilt.
conf "$c/other-ca.crt" | sed "s/@PORT/$P/g" > "$T/client.conf"
kill -HUP "$kw_pid"
stray_served() { hcurl "$P" stray | grep -q '^GET / HTTP/1.1$' ; }
kk_wait_for 10 stray_served
tap_ok "after a reload with another CA, its certificates are served" stray_served
out=$(hcurl "$P" client)
tap_fails "... and the old CA's are refused" \
	sh -c 'printf "%s\n" "$1" | grep -q "^GET / HTTP/1.1$"' - "$out"

tap_done
