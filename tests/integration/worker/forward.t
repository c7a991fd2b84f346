#!/bin/sh
# Forwarding fields and request ids, as the backend saw them: each
# --forward switch alone, all and none; Forwarded for IPv4 and IPv6
# clients; trusted and untrusted clients (by the socket's address and by
# a PROXY header's) sending their own X-Forwarded-*, Forwarded and
# request id; the same over h2c, one code path; ids unique over 1000
# requests and across workers, returned on the response unless the
# backend answers one; and through the supervisor, set trusted-proxies
# reaching the workers and a bad prefix refused with nothing changed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_backend b ; pb=$kk_port
# A backend that answers with a request id of its own.
cat > "$T/ownid.py" <<'PY'
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
def serve(c):
    data = b""
    while b"\r\n\r\n" not in data:
        d = c.recv(65536)
        if not d:
            break
        data += d
    c.sendall(b"HTTP/1.1 200 OK\r\nX-Request-Id: from-backend\r\nContent-Length: 2\r\n"
              b"Connection: close\r\n\r\nok")
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
kk_spawn ownid python3 "$T/ownid.py"
kk_wait_for 10 test -s "$T/ownid.log" || { echo "Bail out! ownid.py did not start" ; exit 1 ; }
pown=$(head -n 1 "$T/ownid.log")

v6=
python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null && v6=1

ALL=xff,xfp,xfport,xfhost,forwarded
pxff=$(kk_free_port) ; pxfp=$(kk_free_port) ; pxfport=$(kk_free_port)
pxfhost=$(kk_free_port) ; pfwd=$(kk_free_port) ; pall=$(kk_free_port)
pnone=$(kk_free_port) ; ppp=$(kk_free_port) ; pown_l=$(kk_free_port) ; p6=$(kk_free_port)
# One listener per switch, all of them, none; an --expect-proxy one, whose
# clients are what their PROXY header says; one to the backend with its
# own id; on ::1 when the machine has it.
conf() {
	printf '%s\n' 'cluster add app' 'cluster add own' "backend add app b 127.0.0.1:$pb" \
		"backend add own o 127.0.0.1:$pown"
	for p in @PORT $pxff $pxfp $pxfport $pxfhost $pfwd $pall $pnone $ppp ; do
		echo "frontend add app --listener 127.0.0.1:$p"
	done
	echo "frontend add own --listener 127.0.0.1:$pown_l"
	test -n "$v6" && echo "frontend add app --listener [::1]:$p6"
}
listeners="listener add http 127.0.0.1:@PORT
listener add http 127.0.0.1:$pxff --forward xff
listener add http 127.0.0.1:$pxfp --forward xfp
listener add http 127.0.0.1:$pxfport --forward xfport
listener add http 127.0.0.1:$pxfhost --forward xfhost
listener add http 127.0.0.1:$pfwd --forward forwarded
listener add http 127.0.0.1:$pall --forward $ALL --request-id X-Request-Id
listener add http 127.0.0.1:$pnone --no-forward
listener add http 127.0.0.1:$ppp --expect-proxy --forward $ALL --request-id X-Request-Id
listener add http 127.0.0.1:$pown_l --request-id X-Request-Id"
test -n "$v6" && listeners="$listeners
listener add http [::1]:$p6 --forward $ALL"

# Worker u: the loopback client is not trusted; 10.9.0.0/16 and
# 2001:db8:9::/48, behind the PROXY headers, are.
kw_start u 'set trusted-proxies 10.9.0.0/16,2001:db8:9::/48' "$listeners" "$(conf)"
pu=$kw_port
# Worker t: the loopback client is trusted.
kw_start t 'set trusted-proxies 127.0.0.0/8' \
	"listener add http 127.0.0.1:@PORT --forward $ALL --request-id X-Request-Id" \
	'cluster add app' "backend add app b 127.0.0.1:$pb" 'frontend add app --listener 127.0.0.1:@PORT'
pt=$kw_port

