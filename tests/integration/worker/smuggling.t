#!/bin/sh
# Requests that parsers may read two ways are refused with 400 (or 431,
# 501, 505) and the connection is closed; nothing reaches the backend.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_backend b1 ; p1=$kk_port
kw_start smug \
	'listener add http 127.0.0.1:@PORT' \
	'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT' \
	"backend add app b1 127.0.0.1:$p1"

# refused STATUS NAME PRINTF-FORMAT: the answer's status line is STATUS
# and the proxy closed the connection after it.
refused() {
	_want=$1 _name=$2
	_out=$(printf "$3" | kw_raw 5)
	tap_is "$(printf '%s' "$_out" | kw_first)" "HTTP/1.1 $_want" "$_name"
	tap_fails "$_name: nothing after the refusal" sh -c \
		"printf '%s' \"\$1\" | grep -aq '^backend '" sh "$_out"
}

refused '400 Bad Request' 'Content-Length with Transfer-Encoding' \
	'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
refused '400 Bad Request' 'two different Content-Length' \
	'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'
refused '400 Bad Request' 'Content-Length with a sign' \
	'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc'
refused '400 Bad Request' 'Content-Length as a list' \
	'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabcd'
refused '400 Bad Request' 'chunked not the only coding' \
	'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'
refused '400 Bad Request' 'chunked not the final coding' \
	'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n'
refused '400 Bad Request' 'Transfer-Encoding with a bad value' \
	'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n'
refused '400 Bad Request' 'Transfer-Encoding in HTTP/1.0' \
	'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
refused '400 Bad Request' 'missing Host in HTTP/1.1' 'GET / HTTP/1.1\r\n\r\n'
refused '400 Bad Request' 'two Host fields' 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'
refused '400 Bad Request' 'Host with a space' 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n'
refused '400 Bad Request' 'bare LF line ends' 'GET / HTTP/1.1\nHost: a\n\n'
refused '400 Bad Request' 'bare LF in one field' 'GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n'
refused '400 Bad Request' 'obs-fold' 'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n'
refused '400 Bad Request' 'space before the colon' 'GET / HTTP/1.1\r\nHost : a\r\n\r\n'
refused '400 Bad Request' 'control character in a value' 'GET / HTTP/1.1\r\nHost: a\r\nX: a\001b\r\n\r\n'
refused '400 Bad Request' 'bare CR in a value' 'GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n'
refused '400 Bad Request' 'bare LF in a chunk extension' \
	'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a\nb\r\nabc\r\n0\r\n\r\n'
refused '400 Bad Request' 'bare LF after a chunk size' \
	'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n'
refused '400 Bad Request' 'chunk size not hexadecimal' \
	'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n'
refused '400 Bad Request' 'chunk size overflowing' \
	'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000003\r\nabc\r\n0\r\n\r\n'
refused '400 Bad Request' 'chunk data longer than its size' \
	'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n'
refused '505 HTTP Version Not Supported' 'HTTP/2.0 in an HTTP/1 request line' \
	'GET / HTTP/2.0\r\nHost: a\r\n\r\n'
refused '501 Not Implemented' 'CONNECT' 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n'

# A head larger than a buffer: 431.
big=$(python3 -c 'print("X-Big: " + "a" * 20000)')
refused '431 Request Header Fields Too Large' 'head larger than a buffer' \
	"GET / HTTP/1.1\r\nHost: a\r\n$big\r\n\r\n"

# What is valid passes: extensions dropped, trailers dropped, re-chunked.
out=$(printf 'POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3;name="v a"\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n' | kw_raw)
tap_is "$(printf '%s' "$out" | kw_first)" 'HTTP/1.1 200 OK' "valid chunked request with extensions and trailers"
tap_like "$out" 'abcde' "its body arrives de-chunked at the backend"

tap_done
