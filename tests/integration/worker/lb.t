#!/bin/sh
# Load balancing through the whole proxy, two workers: --lb hash by a
# header sends a key to one backend whichever worker serves it, by source
# a client's requests and tcp connections; a backup
# serves only while no primary can; --sticky sets its cookie on the first
# response, honours it, and sticks the client anew when its backend goes;
# the options print back canonically and bad values change nothing.
. "$(dirname "$0")/../lib.sh"
test -x "$KK_BIN/kakehi-supervisor" || tap_skip_all "kakehi-supervisor is not built"

for n in h1 h2 h3 s1 s2 p1 k1 ; do
	kk_backend $n
	eval "port_$n=\$kk_port pid_$n=\$kk_last_pid"
done
port=$(kk_free_port)
tport=$(kk_free_port)
cat > "$T/k.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
listener add tcp 127.0.0.1:$tport
cluster add bysource --lb hash
frontend add bysource --listener 127.0.0.1:$port --path /src
frontend add bysource --listener 127.0.0.1:$tport
backend add bysource h1 127.0.0.1:$port_h1
backend add bysource h2 127.0.0.1:$port_h2
backend add bysource h3 127.0.0.1:$port_h3
cluster add hashed --lb hash --hash-key header:X-User
cluster add stuck --sticky
cluster add spare
frontend add hashed --listener 127.0.0.1:$port --path /h
frontend add stuck --listener 127.0.0.1:$port --path /s
frontend add spare --listener 127.0.0.1:$port --path /b
backend add hashed h1 127.0.0.1:$port_h1
backend add hashed h2 127.0.0.1:$port_h2
backend add hashed h3 127.0.0.1:$port_h3
backend add stuck s1 127.0.0.1:$port_s1
backend add stuck s2 127.0.0.1:$port_s2
backend add spare p1 127.0.0.1:$port_p1
backend add spare k1 127.0.0.1:$port_k1 --backup
EOF
kk_proxy "$T/k.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
url=http://127.0.0.1:$port

# who [CURL ARGS...]: the backend that answered, from its echo.
who() { kk_curl "$@" | head -n 1 | sed 's/^backend //' ; }
# whos N [CURL ARGS...]: the backends that answered N requests, sorted, unique.
whos() {
	_n=$1 ; shift
	_i=0
	while test $_i -lt "$_n" ; do who "$@" ; _i=$((_i + 1)) ; done | sort -u | tr '\n' ' '
}

tap_like "$(ctl state dump)" "cluster add hashed --lb hash --hash-key header:x-user" \
	"state dump: --hash-key printed back, the field name in lower case"
tap_like "$(ctl cluster list)" "cluster add hashed --lb hash --hash-key header:x-user" \
	"cluster list shows --lb and --hash-key"
tap_like "$(ctl cluster list)" "cluster add stuck --sticky" "cluster list shows --sticky"
tap_like "$(ctl backend list spare)" "backend add spare k1 127.0.0.1:$port_k1 --backup" \
	"backend list shows --backup"

# Hashing: each of 20 keys, asked 6 times, has one backend; the keys spread.
spread=
same=yes
k=0
while test $k -lt 20 ; do
	got=$(whos 6 -H "X-User: user-$k" "$url/h")
	test "$(printf '%s\n' $got | grep -c .)" = 1 || { same=no ; tap_diag "user-$k: $got" ; }
	spread="$spread $got"
	k=$((k + 1))
done
tap_is "$same" yes "hash by header: each key always reaches the same backend"
tap_is "$(printf '%s\n' $spread | sort -u | grep -c .)" 3 "hash by header: the keys spread over the 3 backends"
tap_is "$(whos 6 "$url/h")" "h1 h2 h3 " "hash: requests without the header go round-robin"

# By source: one client, one backend, over http and tcp listeners alike.
tap_is "$(whos 6 "$url/src" | wc -w)" 1 "hash by source (http): one client reaches one backend"
tap_is "$(whos 6 "http://127.0.0.1:$tport/" | wc -w)" 1 \
	"hash by source (tcp): each connection of one client reaches one backend"
