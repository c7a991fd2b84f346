#!/bin/sh
# kakehi-ctl certificate add, replace, remove and list against a running
# supervisor with an https listener (its workers the protocol-only fake,
# so nothing here needs a worker that terminates TLS): kakehi-ctl reads
# the files and sends their bytes, a change sends the workers only the
# certificate it changes, every bad input is refused with a clear message
# and leaves the state as it was, no key byte shows in a dump, a list or
# the log, and state save writes FILE.certs/ that a restart loads back to
# the same files; dates fail an operator's config but only warn in a
# saved state.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sv.sh"

kk_certs
c=$kk_certs_dir
port=$(kk_free_port)
plain=$(kk_free_port)
L=127.0.0.1:$port
fp() { openssl x509 -noout -fingerprint -sha256 -in "$1" | sed 's/.*=//; s/://g' |
	tr 'A-F' 'a-f' ; }
fa=$(fp "$c/a.crt") ; fb=$(fp "$c/b.crt") ; fw=$(fp "$c/wild.crt") ; fl=$(fp "$c/a-late.crt")

# The config names its certificate relative to its own directory.
mkdir -p "$T/etc"
cp "$c/a.crt" "$c/a.key" "$c/chain.crt" "$T/etc/"
cat > "$T/etc/k.conf" <<EOF
set workers 1
listener add https $L --alpn h2,http/1.1 --hsts 600
listener add http 127.0.0.1:$plain
certificate add $L --cert a.crt --key a.key --chain chain.crt
cluster add app --https-redirect 308
frontend add app --listener $L --host a.test
EOF
sv_start a "$T/etc/k.conf"
sv_ready a || { echo "Bail out! supervisor not ready" ; cat "$T/a.log" ; exit 1 ; }

list=$(ctl certificate list)
tap_like "$list" "^$L $fa not-after [0-9T:-]+Z key ec chain names a.test www.a.test\$" \
	"the config's certificate, read relative to the config's directory, is listed"
tap_like "$(ctl listener list)" "^listener add https $L --hsts 600\$" \
	"the https listener lists canonically (--alpn h2,http/1.1 is the default, left out)"

# Add by files, relative to kakehi-ctl's own directory.
out=$(cd "$c" && ctl certificate add "$L" --cert b.crt --key b.key)
tap_is "$?" 0 "certificate add by relative files: ok"
tap_like "$out" "^added certificate $fb to $L, names b.test\$" "the reply names it"
tap_like "$(cat "$FAKE_WORKER_DIR/state.0")" \
	"^certificate add $L --cert-data [A-Za-z0-9+/=]+ --key-data [A-Za-z0-9+/=]+\$" \
	"the worker got the data form"
tap_is "$(grep -o -- '--key-data' "$FAKE_WORKER_DIR/state.0" | wc -l)" 2 \
	"the change sent the new certificate only (a in the memfd, b in the delta)"
tap_ok "certificate add with a chain and --file=value" \
	ctl certificate add "$L" --cert="$c/wild.crt" --key "$c/wild.key" --chain "$c/chain.crt"
tap_is "$(ctl certificate list "$L" | awk '{ print $2 }' | tr '\n' ' ')" "$fa $fb $fw " \
	"three certificates, in the order added"
tap_like "$(ctl --json certificate list)" \
	"\"fingerprint\":\"$fw\",\"names\":\\[\"\\*\\.w\\.test\"\\]" "certificate list --json"

# The largest certificate an operator gives fits a control frame: a
# 4096-bit RSA key, its chain up to the root.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$T/big.key" 2>/dev/null
openssl req -new -key "$T/big.key" -subj /CN=big.test -out "$T/big.csr" 2>/dev/null
printf 'subjectAltName=DNS:big.test\n' > "$T/big.ext"
openssl x509 -req -in "$T/big.csr" -CA "$c/inter.crt" -CAkey "$c/inter.key" -days 30 \
	-set_serial 4096 -extfile "$T/big.ext" -out "$T/big.crt" 2>/dev/null
