#!/bin/sh
# cluster add --tls against a running supervisor (its workers the
# protocol-only fake): the config's --ca is read relative to the config's
# directory, kakehi-ctl reads its --ca itself and sends the bytes, a CA
# file that holds no certificate is refused and changes nothing, the list
# and JSON show the settings, state save writes the CA beside the state
# as FILE.certs/HASH.ca (one file for two clusters that trust the same
# CA), and a restart from the saved state gives the same state.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sv.sh"

kk_certs
c=$kk_certs_dir
port=$(kk_free_port)
L=127.0.0.1:$port
hash() { sha256sum < "$1" | cut -d' ' -f1 ; }
hca=$(hash "$c/ca.crt") ; hother=$(hash "$c/other-ca.crt")

mkdir -p "$T/etc"
cp "$c/ca.crt" "$T/etc/"
cat > "$T/etc/k.conf" <<EOF
set workers 1
listener add http $L
cluster add app --tls --ca ca.crt --sni Backend.test
frontend add app --listener $L --host a.test
backend add app b1 127.0.0.1:9
EOF
sv_start a "$T/etc/k.conf"
sv_ready a || { echo "Bail out! supervisor not ready" ; cat "$T/a.log" ; exit 1 ; }

b64=$(base64 -w0 < "$c/ca.crt")
tap_is "$(ctl cluster list)" "cluster add app --tls --ca-data $b64 --sni backend.test" \
	"the config's CA, read relative to the config's directory; the name in lower case"
tap_ok "kakehi-ctl reads --ca and sends it" ctl cluster add other --tls --ca "$c/other-ca.crt"
tap_ok "a cluster with the first one's CA" ctl cluster add same --tls --ca "$c/ca.crt"
tap_ok "--no-verify" ctl cluster add loose --tls --no-verify
tap_like "$(ctl --json cluster list)" \
	"\"id\":\"app\".*\"tls\":\\{\"ca\":\"$hca\",\"sni\":\"backend.test\",\"verify\":true\\}" \
	"JSON: the CA by the hash of its bytes, the name, verification"
tap_like "$(ctl --json cluster list)" \
	"\"id\":\"loose\".*\"tls\":\\{\"ca\":null,\"sni\":null,\"verify\":false\\}" \
	"JSON: no CA (the system store's), no verification"

ctl state dump > "$T/before"
ctl cluster add bad --tls --ca "$c/a.key" > "$T/out" 2>&1
tap_is "$?" 1 "a --ca file holding a key: refused"
tap_like "$(cat "$T/out")" 'cluster "bad": --ca: no PEM certificate in the file' \
	"... saying so"
ctl state dump > "$T/after"
tap_ok "... and the state is unchanged" cmp "$T/before" "$T/after"

mkdir "$T/s"
tap_ok "state save" ctl state save "$T/s/state"
tap_is "$(cd "$T/s/state.certs" && ls | tr '\n' ' ')" \
	"$(printf '%s\n' "$hca.ca" "$hother.ca" | sort | tr '\n' ' ')" \
	"one CA file per distinct CA, named by its hash"
tap_ok "the file holds the CA's bytes" cmp "$c/ca.crt" "$T/s/state.certs/$hca.ca"
tap_like "$(cat "$T/s/state")" \
	"^cluster add app --tls --ca state.certs/$hca.ca --sni backend.test\$" \
	"the state names the file relative to itself"
tap_like "$(cat "$T/s/state")" "^cluster add loose --tls --no-verify\$" \
	"--no-verify is saved"
ctl state dump > "$T/dump1"
kk_stop "$sv_pid"
sv_start b "$T/s/state"
sv_ready b || { echo "Bail out! not ready on its saved state" ; cat "$T/b.log" ; exit 1 ; }
ctl state dump > "$T/dump2"
tap_ok "restarted from the saved state: the same state" cmp "$T/dump1" "$T/dump2"
tap_ok "cluster remove of a --tls cluster" ctl cluster remove other
tap_ok "state save again" ctl state save "$T/s/state"
tap_is "$(cd "$T/s/state.certs" && ls | tr '\n' ' ')" "$hca.ca " \
	"the CA no cluster trusts any more is removed"
kk_stop "$sv_pid"

tap_done
