#!/bin/sh
# The supervisor with real workers: a backend added or removed through
# kakehi-ctl changes where requests go; a bad verb changes nothing; a
# worker killed with -9 is replaced and traffic continues.
. "$(dirname "$0")/../lib.sh"
test -x "$KK_BIN/kakehi-worker" || tap_skip_all "kakehi-worker is not built"
SV_WORKER=$KK_BIN/kakehi-worker
. "$(dirname "$0")/sv.sh"

kk_backend b1 ; p1=$kk_port
kk_backend b2 ; p2=$kk_port
port=$(kk_free_port)
cat > "$T/k.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
cluster add app
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:$p1
EOF
sv_start a "$T/k.conf"
sv_ready a || { echo "Bail out! supervisor not ready" ; sed 's/^/# /' "$T/a.log" ; exit 1 ; }

served() {	# served N: which backends answered N requests, sorted, unique
	_i=0
	while test $_i -lt "$1" ; do kk_curl "http://127.0.0.1:$port/" | head -n 1 ; _i=$((_i + 1)) ; done | sort -u | tr '\n' ' '
}
tap_is "$(served 4)" "backend b1 " "before: only b1 serves"

tap_ok "backend add b2" ctl backend add app b2 127.0.0.1:$p2
tap_like "$(served 8)" "b2" "after backend add: b2 serves"

ctl state dump > "$T/before"
ctl backend add app b2 127.0.0.1:$p2 > "$T/out" 2>&1
tap_is "$?" 1 "adding b2 again: exit 1"
ctl frontend add app > "$T/out" 2>&1
tap_is "$?" 100 "frontend add without --listener: refused by kakehi-ctl, exit 100"
ctl state dump > "$T/after"
tap_ok "bad verbs: state unchanged" cmp "$T/before" "$T/after"

tap_ok "backend remove b1" ctl backend remove app b1
tap_is "$(served 6)" "backend b2 " "after backend remove: only b2 serves"

victim=$(worker_pid 0)
kill -9 "$victim"
tap_ok "kill -9: worker 0 replaced" kk_wait_for 20 sh -c \
	"kakehi-ctl -s $sv_sock status | grep -q '^worker 0 .* state ready restarts 1 '"
tap_is "$(served 4)" "backend b2 " "after kill -9: the replacement serves the current state"

tap_ok "shutdown" ctl shutdown
wait "$sv_pid"
tap_is "$?" 0 "shutdown: exit 0"

tap_done
