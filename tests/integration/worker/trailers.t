#!/bin/sh
# Trailer fields (RFC 9110 §6.5) through the proxy, both ways: announced
# by a Trailer field, they go on with the last chunk when the outgoing
# framing is chunked, and are dropped when it has no room for them (an
# HTTP/1.0 client reads the body until the close). Framing and routing
# fields among them never pass (§6.5.1); trailers nobody announced are
# dropped, as they always were. What the backend received and what the
# client got are compared byte for byte.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

rec=$T/rec
kk_spawn trailerback python3 "$kw_dir/record.py" "$rec" 300 trailers
kk_wait_for 10 test -s "$T/trailerback.log" ||
	{ echo "Bail out! backend did not start" ; exit 1 ; }
pb=$(head -n 1 "$T/trailerback.log")
kw_start trailers \
	'listener add http 127.0.0.1:@PORT' 'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT' "backend add app b 127.0.0.1:$pb"

xf="X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: $kw_port\r\n"
H='Host: a.test\r\n'
C='Connection: close\r\n'
TE='Transfer-Encoding: chunked\r\n'
P="POST / HTTP/1.1\r\n$H"
A='Trailer: X-Sum\r\n'
B='\r\n3\r\nabc\r\n0\r\n'	# the head's end, a chunk, the last chunk
S='X-Sum: 42\r\n'
ok_close='HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'

same() {	# same FILE-GOT FILE-WANT NAME
	if cmp -s "$1" "$2" ; then
		tap_result 0 "$3"
	else
		tap_result 1 "$3"
		python3 -c 'import sys
for f in sys.argv[1:]:
    print("#   %s: %r" % (f.rsplit("/", 1)[-1], open(f, "rb").read()))' "$1" "$2"
	fi
}

# upstream NAME REQUEST-FORMAT UPSTREAM-FORMAT: the client gets the
# backend's "ok" and the close; the backend received exactly UPSTREAM.
upstream() {
	: > "$rec"
	printf "$2" | python3 "$kw_dir/send.py" "$kw_port" > "$T/got"
	printf "$ok_close" > "$T/want"
	same "$T/got" "$T/want" "$1: answered"
	printf "$3" > "$T/want"
	same "$rec" "$T/want" "$1: upstream"
}

# downstream NAME REQUEST-FORMAT ANSWER-FORMAT: what the client got.
downstream() {
	printf "$2" | python3 "$kw_dir/send.py" "$kw_port" > "$T/got"
	printf "$3" > "$T/want"
	same "$T/got" "$T/want" "$1"
}

# --- Request trailers, client to backend -----------------------------------
upstream 'announced request trailers go on with the last chunk' \
	"${P}${A}${TE}${C}${B}${S}\r\n" \
	"${P}${A}${xf}${TE}${B}${S}\r\n"
bad="${TE}Content-Length: 9\r\nHost: b.test\r\nX-Forwarded-For: 10.0.0.1\r\n"
upstream 'framing and routing fields among them are dropped, the rest kept' \
	"${P}${A}${TE}${C}${B}${bad}${S}X-Other:  v  \r\n\r\n" \
	"${P}${A}${xf}${TE}${B}${S}X-Other: v\r\n\r\n"
upstream 'trailers nobody announced are dropped' \
	"${P}${TE}${C}${B}${S}\r\n" \
	"${P}${xf}${TE}${B}\r\n"
upstream 'a Trailer field without a chunked body is dropped' \
	"${P}${A}Content-Length: 3\r\n${C}\r\nabc" \
	"${P}${xf}Content-Length: 3\r\n\r\nabc"

# A trailer section that arrives in pieces is read whole, then passed on.
: > "$rec"
python3 - "$kw_port" > "$T/got" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
for part in (b"POST / HTTP/1.1\r\nHost: a.test\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n"
             b"Connection: close\r\n\r\n3\r\nabc\r\n0\r\nX-S", b"um: 4", b"2\r\n", b"\r\n"):
    s.sendall(part)
    time.sleep(0.2)
s.settimeout(5)
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.buffer.write(out)
PY
printf "$ok_close" > "$T/want"
same "$T/got" "$T/want" "trailers in pieces: answered"
printf "${P}${A}${xf}${TE}${B}${S}\r\n" > "$T/want"
same "$rec" "$T/want" "trailers in pieces: passed on whole"

# A client that leaves in the middle of its trailers is an abort: the
# connection closes, nothing answered, nothing of the trailers sent on.
: > "$rec"
got=$(python3 - "$kw_port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(b"POST / HTTP/1.1\r\nHost: a.test\r\nTrailer: X-Sum\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Su")
s.shutdown(socket.SHUT_WR)
s.settimeout(10)
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except OSError:
    pass
print(len(out), "bytes, closed")
PY
)
tap_is "$got" "0 bytes, closed" "trailers cut by the client's end of file: closed, unanswered"
tap_is "$(grep -c '^X-Su' "$rec")" 0 "and nothing of them reached the backend"

# A malformed trailer section is refused before anything of it goes up.
R400='HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n'
R400="${R400}Cache-Control: no-cache\r\n${C}\r\n400 Bad Request\n"
downstream 'a request line among the trailers: 400' \
	"${P}${A}${TE}${B}GET /admin HTTP/1.1\r\n\r\n" "$R400"

# --- Response trailers, backend to client ----------------------------------
OK='HTTP/1.1 200 OK\r\n'
downstream 'announced response trailers reach an HTTP/1.1 client' \
	"GET /sum HTTP/1.1\r\n${H}${C}\r\n" \
	"${OK}${A}${TE}${C}${B}${S}\r\n"
downstream 'framing fields among response trailers are dropped' \
	"GET /framing HTTP/1.1\r\n${H}${C}\r\n" \
	"${OK}${A}${TE}${C}${B}${S}\r\n"
downstream 'an HTTP/1.0 client, read until the close, gets no trailers' \
	"GET /sum HTTP/1.0\r\n${H}\r\n" \
	"${OK}${C}\r\nabc"
downstream 'response trailers nobody announced are dropped' \
	"GET /quiet HTTP/1.1\r\n${H}${C}\r\n" \
	"${OK}${TE}${C}${B}\r\n"
# On a kept-alive connection the next response follows the trailers.
downstream 'a second request after response trailers' \
	"GET /sum HTTP/1.1\r\n${H}\r\nGET / HTTP/1.1\r\n${H}${C}\r\n" \
	"${OK}${A}${TE}${B}${S}\r\n${ok_close}"
tap_done
