#!/bin/sh
# HTTP/2 over TLS, chosen by ALPN on https listeners (h2,http/1.1 by
# default), to HTTP/1.1 backends: curl --http2 and nghttp negotiate h2 and
# get the backend's answer, bodies go both ways, a listener with --alpn
# http/1.1 stays on HTTP/1.1 and refuses a client that agreed on it and
# sends the HTTP/2 preface; the rules of the h1 path on h2 streams: 421
# for an :authority the certificate does not cover, HSTS, the redirect of
# a plain h2c listener; and h2spec over TLS when it is at hand.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_certs
c=$kk_certs_dir
kk_backend app ; pa=$kk_port
kk_backend big -s 3000000 ; pbig=$kk_port
p11=$(kk_free_port)
ploose=$(kk_free_port)
pplain=$(kk_free_port)
pca=$(kk_free_port)
cat "$c/ca.crt" "$c/inter.crt" > "$T/client-ca.pem"
cert() {	# cert LISTENER NAME: the verb line serving NAME.crt with its chain
	echo "certificate add $1 --cert $c/$2.crt --key $c/$2.key --chain $c/chain.crt"
}
L=127.0.0.1:@PORT
kw_start h2tls \
	"listener add https $L --hsts 600 --hsts-subdomains" \
	"listener add https 127.0.0.1:$p11 --alpn http/1.1" \
	"listener add https 127.0.0.1:$ploose --no-strict-sni" \
	"listener add http 127.0.0.1:$pplain" \
	"listener add https 127.0.0.1:$pca --client-ca $T/client-ca.pem --client-auth optional" \
	'cluster add app' 'cluster add big' 'cluster add short' \
	'cluster add redir --https-redirect 308 --https-port 8443' \
	"frontend add app --listener $L" \
	"frontend add big --listener $L --path /big" \
	"frontend add short --listener $L --host b.test --hsts 60" \
	"frontend add app --listener 127.0.0.1:$p11" \
	"frontend add app --listener 127.0.0.1:$ploose" \
	"frontend add app --listener 127.0.0.1:$pplain" \
	"frontend add app --listener 127.0.0.1:$pca" \
	"frontend add redir --listener 127.0.0.1:$pplain --host r.test" \
	"backend add app a 127.0.0.1:$pa" "backend add big b 127.0.0.1:$pbig" \
	"backend add short s 127.0.0.1:$pa" \
	"$(cert "$L" a)" "$(cert "$L" b)" "$(cert 127.0.0.1:$p11 a)" \
	"$(cert 127.0.0.1:$ploose a)" "$(cert 127.0.0.1:$pca a)"
