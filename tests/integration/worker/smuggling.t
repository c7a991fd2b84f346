#!/bin/sh
# Hostile raw requests (RFC 9112 and the published desync classes: CL.TE,
# TE.CL, TE.TE, request-line and chunk tricks). A request that parsers may
# read two ways is refused: the client gets exactly the proxy's error and
# the close, and not one byte reaches a backend. A request the proxy
# accepts reaches the backend re-serialised, and what the backend received
# is compared byte for byte with what the proxy must send.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

# Two recording backends: app takes any host, other takes b.test, so a
# request routed by the wrong host shows in the wrong file.
rec_a=$T/rec-a rec_b=$T/rec-b
for _r in a b ; do
	kk_spawn "rec-$_r" python3 "$kw_dir/record.py" "$T/rec-$_r"
	kk_wait_for 10 test -s "$T/rec-$_r.log" ||
		{ echo "Bail out! recorder $_r did not start" ; exit 1 ; }
done
pa=$(head -n 1 "$T/rec-a.log") pb=$(head -n 1 "$T/rec-b.log")
kw_start smug \
	'listener add http 127.0.0.1:@PORT' \
	'cluster add app' \
	'cluster add other' \
	'frontend add app --listener 127.0.0.1:@PORT' \
	'frontend add other --listener 127.0.0.1:@PORT --host b.test' \
	"backend add app a 127.0.0.1:$pa" \
	"backend add other b 127.0.0.1:$pb"

# What the proxy adds to every request it sends upstream (kk_h1_write_request).
xf="X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: $kw_port\r\n"
# The recorders' answer as the client gets it: kept open, or the last one.
ok_keep='HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'
ok_close='HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'

# same FILE-GOT FILE-WANT NAME: one TAP line, byte-for-byte comparison.
same() {
	if cmp -s "$1" "$2" ; then
		tap_result 0 "$3"
	else
		tap_result 1 "$3"
		python3 -c 'import sys
for f in sys.argv[1:]:
    print("#   %s: %r" % (f.rsplit("/", 1)[-1], open(f, "rb").read()))' "$1" "$2"
	fi
}

# send REQUEST-FORMAT: the request to the proxy; the answer in $T/got,
# sent=closed when the proxy closed the connection.
send() {
	: > "$rec_a" ; : > "$rec_b"
	if printf "$1" | python3 "$kw_dir/send.py" "$kw_port" > "$T/got" ; then
		sent=closed
	else
		sent=open
	fi
}