cat "$c/inter.crt" "$c/ca.crt" > "$T/big.chain"
tap_ok "a 4096-bit RSA key with a chain to the root" \
	ctl certificate add "$L" --cert "$T/big.crt" --key "$T/big.key" --chain "$T/big.chain"
tap_like "$(ctl certificate list "$L")" " key rsa chain names big.test\$" "listed as rsa"
tap_ok "and removed" ctl certificate remove "$L" "$(fp "$T/big.crt")"

# Every bad input: a clear message, and the state as it was.
ctl state dump > "$T/before"
refused() {	# refused CODE WANT-REGEX NAME ARGS...: kakehi-ctl ARGS exits CODE saying WANT
	_code=$1 ; _want=$2 ; _name=$3 ; shift 3
	ctl "$@" > "$T/out" 2>&1
	tap_is "$?" "$_code" "$_name: exit $_code"
	tap_like "$(cat "$T/out")" "$_want" "$_name: says why"
	ctl state dump > "$T/after"
	tap_ok "$_name: state unchanged" cmp "$T/before" "$T/after"
}
refused 100 "certificate add: --cert: unable to open $c/nope.crt: No such file" \
	"an unreadable file" certificate add "$L" --cert "$c/nope.crt" --key "$c/a.key"
refused 100 "certificate add: --key: unable to read $c: not a regular file" \
	"a directory for a key" certificate add "$L" --cert "$c/a.crt" --key "$c"
refused 1 "listener $L: the certificate is not a PEM certificate" "garbage PEM" \
	certificate add "$L" --cert "$c/garbage.pem" --key "$c/a.key"
refused 1 "the key is not a PEM private key" "garbage key" \
	certificate add "$L" --cert "$c/b.crt" --key "$c/garbage.pem"
refused 1 "the key does not match the certificate" "a key of another certificate" \
	certificate add "$L" --cert "$c/b.crt" --key "$c/a.key"
refused 1 "the chain does not link to the leaf" "a chain that does not link" \
	certificate add "$L" --cert "$c/stray.crt" --key "$c/stray.key" --chain "$c/chain.crt"
refused 1 "certificate [0-9a-f]{64} of listener $L: the certificate expired on 2021-01-01T00:00:00Z; nothing changed" \
	"an expired certificate" certificate add "$L" --cert "$c/expired.crt" \
	--key "$c/expired.key"
refused 1 "the certificate is not valid before 2099-01-01" "a certificate not yet valid" \
	certificate add "$L" --cert "$c/future.crt" --key "$c/future.key"
refused 1 "listener 127.0.0.1:$plain is a plain http listener; certificates go on https" \
	"a plain listener" certificate add "127.0.0.1:$plain" --cert "$c/b.crt" --key "$c/b.key"
refused 1 "listener $L already has certificate $fb" "a certificate added twice" \
	certificate add "$L" --cert "$c/b.crt" --key "$c/b.key"
refused 1 "listener $L has no certificate $fl" "removing an unknown certificate" \
	certificate remove "$L" "$fl"
refused 1 "listener $L already has certificate $fb" "replacing by one already there" \
	certificate replace "$L" --old "$fa" --cert "$c/b.crt" --key "$c/b.key"
refused 1 "listener remove: listener $L has 3 certificates; remove them first" \
	"removing a listener with certificates" listener remove "$L"
refused 100 "--old \"xyz\" is not a fingerprint" "a bad fingerprint" \
	certificate replace "$L" --old xyz --cert "$c/a.crt" --key "$c/a.key"
