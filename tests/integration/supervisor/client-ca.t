#!/bin/sh
# An https listener's client CA through the supervisor (its workers the
# protocol-only fake): a config names the file relative to itself,
# kakehi-ctl reads the file and sends its bytes, bad input is refused and
# changes nothing, state save writes the CA beside the state as
# FILE.certs/SHA256.ca and a restart from it is the same state, and a
# reload with another CA changes the listener.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sv.sh"

kk_certs
c=$kk_certs_dir
L=127.0.0.1:$(kk_free_port)
L2=127.0.0.1:$(kk_free_port)
mkdir -p "$T/etc" "$T/s"
cat "$c/ca.crt" "$c/inter.crt" > "$T/etc/clients.pem"
sha=$(sha256sum "$T/etc/clients.pem" | cut -d' ' -f1)
b64=$(base64 -w 0 "$T/etc/clients.pem")
cat > "$T/etc/k.conf" <<EOF
set workers 1
listener add https $L --client-ca clients.pem
EOF
sv_start a "$T/etc/k.conf"
sv_ready a || { echo "Bail out! supervisor not ready" ; cat "$T/a.log" ; exit 1 ; }

tap_is "$(ctl listener list)" "listener add https $L --client-ca-data $b64" \
	"the config's client CA, read relative to the config, is held as its bytes"
tap_like "$(cat "$FAKE_WORKER_DIR/state.0")" "^listener add https $L --client-ca-data $b64\$" \
	"the worker got the data form"
tap_like "$(ctl --json listener list)" "\"client-ca-sha256\":\"$sha\",\"client-auth\":\"required\"" \
	"listener list --json: the CA by its SHA-256, required by default"

# kakehi-ctl reads the file from its own directory.
out=$(cd "$c" && ctl listener add https "$L2" --client-ca other-ca.crt --client-auth optional 2>&1)
tap_is "$?" 0 "listener add --client-ca by a relative file: ok ($out)"
tap_like "$(ctl listener list)" \
	"^listener add https $L2 --client-ca-data $(base64 -w 0 "$c/other-ca.crt") --client-auth optional\$" \
	"the file's bytes were sent, the mode kept"

# Bad input: a clear message, nothing changed; 100 when kakehi-ctl sees
# it, 1 when the supervisor refuses what the file holds.
ctl state dump > "$T/before"
bad() {	# bad DESCRIPTION RC PATTERN ARGS...: listener add ARGS exits RC with PATTERN
	_d=$1 _rc=$2 _p=$3 ; shift 3
	out=$(ctl listener add "$@" 2>&1) ; rc=$?
	tap_is "$rc" "$_rc" "$_d: refused ($_rc)"
	tap_like "$out" "$_p" "... $out"
}
bad "a missing CA file" 100 "unable to open $T/none.pem" https 127.0.0.1:1 --client-ca "$T/none.pem"
printf 'junk\n' > "$T/junk.pem"
bad "a CA file without a certificate" 1 "holds no PEM certificate" \
	https 127.0.0.1:1 --client-ca "$T/junk.pem"
bad "--client-auth without a CA" 100 "give --client-ca FILE too" \
	https 127.0.0.1:1 --client-auth optional
bad "--client-ca on a plain listener" 100 "is for https listeners" \
	http 127.0.0.1:1 --client-ca "$T/etc/clients.pem"
ctl state dump > "$T/after"
tap_ok "refused: the state is unchanged" cmp "$T/before" "$T/after"

# state save writes the CA beside the state, never inline.
tap_ok "state save" ctl state save "$T/s/state"
tap_like "$(cat "$T/s/state")" "^listener add https $L --client-ca state.certs/$sha.ca\$" \
	"the state names the CA's file, relative to itself"
tap_ok "the file holds the CA's bytes" cmp "$T/s/state.certs/$sha.ca" "$T/etc/clients.pem"
tap_is "$(stat -c %a "$T/s/state.certs/$sha.ca")" 600 "... mode 0600"
tap_fails "no CA byte inline in the state" grep -q -- '--client-ca-data' "$T/s/state"
cp -a "$T/s" "$T/s1"
ctl state dump > "$T/dump1"
kk_stop "$sv_pid"
sv_start b "$T/s/state"
sv_ready b || { echo "Bail out! not ready on its saved state" ; cat "$T/b.log" ; exit 1 ; }
ctl state dump > "$T/dump2"
tap_ok "restarted from the saved state: the same state" cmp "$T/dump1" "$T/dump2"
tap_ok "state save again" ctl state save "$T/s/state"
tap_ok "the same state file and CA files" diff -r "$T/s1" "$T/s"

# A reload with another CA for the first listener changes it.
sed "s|^listener add https $L .*|listener add https $L --client-ca $c/other-ca.crt|; s| state.certs/| $T/s/state.certs/|g" \
	"$T/s/state" > "$T/r.conf"
out=$(ctl reload "$T/r.conf" 2>&1)
tap_is "$?" 0 "reload with another client CA: ok ($(echo "$out" | head -n 1))"
tap_like "$(ctl listener list)" "^listener add https $L --client-ca-data $(base64 -w 0 "$c/other-ca.crt")\$" \
	"the listener holds the new CA"
kk_stop "$sv_pid"

tap_done
