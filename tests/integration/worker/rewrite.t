#!/bin/sh
# --rewrite-path REGEX TEMPLATE through the whole proxy: the request
# line as the backend saw it, groups in any order, $0 and $$, the query
# kept, a path the regex does not match passed as it came, a rewrite
# after a prefix rewrite; HTTP/1.1 and HTTP/2 (h2c) alike. Bad regexes
# and templates refused with the state unchanged; the dump prints the
# two words back and reloading it is a no-op.
. "$(dirname "$0")/../lib.sh"

kk_backend echo
p_echo=$kk_port
port=$(kk_free_port)
L=127.0.0.1:$port
cat > "$T/kakehi.conf" <<CONF
set workers 1
listener add http $L
cluster add echo
frontend add echo --listener $L --host r.test --rewrite-path '^/users/([0-9]+)/(\\w+)\$' '/v2/\$2/user-\$1'
frontend add echo --listener $L --host s.test --rewrite-path '^/s/(.*)' '/\$\$/\$1/[\$0]'
frontend add echo --listener $L --host p.test --rewrite-path-prefix /old/=/new/ --rewrite-path '^/new/(a|b)(x)?' '/got-\$1-\$2'
frontend add echo --listener $L
backend add echo e1 127.0.0.1:$p_echo
CONF
kk_proxy "$T/kakehi.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
U=http://$L

# line [CURL-ARGS...]: the request line the backend saw.
line() { curl -s --max-time 20 "$@" | tr -d '\r' | grep -m1 '^[A-Z]* /' ; }

for proto in h1 h2c ; do
	opt= ; [ $proto = h2c ] && opt=--http2-prior-knowledge
	tap_is "$(line $opt -H 'Host: r.test' "$U/users/42/edit?x=1&y=2")" \
		"GET /v2/edit/user-42?x=1&y=2 HTTP/1.1" "$proto: groups in any order, the query kept"
	tap_is "$(line $opt -H 'Host: r.test' "$U/users/42/edit/more")" \
		"GET /users/42/edit/more HTTP/1.1" "$proto: no match, the path as it came"
	tap_is "$(line $opt -H 'Host: s.test' "$U/s/a/b")" "GET /\$/a/b/[/s/a/b] HTTP/1.1" \
		"$proto: \$\$ and \$0"
	tap_is "$(line $opt -H 'Host: p.test' "$U/old/a")" "GET /got-a- HTTP/1.1" \
		"$proto: after the prefix rewrite; a group that took no part is empty"
	tap_is "$(line $opt -H 'Host: p.test' "$U/old/bx?q")" "GET /got-b-x?q HTTP/1.1" \
		"$proto: every group"
done

ctl state dump > "$T/before"
refuse() {
	_rc=$1 ; shift
	out=$(ctl frontend add echo --listener "$L" --host bad.test "$@" 2>&1) ; rc=$?
	tap_is "$rc" "$_rc" "refused (exit $_rc): $*"
	tap_diag "$out"
}
refuse 100 --rewrite-path '^/(a)' '/$2'
refuse 100 --rewrite-path '^/(a' '/x'
refuse 100 --rewrite-path '^/a' 'x'
refuse 100 --rewrite-path '^/a' '/b c'
refuse 100 --rewrite-path '^/a'
refuse 100 --rewrite-path '^/a' '/x' --deny 403
ctl state dump > "$T/after"
tap_ok "refusals changed nothing" cmp -s "$T/before" "$T/after"
tap_like "$(cat "$T/after")" "--rewrite-path '\\^/users/\\(\\[0-9\\]\\+\\)/\\(\\\\w\\+\\)\\\$' '/v2/\\\$2/user-\\\$1'" \
	"the dump prints the regex and the template"
tap_is "$(ctl reload "$T/after" 2>&1)" "no change" "reloading the dump is a no-op"
tap_like "$(ctl --json frontend list)" '"op":"rewrite-path","regex":"\^/s/\(\.\*\)","template":"/\$\$/\$1/\[\$0\]"' \
	"frontend list --json shows the rewrite"
tap_done
