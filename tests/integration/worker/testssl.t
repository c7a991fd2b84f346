#!/bin/sh
# kakehi's TLS configuration as testssl.sh judges it: a default https
# listener (every TLS option at its default, HSTS on) in front of a plain
# backend, scanned for its protocols, cipher categories, forward secrecy,
# server preference, the known vulnerabilities and HSTS; no finding of
# severity LOW or above may remain but those tlsfindings.py excludes, each
# with its reason (the test certificate, DNS, the backend's own headers).
# About 40 s of scanning; skipped under the sanitizers, where it would test
# the TLS library's speed under ASan rather than anything new.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

command -v testssl >/dev/null ||
	tap_skip_all "testssl.sh is not installed (Debian package testssl.sh; tools/install-deps)"
test -n "${KK_SANITIZED:-}" &&
	tap_skip_all "sanitizer pass: the scan checks the TLS configuration, the plain pass runs it"

kk_certs
kk_backend app
bport=$kk_port
port=$(kk_free_port)
addr=127.0.0.1:$port
cat > "$T/kakehi.conf" <<EOF
listener add https $addr --hsts 31536000
certificate add $addr --cert certs/a.crt --key certs/a.key --chain certs/chain.crt
cluster add app
frontend add app --listener $addr
backend add app b1 127.0.0.1:$bport
EOF
kk_proxy "$T/kakehi.conf" "$addr"

# The listener serves the chain (curl checks it against the test root) and
# the header the scan looks for, before the scan says anything.
head=$(kk_curl -D - -o /dev/null --cacert "$kk_certs_dir/ca.crt" \
	--resolve "a.test:$port:127.0.0.1" "https://a.test:$port/" 2>&1 | tr -d '\r')
tap_like "$head" '^HTTP/(1\.1|2) 200' "an https request through kakehi is answered, its chain checked"
tap_like "$head" '^[Ss]trict-[Tt]ransport-[Ss]ecurity: max-age=31536000$' \
	"the answer carries Strict-Transport-Security"

# The fastest scan that still covers what the test is about (doc/testing.html):
# -p protocols, -s cipher categories, -f forward secrecy, -P server
# preference, -U vulnerabilities, -h headers (HSTS). --add-ca and the name
# a.test (on --ip 127.0.0.1) let it check the chain as a browser would.
start=$(date +%s)
timeout 300 testssl --quiet --color 0 --warnings off -n none \
	--add-ca "$kk_certs_dir/ca.crt" --ip 127.0.0.1 -p -s -f -P -U -h \
	--jsonfile "$T/testssl.json" "https://a.test:$port/" > "$T/testssl.txt" 2>&1
st=$?
tap_diag "testssl ran for $(( $(date +%s) - start )) s (status $st)"
tap_ok "testssl wrote its findings" test -s "$T/testssl.json" ||
	sed 's/^/#   /' "$T/testssl.txt" | tail -n 20

tap_ok "no finding of severity LOW or above about the TLS configuration, every area covered" \
	python3 "$kw_dir/tlsfindings.py" "$T/testssl.json"
hsts=$(python3 -c 'import json, sys
for x in json.load(open(sys.argv[1])):
    if x["id"] in ("HSTS", "HSTS_time"):
        print(x["severity"], x["finding"])' "$T/testssl.json" 2>&1)
tap_like "$hsts" '^OK 365 days \(=31536000 seconds\)' "testssl sees HSTS for 365 days"

tap_done
