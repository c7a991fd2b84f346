#!/bin/sh
# A frontend's actions through the whole proxy: request fields added,
# set and deleted in the order given, printed as the backend saw them;
# response fields edited as the client sees them; --deny and --redirect
# answered by the proxy, the backend never reached, the Location built
# from its template with what the request brings escaped; the path's
# prefix and the host rewritten as the backend saw them; HTTP/1.1 and HTTP/2 (h2c) alike; bad names and values, and the fields the proxy frames or
# writes itself, refused with the state unchanged; the dump printed in
# the order given, its reload a no-op.
. "$(dirname "$0")/../lib.sh"

kk_backend echo
p_echo=$kk_port
# The denied routes' backend records every byte it gets.
kk_spawn rec python3 "$(dirname "$0")/record.py" "$T/rec"
kk_wait_for 10 test -s "$T/rec.log" || { echo "Bail out! recorder did not start" ; exit 1 ; }
p_rec=$(head -n 1 "$T/rec.log")
port=$(kk_free_port)
L=127.0.0.1:$port
cat > "$T/kakehi.conf" <<CONF
set workers 1
listener add http $L
cluster add echo
frontend add echo --listener $L --host e.test --request-header-add X-Added=one --request-header-set 'X-Set=two words' --request-header-delete x-drop --request-header-add X-Multi=a --request-header-add X-Multi=b --response-header-set X-Backend=hidden --response-header-delete content-type --response-header-add X-Resp=r1 --response-header-add X-Resp=r2
frontend add echo --listener $L --host o.test --request-header-add X-Order=1 --request-header-set x-order=2 --request-header-set X-Gone=1 --request-header-delete X-GONE --response-header-add X-Late=1 --response-header-delete x-late
frontend add echo --listener $L --host w.test --path /api/ --rewrite-path-prefix /api/=/v2/ --rewrite-host Internal.Test --request-header-add X-W=1
frontend add echo --listener $L --host w.test --path /strip/ --rewrite-path-prefix /strip/=/
frontend add echo --listener $L
cluster add guard
frontend add guard --listener $L --host d.test --deny 403
frontend add guard --listener $L --host d.test --path /gone --deny 410
frontend add guard --listener $L --host g.test
frontend add guard --listener $L --host r.test --redirect 301 --location 'https://new.test\${path}\${query}'
frontend add guard --listener $L --host r.test --path /s --redirect 308 --location '\${scheme}://\${host}:8443/x\${path}'
frontend add guard --listener $L --host r.test --path /rel --redirect 302 --location /moved\${query}
frontend add guard --listener $L --host r.test --path /t --redirect 307 --location http://t.test/
backend add echo e1 127.0.0.1:$p_echo
backend add guard r1 127.0.0.1:$p_rec
CONF
kk_proxy "$T/kakehi.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
U=http://$L

# seen [CURL-ARGS...]: the X- fields of the request the backend saw, one
# a line, in the order they came; the response head in $T/head.
seen() {
	curl -s -D "$T/head" --max-time 20 "$@" | tr -d '\r' | grep -i '^x-' \
		| grep -iv '^x-forwarded-'
}
# resp: the response fields but the date-like ones, names in lower case.
resp() {
	tr -d '\r' < "$T/head" | sed 1d | sed '/^$/d' | sed 's/^\([^:]*\):/\L\1:/' \
		| grep -v '^content-length:' | sort
}

want="x-keep: k
X-Added: one
X-Set: two words
X-Multi: a
X-Multi: b"
# Client fields in lower case, as HTTP/2 carries them, so that both
# protocols give the same lines.
tap_is "$(seen -H 'Host: e.test' -H 'x-keep: k' -H 'x-drop: 1' -H 'X-DROP: 2' \
	-H 'X-Set: client' "$U/")" "$want" "h1: fields added, set and deleted as the backend saw them"
wantr="x-backend: hidden
x-resp: r1
x-resp: r2"
tap_is "$(resp)" "$wantr" "h1: response fields set, deleted and added"
tap_is "$(seen --http2-prior-knowledge -H 'Host: e.test' -H 'x-keep: k' -H 'x-drop: 1' \
	-H 'X-DROP: 2' -H 'X-Set: client' "$U/")" "$want" "h2c: the same edits upstream"
