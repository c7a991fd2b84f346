#!/bin/sh
# HTTP/2 to backends (cluster add --h2), h2c with prior knowledge: HTTP/1.1
# and HTTP/2 clients (curl, nghttp) to nghttpd and to h2back.py (python3-h2):
# the request head as HTTP/2 fields, bodies both ways and large (checked by
# sha256), many streams sharing one backend connection, a slow client that
# holds back only its own stream, a stream the backend
# resets, a backend that dies mid-response, GOAWAY (the streams it did not
# process are sent again on another connection, the old one closes once its
# streams are done), trailers both ways, an HTTP/1.1 cluster beside it, and
# with --tls ALPN h2 (nghttpd over TLS; an HTTP/1.1-only backend refused).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

# Debian's python3-h2 is installed for Debian's /usr/bin/python3; the
# python3 first on PATH may be another build that cannot import it.
h2_python=/usr/bin/python3
"$h2_python" -c 'import h2' 2> /dev/null ||
	tap_skip_all "python3-h2 is not installed for $h2_python (run tools/install-deps)"
command -v nghttpd > /dev/null ||
	tap_skip_all "nghttpd is not installed (nghttp2-server; run tools/install-deps)"
command -v nghttp > /dev/null ||
	tap_skip_all "nghttp is not installed (nghttp2-client; run tools/install-deps)"

kk_spawn h2back "$h2_python" "$kw_dir/h2back.py"
kk_wait_for 10 test -s "$T/h2back.log" || { echo "Bail out! h2back.py did not start" ; exit 1 ; }
pb=$(head -n 1 "$T/h2back.log")
mkdir "$T/htdocs"
head -c 5000000 /dev/urandom > "$T/htdocs/file"
pn=$(kk_free_port)
kk_spawn nghttpd nghttpd --no-tls -a 127.0.0.1 -d "$T/htdocs" "$pn"
kk_wait_for 10 kk_port_open "$pn" || { echo "Bail out! nghttpd did not start" ; exit 1 ; }
kk_backend app ; pa=$kk_port

kw_start h2back \
	'listener add http 127.0.0.1:@PORT' \
	'cluster add py --h2' 'cluster add ng --h2' 'cluster add app' \
	'frontend add py --listener 127.0.0.1:@PORT' \
	'frontend add ng --listener 127.0.0.1:@PORT --path /file' \
	'frontend add app --listener 127.0.0.1:@PORT --path /h1' \
	"backend add py p 127.0.0.1:$pb" "backend add ng n 127.0.0.1:$pn" \
	"backend add app a 127.0.0.1:$pa"
U=http://127.0.0.1:$kw_port
h1() { curl -sS --max-time 20 "$@" ; }
h2() { curl -sS --http2-prior-knowledge --max-time 20 "$@" ; }
accepts() { grep -c '^accept' "$T/h2back.log" ; }

out=$(h1 -i "$U/echo?q=1" -H 'Connection: x-drop' -H 'X-Drop: 1' -H 'Keep-Alive: 5' \
	-H 'TE: gzip' -H 'X-Kept: yes')
tap_like "$out" '^HTTP/1\.1 200' "h1 to h2: GET answered"
tap_like "$out" "^x-authority: 127\.0\.0\.1:$kw_port" "Host goes up as :authority"
tap_like "$out" '^x-names: :method,:scheme,:authority,:path,' "pseudo-headers first"
tap_like "$out" '^x-names: .*,x-kept,.*x-forwarded-for' "fields go up in lower case, forwarded"
tap_fails "no Host, Connection, Keep-Alive, TE nor what Connection names (RFC 9113 §8.2.2)" \
	sh -c "printf '%s\n' \"\$1\" | grep -E '^x-names:.*(host|connection|keep-alive|te|x-drop)(,|\$)'" \
	- "$(printf '%s\n' "$out" | tr -d '\r')"
tap_like "$out" '^Content-Length: 0' "an empty body an h1 client can frame"
out=$(h1 -i "$U/echo" -H 'TE: deflate, trailers;q=1')
tap_like "$out" '^x-names: .*,te([^a-z-]|$)' "a client's TE: trailers goes up as te: trailers (gRPC needs it)"

out=$(h2 -i "$U/echo" --data-binary 'hello body')
tap_like "$out" '^HTTP/2 200' "h2 to h2: POST answered"
tap_like "$out" 'hello body$' "its body goes up and comes back"
out=$(h1 -i "$U/echo" --data-binary 'hello body')
tap_like "$out" 'hello body$' "h1 to h2: the same"
out=$(printf 'abc' | h1 -i "$U/echo" -T -)
tap_like "$out" '^x-sha256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' \
	"a chunked h1 body goes up as DATA, whole"
tap_like "$(nghttp "$U/" 2>&1)" '^ok$' "nghttp as the client"

