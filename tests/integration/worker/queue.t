#!/bin/sh
# Backend connection limits through the whole proxy, one worker: a backend
# at its --max-connections is not chosen, so a slow backend never holds
# more requests at once than its limit; when every backend is at its
# limit the surplus gets 503 at once; the option prints back canonically
# and a bad value changes nothing.
. "$(dirname "$0")/../lib.sh"
test -x "$KK_BIN/kakehi-supervisor" || tap_skip_all "kakehi-supervisor is not built"
here=$(cd "$(dirname "$0")" && pwd)

# slow NAME: starts slowcount.py; sets its port in port_NAME.
slow() {
	kk_spawn "slow-$1" python3 "$here/slowcount.py"
	kk_wait_for 10 test -s "$T/slow-$1.log" || { echo "Bail out! slowcount.py did not start" ; exit 1 ; }
	eval "port_$1=\$(head -n 1 \"\$T/slow-\$1.log\")"
}
slow one
port=$(kk_free_port)
cat > "$T/k.conf" <<EOF
set workers 1
listener add http 127.0.0.1:$port
cluster add limited
frontend add limited --listener 127.0.0.1:$port
backend add limited b1 127.0.0.1:$port_one --max-connections 2
EOF
kk_proxy "$T/k.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
# peak NAME: the most requests the backend held at once since the last call.
peak() { eval "kk_curl http://127.0.0.1:\$port_$1/peak" ; }
# count STATUS: the answers of the last burst with that status.
count() { grep -c "^$1 " "$T/burst.out" ; }
burst() { python3 "$here/burst.py" "$port" "$1" "$2" > "$T/burst.out" ; }

tap_like "$(ctl state dump)" "backend add limited b1 127.0.0.1:$port_one --max-connections 2\$" \
	"state dump prints --max-connections"
tap_like "$(ctl backend list limited)" "--max-connections 2" "backend list shows it"
tap_like "$(ctl --json backend list limited)" '"max_connections":2' "so does its --json"

peak one >/dev/null
burst 6 /wait/1500
tap_ok "the backend held 2 requests at most" test "$(peak one)" -le 2
tap_is "$(count 200)" 2 "two requests were served"
tap_is "$(count 503)" 4 "the four past the limit got 503"
tap_ok "... at once (under 1 s)" sh -c "! grep '^503' '$T/burst.out' | awk '\$2 >= 1' | grep -q ."

before=$(ctl state dump)
for bad in 0 -1 x 1000001 ; do
	tap_fails "--max-connections $bad is refused" \
		ctl backend add limited b2 127.0.0.1:$port_one --max-connections $bad
done
tap_like "$(ctl backend add limited b2 127.0.0.1:$port_one --max-connections 0 2>&1)" \
	"max-connections" "the refusal names the option"
tap_is "$(ctl state dump)" "$before" "the state is unchanged"

tap_done