tap_like "$(head -n 1 "$T/head")" '^HTTP/2 200' "h2c: answered in HTTP/2"
tap_is "$(resp)" "$wantr" "h2c: the same response edits"

tap_is "$(seen -H 'Host: o.test' -H 'X-Gone: c' "$U/")" "x-order: 2" \
	"edits apply in order: a set replaces an earlier add, a delete an earlier set"
tap_is "$(resp)" "content-type: text/plain
x-backend: echo" "a response delete removes an earlier add"
tap_is "$(seen -H 'Host: other.test' -H 'X-Drop: 1' "$U/")" "X-Drop: 1" \
	"a frontend without edits passes the fields as they are"
tap_like "$(seen -H 'Host: e.test' "$U/chunked")" 'X-Multi: b' \
	"a request for a chunked response gets its edits"
tap_is "$(resp)" "transfer-encoding: chunked
$wantr" "and the chunked response its own"

# Rewrites: the request line and Host as the backend saw them.
line() {	# line CURL-ARGS...: the request line and the Host field the backend saw
	curl -s --max-time 20 "$@" | tr -d '\r' | sed -n '2p;/^[Hh]ost: /p'
}
tap_is "$(line -H 'Host: w.test' "$U/api/users?id=7")" "GET /v2/users?id=7 HTTP/1.1
Host: Internal.Test" "h1: the prefix replaced, the query kept, the host rewritten"
tap_is "$(line --http2-prior-knowledge -H 'Host: w.test' "$U/api/users?id=7")" \
	"GET /v2/users?id=7 HTTP/1.1
Host: Internal.Test" "h2c: the same"
tap_is "$(line "http://w.test/api/x" --request-target "http://w.test/api/x" \
	--connect-to w.test:80:$L)" "GET /v2/x HTTP/1.1
Host: Internal.Test" "an absolute-form target: the same"
tap_is "$(line -H 'Host: w.test' "$U/strip/a/b")" "GET /a/b HTTP/1.1
Host: w.test" "a prefix stripped: /strip/ to /"
tap_is "$(line -H 'Host: w.test' "$U/strip/")" "GET / HTTP/1.1
Host: w.test" "the prefix alone: /"

# --deny: the proxy answers, the backend is never contacted.
deny() { curl -s -o "$T/body" -w '%{http_code}' --max-time 20 "$@" ; }
tap_is "$(deny -H 'Host: d.test' "$U/x")" 403 "h1: --deny answers 403"
tap_is "$(cat "$T/body")" "403 Forbidden" "with the proxy's own body"
tap_is "$(deny --http2-prior-knowledge -H 'Host: d.test' "$U/x")" 403 "h2c: --deny answers 403"
tap_is "$(deny -H 'Host: d.test' "$U/gone/a")" 410 "--deny with another status"
tap_is "$(deny -I -H 'Host: d.test' "$U/x")" 403 "a HEAD request denied"
tap_is "$(deny -H 'Host: d.test' -d 'a body' "$U/x")" 403 "a request with a body denied"
# --redirect: the Location from the template; what the request brings
# cannot add a field.
loc() {	# loc CURL-ARGS...: "STATUS LOCATION", and no other field of the answer
	curl -s -o /dev/null -D "$T/rhead" --max-time 20 "$@" > /dev/null
	tr -d '\r' < "$T/rhead" | sed -n '1s/^HTTP[^ ]* \([0-9]*\).*/\1/p;s/^[Ll]ocation: //p' \
		| tr '\n' ' ' | sed 's/ $//'
}
tap_is "$(loc -H 'Host: R.test:81' "$U/a/b?x=1&y")" "301 https://new.test/a/b?x=1&y" \
	"h1: a 301 with the path and the query"
tap_is "$(loc --http2-prior-knowledge -H 'Host: r.test' "$U/a/b?x=1")" \
	"301 https://new.test/a/b?x=1" "h2c: the same"
tap_is "$(loc -H 'Host: r.test' "$U/s/1?q")" "308 http://r.test:8443/x/s/1" \
	"a 308 with the scheme and the host, no query"
