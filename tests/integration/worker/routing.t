#!/bin/sh
# Frontend matching through the whole proxy: the precedence table (exact
# host, wildcard, any host; exact path, regex, prefix; header, cookie and
# query matches, several ANDed, falling through to the next candidate when
# they fail), hostnames in any case, with a port or a final dot; HTTP/1.1
# and HTTP/2 (h2c) routed alike; a regex that backtracks without end on a
# long path is stopped by the match limit (answered, worker alive); a bad
# regex refused with the state unchanged; the dump printed canonically,
# its reload a no-op.
. "$(dirname "$0")/../lib.sh"

sites="ex rx sp pre hdr ver ck qy multi slow wild any"
for b in $sites ; do
	kk_backend $b
	eval "p_$b=\$kk_port"
done
port=$(kk_free_port)
L=127.0.0.1:$port
{
	echo "set workers 1"
	echo "listener add http $L"
	for b in $sites ; do echo "cluster add $b" ; done
	cat <<CONF
frontend add pre --listener $L --host a.test --path /p
frontend add rx --listener $L --host A.Test --path-regex '^/v[0-9]+/'
frontend add sp --listener $L --host a.test --path-regex '^/s[0-9]{2}\$| never'
frontend add ex --listener $L --host a.test. --path-exact /v1/x
frontend add hdr --listener $L --host a.test --path /p --header X-Beta=yes
frontend add ver --listener $L --host a.test --path /p --header 'x-ver~^v[0-9]+\$'
frontend add ck --listener $L --host a.test --path /p --cookie s=abc
frontend add qy --listener $L --host a.test --path /p --query debug
frontend add multi --listener $L --host a.test --path /m --query q=1 --cookie t --header x-a
frontend add slow --listener $L --host a.test --path-regex '^/(a+)+\$'
frontend add wild --listener $L --host *.test
frontend add any --listener $L
CONF
	for b in $sites ; do eval "echo backend add $b $b 127.0.0.1:\$p_$b" ; done
} > "$T/kakehi.conf"
kk_proxy "$T/kakehi.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }

# who [CURL-ARGS...]: the backend that answered, or the status when none.
who() {
	curl -s -o /dev/null -D "$T/head" --max-time 20 "$@" > /dev/null
	_b=$(tr -d '\r' < "$T/head" | sed -n 's/^[Xx]-[Bb]ackend: //p')
	if test -n "$_b" ; then echo "$_b"
	else sed -n '1s/^HTTP[^ ]* \([0-9]*\).*/\1/p' "$T/head" ; fi
}
U=http://$L
# row WANT NAME CURL-ARGS...: one row of the table, over HTTP/1.1.
row() { _w=$1 _n=$2 ; shift 2 ; tap_is "$(who "$@")" "$_w" "$_n" ; }

row ex "exact path first" -H 'Host: a.test' "$U/v1/x"
row ex "host in any case, with a port" -H 'Host: A.TEST:8080' "$U/v1/x"
row ex "host with a final dot" -H 'Host: a.test.' "$U/v1/x"
row rx "a regex before prefixes" -H 'Host: a.test' "$U/v22/y"
row rx "a regex on the path, not the query" -H 'Host: a.test' "$U/v1/y?x=/v1/x"
row sp "a regex with a blank, quoted in the config" -H 'Host: a.test' "$U/s12"
row pre "the prefix when no extra match holds" -H 'Host: a.test' "$U/p/q"
row hdr "a header value" -H 'Host: a.test' -H 'x-beta: yes' "$U/p"
row pre "a header value compared exactly" -H 'Host: a.test' -H 'X-Beta: YES' "$U/p"
row ver "a header regex" -H 'Host: a.test' -H 'X-Ver: v12' "$U/p"
row pre "a header regex that fails" -H 'Host: a.test' -H 'X-Ver: v12x' "$U/p"
row ck "a cookie among others" -H 'Host: a.test' -b 'u=1; s=abc' "$U/p"
row pre "a cookie's value whole" -H 'Host: a.test' -b 's=abcd' "$U/p"
row qy "a query parameter present" -H 'Host: a.test' "$U/p?x=1&debug"
row pre "a query parameter named exactly" -H 'Host: a.test' "$U/p?debugx"
row hdr "two frontends hold: the first defined" -H 'Host: a.test' -H 'X-Beta: yes' \
	-b 's=abc' "$U/p"