# The forwarding fields of an echoed request, in the order sent, each with
# its CR: the exact bytes.
fields() { printf '%s\n' "$1" | sed -n '/^\(X-Forwarded-[A-Za-z]*\|Forwarded\|X-Request-Id\): /Ip' ; }
lower() { printf '%s\n' "$1" | tr A-Z a-z ; }
last_id() { fields "$1" | tail -n 1 | tr -d '\r' ; }
crlf() { printf "$1" | sed 's/$/\r/' ; }
get() { p=$1 ; shift ; kk_curl -H 'Host: a.test:8080' "$@" "http://127.0.0.1:$p/x" ; }
h2() { p=$1 ; shift ; kk_curl --http2-prior-knowledge -H 'Host: a.test:8080' "$@" "http://127.0.0.1:$p/x" ; }
# The client's own forwarding fields and request id.
spoof() { "$@" -H 'X-Forwarded-For: 203.0.113.5' -H 'X-Forwarded-Proto: https' \
	-H 'X-Forwarded-Port: 443' -H 'X-Forwarded-Host: orig.test' \
	-H 'Forwarded: for=203.0.113.5;proto=https' -H 'X-Request-Id: client-id-1' ; }
RID='[0-9a-f]{32}'

# Each switch, on alone; off, the others: as the backend saw them.
tap_is "$(fields "$(get "$pu")")" \
	"$(crlf "X-Forwarded-For: 127.0.0.1\nX-Forwarded-Proto: http\nX-Forwarded-Port: $pu")" \
	"default: X-Forwarded-For, -Proto, -Port, as before the switches"
tap_is "$(fields "$(get "$pxff")")" "$(crlf 'X-Forwarded-For: 127.0.0.1')" "--forward xff"
tap_is "$(fields "$(get "$pxfp")")" "$(crlf 'X-Forwarded-Proto: http')" "--forward xfp"
tap_is "$(fields "$(get "$pxfport")")" "$(crlf "X-Forwarded-Port: $pxfport")" "--forward xfport"
tap_is "$(fields "$(get "$pxfhost")")" "$(crlf 'X-Forwarded-Host: a.test:8080')" \
	"--forward xfhost: the Host as received"
tap_is "$(fields "$(get "$pfwd")")" "$(crlf 'Forwarded: for=127.0.0.1;proto=http;host="a.test:8080"')" \
	"--forward forwarded: for, proto, host quoted for its port"
tap_is "$(fields "$(get "$pnone")")" "" "--no-forward: none"
out=$(fields "$(spoof get "$pnone")")
tap_is "$(printf '%s\n' "$out" | grep -v '^X-Request-Id')" "" \
	"--no-forward: an untrusted client's dropped too"
tap_is "$out" "$(crlf 'X-Request-Id: client-id-1')" \
	"without --request-id, a client's X-Request-Id is any other field"
out=$(get "$pall")
tap_is "$(fields "$out" | grep -v '^X-Request-Id')" "$(crlf "X-Forwarded-For: 127.0.0.1
X-Forwarded-Proto: http\nX-Forwarded-Port: $pall\nX-Forwarded-Host: a.test:8080
Forwarded: for=127.0.0.1;proto=http;host=\"a.test:8080\"")" "all five, in order"
tap_like "$(last_id "$out")" "^X-Request-Id: $RID\$" "and a request id, last"

# An untrusted client's fields are dropped, ours alone sent; a trusted
# one's kept, its lists extended.
out=$(spoof get "$pall")
tap_is "$(fields "$out" | grep -v '^X-Request-Id')" "$(fields "$(get "$pall")" | grep -v '^X-Request-Id')" \
	"untrusted client: its X-Forwarded-*, Forwarded dropped, ours as without them"
tap_like "$(last_id "$out")" "^X-Request-Id: $RID\$" "and its request id replaced"
trusted_h1=$(fields "$(spoof get "$pt")")
tap_is "$trusted_h1" "$(crlf "X-Forwarded-Proto: https\nX-Forwarded-Port: 443
X-Forwarded-Host: orig.test\nX-Forwarded-For: 203.0.113.5, 127.0.0.1
Forwarded: for=203.0.113.5;proto=https, for=127.0.0.1;proto=http;host=\"a.test:8080\"
X-Request-Id: client-id-1")" \
	"trusted client: lists extended, -Proto, -Port, -Host and the id kept"

# The same over h2c: one code path.
tap_is "$(fields "$(h2 "$pu")")" "$(fields "$(get "$pu")")" "h2c, default: the same fields"
tap_is "$(fields "$(h2 "$pnone")")" "" "h2c, --no-forward: none"
tap_is "$(fields "$(spoof h2 "$pall")" | grep -v '^X-Request-Id')" \
	"$(fields "$(get "$pall")" | grep -v '^X-Request-Id')" "h2c, untrusted: ours alone"
