#!/bin/sh
# Basic authentication per frontend (--htpasswd): 401 with the
# challenge when the credentials are missing, malformed or wrong; bcrypt
# and SHA-crypt users pass; the Authorization field removed before the
# backend unless --auth-forward; HTTP/1.1 (curl, python http.client) and
# HTTP/2 (h2c) alike. kakehi-ctl sends the file's bytes; state dump
# shows its digest, never a hash; state save writes it to a file of its
# own, and a proxy started from the saved state still authenticates. A
# flood of wrong passwords on a costly hash gets 429 past the budget,
# and the loop keeps serving.
. "$(dirname "$0")/../lib.sh"

python3 -W ignore -c 'import crypt' 2>/dev/null || tap_skip_all "python3's crypt module is missing (it makes the hashes)"
hash() { python3 -W ignore -c 'import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(getattr(crypt, sys.argv[2]), **({"rounds": int(sys.argv[3])} if len(sys.argv) > 3 else {}))))' "$@" ; }
{
	echo "# users"
	echo "alice:$(hash secret METHOD_BLOWFISH 16)"
	echo
	echo "bob:$(hash hunter2 METHOD_SHA512)"
	echo "carol:$(hash s3 METHOD_SHA256)"
	echo "slow:$(hash right METHOD_BLOWFISH 4096)"
} > "$T/users"

kk_backend echo
p_echo=$kk_port
port=$(kk_free_port)
L=127.0.0.1:$port
cat > "$T/kakehi.conf" <<CONF
set workers 1
listener add http $L
cluster add echo
frontend add echo --listener $L --host f.test --htpasswd users --auth-realm 'Zone 1' --auth-forward
frontend add echo --listener $L
backend add echo e1 127.0.0.1:$p_echo
CONF
kk_proxy "$T/kakehi.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
U=http://$L
(cd "$T" && ctl frontend add echo --listener "$L" --host a.test --htpasswd users) > /dev/null
tap_is "$?" 0 "frontend add --htpasswd through kakehi-ctl"