tap_is "$(loc -H 'Host: r.test' "$U/rel?z=2")" "302 /moved?z=2" "a 302 to a path"
tap_is "$(loc -H 'Host: r.test' "$U/rel")" "302 /moved" "no query: \${query} is empty"
tap_is "$(loc --http2-prior-knowledge -H 'Host: r.test' "$U/t/u")" "307 http://t.test/" \
	"h2c: a 307 to a fixed URL"
tap_is "$(loc -H 'Host: r.test' "$U/a%0d%0aSet-Cookie:%20x=1")" \
	"301 https://new.test/a%0d%0aSet-Cookie:%20x=1" "an escaped CR LF stays escaped"
tap_is "$(grep -ci '^set-cookie' "$T/rhead")" 0 "and adds no field"
# Raw bytes past ASCII in the target, which curl would have escaped itself.
raw=$(printf 'GET /caf\303\251?\303 HTTP/1.1\r\nHost: r.test\r\nConnection: close\r\n\r\n' \
	| python3 "$(dirname "$0")/raw.py" "$port" 3 | tr -d '\r' | sed -n 's/^Location: //p')
tap_is "$raw" "https://new.test/caf%C3%A9?%C3" "bytes past ASCII percent-encoded"
tap_is "$(cat "$T/rec" 2>/dev/null | wc -c)" 0 "the backend got no byte"
tap_is "$(deny -H 'Host: g.test' "$U/x")" 200 "the same cluster without --deny reaches it"
tap_like "$(cat "$T/rec")" "^GET /x HTTP/1.1" "and the recorder saw that request"

# Refused, each with why, and nothing changes.
ctl state dump > "$T/before"
cr=$(printf '\r')
refuse() {	# refuse MESSAGE-REGEX NAME OPTION VALUE
	out=$(ctl frontend add echo --listener "$L" --host bad.test "$3" "$4" 2>&1) ; rc=$?
	tap_is "$rc" 100 "refused: $2 (exit 100)"
	tap_like "$out" "$1" "and says why: $2"
}
refuse 'must be a token' "a name that is not a token" --request-header-add 'X Y=1'
refuse 'control character' "a CR in a value" --request-header-set "X-A=1${cr}X-B: 2"
refuse 'control character' "a tab-less control byte" --response-header-add "X-A=$(printf '\001')"
refuse 'starts with a blank' "a value with a leading blank" --request-header-add 'X-A= 1'
refuse 'give only the field name' "a delete with a value" --request-header-delete 'X-A=1'
refuse 'give the value after the name' "an add without value" --response-header-add X-A
refuse 'Content-Length cannot be edited: it frames the body' "Content-Length" \
	--response-header-set Content-Length=1
refuse 'Transfer_Encoding cannot be edited' "a look-alike of Transfer-Encoding" \
	--request-header-delete Transfer_Encoding
refuse 'Host cannot be edited: the proxy writes it' "Host in a request" \
	--request-header-set Host=x
refuse 'Connection cannot be edited: it is hop-by-hop' "Connection in a response" \
	--response-header-add Connection=close
refuse 'X-Forwarded-For cannot be edited' "X-Forwarded-For" --request-header-delete X-Forwarded-For
refuse 'cannot answer 401 alone: it needs the WWW-Authenticate' "--deny 401" --deny 401
refuse 'is not a number in 400..599' "--deny 200" --deny 200
refuse '--redirect needs --location' "--redirect without --location" --redirect 301
refuse 'give --redirect 301|302|307|308 too' "--location without --redirect" --location /x
out=$(ctl frontend add echo --listener "$L" --host bad.test --redirect 303 --location /x 2>&1)
tap_like "$out" 'is not one of: 301, 302, 307, 308' "refused: --redirect 303, naming the choices"
badloc() {	# badloc MESSAGE-REGEX NAME TEMPLATE
	out=$(ctl frontend add echo --listener "$L" --host bad.test --redirect 302 \
		--location "$3" 2>&1) ; rc=$?
	tap_is "$rc" 100 "refused: $2 (exit 100)"
	tap_like "$out" "$1" "and says why: $2"
}
badloc "'\\\$' starts one of" "an unknown variable" 'https://x/${uri}'
badloc "'\\\$' starts one of" "a bare dollar" 'https://x/$'
badloc 'a blank, a control character' "a CR in the template" "/a${cr}Set-Cookie:x"
badloc 'a blank, a control character' "a blank in the template" "/a b"
badloc 'give a path' "neither a path nor an http URL" 'javascript:alert(1)'
refuse 'give FROM=TO' "a path rewrite without TO" --rewrite-path-prefix /a
refuse 'must start with /' "a path rewrite to a relative path" --rewrite-path-prefix /a=b
refuse 'contains a blank or control' "a blank in a path rewrite" --rewrite-path-prefix '/a=/b c'
refuse 'without a port' "a host rewrite with a port" --rewrite-host a.test:81
refuse 'is not a host name' "a host rewrite that is no host" --rewrite-host 'a_b!'
refuse 'a wildcard matches hosts, it names none' "a wildcard host rewrite" --rewrite-host '*.a.test'
out=$(ctl frontend add echo --listener "$L" --host bad.test --deny 403 \
	--response-header-add X-A=1 2>&1) ; rc=$?
