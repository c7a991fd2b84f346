#!/bin/sh
# Session-ticket keys from the supervisor to the workers: both workers
# report the supervisor's ring at start, follow a short rotation, a worker
# killed and restarted gets the ring in use, and an in-place upgrade (with
# and without the rolling of the workers) keeps it and goes on rotating.
# Compared by the ring's serial and the public name of its encrypting key,
# never a secret; the state never holds the keys.
. "$(dirname "$0")/../lib.sh"

port=$(kk_free_port)
cat > "$T/k.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
EOF
kk_proxy "$T/k.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
# The supervisor's "serial key", and the workers' as "COUNT serial key".
sup_ring() { ctl status | awk '$1 == "tls-ticket-serial" && !/^ / { s = $2 }
	$1 == "tls-ticket-key" && !/^ / { k = $2 } END { print s, k }' ; }
worker_rings() { ctl status --workers | awk '/^  tls-ticket-serial / { s = $2 }
	/^  tls-ticket-key / { print s, $2 }' | sort | uniq -c | awk '{ print $1, $2, $3 }' ; }
workers_follow() { test "$(worker_rings)" = "2 $(sup_ring)" ; }
worker_pid() { ctl status | awk -v id="$1" '$1 == "worker" && $2 == id { print $4 }' ; }
serial_past() { test "$(sup_ring | cut -d' ' -f1)" -gt "$1" ; }
restarted() { test -n "$(ctl status | awk -v old="$1" \
	'$1 == "worker" && $2 == 0 && $4 != old && $6 == "ready"')" ; }

r0=$(sup_ring)
tap_like "$r0" '^1 [0-9a-f]{32}$' "the supervisor made ring 1 at start, its key named in status"
tap_is "$(worker_rings)" "2 $r0" "both workers got it at their start"
tap_like "$(ctl --json status)" '"tls_ticket_serial":1,"tls_ticket_key":"[0-9a-f]{32}"' \
	"and status --json says the same"
tap_ok "status --json is still JSON" sh -c \
	"kakehi-ctl -s '$kk_sock' --json status | python3 -m json.tool"
ctl state save "$T/saved" > /dev/null
tap_ok "the saved state names no key" sh -c "! grep -q 'tls-keys\|${r0#* }' '$T/saved'"

# A short rotation: the serial moves and the workers follow it.
tap_ok "set tls-ticket-rotation 1s" ctl set tls-ticket-rotation 1s
kk_wait_for 10 serial_past 2
r1=$(sup_ring)
tap_ok "two rotations in a few seconds (now $r1)" serial_past 2
tap_ok "the key that encrypts changed" test "${r1#* }" != "${r0#* }"
kk_wait_for 5 workers_follow
tap_ok "both workers follow the rotation" workers_follow
tap_ok "set tls-ticket-rotation 1h" ctl set tls-ticket-rotation 1h
r2=$(sup_ring)
sleep 1.5
tap_is "$(sup_ring)" "$r2" "a longer period stops the quick rotations"
kk_wait_for 5 workers_follow

# A worker killed: its replacement gets the ring in use.
w0=$(worker_pid 0)
kill -9 "$w0"
kk_wait_for 20 restarted "$w0"
tap_ok "worker 0 was restarted" restarted "$w0"
kk_wait_for 5 workers_follow
tap_is "$(worker_rings)" "2 $r2" "the restarted worker has the ring in use"

# In-place upgrades: the ring comes through the handoff.
tap_ok "upgrade --no-workers" ctl upgrade --no-workers
tap_is "$(sup_ring)" "$r2" "the upgraded supervisor has the same ring"
tap_is "$(worker_rings)" "2 $r2" "and the adopted workers still do"
w1=$(worker_pid 1)
tap_ok "upgrade, the workers rolled" ctl upgrade
tap_ok "worker 1 is a new process" test "$(worker_pid 1)" != "$w1"
kk_wait_for 5 workers_follow
tap_is "$(worker_rings)" "2 $r2" "the rolled workers got the ring of before the upgrade"
tap_ok "set tls-ticket-rotation 1s after the upgrade" ctl set tls-ticket-rotation 1s
kk_wait_for 10 serial_past "${r2%% *}"
r3=$(sup_ring)
tap_ok "the rotation goes on from the ring carried over ($r2 -> $r3)" \
	serial_past "${r2%% *}"
kk_wait_for 5 workers_follow
tap_ok "and the workers follow it" workers_follow

kk_stop "$kk_sup_pid"
tap_done