head -c 5000000 /dev/urandom > "$T/up"
want=$(sha256sum < "$T/up" | cut -c1-64)
for c in h1 h2 ; do
	got=$($c -D - -o "$T/up.$c" "$U/echo" --data-binary @"$T/up" | tr -d '\r' |
		sed -n 's/^x-sha256: //p')
	tap_is "$got" "$want" "$c to h2: a 5 MB upload reaches the backend whole (sha256)"
	tap_ok "$c to h2: and comes back whole" cmp "$T/up.$c" "$T/up"
done
for c in h1 h2 ; do
	got=$($c -D - -o "$T/big.$c" "$U/big?n=5000000" | tr -d '\r' | sed -n 's/^x-sha256: //p')
	tap_is "$(sha256sum < "$T/big.$c" | cut -c1-64)" "$got" \
		"$c to h2: a 5 MB download arrives whole (sha256)"
done
want=$(sha256sum < "$T/htdocs/file" | cut -c1-64)
tap_is "$(h1 "$U/file" | sha256sum | cut -c1-64)" "$want" "h1 to nghttpd: 5 MB whole"
tap_is "$(h2 "$U/file" | sha256sum | cut -c1-64)" "$want" "h2 to nghttpd: 5 MB whole"

# Each of these waits half a second at the backend: 20 at once on one
# connection, as its SETTINGS allow, where HTTP/1.1 would open 20.
before=$(accepts)
i=0 ; many=
while test $i -lt 20 ; do
	h1 -o /dev/null -w '%{http_code}\n' "$U/delay" >> "$T/many" &
	many="$many $!"
	i=$((i + 1))
done
wait $many
tap_is "$(grep -c '^200$' "$T/many")" 20 "20 concurrent requests answered"
tap_is "$(accepts)" "$before" "over the one backend connection already open"
tap_is "$(nghttp -n -s -m 20 "$U/delay" 2>&1 | grep -c ' 200 ')" 20 \
	"nghttp: 20 concurrent streams, each answered"
tap_is "$(accepts)" "$before" "over that connection too"