# (the client's own fields in lower case, as HTTP/2 carries names)
tap_is "$(lower "$(fields "$(spoof h2 "$pt")")")" "$(lower "$trusted_h1")" \
	"h2c, trusted: as over HTTP/1.1"

# Behind a PROXY header the client is its source: trusted or not by it.
pp() { printf "PROXY $1\r\nGET / HTTP/1.1\r\nHost: a.test\r\nX-Forwarded-For: 203.0.113.5\r\n\
X-Forwarded-Proto: https\r\nForwarded: for=203.0.113.5\r\nX-Request-Id: abc-123\r\n\
Connection: close\r\n\r\n" | python3 "$kw_dir/raw.py" "$ppp" | sed -n '/^backend /,$p' ; }
tap_is "$(fields "$(pp 'TCP4 10.9.1.2 127.0.0.1 5555 80')")" "$(crlf "X-Forwarded-Proto: https
X-Forwarded-For: 203.0.113.5, 10.9.1.2\nX-Forwarded-Port: $ppp\nX-Forwarded-Host: a.test
Forwarded: for=203.0.113.5, for=10.9.1.2;proto=http;host=a.test\nX-Request-Id: abc-123")" \
	"PROXY source in trusted-proxies: kept and extended"
out=$(fields "$(pp 'TCP4 192.0.2.7 127.0.0.1 5555 80')")
tap_is "$(printf '%s\n' "$out" | grep -v '^X-Request-Id')" "$(crlf "X-Forwarded-For: 192.0.2.7
X-Forwarded-Proto: http\nX-Forwarded-Port: $ppp\nX-Forwarded-Host: a.test
Forwarded: for=192.0.2.7;proto=http;host=a.test")" "PROXY source not trusted: replaced"
tap_like "$out" "X-Request-Id: $RID" "and its request id too"
tap_is "$(fields "$(pp 'TCP6 2001:db8:9::5 ::1 5555 80')" | sed -n '/^\(X-Forwarded-For\|Forwarded\)/p')" \
	"$(crlf "X-Forwarded-For: 203.0.113.5, 2001:db8:9::5
Forwarded: for=203.0.113.5, for=\"[2001:db8:9::5]\";proto=http;host=a.test")" \
	"a trusted IPv6 source: bracketed and quoted in Forwarded"
tap_is "$(fields "$(pp 'TCP6 2001:db8::77 ::1 5555 80')" | sed -n '/^\(X-Forwarded-For\|Forwarded\)/p')" \
	"$(crlf "X-Forwarded-For: 2001:db8::77\nForwarded: for=\"[2001:db8::77]\";proto=http;host=a.test")" \
	"an untrusted IPv6 source: replaced"

if test -n "$v6" ; then
	out=$(kk_curl -g -H 'Host: a.test' "http://[::1]:$p6/x")
	tap_is "$(fields "$out" | sed -n '/^\(X-Forwarded-For\|Forwarded\)/p')" \
		"$(crlf "X-Forwarded-For: ::1\nForwarded: for=\"[::1]\";proto=http;host=a.test")" \
		"a client on ::1: Forwarded for=\"[::1]\""
else
	tap_diag "no IPv6 loopback: the ::1 listener case is not run"
fi

# Request ids: 32 hex digits, 1000 requests on one connection all
# different, the worker's prefix on each, another worker's another.
kk_curl -H 'Host: a.test' "http://127.0.0.1:$pall/n/[1-1000]" | tr -d '\r' |
	sed -n 's/^X-Request-Id: //p' > "$T/ids"
tap_is "$(grep -cE "^$RID\$" "$T/ids")" 1000 "1000 requests: 1000 ids of 32 hex digits"
tap_is "$(sort -u "$T/ids" | wc -l | tr -d ' ')" 1000 "all different"
tap_is "$(cut -c1-16 "$T/ids" | sort -u | wc -l | tr -d ' ')" 1 "one worker: one prefix"
other=$(fields "$(get "$pt")" | tr -d '\r' | sed -n 's/^X-Request-Id: //p')
tap_like "$other" "^$RID\$" "another worker's id"
tap_ok "with another prefix" test "$(printf '%s' "$other" | cut -c1-16)" != "$(head -c 16 "$T/ids")"

