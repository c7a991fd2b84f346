#!/bin/sh
# Custom answers through the whole proxy: a listener's and a cluster's
# bodies for the answers the proxy makes itself (404 no route, 403
# --deny, 502 a backend refusing, 421...), the cluster's winning over the
# listener's, the variables replaced with what a client brings escaped,
# Content-Type and Content-Length as the body is, HEAD without a body;
# HTTP/1.1 and HTTP/2 (h2c) alike. kakehi-ctl sends an --answer file's
# bytes; bad answers are refused with the state unchanged; the dump shows
# the answers and reloading it is a no-op.
. "$(dirname "$0")/../lib.sh"

kk_backend echo
p_echo=$kk_port
kk_dead_port ; dead=$kk_port	# nothing listens there: 502 (--max-fails 0: never out)
port=$(kk_free_port)
L=127.0.0.1:$port
printf '<h1>${status} ${reason}</h1>\n<p>cluster ${cluster}, backend ${backend}, id ${request_id}, at ${route}</p>\n' \
	> "$T/502.html"
cat > "$T/kakehi.conf" <<CONF
set workers 1
listener add http $L --request-id X-Request-Id --answer-text '404:nothing for \${route}' --answer-type 404:text/plain --answer-text '502:listener 502' --answer-text '403:listener 403'
cluster add echo
cluster add down --max-fails 0 --answer 502:$T/502.html
cluster add down2 --max-fails 0
cluster add guard --answer-text '403:go away, \${cluster} says (\${status})' --answer-type '403:text/plain; charset=utf-8'
frontend add echo --listener $L --host e.test
frontend add down --listener $L --host d.test
frontend add down2 --listener $L --host d2.test
frontend add guard --listener $L --host g.test --deny 403
frontend add echo --listener $L --host n.test --deny 403
cluster add mv --answer-text '302:<a href="/new">moved: \${route}</a>'
frontend add mv --listener $L --host m.test --redirect 302 --location '/new\${path}'
frontend add mv --listener $L --host m2.test --redirect 301 --location /other
backend add echo e1 127.0.0.1:$p_echo
backend add down b9 127.0.0.1:$dead
backend add down2 b8 127.0.0.1:$dead
CONF
kk_proxy "$T/kakehi.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
U=http://$L

# get [CURL-ARGS...]: the body; the head in $T/head.
get() { curl -s -D "$T/head" --max-time 20 "$@" ; }
field() { tr -d '\r' < "$T/head" | grep -i "^$1:" | sed 's/^[^:]*: //' ; }
code() { head -n 1 "$T/head" | cut -d' ' -f2 ; }

for proto in h1 h2c ; do
	opt= ; [ $proto = h2c ] && opt=--http2-prior-knowledge
	body=$(get $opt -H 'Host: nowhere.test' "$U/a/<b>?q=1")
	tap_is "$(code) $body" "404 nothing for nowhere.test/a/&lt;b&gt;" \
		"$proto: the listener's 404, the route escaped, no query"
	tap_is "$(field content-type)" "text/plain" "$proto: its --answer-type"
	tap_is "$(field content-length)" "$(printf '%s' "$body" | wc -c | tr -d ' ')" \
		"$proto: Content-Length is the expanded body's"
	body=$(get $opt -H 'Host: d.test' "$U/p?q")
	id=$(field x-request-id)
	tap_like "$(code) $body" "^502 <h1>502 Bad Gateway</h1>" "$proto: the cluster's 502 from its file"
	tap_like "$body" "cluster down, backend b9, id [0-9a-f]{32}, at d.test/p<" \
		"$proto: cluster, backend, request id and route replaced"
	tap_is "$(field content-type)" "text/html; charset=utf-8" "$proto: the default type"
	tap_is "$(field content-length)" "$(($(printf '%s' "$body" | wc -c) + 1))" \
		"$proto: Content-Length counts the file's last newline"
	body=$(get $opt -H 'Host: d2.test' "$U/")
	tap_is "$(code) $body" "502 listener 502" \
		"$proto: a cluster without its own 502 gets the listener's"
	body=$(get $opt -H 'Host: g.test' "$U/")
	tap_is "$(code) $body" "403 go away, guard says (403)" \
		"$proto: --deny answers with the cluster's 403"
	tap_is "$(field content-type)" "text/plain; charset=utf-8" "$proto: with its type"
	body=$(get $opt -H 'Host: n.test' "$U/")
	tap_is "$(code) $body" "403 listener 403" \
		"$proto: a cluster without answers: the listener's"
	body=$(get $opt -H 'Host: m.test' "$U/p")
	tap_is "$(code) $(field location) $body" '302 /new/p <a href="/new">moved: m.test/p</a>' \
		"$proto: a redirect with the cluster's body, its Location kept"
	tap_is "$(field content-length)" "$(printf '%s' "$body" | wc -c | tr -d ' ')" \
		"$proto: its Content-Length"
	body=$(get $opt -H 'Host: m2.test' "$U/p")
	tap_is "$(code) $(field location) $(field content-length) $body" '301 /other 0 ' \
		"$proto: a redirect without a custom answer has no body"
	get $opt -H 'Host: e.test' "$U/" > /dev/null
	tap_is "$(code) $(field content-type)" "200 text/plain" \
		"$proto: a backend's answer is its own"
done
get -I -H 'Host: nowhere.test' "$U/x" > "$T/headbody"
tap_is "$(code) $(field content-length) $(tr -d '\r' < "$T/headbody" | sed '1,/^$/d' | wc -c)" \
	"404 26 0" "HEAD: the answer's Content-Length, no body"

# At run time: kakehi-ctl reads the file; bad answers refused.
ctl state dump > "$T/before"
printf 'busy: ${cluster}' > "$T/503.txt"
tap_ok "cluster add --answer STATUS:FILE through kakehi-ctl" \
	ctl cluster add late --answer "503:$T/503.txt"
tap_like "$(ctl state dump)" "cluster add late --answer-text '503:busy: \\$\\{cluster\\}'" \
	"the dump shows the file's text"
ctl cluster remove late > /dev/null
ctl state dump > "$T/before"
# refuse RC ARGS...: kakehi-ctl refuses a bad line itself (100), the
# proxy what only the whole line shows (1).
refuse() {
	_rc=$1 ; shift
	out=$(ctl cluster add bad "$@" 2>&1) ; rc=$?
	tap_is "$rc" "$_rc" "refused (exit $_rc): $*"
	tap_diag "$out"
}
refuse 100 --answer-text '502:${nope}'
refuse 100 --answer-text '418:teapot'
refuse 1 --answer-text '502:a' --answer-text '502:b'
refuse 100 --answer "502:$T/none.html"
head -c 9000 /dev/zero | tr '\0' a > "$T/big.html"
refuse 1 --answer "502:$T/big.html"
ctl state dump > "$T/after"
tap_ok "refusals changed nothing" cmp -s "$T/before" "$T/after"
tap_like "$(cat "$T/after")" "cluster add down --max-fails 0 --answer-(text '502:<h1>|data 502:)" \
	"the dump holds the file's bytes"
tap_is "$(ctl reload "$T/after" 2>&1)" "no change" "reloading the dump is a no-op"
tap_like "$(ctl --json cluster list)" '"id":"guard".*"answers":\[\{"status":403,"type":"text/plain; charset=utf-8","bytes":36\}\]' \
	"cluster list --json: the answers' statuses, types and sizes"
tap_done