# Flow control: a client that reads slowly holds back its own stream and
# a few buffers, never the other streams of the backend connection.
counters() { python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-h2back.log" "$@" ; }
h1 --limit-rate 50k -o /dev/null "$U/big?n=50000000" 2> /dev/null &
slow=$!
kk_pids="$kk_pids $slow"
sleep 1
before=$(accepts)
tap_is "$(h1 "$U/")" ok "while a slow client's stream waits, another is answered"
tap_is "$(accepts)" "$before" "on the same backend connection"
n=$(counters buffers-in-use | awk '{print $2}')
tap_result $(( n > 12 )) "and the worker holds a few buffers ($n), not the body"
kill "$slow" 2> /dev/null
wait "$slow" 2> /dev/null

# An h2 client with a small window (4095 bytes) reads its response a few
# kB at a time: the h2 front sends frames smaller than the buffers the
# backend's bytes came in, each taking a part of one. Their window opens
# once the whole buffer is gone, so the backend never sends past what
# the stream holds (it would be reset, FLOW_CONTROL_ERROR).
h2 -o "$T/small.want" "$U/big?n=3000000"
timeout 60 nghttp -w 12 "$U/big?n=3000000" > "$T/small.got" 2> "$T/small.err"
tap_ok "an h2 client with a 4 kB window reads 3 MB whole, in parts of buffers" \
	cmp "$T/small.got" "$T/small.want"

# Streams reset while they hold response bytes (their client gave them
# no window): the backend sent those bytes, so the connection's window
# opens for them as they are dropped. 150 streams of full buffers would
# otherwise take all of it (128 streams' windows) and stall every later
# stream of the connection.
before=$(accepts)
tap_is "$(timeout 60 "$h2_python" "$kw_dir/abandon.py" "$kw_port" 3 50 "/big?n=5000000")" \
	150 "150 streams reset while the proxy holds their bytes"
tap_is "$(h1 -o /dev/null -w '%{http_code} %{size_download}' "$U/big?n=3000000")" \
	"200 3000000" "then a 3 MB download is whole"
tap_is "$(accepts)" "$before" "on the same backend connection"

tap_is "$(h1 -o /dev/null -w '%{http_code}' "$U/rst")" 502 \
	"RST_STREAM before the response: 502"
tap_is "$(h2 -o /dev/null -w '%{http_code}' "$U/rst")" 502 "the same for an h2 client"

h1 -o /dev/null "$U/die" 2> "$T/die.err"
tap_result $(( $? == 0 )) "a backend that dies mid-response cuts the client's response \
($(head -c 60 "$T/die.err"))"
h2 -o /dev/null "$U/die" 2> "$T/die.err"
tap_result $(( $? == 0 )) "and the h2 client's stream ($(head -c 60 "$T/die.err"))"
tap_ok "the worker survives" kill -0 "$kw_pid"
tap_is "$(h1 "$U/")" ok "the next request is served"

# GOAWAY: /hold is held until another request comes on its connection;
# the backend then names it the last stream it processed and answers it.
h1 -D "$T/held.h" -o "$T/held" "$U/hold" &
held=$!
kk_wait_for 10 grep -q '^hold' "$T/h2back.log"
out=$(h1 -i "$U/echo")
wait "$held"
tap_like "$(cat "$T/held")" '^held$' "after GOAWAY, a stream at or below its last id completes"
tap_like "$out" '^HTTP/1\.1 200' "one above it is sent again and answered"
tap_like "$(grep '^goaway' "$T/h2back.log")" 'refusing' "the backend refused it"
new=$(printf '%s\n' "$out" | tr -d '\r' | sed -n 's/^x-conn: //p')
tap_is "$new" "$(accepts)" "on a connection of its own, the newest"
conn=$(tr -d '\r' < "$T/held.h" | sed -n 's/^x-conn: //p')
tap_result $(( ${conn:-0} == 0 || conn == new )) "not the held one's (${conn:-none})"
kk_wait_for 10 grep -q "^closed $conn\$" "$T/h2back.log"
tap_result $? "the retired connection is closed once its last stream is done"

out=$(nghttp -v "$U/trailers" 2>&1)
tap_like "$out" 'grpc-status: 0' "h2 to h2: response trailers reach the client"
tap_like "$out" 'x-sum: 42' "all of them"
out=$(h1 --raw -i "$U/trailers" | tr -d '\r')
tap_like "$out" '^x-sum: 42$' "h1 client: they follow the last chunk"
out=$(printf 'POST /echo HTTP/1.1\r\nHost: x\r\nTrailer: x-up\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-up: 7\r\n\r\n' |
	kw_raw 2 | tr -d '\r')
tap_like "$out" '^x-trailer: 7$' "h1 chunked request trailers go up as HTTP/2 trailers"
tap_like "$out" '^abc$' "after the body"
tap_is "$(timeout 10 python3 "$kw_dir/h2raw.py" "$kw_port" trailers /echo)" status-end \
	"h2 to h2: a request with trailers is answered"
tap_like "$(grep '^trailers' "$T/h2back.log")" 'x-sum=42' "and its trailers go up"

out=$(h1 -i "$U/h1/x")
tap_like "$out" '^GET /h1/x HTTP/1\.1' "an HTTP/1.1 cluster beside them speaks HTTP/1.1"
tap_ok "the worker is still up" kill -0 "$kw_pid"

# --tls: ALPN h2 offered; nghttpd over TLS selects it, an HTTP/1.1-only
# TLS backend does not, which fails the connect with a logged reason.
kk_certs
c=$kk_certs_dir
cat "$c/backend.crt" "$c/chain.crt" > "$T/backend.pem"
pt=$(kk_free_port)
kk_spawn nghttpd-tls nghttpd -a 127.0.0.1 -d "$T/htdocs" "$pt" "$c/backend.key" "$T/backend.pem"
kk_wait_for 10 kk_port_open "$pt" || { echo "Bail out! nghttpd over TLS did not start" ; exit 1 ; }
kk_spawn tlsback python3 "$kw_dir/tlsback.py" "$T/backend.pem" "$c/backend.key"
kk_wait_for 10 test -s "$T/tlsback.log" || { echo "Bail out! tlsback.py did not start" ; exit 1 ; }
p1=$(head -n 1 "$T/tlsback.log")
kw_start tls 'listener add http 127.0.0.1:@PORT' \
	"cluster add ng --h2 --tls --ca $c/ca.crt" "cluster add old --h2 --tls --ca $c/ca.crt" \
	'frontend add ng --listener 127.0.0.1:@PORT --path /file' \
	'frontend add old --listener 127.0.0.1:@PORT --path /old' \
	"backend add ng n 127.0.0.1:$pt" "backend add old o 127.0.0.1:$p1"
V=http://127.0.0.1:$kw_port
tap_is "$(h1 "$V/file" | sha256sum | cut -c1-64)" "$want" "h1 to h2 over TLS (ALPN h2): 5 MB whole"
tap_is "$(h2 "$V/file" | sha256sum | cut -c1-64)" "$want" "h2 to h2 over TLS: 5 MB whole"
tap_is "$(h1 -o /dev/null -w '%{http_code}' "$V/old")" 502 \
	"a TLS backend that does not select h2: 502"
tap_like "$(cat "$T/worker-tls.log")" 'backend 127\.0\.0\.1:[0-9]+ did not select h2 by ALPN' \
	"and the reason is logged"
tap_done