# A client that sends file names itself: the supervisor reads no file.
ctl_raw() {
	python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
p = b"".join(w.encode() + b"\0" for w in sys.argv[2:])
s.sendall(struct.pack(">I", len(p)) + p)
n = struct.unpack(">I", s.recv(4))[0]
body = b""
while len(body) < n:
    body += s.recv(n - len(body))
print(body[:1].decode(), body[1:].decode(errors="replace"))
' "$sv_sock" "$@"
}
tap_like "$(ctl_raw certificate add "$L" --cert "$c/b.crt" --key "$c/b.key")" \
	"^E certificate add: --cert names a file, which the supervisor does not read" \
	"file names from a raw client: refused"
ctl state dump > "$T/after"
tap_ok "raw file names: state unchanged" cmp "$T/before" "$T/after"

# Replace keeps the place (the first is the listener's default).
out=$(ctl certificate replace "$L" --old "$fa" --cert "$c/a-late.crt" --key "$c/a-late.key" \
	--chain "$c/chain.crt")
tap_is "$?" 0 "certificate replace: ok"
tap_like "$out" "^replaced by certificate $fl to $L" "the reply names the new one"
tap_is "$(ctl certificate list "$L" | awk '{ print $2 }' | tr '\n' ' ')" "$fl $fb $fw " \
	"the replacement is in the old one's place"
tap_like "$(cat "$FAKE_WORKER_DIR/state.0")" "certificate replace $L --old $fa --cert-data" \
	"the workers got the replace line"
tap_ok "certificate remove: ok" ctl certificate remove "$L" "$fw"
tap_is "$(ctl certificate list "$L" | wc -l)" 2 "two left"

# No key byte anywhere: neither the file's base64 nor a line of its PEM.
ctl state dump > "$T/dump"
ctl --json state dump > "$T/dump.json"
ctl certificate list > "$T/list"
ctl --json certificate list >> "$T/list"
nokey() {	# nokey NAME FILE
	_hit=
	for _k in a-late b ; do
		_b64=$(base64 -w0 < "$c/$_k.key" | cut -c 1-40)
		_pem=$(sed -n 2p "$c/$_k.key")
		grep -qF -- "$_b64" "$2" && _hit="$_hit $_k(base64)"
		grep -qF -- "$_pem" "$2" && _hit="$_hit $_k(pem)"
	done
	tap_is "$_hit" "" "$1: no key bytes"
}
nokey "state dump" "$T/dump"
nokey "state dump --json" "$T/dump.json"
nokey "certificate list" "$T/list"
nokey "the supervisor's log" "$T/a.log"
tap_like "$(cat "$T/dump")" "^# certificate add $L # $fl, ec key, not after .*names a.test" \
	"state dump shows certificates as comments"
tap_like "$(cat "$T/a.log")" \
	"verb=\"certificate add $L --cert-data \\(hidden\\) --key-data \\(hidden\\)\" result=ok" \
	"the audit line hides the data"

# state save writes FILE.certs/, and a restart from it saves the same.
mkdir "$T/s"
tap_ok "state save" ctl state save "$T/s/state"
tap_is "$(stat -c %a "$T/s/state.certs")" 700 "the certificates' directory is 0700"
tap_is "$(stat -c %a "$T/s/state.certs/"* | sort -u)" 600 "its files are 0600"
tap_is "$(cd "$T/s/state.certs" && ls | tr '\n' ' ')" \
	"$(printf '%s\n' "$fb.crt" "$fb.key" "$fl.chain" "$fl.crt" "$fl.key" | sort | tr '\n' ' ')" \
	"one file per blob, named by fingerprint"
tap_like "$(cat "$T/s/state")" \
	"^certificate add $L --cert state.certs/$fl.crt --key state.certs/$fl.key --chain state.certs/$fl.chain\$" \
	"the state names the files relative to itself"
nokey "the saved state" "$T/s/state"
cp -a "$T/s" "$T/s1"
ctl state dump > "$T/dump1"
kk_stop "$sv_pid"
sv_start b "$T/s/state"
sv_ready b || { echo "Bail out! not ready on its saved state" ; cat "$T/b.log" ; exit 1 ; }
ctl state dump > "$T/dump2"
tap_ok "restarted from the saved state: the same state" cmp "$T/dump1" "$T/dump2"
tap_ok "state save again" ctl state save "$T/s/state"
tap_ok "the same state file and certificate files" diff -r "$T/s1" "$T/s"