tap_is "$rc" 100 "refused: --deny with header edits"
tap_like "$out" 'the header edits would never apply' "and says why"
many=""
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 ; do many="$many --request-header-add X-$i=1" ; done
out=$(ctl frontend add echo --listener "$L" --host bad.test $many 2>&1) ; rc=$?
tap_is "$rc" 100 "refused: seventeen request edits"
tap_like "$out" 'more than 16 request header edits' "and says why"
{ cat "$T/kakehi.conf" ; echo "frontend add echo --listener $L --host r.test --response-header-set Trailer=x" ; } \
	> "$T/bad.conf"
out=$(ctl reload "$T/bad.conf" 2>&1) ; rc=$?
tap_is "$rc" 1 "the supervisor refuses a reload with a bad edit"
tap_like "$out" 'Trailer cannot be edited' "and says why"
ctl state dump > "$T/after"
tap_ok "the state is unchanged" cmp -s "$T/before" "$T/after"
tap_is "$(seen -H 'Host: bad.test' "$U/" | head -n 1)" "" "and the refused frontend routes nothing"

# The dump prints the edits in the order given; reloaded, it changes nothing.
dump=$(cat "$T/after")
tap_like "$dump" "^frontend add echo --listener $L --host o\.test --request-header-add X-Order=1 --request-header-set x-order=2 --request-header-set X-Gone=1 --request-header-delete X-GONE --response-header-add X-Late=1 --response-header-delete x-late\$" \
	"edits printed back in their order"
tap_like "$dump" "--request-header-set 'X-Set=two words'" "a value with a blank printed quoted"
tap_like "$dump" "^frontend add echo --listener $L --host w\.test --path /api/ --rewrite-path-prefix /api/=/v2/ --rewrite-host Internal\.Test --request-header-add X-W=1\$" \
	"rewrites printed back in their order"
tap_like "$dump" "^frontend add guard --listener $L --host d\.test --path /gone --deny 410\$" \
	"--deny printed back"
tap_like "$dump" "^frontend add guard --listener $L --host r\.test --path /s --redirect 308 --location '\\\$\{scheme\}://\\\$\{host\}:8443/x\\\$\{path\}'\$" \
	"--redirect printed back"
tap_is "$(ctl reload "$T/after" 2>&1)" "no change" "reloading the dump is a no-op"
tap_like "$(ctl --json frontend list)" '"actions":\[\{"direction":"request","op":"add","name":"X-Order","value":"1"\}' \
	"frontend list --json lists the edits"
tap_like "$(ctl --json frontend list guard)" '"actions":\[\{"op":"deny","status":410\}\]' \
	"and a --deny"
tap_like "$(ctl --json frontend list guard)" \
	'"actions":\[\{"op":"redirect","status":307,"location":"http://t.test/"\}\]' \
	"and a --redirect"

# Changed edits reach the worker: remove the frontend, add it back.
ctl frontend remove echo --listener "$L" --host o.test > /dev/null
ctl frontend add echo --listener "$L" --host o.test --request-header-add X-New=n > /dev/null
tap_is "$(seen -H 'Host: o.test' "$U/")" "X-New: n" "a frontend added again brings its new edits"

tap_done