ctl state dump > "$T/dump"
tap_ok "state dump: the default --hash-key source is left out" \
	grep -qx "cluster add bysource --lb hash" "$T/dump"

# Backup: unused while the primary is up, used when it is down or gone.
tap_is "$(whos 6 "$url/b")" "p1 " "backup: unused while the primary is up"
kk_stop "$pid_p1"
tap_is "$(whos 4 "$url/b")" "k1 " "backup: serves when the primary refuses connections"

# Sticky: the first response sets the cookie, later requests honour it.
kk_curl -D "$T/h1" -o /dev/null "$url/s"
cookie=$(tr -d '\r' < "$T/h1" | sed -n 's/^[Ss]et-[Cc]ookie: \(KKSID=[0-9a-f]*\);.*/\1/p')
tap_like "$cookie" "^KKSID=[0-9a-f]{16}$" "sticky: the first response sets KKSID"
tap_like "$(tr -d '\r' < "$T/h1" | grep -i '^set-cookie')" "; Path=/; HttpOnly$" \
	"sticky: the cookie is for the whole site, HttpOnly"
tr -d '\r' < "$T/h1" | grep -i '^set-cookie' > "$T/setcookie"
tap_fails "sticky: the cookie names no backend address" grep -q "$port_s1\|$port_s2\|127\.0\.0\.1" \
	"$T/setcookie"
first=$(who -b "$cookie" "$url/s")
tap_is "$(whos 8 -b "$cookie" "$url/s")" "$first " \
	"sticky: 8 requests with the cookie reach its backend ($first)"
kk_curl --http2-prior-knowledge -D "$T/h2c" -o /dev/null "$url/s"
tap_like "$(tr -d '\r' < "$T/h2c")" "^set-cookie: KKSID=[0-9a-f]{16}; Path=/; HttpOnly$" \
	"sticky: HTTP/2 clients get the cookie too"
tap_is "$(who --http2-prior-knowledge -b "$cookie" "$url/s")" "$first" \
	"sticky: and an HTTP/2 request with it reaches its backend"
kk_curl -D "$T/h2" -o /dev/null -b "$cookie" "$url/s"
tap_fails "sticky: no new cookie for a stuck client" grep -qi '^set-cookie' "$T/h2"

ctl backend remove stuck "$first" > /dev/null || tap_diag "backend remove failed"
kk_curl -D "$T/h3" -o "$T/b3" -b "$cookie" "$url/s"
other=$(head -n 1 "$T/b3" | sed 's/^backend //')
recookie=$(tr -d '\r' < "$T/h3" | sed -n 's/^[Ss]et-[Cc]ookie: \(KKSID=[0-9a-f]*\);.*/\1/p')
tap_ok "sticky: its backend removed, another serves ($other)" test -n "$other" -a "$other" != "$first"
tap_ok "sticky: and the client is stuck anew" test -n "$recookie" -a "$recookie" != "$cookie"
tap_is "$(who -b "$recookie" "$url/s")" "$other" "sticky: the new cookie is honoured"

# Defaults given are left out of the canonical line.
ctl cluster add canon --sticky-cookie KKSID --hash-key source --lb hash --sticky > /dev/null
tap_is "$(ctl cluster list | grep '^cluster add canon')" "cluster add canon --lb hash --sticky" \
	"the default --hash-key and --sticky-cookie are printed as nothing"

# Bad values: refused with the reason, the state unchanged.
ctl state dump > "$T/before"
out=$(ctl cluster add bad --lb hash --hash-key host 2>&1)
tap_like "$out" "--hash-key \"host\" is not one of: source, path, header:NAME, cookie:NAME" \
	"a bad --hash-key is refused with the choices"
out=$(ctl cluster add bad --hash-key path 2>&1)
tap_like "$out" "give --lb hash too" "--hash-key without --lb hash is refused"
out=$(ctl cluster add bad --sticky-cookie X 2>&1)
tap_like "$out" "give --sticky too" "--sticky-cookie without --sticky is refused"
ctl state dump > "$T/after"
tap_ok "bad values: state unchanged" cmp "$T/before" "$T/after"

tap_ok "shutdown" ctl shutdown
wait "$kk_sup_pid"
tap_done