P=$kw_port
counters() { python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-h2tls.log" "$@" ; }
h2s() {	# h2s NAME PORT CURL-ARGS...: curl --http2 to NAME:PORT, trusting the test CA
	_n=$1 _p=$2 ; shift 2
	curl -sS --http2 --max-time 20 --resolve "$_n:$_p:127.0.0.1" --cacert "$c/ca.crt" "$@"
}

out=$(h2s a.test "$P" -i "https://a.test:$P/hello?q=1" | tr -d '\r')
tap_like "$out" '^HTTP/2 200' "curl --http2 over https: ALPN h2, answered in HTTP/2"
tap_like "$out" '^GET /hello\?q=1 HTTP/1\.1$' "and the request reaches the backend in HTTP/1.1"
tap_like "$out" "^Host: a\.test:$P$" ":authority becomes Host"
tap_like "$out" '^X-Forwarded-Proto: https$' "X-Forwarded-Proto: https over TLS"
out=$(counters h2-connections h2-streams)
tap_like "$out" '^h2-connections [1-9]' "counted as an h2 connection"

out=$(nghttp -v -H ':authority: a.test' "https://127.0.0.1:$P/nghttp" 2>&1)
tap_like "$out" 'recv \(stream_id=[0-9]+\) :status: 200' "nghttp over TLS: answered"
tap_like "$out" 'GET /nghttp HTTP/1\.1' "... by the backend"
n=$(nghttp -n -s -m 40 -H ':authority: a.test' "https://127.0.0.1:$P/many" 2>&1 |
	grep -c ' 200 ')
tap_is "$n" 40 "nghttp over TLS: 40 concurrent streams on one connection, each answered"

# Bodies both ways.
out=$(h2s a.test "$P" "https://a.test:$P/post" --data-binary 'hello body')
tap_like "$out" '^Content-Length: 10' "a POST body over h2 goes up with its length"
tap_like "$out" 'hello body$' "and comes back whole"
head -c 5000000 /dev/urandom > "$T/up"
h2s a.test "$P" "https://a.test:$P/up" --data-binary @"$T/up" -o "$T/up.out"
tail -c 5000000 "$T/up.out" | cmp -s - "$T/up"
tap_result $? "a 5 MB upload over h2 and TLS reaches the backend whole (echoed back)"
tap_is "$(h2s a.test "$P" -o /dev/null -w '%{http_version} %{http_code} %{size_download}' \
	"https://a.test:$P/big")" "2 200 3000000" "a 3 MB download over h2 and TLS arrives whole"

# --alpn http/1.1: HTTP/1.1 only.
tap_is "$(h2s a.test "$p11" -o /dev/null -w '%{http_version} %{http_code}' \
	"https://a.test:$p11/")" "1.1 200" "--alpn http/1.1: curl --http2 gets HTTP/1.1"
sc11() { openssl s_client -connect "127.0.0.1:$p11" -servername a.test "$@" < /dev/null ; }
tap_fails "--alpn http/1.1: a client offering only h2 is refused" sc11 -alpn h2
out=$(python3 - "$p11" "$c/ca.crt" <<'PY' 2>&1
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(["http/1.1"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5),
                    server_hostname="a.test")
print("alpn", s.selected_alpn_protocol())
s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
got = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    got += b
# Frames: 9-byte heads; a GOAWAY (type 7) carries its error code at +4.
at = 0
while at + 9 <= len(got):
    n = int.from_bytes(got[at:at + 3], "big")
    if got[at + 3] == 7:
        print("goaway", int.from_bytes(got[at + 13:at + 17], "big"))
    at += 9 + n
PY
)
tap_like "$out" '^alpn http/1.1$' "a client that agreed on http/1.1 ..."
tap_like "$out" '^goaway 13$' "... and sends the HTTP/2 preface gets GOAWAY HTTP_1_1_REQUIRED"

# 421: the certificate served on the connection (b.test) does not cover
# the stream's :authority (curl sends its Host field as :authority).
tap_is "$(h2s b.test "$P" -o /dev/null -w '%{http_version} %{http_code}' -H 'Host: a.test' \
	"https://b.test:$P/")" "2 421" "h2, SNI b.test, :authority a.test: 421 Misdirected Request"
# Its body and fields are those an HTTP/1.1 client gets for the same.
out=$(h2s b.test "$P" -i -H 'Host: a.test' "https://b.test:$P/" | tr -d '\r')
tap_like "$out" '^421 Misdirected Request$' "the 421 on h2 carries the body HTTP/1.1 gets"
tap_like "$out" '^content-type: text/plain$' "... as text/plain"
tap_like "$out" '^content-length: 24$' "... its length told"
tap_like "$out" '^cache-control: no-cache$' "... not to be cached"
out=$(h2s b.test "$P" -i --http1.1 -H 'Host: a.test' "https://b.test:$P/" | tr -d '\r')
tap_like "$out" '^421 Misdirected Request$' "the same body over HTTP/1.1"
tap_like "$(nghttp -n -v "https://127.0.0.1:$P/" 2>&1)" \
	'recv DATA frame <length=24, flags=0x01' \
"nghttp: the 421 to a bare address ends with its DATA frame"
out=$(nghttp -n -v -H ':method: HEAD' "https://127.0.0.1:$P/" 2>&1)
tap_like "$out" 'content-length: 24' "nghttp HEAD: the 421 announces its length ..."
tap_ok "... and sends no DATA frame" sh -c '! printf "%s" "$1" | grep -q "recv DATA frame"' - "$out"
tap_is "$(h2s a.test "$ploose" -o /dev/null -w '%{http_version} %{http_code}' \
	-H 'Host: b.test' "https://a.test:$ploose/")" "2 200" \
	"--no-strict-sni: an :authority the certificate does not cover is served"

# HSTS on h2 responses: the listener's, a frontend's own.
out=$(h2s a.test "$P" -D - -o /dev/null "https://a.test:$P/" | tr -d '\r')
tap_like "$out" '^strict-transport-security: max-age=600; includeSubDomains$' \
	"HSTS on h2: the listener's max-age and includeSubDomains"
out=$(h2s b.test "$P" -D - -o /dev/null "https://b.test:$P/" | tr -d '\r')
tap_like "$out" '^strict-transport-security: max-age=60; includeSubDomains$' \
	"HSTS on h2: a frontend's --hsts overrides the listener's max-age"
out=$(h2s a.test "$ploose" -D - -o /dev/null "https://a.test:$ploose/" | tr -d '\r')
tap_fails "no HSTS on h2 from a listener without --hsts" \
	sh -c "printf '%s\n' \"\$1\" | grep -qi '^strict-transport'" - "$out"

# --https-redirect on a plain listener, over h2c.
out=$(curl -sS --http2-prior-knowledge --max-time 10 -D - -o /dev/null -H 'Host: r.test' \
	"http://127.0.0.1:$pplain/p/q?x=1&y" | tr -d '\r')
tap_like "$out" '^HTTP/2 308' "--https-redirect 308 on h2c: a 308"
tap_like "$out" '^location: https://r\.test:8443/p/q\?x=1&y$' \
	"... to https, the cluster's port, the same path and query"
out=$(curl -sS --http2-prior-knowledge --max-time 10 -D - -o /dev/null \
	"http://127.0.0.1:$pplain/" | tr -d '\r')
tap_like "$out" '^HTTP/2 200' "a cluster without the redirect is served on the same listener"
tap_fails "no HSTS on h2c" sh -c "printf '%s\n' \"\$1\" | grep -qi '^strict-transport'" - "$out"

# A client certificate on an h2 connection: its subject goes upstream
# with each stream, as with HTTP/1.1; h2c says nothing of certificates.
out=$(h2s a.test "$pca" -i --cert "$c/client.crt" --key "$c/client.key" \
	"https://a.test:$pca/" | tr -d '\r')
tap_like "$out" '^HTTP/2 200' "h2 with a client certificate (--client-ca): served"
tap_like "$out" '^X-Client-Cert-Subject: CN=client\.test$' "... its subject reaches the backend"
tap_like "$out" '^X-Client-Cert-Verified: SUCCESS$' "... marked verified"
out=$(curl -sS --http2-prior-knowledge --max-time 10 "http://127.0.0.1:$pplain/" | tr -d '\r')
tap_fails "h2c: no X-Client-Cert-* upstream" \
	sh -c "printf '%s\n' \"\$1\" | grep -qi '^x-client-cert'" - "$out"

# h2spec over TLS: named by H2SPEC, else looked for beside the project's
# tree. Its :authority is the address, which no certificate names: on the
# strict-SNI listener every stream is answered 421, with a body as a 200
# would have, which two of its cases look for; and on the --no-strict-sni
# listener streams reach the backend.
: "${H2SPEC:=$(cd "$(dirname "$0")/../../.." && pwd)/../shared/tools/h2spec}"
if test -x "$H2SPEC" ; then
	out=$("$H2SPEC" -h 127.0.0.1 -p "$ploose" -t -k 2>&1 | tail -n 1)
	tap_like "$out" '^146 tests, 146 passed' "h2spec over TLS: $out"
	out=$("$H2SPEC" -h 127.0.0.1 -p "$P" -t -k 2>&1 | tail -n 1)
	tap_like "$out" '^146 tests, 146 passed' "h2spec over TLS, strict SNI: $out"
else
	tap_result 0 "# SKIP h2spec is not at hand (set H2SPEC= to its path)"
	tap_result 0 "# SKIP h2spec is not at hand (set H2SPEC= to its path)"
fi
tap_is "$(h2s a.test "$P" -o /dev/null -w '%{http_code}' "https://a.test:$P/")" 200 \
	"the worker serves on"
tap_done
