#!/bin/sh
# kakehi-worker standalone: TLS to backends (cluster add --tls). The chain
# verified against --ca and refused against the system store; another
# CA's certificate and an expired one refused with 502, counted, logged
# with the reason, and tried on another backend; --no-verify; --sni sent
# and checked (a name the certificate lacks fails), else the backend's IP
# address checked (an expired certificate is tried under its own name, so
# that the date is what fails); ALPN http/1.1; a session resumed on the
# next connect; keep-alive reuse of a TLS back connection; a large body
# both ways; a WebSocket tunnel to a TLS backend; a tcp listener's tunnel
# to a --tls cluster; and bad lines refused.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_certs
c=$kk_certs_dir
# tlsback NAME CERT: a TLS backend serving CERT.crt and its chain; its
# port in the variable p_NAME.
tlsback() {
	cat "$c/$2.crt" "$c/chain.crt" > "$T/$1.pem"
	kk_spawn "tlsback-$1" python3 "$kw_dir/tlsback.py" "$T/$1.pem" "$c/$2.key"
	kk_wait_for 10 test -s "$T/tlsback-$1.log" ||
		{ echo "Bail out! tlsback $1 did not start" ; exit 1 ; }
	eval "p_$1=\$(head -n 1 \"\$T/tlsback-$1.log\")"
}
tlsback good backend
tlsback stray stray
# The retry case's failing backend has its own address: the stray site's
# failure marks its backend down, and a backend avoided is not tried, so
# sharing it would leave nothing to retry.
tlsback stray2 stray
tlsback expired expired
L=127.0.0.1:@PORT
# site NAME CLUSTER-OPTIONS...: a cluster NAME routed by Host NAME.test.
site() {
	_n=$1 ; shift
	echo "cluster add $_n $*"
	echo "frontend add $_n --listener $L --host $_n.test"
}
ptcp=$(kk_free_port)
kw_start tlsb "listener add http $L" "listener add tcp 127.0.0.1:$ptcp" \
	"$(site good --tls --ca $c/ca.crt)" \
	"$(site system --tls)" \
	"$(site stray --tls --ca $c/ca.crt)" \
	"$(site expired --tls --ca $c/ca.crt --sni expired.test)" \
	"$(site noverify --tls --no-verify)" \
	"$(site named --tls --ca $c/ca.crt --sni BACKEND.test)" \
	"$(site misnamed --tls --ca $c/ca.crt --sni other.test)" \
	"$(site retry --tls --ca $c/ca.crt)" \
	"frontend add good --listener 127.0.0.1:$ptcp" \
	"backend add good g1 127.0.0.1:$p_good" \
	"backend add system s1 127.0.0.1:$p_good" \
	"backend add stray x1 127.0.0.1:$p_stray" \
	"backend add expired e1 127.0.0.1:$p_expired" \
	"backend add noverify n1 127.0.0.1:$p_stray" \
	"backend add named m1 127.0.0.1:$p_good" \
	"backend add misnamed m2 127.0.0.1:$p_good" \
	"backend add retry r1 127.0.0.1:$p_stray2" "backend add retry r2 127.0.0.1:$p_good"
P=$kw_port
log=$T/worker-tlsb.log
counters() { python3 "$kw_dir/counters.py" "$kw_pid" "$log" "$@" ; }
count() { counters "$1" | cut -d' ' -f2 ; }
get() {	# get SITE PATH [CURL-ARGS...]: the body of a GET through the proxy
	_s=$1 _p=$2 ; shift 2
	kk_curl -H "Host: $_s.test" "$@" "http://127.0.0.1:$P$_p" 2>&1
}
code() { kk_http_code -H "Host: $1.test" "http://127.0.0.1:$P/" ; }

# A verified chain.
out=$(get good /close)
tap_like "$out" '^request GET /close HTTP/1.1$' \
	"--ca: the backend's chain verifies, the request goes over TLS"
tap_like "$out" '^alpn http/1.1$' "ALPN http/1.1 is offered and agreed"
tap_like "$out" '^sni -$' "no --sni: no server name sent"
tap_like "$out" '^reused False$' "the first connection is a full handshake"
# The /close above ended that connection: the next one offers its session.
out=$(get good /)
tap_like "$out" '^reused True$' "the next connection to the backend resumes the session"
tap_ok "back-tls-resumed counts it" test "$(count back-tls-resumed)" -ge 1

# Keep-alive: two requests of one client, one back connection.
out=$(kk_curl -H 'Host: good.test' "http://127.0.0.1:$P/a" "http://127.0.0.1:$P/b" 2>&1)
conns=$(printf '%s\n' "$out" | sed -n 's/^conn //p' | sort -u | wc -l)
tap_is "$(printf '%s\n' "$out" | grep -c '^request GET /[ab] ')" 2 \
	"keep-alive: both requests answered"