# A reload adds what the file adds, counted, its lines listed without
# their bytes; one with an expired certificate changes nothing.
{ sed -n '/^set/p; /^listener/p; /^certificate/p' "$T/s/state" | sed "s| state.certs/| $T/s/state.certs/|g"
  echo "certificate add $L --cert $c/wild.crt --key $c/wild.key"
  sed -n '/^cluster/p; /^frontend/p' "$T/s/state" ; } > "$T/r.conf"
out=$(ctl reload "$T/r.conf")
tap_is "$?" 0 "reload adding a certificate: ok"
tap_like "$out" "^changes: 1 certificate added\$" "counted as a certificate added"
tap_like "$out" "^certificate add $L --cert-data \\(hidden\\) --key-data \\(hidden\\)\$" \
	"listed without its bytes"
tap_is "$(ctl certificate list "$L" | awk '{ print $2 }' | tr '\n' ' ')" "$fl $fb $fw " \
	"the reloaded certificate is there"
sed "s|$c/wild|$c/expired|g" "$T/r.conf" > "$T/r2.conf"
ctl state dump > "$T/before"
ctl reload "$T/r2.conf" > "$T/out" 2>&1
tap_is "$?" 1 "reload with an expired certificate: refused"
tap_like "$(cat "$T/out")" "r2.conf: certificate [0-9a-f]{64} of listener $L: the certificate expired on" \
	"and says which"
ctl state dump > "$T/after"
tap_ok "reload refused: state unchanged" cmp "$T/before" "$T/after"
nokey "the log after the reloads" "$T/b.log"
kk_stop "$sv_pid"

# Dates: an operator's config with an expired certificate is refused at
# start; the same lines in a saved state only warn.
printf '%s\n' "listener add https $L" \
	"certificate add $L --cert $c/expired.crt --key $c/expired.key" > "$T/old.conf"
kakehi-supervisor -s "$T/c.sock" -W "$SV_WORKER" "$T/old.conf" > "$T/c.log" 2>&1
tap_is "$?" 100 "a config with an expired certificate: exit 100"
tap_like "$(cat "$T/c.log")" \
	"certificate [0-9a-f]{64} of listener $L: the certificate expired on 2021-01-01" \
	"and says which"
{ echo "# kakehi state" ; cat "$T/old.conf" ; } > "$T/old.state"
sv_start d "$T/old.state"
sv_ready d || { echo "Bail out! an expired certificate's state did not start" ; cat "$T/d.log" ; exit 1 ; }
tap_like "$(cat "$T/d.log")" \
	"warning: .*old.state: certificate [0-9a-f]{64} of listener $L: the certificate expired on 2021-01-01T00:00:00Z; kept" \
	"a saved state with an expired certificate starts, with a warning"
kk_stop "$sv_pid"

# The real worker takes the lines: an https listener, its certificate in
# the state it starts from, and one added and one removed as changes.
SV_WORKER=$KK_BIN/kakehi-worker
sv_start e "$T/etc/k.conf"
sv_ready e || { echo "Bail out! not ready with kakehi-worker" ; cat "$T/e.log" ; exit 1 ; }
tap_ok "kakehi-worker: certificate add applied" \
	ctl certificate add "$L" --cert "$c/b.crt" --key "$c/b.key"
tap_ok "kakehi-worker: certificate replace applied" \
	ctl certificate replace "$L" --old "$fb" --cert "$c/wild.crt" --key "$c/wild.key"
tap_ok "kakehi-worker: certificate remove applied" ctl certificate remove "$L" "$fw"
gen=$(ctl status | awk '/^generation / { print $2 }')
tap_is "$(worker_field 0 generation)" "$gen" "the worker is at generation $gen"
kk_stop "$sv_pid"
tap_done