# The response carries the id the backend was given, unless the backend
# answers one itself.
out=$(kk_curl -i -H 'Host: a.test' "http://127.0.0.1:$pall/r" | tr -d '\r')
sent=$(printf '%s\n' "$out" | sed -n '/^backend /,$s/^X-Request-Id: //p')
tap_like "$sent" "^$RID\$" "h1: the id went upstream"
tap_is "$(printf '%s\n' "$out" | sed -n '1,/^$/s/^X-Request-Id: //p')" "$sent" "and came back on the response"
out=$(kk_curl -i --http2-prior-knowledge -H 'Host: a.test' "http://127.0.0.1:$pall/r" | tr -d '\r')
sent=$(printf '%s\n' "$out" | sed -n '/^backend /,$s/^X-Request-Id: //p')
tap_is "$(printf '%s\n' "$out" | sed -n '1,/^$/s/^x-request-id: //p')" "$sent" "h2c: the same"
tap_is "$(kk_curl -i "http://127.0.0.1:$pown_l/" | tr -d '\r' | grep -ci '^X-Request-Id')" 1 \
	"a backend answering its own id: one field"
tap_like "$(kk_curl -i "http://127.0.0.1:$pown_l/" | tr -d '\r')" 'X-Request-Id: from-backend' \
	"the backend's"
tap_is "$(kk_curl -i -H 'Host: a.test' "http://127.0.0.1:$pu/" | tr -d '\r' | sed -n '1,/^$/p' |
	grep -ci 'request-id')" 0 "a listener without --request-id: none"

# Through the supervisor: set trusted-proxies reaches the workers; a bad
# prefix is refused, naming the fix, and nothing changes.
pp_sup=$(kk_free_port)
printf '%s\n' "listener add http 127.0.0.1:$pp_sup" 'cluster add app' \
	"frontend add app --listener 127.0.0.1:$pp_sup" "backend add app b 127.0.0.1:$pb" \
	'set workers 2' > "$T/sup.conf"
kk_proxy "$T/sup.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
xff_sup() { kk_curl -H 'Host: a.test' -H 'X-Forwarded-For: 203.0.113.5' \
	"http://127.0.0.1:$pp_sup/" | tr -d '\r' | sed -n 's/^X-Forwarded-For: //p' ; }
tap_is "$(xff_sup)" 127.0.0.1 "supervised, no trusted proxies: the client's list dropped"
tap_ok "set trusted-proxies 127.0.0.1,2001:db8::/32" ctl set trusted-proxies 127.0.0.1,2001:db8::/32
for i in 1 2 3 4 ; do
	got=$(xff_sup)
	test "$got" = "203.0.113.5, 127.0.0.1" || break
done
tap_is "$got" "203.0.113.5, 127.0.0.1" "every worker keeps a trusted client's list"
before=$(ctl state dump)
tap_like "$before" '^set trusted-proxies 127\.0\.0\.1/32,2001:db8::/32$' "state dump: canonical"
out=$(ctl set trusted-proxies 10.0.0.0/8,10.1.2.3/16 2>&1) ; st=$?
tap_is "$st" 100 "a bad prefix: refused before it is sent (exit 100)"
tap_like "$out" '"10\.1\.2\.3/16" has bits set past its /16 prefix; the network is 10\.1\.0\.0/16' \
	"naming the network meant"
printf '%s\n' "listener add http 127.0.0.1:$pp_sup" 'cluster add app' \
	"frontend add app --listener 127.0.0.1:$pp_sup" "backend add app b 127.0.0.1:$pb" \
	'set workers 2' 'set trusted-proxies 192.0.2.0/33' > "$T/bad.conf"
out=$(ctl reload "$T/bad.conf" 2>&1) ; st=$?
tap_ok "a reload with one refused" test "$st" -ne 0
tap_like "$out" '192\.0\.2\.0/33' "naming it"
tap_is "$(ctl state dump)" "$before" "state unchanged"
tap_is "$(xff_sup)" "203.0.113.5, 127.0.0.1" "and the workers still trust as before"
tap_ok "set trusted-proxies none" ctl set trusted-proxies none
for i in 1 2 3 4 ; do
	got=$(xff_sup)
	test "$got" = 127.0.0.1 || break
done
tap_is "$got" 127.0.0.1 "none: the client's list dropped again"

tap_done