tap_is "$conns" 1 "keep-alive: the TLS back connection is reused for the second"

# A body both ways, larger than a buffer and a TLS record.
head -c 300000 /dev/urandom > "$T/body"
want=$(sha256sum < "$T/body" | cut -d' ' -f1)
out=$(kk_curl -H 'Host: good.test' --data-binary "@$T/body" -o "$T/echo" \
	"http://127.0.0.1:$P/up" 2>&1 ; cat "$T/echo")
tap_like "$out" "^body-sha $want\$" "a 300 kB request body reaches the backend whole"
tail -c 300000 "$T/echo" > "$T/echo.body"
tap_is "$(sha256sum < "$T/echo.body" | cut -d' ' -f1)" "$want" \
	"... and comes back whole in the response"

# Refusals: 502, counted, logged with the reason.
v0=$(count back-tls-verify-failures)
tap_is "$(code system)" 502 "no --ca: the system store does not know the test CA: 502"
tap_is "$(code stray)" 502 "a certificate of another CA: 502"
tap_is "$(code expired)" 502 "an expired certificate: 502"
tap_is "$(code misnamed)" 502 "--sni other.test: the certificate does not name it: 502"
tap_is "$(count back-tls-verify-failures)" $((v0 + 4)) "back-tls-verify-failures counts the four"
tap_ok "the log says why" grep -q 'TLS to backend 127.0.0.1:.* failed: .*certificate' "$log"
tap_ok "... an expired one as expired" grep -q 'failed: certificate has expired' "$log"
tap_ok "closes-back-connect counts them as connect failures" \
	test "$(count closes-back-connect)" -ge 4

# --no-verify, --sni.
out=$(get noverify /)
tap_like "$out" '^request GET / HTTP/1.1$' "--no-verify: another CA's certificate is taken"
out=$(get named /)
tap_like "$out" '^sni backend.test$' "--sni: the name is sent (in lower case) and verified"

# A failed handshake is a failed connect: retried on the next backend.
r0=$(count retries)
out=$(get retry /)
tap_like "$out" '^request GET / HTTP/1.1$' \
	"a backend that fails verification is skipped for the next"
tap_ok "... as a retry" test "$(count retries)" -gt "$r0"

# A tcp listener's tunnel to a --tls cluster: the worker adds the TLS.
out=$(kk_curl -H 'Host: good.test' "http://127.0.0.1:$ptcp/tcp" 2>&1)
tap_like "$out" '^request GET /tcp HTTP/1.1$' \
	"a tcp listener's connection reaches a --tls cluster's backend over TLS"

# WebSocket to a TLS backend: the tunnel runs over the back connection's TLS.
ws_python=/usr/bin/python3
if $ws_python -c 'import websockets' 2>/dev/null ; then
	kk_spawn wsback $ws_python "$kw_dir/wsback.py" "$T/good.pem" "$c/backend.key"
	kk_wait_for 10 test -s "$T/wsback.log" ||
		{ echo "Bail out! wsback did not start" ; exit 1 ; }
	pws=$(head -n 1 "$T/wsback.log")
	kw_start ws "listener add http $L
cluster add ws --tls --ca $c/ca.crt
frontend add ws --listener $L --host ws.test
backend add ws w1 127.0.0.1:$pws"
	out=$($ws_python "$kw_dir/wsclient.py" "$kw_port" ws.test 2>&1)
	tap_like "$out" '^text ok$' "WebSocket through a TLS back connection: a text message"
	tap_like "$out" '^big ok$' "... and a 10 MiB one, both ways"
	tap_like "$out" '^close 1000$' "... closed cleanly"
else
	tap_result 0 "# SKIP python3-websockets is not installed for $ws_python"
fi

# Bad lines.
ctl_refuses() {	# ctl_refuses PATTERN NAME LINE...: kakehi-ctl refuses the line with 100
	_pat=$1 _name=$2 ; shift 2
	kakehi-ctl -s "$T/none.sock" "$@" > "$T/ctl.out" 2>&1
	_rc=$?
	tap_ok "$_name (exit 100)" test "$_rc" = 100
	tap_ok "... saying: $_pat" grep -q -- "$_pat" "$T/ctl.out"
}
ctl_refuses 'qualifies TLS to the backends: give --tls too' "--ca without --tls" \
	cluster add x --ca "$c/ca.crt"
ctl_refuses 'give one or the other' "--ca with --no-verify" \
	cluster add x --tls --no-verify --ca "$c/ca.crt"
ctl_refuses 'is a wildcard' "a wildcard --sni" cluster add x --tls --sni '*.test'
ctl_refuses 'unable to open' "a --ca file that is not there" \
	cluster add x --tls --ca "$T/missing.crt"

tap_done