row multi "header, query and cookie all hold" -H 'Host: a.test' -H 'X-A: 1' -b 't=' \
	"$U/m?q=1"
row wild "one fails: the next candidate (wildcard)" -H 'Host: a.test' -H 'X-A: 1' \
	"$U/m?q=1"
row wild "a wildcard host" -H 'Host: b.test' -H 'X-Beta: yes' "$U/p"
row any "other hosts: the frontend without one" -H 'Host: example.org' "$U/p"

# HTTP/2 goes through the same router.
h2row() { _w=$1 _n=$2 ; shift 2 ; tap_is "$(who --http2-prior-knowledge "$@")" "$_w" "h2c: $_n" ; }
h2row ex "exact path" -H 'Host: A.test' "$U/v1/x"
h2row rx "regex" -H 'Host: a.test' "$U/v3/"
h2row hdr "header" -H 'Host: a.test' -H 'x-beta: yes' "$U/p"
h2row ck "cookie" -H 'Host: a.test' -b 'u=1; s=abc' "$U/p"
h2row qy "query" -H 'Host: a.test' "$U/p?debug=0"
h2row wild "extras failing fall through" -H 'Host: a.test' -H 'X-A: 1' "$U/m"
tap_like "$(tr -d '\r' < "$T/head" | head -n 1)" '^HTTP/2 ' "h2c: answered in HTTP/2"

# A regex that backtracks without end on a long path: the match limit
# stops it, the request is answered by the next candidate, and the worker
# lives on.
row slow "the backtracking regex matches a short path" -H 'Host: a.test' "$U/aaaa"
long=/$(head -c 6000 /dev/zero | tr '\0' a)b
row wild "on a long path it is stopped: the next candidate answers" -H 'Host: a.test' \
	"$U$long"
row wild "and again over h2c" --http2-prior-knowledge -H 'Host: a.test' "$U$long"
tap_like "$(ctl status)" 'worker 0 pid [0-9]+ state ready restarts 0' "the worker lives on"
wpid=$(ctl status | sed -n 's/^worker 0 pid \([0-9]*\) .*/\1/p')
tap_is "$(python3 "$(dirname "$0")/counters.py" "$wpid" "$T/kakehi.log" regex-stopped)" \
	"regex-stopped 2" "and counts the two stops in its status"
row ex "and still routes" -H 'Host: a.test' "$U/v1/x"

# A bad regex is refused with PCRE2's message, and nothing changes.
ctl state dump > "$T/before"
out=$(ctl frontend add any --listener "$L" --path-regex '^/(a' 2>&1) ; rc=$?
tap_is "$rc" 100 "kakehi-ctl refuses a bad regex (exit 100)"
tap_like "$out" 'is not a valid regex: missing closing parenthesis at offset 4' \
	"with the message of PCRE2"
{ cat "$T/kakehi.conf" ; echo "frontend add any --listener $L --header 'x~[z-a]'" ; } \
	> "$T/bad.conf"
out=$(ctl reload "$T/bad.conf" 2>&1) ; rc=$?
tap_is "$rc" 1 "the supervisor refuses a reload with a bad header regex"
tap_like "$out" 'not a valid regex: range out of order in character class' "and says why"
ctl state dump > "$T/after"
tap_ok "the state is unchanged" cmp -s "$T/before" "$T/after"

# The dump prints the matches canonically; reloaded, it changes nothing.
dump=$(cat "$T/after")
m="--header x-a --cookie t --query q=1"
tap_like "$dump" "^frontend add multi --listener $L --host a\.test --path /m $m\$" \
	"extra matches in a fixed order: headers, cookies, query"
tap_like "$dump" \
	"^frontend add sp --listener $L --host a\.test --path-regex '\^/s\[0-9\]\{2\}\\\$\| never'\$" \
	"a regex with a blank printed quoted"
tap_like "$dump" "^frontend add ex --listener $L --host a\.test --path-exact /v1/x\$" \
	"the host without its final dot"
tap_is "$(ctl reload "$T/after" 2>&1)" "no change" "reloading the dump is a no-op"
row hdr "routes as before" -H 'Host: a.test' -H 'x-beta: yes' "$U/p"

tap_done