# req [CURL-ARGS...]: the status; the head in $T/head, the body in $T/body.
req() { curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' --max-time 20 "$@" ; }
field() { tr -d '\r' < "$T/head" | grep -i "^$1:" | sed 's/^[^:]*: //' ; }
saw_auth() { tr -d '\r' < "$T/body" | grep -ci '^authorization:' ; }

for proto in h1 h2c ; do
	opt= ; [ $proto = h2c ] && opt=--http2-prior-knowledge
	tap_is "$(req $opt -H 'Host: a.test' "$U/")" 401 "$proto: no credentials: 401"
	tap_is "$(field www-authenticate)" 'Basic realm="restricted", charset="UTF-8"' \
		"$proto: with the challenge"
	tap_is "$(req $opt -u alice:wrong -H 'Host: a.test' "$U/")" 401 "$proto: a wrong password: 401"
	tap_is "$(req $opt -u nobody:secret -H 'Host: a.test' "$U/")" 401 "$proto: an unknown user: 401"
	tap_is "$(req $opt -H 'Authorization: Basic !!!' -H 'Host: a.test' "$U/")" 401 \
		"$proto: malformed credentials: 401"
	tap_is "$(req $opt -u alice:secret -H 'Host: a.test' "$U/")" 200 "$proto: bcrypt user passes"
	tap_is "$(saw_auth)" 0 "$proto: the backend saw no Authorization field"
	tap_is "$(req $opt -u bob:hunter2 -H 'Host: a.test' "$U/x")" 200 "$proto: SHA-512-crypt user passes"
	tap_is "$(req $opt -u carol:s3 -H 'Host: a.test' "$U/x")" 200 "$proto: SHA-256-crypt user passes"
	tap_is "$(req $opt -u alice:secret -H 'Host: f.test' "$U/")" 200 "$proto: --auth-forward route"
	tap_is "$(saw_auth)" 1 "$proto: passes the Authorization field on"
	tap_is "$(req $opt -H 'Host: f.test' "$U/")" 401 "$proto: --auth-realm's route refuses too"
	tap_is "$(field www-authenticate)" 'Basic realm="Zone 1", charset="UTF-8"' \
		"$proto: naming its realm"
	tap_is "$(req $opt -H 'Host: other.test' "$U/")" 200 "$proto: a route without --htpasswd is open"
done
out=$(python3 - "$port" <<'PY'
import base64, http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
for cred in (None, "alice:secret", "alice:nope"):
    h = {"Host": "a.test"}
    if cred:
        h["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
    c.request("GET", "/", headers=h)
    r = c.getresponse()
    r.read()
    print(r.status, end=" ")
PY
)
tap_is "$out" "401 200 401 " "python http.client: on one connection, refused, passed, refused"

# What the state shows and keeps.
dump=$(ctl state dump)
tap_like "$dump" "frontend add echo --listener $L --host a.test --htpasswd-data sha256:[0-9a-f]{64}" \
	"state dump names the file by its digest"
tap_is "$(printf '%s\n' "$dump" | grep -c '\$2b\$\|\$6\$')" 0 "and shows no hash"
tap_like "$(ctl --json frontend list)" '"op":"basic-auth","realm":"Zone 1","forward":true,"sha256":"[0-9a-f]{64}"' \
	"frontend list --json: realm, forward and digest"
ctl state dump > "$T/before"
refuse() {
	_rc=$1 ; shift
	out=$( cd "$T" && ctl frontend add echo --listener "$L" --host bad.test "$@" 2>&1) ; rc=$?
	tap_is "$rc" "$_rc" "refused (exit $_rc): $*"
	tap_diag "$out"
}
printf 'eve:$apr1$abcdefgh$0123456789abcdefghijkl\n' > "$T/md5"
refuse 1 --htpasswd md5
refuse 1 --htpasswd-data "sha256:$(printf '%064d' 0)"
refuse 100 --auth-realm R
refuse 100 --htpasswd users --deny 403
refuse 100 --htpasswd users --auth-realm 'a"b'
refuse 100 --htpasswd "$T/none"
ctl state dump > "$T/after"
tap_ok "refusals changed nothing" cmp -s "$T/before" "$T/after"

# The budget: verifying a costly hash over and over spends it; past it
# 429, while requests that verify nothing are served at once.
codes=
for i in 1 2 3 4 ; do codes="$codes$(req -u slow:wrong -H 'Host: a.test' "$U/") " ; done
tap_like "$codes" "429" "wrong passwords on a costly hash past the budget: 429 ($codes)"
start=$(date +%s%N)
tap_is "$(req -H 'Host: other.test' "$U/")" 200 "the loop still serves"
tap_ok "at once" test $(( ($(date +%s%N) - start) / 1000000 )) -lt 1000
sleep 1.1
tap_is "$(req -u slow:right -H 'Host: a.test' "$U/")" 200 "a second later the right password passes"
start=$(date +%s%N)
tap_is "$(req -u slow:right -H 'Host: a.test' "$U/")" 200 "and again"
tap_ok "from the cache, without verifying again" test $(( ($(date +%s%N) - start) / 1000000 )) -lt 150
tap_like "$(kakehi-ctl -s "$kk_sock" status)" "auth-cached [1-9]" "status counts the cache's hits"

# Saved, then started again from the saved state.
ctl state save "$T/saved.conf" > /dev/null
f=$(ls "$T/saved.conf.certs/"*.htpasswd 2>/dev/null | head -n 1)
tap_ok "state save writes the password file" test -s "$f"
tap_is "$(stat -c %a "$f")" 600 "readable by its owner alone"
tap_like "$(cat "$T/saved.conf")" "--htpasswd saved.conf.certs/[0-9a-f]{64}.htpasswd" \
	"the saved line names it"
kk_stop "$kk_sup_pid"
kk_proxy "$T/saved.conf"
tap_is "$(req -u alice:secret -H 'Host: a.test' "$U/")" 200 "restarted from the saved state: alice passes"
tap_is "$(req -u alice:wrong -H 'Host: a.test' "$U/")" 401 "and a wrong password does not"
tap_done