# refused STATUS NAME REQUEST-FORMAT: the client gets exactly the error
# response for STATUS ("400 Bad Request") and the close; both backends
# received nothing.
refused() {
	_st=$1 _name=$2
	printf 'HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n' \
	    "$_st" $((${#_st} + 1)) > "$T/want"
	printf 'Cache-Control: no-cache\r\nConnection: close\r\n\r\n%s\n' "$_st" >> "$T/want"
	send "$3"
	same "$T/got" "$T/want" "$_name: $_st"
	tap_is "$sent" closed "$_name: connection closed"
	cat "$rec_a" "$rec_b" > "$T/both"
	: > "$T/none"
	same "$T/both" "$T/none" "$_name: nothing reaches a backend"
}

# passed NAME REQUEST-FORMAT ANSWER-FORMAT UPSTREAM-FORMAT [REC]: the client
# gets exactly ANSWER and the close; the backend (REC: $rec_a by default)
# received exactly UPSTREAM, and the other one nothing.
passed() {
	_name=$1 _rec=${5:-$rec_a}
	send "$2"
	printf "$3" > "$T/want"
	same "$T/got" "$T/want" "$_name: the client's answer"
	tap_is "$sent" closed "$_name: connection closed after the last request"
	printf "$4" > "$T/want"
	same "$_rec" "$T/want" "$_name: what the backend received"
	if test "$_rec" = "$rec_a" ; then _other=$rec_b ; else _other=$rec_a ; fi
	: > "$T/none"
	same "$_other" "$T/none" "$_name: nothing reaches the other backend"
}

R400='400 Bad Request'
H='Host: a.test\r\n'
TE='Transfer-Encoding: chunked\r\n'

# --- Framing: CL.TE, TE.CL, TE.TE (RFC 9112 §6.1, §6.3) -------------------
# Both framing fields: refused, never guessed at. §6.3 item 3 lets a
# server reject them or let Transfer-Encoding win; a proxy that picks one
# while its backend reads the other is the CL.TE / TE.CL desync.
refused "$R400" 'CL.TE: Content-Length, then Transfer-Encoding' \
	"POST / HTTP/1.1\r\n${H}Content-Length: 6\r\n${TE}\r\n0\r\n\r\nG"
refused "$R400" 'TE.CL: Transfer-Encoding, then Content-Length' \
	"POST / HTTP/1.1\r\n${H}${TE}Content-Length: 4\r\n\r\n5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n"
refused "$R400" 'two different Content-Length' \
	"POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"
refused "$R400" 'two equal Content-Length' \
	"POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc"
refused "$R400" 'Content-Length with a sign' "POST / HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\nabc"
refused "$R400" 'negative Content-Length' "POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n"
refused "$R400" 'Content-Length as a list' \
	"POST / HTTP/1.1\r\n${H}Content-Length: 3, 4\r\n\r\nabcd"
refused "$R400" 'Content-Length with a space inside' \
	"POST / HTTP/1.1\r\n${H}Content-Length: 1 2\r\n\r\nabcdefghijkl"
refused "$R400" 'empty Content-Length' "POST / HTTP/1.1\r\n${H}Content-Length: \r\n\r\nabc"
refused "$R400" 'Content-Length past 2^64' \
	"POST / HTTP/1.1\r\n${H}Content-Length: 18446744073709551617\r\n\r\nabc"
refused "$R400" 'chunked not the only coding' \
	"POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
refused "$R400" 'chunked not the final coding' \
	"POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"
refused "$R400" 'TE.TE: chunked, chunked' \
	"POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"
refused "$R400" 'TE.TE: two Transfer-Encoding fields' \
	"POST / HTTP/1.1\r\n${H}${TE}Transfer-Encoding: identity\r\n\r\n0\r\n\r\n"
refused "$R400" 'TE.TE: xchunked' \
	"POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"
refused "$R400" 'TE.TE: quoted "chunked"' \
	"POST / HTTP/1.1\r\n${H}Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n"
refused "$R400" 'TE.TE: empty Transfer-Encoding' \
	"POST / HTTP/1.1\r\n${H}Transfer-Encoding: \r\n\r\n0\r\n\r\n"
refused "$R400" 'TE.TE: space before the colon' \
	"POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"
refused "$R400" 'TE.TE: vertical tab after chunked' \
	"POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\013\r\n\r\n0\r\n\r\n"
refused "$R400" 'TE.TE: obs-fold continuing Transfer-Encoding' \
	"POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"
refused "$R400" 'Transfer-Encoding in HTTP/1.0' \
	'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'

# --- Look-alikes: '_' for '-' ----------------------------------------------
# A backend that maps names to CGI-style variables reads Transfer_Encoding
# as Transfer-Encoding: 400 rather than a silent drop, so an operator sees
# it counted (errors-field-look-alike).
refused "$R400" 'CL.TE through Transfer_Encoding' \
	"POST / HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer_Encoding: chunked\r\n\r\n0\r\n\r\nG"
refused "$R400" 'Content_Length beside Transfer-Encoding' \
	"POST / HTTP/1.1\r\n${H}${TE}Content_Length: 4\r\n\r\n0\r\n\r\n"
refused "$R400" 'content_length alone, lower case' \
	"POST / HTTP/1.1\r\n${H}content_length: 3\r\n\r\nabc"
refused "$R400" 'X_Forwarded_For (a spoofed client address)' \
	"GET / HTTP/1.1\r\n${H}X_Forwarded_For: 10.0.0.1\r\n\r\n"
refused "$R400" 'X-Forwarded_Proto' "GET / HTTP/1.1\r\n${H}X-Forwarded_Proto: https\r\n\r\n"

# --- Bytes that are not HTTP (RFC 9110 §5.1, §5.5; RFC 9112 §2.2) ---------
refused "$R400" 'bare LF line ends' 'GET / HTTP/1.1\nHost: a\n\n'
refused "$R400" 'bare LF in one field' "GET / HTTP/1.1\r\n${H}X: y\nZ: 1\r\n\r\n"
refused "$R400" 'obs-fold' "GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n"
refused "$R400" 'space before the colon of Host' 'GET / HTTP/1.1\r\nHost : a\r\n\r\n'
refused "$R400" 'control character in a value' "GET / HTTP/1.1\r\n${H}X: a\001b\r\n\r\n"
refused "$R400" 'bare CR in a value' "GET / HTTP/1.1\r\n${H}X: a\rb\r\n\r\n"
refused "$R400" 'NUL in a value' "GET / HTTP/1.1\r\n${H}X: a\000b\r\n\r\n"
refused "$R400" 'NUL in a field name' "GET / HTTP/1.1\r\n${H}X\000Y: 1\r\n\r\n"
refused "$R400" 'NUL in the target' "GET /a\000b HTTP/1.1\r\n${H}\r\n"
refused "$R400" 'control character in a field name' "GET / HTTP/1.1\r\n${H}X\001Y: 1\r\n\r\n"
refused "$R400" 'high byte in a field name' "GET / HTTP/1.1\r\n${H}X\377Y: 1\r\n\r\n"

# --- The request line (RFC 9112 §3: method SP target SP version) -----------
refused "$R400" 'two spaces after the method' "GET  / HTTP/1.1\r\n${H}\r\n"
refused "$R400" 'two spaces after the target' "GET /  HTTP/1.1\r\n${H}\r\n"
refused "$R400" 'a run of spaces hiding a version' "GET / HTTP/1.1   HTTP/1.0\r\n${H}\r\n"
refused "$R400" 'tab between method and target' "GET\t/ HTTP/1.1\r\n${H}\r\n"
refused "$R400" 'tab inside the target' "GET /a\tb HTTP/1.1\r\n${H}\r\n"
refused "$R400" 'space after the version' "GET / HTTP/1.1 \r\n${H}\r\n"
refused "$R400" 'lower-case version' "GET / http/1.1\r\n${H}\r\n"
refused "$R400" 'lower-case method' "get / HTTP/1.1\r\n${H}\r\n"
refused '505 HTTP Version Not Supported' 'HTTP/0.9 request line' 'GET /\r\n\r\n'
refused '505 HTTP Version Not Supported' 'HTTP/2.0 in an HTTP/1 request line' \
	"GET / HTTP/2.0\r\n${H}\r\n"
refused "$R400" 'https absolute-form on a plain listener' \
	"GET https://a.test/ HTTP/1.1\r\n${H}\r\n"
refused "$R400" 'absolute-form with userinfo' "GET http://u:p@b.test/ HTTP/1.1\r\n${H}\r\n"
refused "$R400" 'absolute-form without a path' "GET http://b.test HTTP/1.1\r\n${H}\r\n"
refused "$R400" 'target of no known form' "GET a.test/ HTTP/1.1\r\n${H}\r\n"
refused '501 Not Implemented' 'CONNECT' 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n'

# --- Host (RFC 9112 §3.2, RFC 9110 §4.2.1, §7.2) ---------------------------
refused "$R400" 'missing Host in HTTP/1.1' 'GET / HTTP/1.1\r\n\r\n'
refused "$R400" 'two Host fields' "GET / HTTP/1.1\r\n${H}Host: b.test\r\n\r\n"
refused "$R400" 'two Host fields, one empty' "GET / HTTP/1.1\r\n${H}Host: \r\n\r\n"
refused "$R400" 'empty Host' 'GET / HTTP/1.1\r\nHost: \r\n\r\n'
refused "$R400" 'Host with userinfo' 'GET / HTTP/1.1\r\nHost: a.test@b.test\r\n\r\n'
refused "$R400" 'Host as a list' 'GET / HTTP/1.1\r\nHost: a.test, b.test\r\n\r\n'
refused "$R400" 'Host with a space' 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n'

# --- Chunked framing (RFC 9112 §7.1) ---------------------------------------
# BWS is allowed after a chunk size only before a ';' (§7.1.1): a size line
# ending in white space is refused.
refused "$R400" 'chunk size with a space before CRLF' \
	"POST / HTTP/1.1\r\n${H}${TE}\r\n3 \r\nabc\r\n0\r\n\r\n"
refused "$R400" 'chunk size with a tab before CRLF' \
	"POST / HTTP/1.1\r\n${H}${TE}\r\n3\t\r\nabc\r\n0\r\n\r\n"
refused "$R400" 'last chunk size with a space before CRLF' \
	"POST / HTTP/1.1\r\n${H}${TE}\r\n3\r\nabc\r\n0 \r\n\r\n"
refused "$R400" 'chunk size with a leading space' \
	"POST / HTTP/1.1\r\n${H}${TE}\r\n 3\r\nabc\r\n0\r\n\r\n"
refused "$R400" 'chunk size not hexadecimal' \
	"POST / HTTP/1.1\r\n${H}${TE}\r\n0x3\r\nabc\r\n0\r\n\r\n"
refused "$R400" 'chunk size overflowing' \
	"POST / HTTP/1.1\r\n${H}${TE}\r\n10000000000000003\r\nabc\r\n0\r\n\r\n"
refused "$R400" 'chunk data longer than its size' \
	"POST / HTTP/1.1\r\n${H}${TE}\r\n3\r\nabcd\r\n0\r\n\r\n"
refused "$R400" 'no CRLF after chunk data' \
	"POST / HTTP/1.1\r\n${H}${TE}\r\n3\r\nabc0\r\n\r\n"
refused "$R400" 'bare LF after chunk data' \
	"POST / HTTP/1.1\r\n${H}${TE}\r\n3\r\nabc\n0\r\n\r\n"
refused "$R400" 'bare LF after a chunk size' \
	"POST / HTTP/1.1\r\n${H}${TE}\r\n3\nabc\r\n0\r\n\r\n"
refused "$R400" 'bare LF in a chunk extension' \
	"POST / HTTP/1.1\r\n${H}${TE}\r\n3;a\nb\r\nabc\r\n0\r\n\r\n"
refused "$R400" 'CRLF inside a quoted chunk extension' \
	"POST / HTTP/1.1\r\n${H}${TE}\r\n3;a=\"x\r\n0\r\n\r\n\"\r\nabc\r\n0\r\n\r\n"
refused "$R400" 'bare CR in a chunk extension' \
	"POST / HTTP/1.1\r\n${H}${TE}\r\n3;a=b\rc\r\nabc\r\n0\r\n\r\n"
refused "$R400" 'a request line as a trailer' \
	"POST / HTTP/1.1\r\n${H}${TE}\r\n0\r\nGET /admin HTTP/1.1\r\n\r\n"

# A head larger than a buffer: 431.
big=$(python3 -c 'print("X-Big: " + "a" * 20000)')
refused '431 Request Header Fields Too Large' 'head larger than a buffer' \
	"GET / HTTP/1.1\r\n${H}$big\r\n\r\n"

# --- Accepted, normalised: exactly this reaches the backend ----------------
C='Connection: close\r\n'
P='POST / HTTP/1.1\r\n'
G='GET / HTTP/1.1\r\n'
passed 'valid chunked body: extensions and trailers dropped, re-chunked' \
	"${P}${H}${TE}${C}\r\n3;name=\"v a\"\r\nabc\r\n2 ; x=y\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n" \
	"$ok_close" \
	"${P}${H}${xf}${TE}\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
passed 'framing fields in trailers are dropped with them' \
	"${P}${H}${TE}${C}\r\n0\r\n${TE}Content-Length: 9\r\n\r\n" \
	"$ok_close" \
	"${P}${H}${xf}${TE}\r\n0\r\n\r\n"
passed 'chunk sizes in upper case with leading zeros' \
	"${P}${H}${TE}${C}\r\n00A\r\n0123456789\r\n000\r\n\r\n" \
	"$ok_close" \
	"${P}${H}${xf}${TE}\r\na\r\n0123456789\r\n0\r\n\r\n"
passed 'Transfer-Encoding with a tab (OWS) and any case' \
	"${P}${H}Transfer-Encoding:\tChunked\r\n${C}\r\n1\r\nx\r\n0\r\n\r\n" \
	"$ok_close" \
	"${P}${H}${xf}${TE}\r\n1\r\nx\r\n0\r\n\r\n"
passed 'Content-Length with leading zeros' \
	"${P}${H}Content-Length: 0003\r\n${C}\r\nabc" \
	"$ok_close" \
	"${P}${H}${xf}Content-Length: 3\r\n\r\nabc"
hidden="GET /admin HTTP/1.1\r\n${H}\r\n"
passed 'a request hidden in a body stays body' \
	"${P}${H}Content-Length: 37\r\n${C}\r\n$hidden" \
	"$ok_close" \
	"${P}${H}${xf}Content-Length: 37\r\n\r\n$hidden"
r1="GET /1 HTTP/1.1\r\n${H}" r3="GET /3 HTTP/1.1\r\n${H}"
r2="POST /2 HTTP/1.1\r\n${H}Content-Length: 1\r\n"
passed 'pipelined requests, each re-serialised' \
	"$r1\r\n$r2\r\nx$r3$C\r\n" \
	"$ok_keep$ok_keep$ok_close" \
	"$r1$xf\r\nPOST /2 HTTP/1.1\r\n${H}${xf}Content-Length: 1\r\n\r\nx$r3$xf\r\n"
passed 'HTTP/1.0 keep-alive, then a last request' \
	"GET /1 HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n${H}\r\n" \
	'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok'"$ok_close" \
	"GET /1 HTTP/1.1\r\n${H}${xf}\r\nGET /2 HTTP/1.1\r\n${H}${xf}\r\n"
passed 'empty lines before a request line are ignored' \
	"\r\n\r\n${G}${H}${C}\r\n" "$ok_close" "${G}${H}${xf}\r\n"
# Absolute-form (RFC 9112 §3.2.2): the authority routes, and the Host sent
# upstream is that authority, so the backend reads the host that was routed.
passed 'absolute-form with a matching Host' \
	"GET http://a.test/p?q=1 HTTP/1.1\r\n${H}${C}\r\n" "$ok_close" \
	"GET /p?q=1 HTTP/1.1\r\n${H}${xf}\r\n"
passed 'absolute-form authority wins over a different Host' \
	"GET http://b.test/p HTTP/1.1\r\nX: 1\r\n${H}${C}\r\n" "$ok_close" \
	"GET /p HTTP/1.1\r\nHost: b.test\r\nX: 1\r\n${xf}\r\n" "$rec_b"
passed 'absolute-form: scheme in upper case, Host of another cluster' \
	"GET HTTP://a.test:8080/ HTTP/1.1\r\nHost: b.test\r\n${C}\r\n" "$ok_close" \
	"${G}Host: a.test:8080\r\n${xf}\r\n"
passed 'absolute-form in HTTP/1.0 without Host gets one' \
	"GET http://b.test/ HTTP/1.0\r\n\r\n" "$ok_close" \
	"${G}Host: b.test\r\n${xf}\r\n" "$rec_b"
# Connection names hop-by-hop fields (RFC 9110 §7.6.1), but never the
# framing, Host or X-Forwarded-For this proxy writes itself.
passed 'Connection: close, Transfer-Encoding keeps the chunked framing' \
	"${P}${H}Connection: close, Transfer-Encoding\r\n${TE}\r\n1\r\nz\r\n0\r\n\r\n" \
	"$ok_close" \
	"${P}${H}${xf}${TE}\r\n1\r\nz\r\n0\r\n\r\n"
passed 'Connection: Content-Length keeps the length' \
	"${P}${H}Connection: close, Content-Length, Host\r\nContent-Length: 2\r\n\r\nhi" \
	"$ok_close" \
	"${P}${H}${xf}Content-Length: 2\r\n\r\nhi"
# Nor can it make an untrusted client's X-Forwarded-For pass as it is:
# the proxy's own replaces it (a trusted proxy's list: tests/unit/worker/head.c).
client_xff='X-Forwarded-For: 10.0.0.1\r\n'
passed 'Connection: X-Forwarded-For still has the client list replaced' \
	"${G}${H}Connection: close, X-Forwarded-For, X-Drop\r\nX-Drop: 1\r\n$client_xff\r\n" \
	"$ok_close" \
	"${G}${H}${xf}\r\n"
# Expect is end to end: the backend decides (RFC 9110 §10.1.1).
passed 'Expect: 100-continue with its body already sent' \
	"${P}${H}Expect: 100-continue\r\nContent-Length: 2\r\n${C}\r\nhi" \
	"$ok_close" \
	"${P}${H}Expect: 100-continue\r\n${xf}Content-Length: 2\r\n\r\nhi"
passed 'other names with an underscore pass' \
	"${G}${H}X_Custom: 1\r\n${C}\r\n" "$ok_close" \
	"${G}${H}X_Custom: 1\r\n${xf}\r\n"

# --- Each refusal is counted by reason --------------------------------------
kill -USR1 "$kw_pid"
kk_wait_for 10 grep -q '^errors-request-line ' "$T/worker-smug.log"
count() { sed -n "s/^errors-$1 //p" "$T/worker-smug.log" | tail -n 1 ; }
tap_is "$(count field-look-alike)" 5 'look-alikes counted as errors-field-look-alike'
tap_is "$(count request-line)" 3 'request-line spacing and a tab in the target counted as errors-request-line'

tap_done
