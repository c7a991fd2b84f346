#!/bin/sh
# An in-place upgrade as systemd sees it ($NOTIFY_SOCKET, notifyd.py): a
# reload, RELOADING=1 then READY=1, both from the same pid; the watchdog
# pings go on from the new binary; a failed upgrade ends with READY=1 too.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sv.sh"

notes=$T/notes
kk_spawn notifyd python3 "$SV_DIR/notifyd.py" "$T/notify.sock" "$notes"
kk_wait_for 10 grep -q '^listening' "$notes" ||
	{ echo "Bail out! notifyd.py did not start" ; exit 1 ; }
count() { grep -c -- "$1" "$notes" ; }
at_least() { test "$(count "$1")" -ge "$2" ; }

port=$(kk_free_port)
printf 'set workers 2\nlistener add http 127.0.0.1:%s\n' "$port" > "$T/k.conf"
export NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000
sv_start a "$T/k.conf"
unset NOTIFY_SOCKET WATCHDOG_USEC
sv_ready a
tap_ok "READY=1 at start" kk_wait_for 20 at_least '|READY=1$' 1

tap_ok "upgrade --no-workers" ctl upgrade --no-workers
tap_ok "RELOADING=1 when the upgrade starts" \
	kk_wait_for 20 at_least '|RELOADING=1|MONOTONIC_USEC=' 1
tap_ok "READY=1 again when it ends" kk_wait_for 20 at_least '|READY=1$' 2
tap_is "$(grep -E '\|(RELOADING|READY)=1' "$notes" | cut -d'|' -f1 | sort -u)" "$sv_pid" \
	"every notification comes from the supervisor's one pid"
pings=$(count '|WATCHDOG=1$')
tap_ok "the watchdog pings go on from the new binary" \
	kk_wait_for 20 at_least '|WATCHDOG=1$' $((pings + 3))

printf '#!/bin/sh\nexit 1\n' > "$T/exits"
chmod +x "$T/exits"
tap_fails "upgrade to a binary that exits: refused" ctl upgrade --binary "$T/exits"
tap_ok "a failed upgrade also ends with READY=1" kk_wait_for 20 at_least '|READY=1$' 3
tap_done
