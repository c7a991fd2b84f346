#!/bin/sh
# sd_notify to a fake $NOTIFY_SOCKET (notifyd.py): READY=1 once the
# workers are, RELOADING=1 with MONOTONIC_USEC= and READY=1 around each
# reload (kakehi-ctl reload, SIGHUP, a refused one), STATUS= lines,
# WATCHDOG=1 at half of WATCHDOG_USEC (none when WATCHDOG_PID is another
# process), STOPPING=1; abstract (@) sockets; workers do not inherit the
# variables; a manager that stops reading does not stall the loop.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sv.sh"

notes=$T/notes
printf 'set workers 2\ncluster add app\n' > "$T/k.conf"

kk_spawn notifyd python3 "$SV_DIR/notifyd.py" "$T/notify.sock" "$notes"
kk_wait_for 10 grep -q '^listening$' "$notes" ||
	{ echo "Bail out! notifyd.py did not start" ; exit 1 ; }

count() { grep -c -- "$1" "$notes" ; }
at_least() { test "$(count "$1")" -ge "$2" ; }

export NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000
sv_start a "$T/k.conf"
unset NOTIFY_SOCKET WATCHDOG_USEC
tap_ok "supervisor ready on its -d fd" sv_ready a
tap_ok "READY=1 reaches NOTIFY_SOCKET" kk_wait_for 20 at_least '|READY=1$' 1
tap_is "$(grep '|READY=1$' "$notes" | head -n 1 | cut -d'|' -f1)" "$sv_pid" \
	"READY=1 comes from the supervisor's pid (NotifyAccess=main)"
tap_ok "STATUS= says the workers are ready" \
	kk_wait_for 10 grep -q 'STATUS=serving: 2 of 2 workers ready, generation 1$' "$notes"
tap_ok "WATCHDOG=1 pings at half of WATCHDOG_USEC" kk_wait_for 20 at_least '|WATCHDOG=1$' 3
tap_ok "the log says the watchdog interval" grep -q 'watchdog: pinging every 200 ms' "$T/a.log"
for id in 0 1 ; do
	pid=$(worker_pid $id)
	tap_fails "worker $id does not inherit NOTIFY_SOCKET or WATCHDOG_*" \
		sh -c "tr '\\0' '\\n' < /proc/$pid/environ | grep -E '^(NOTIFY_SOCKET|WATCHDOG_)'"
done

# reload: RELOADING=1 with MONOTONIC_USEC, then READY=1 after it.
printf 'set workers 2\ncluster add app\ncluster add two\n' > "$T/k.conf"
tap_ok "kakehi-ctl reload applies" ctl reload
tap_ok "RELOADING=1 arrives" kk_wait_for 10 at_least '|RELOADING=1|MONOTONIC_USEC=' 1
tap_ok "READY=1 again after the reload" kk_wait_for 10 at_least '|READY=1$' 2
line=$(grep '|RELOADING=1|' "$notes" | head -n 1)
usec=${line##*MONOTONIC_USEC=}
tap_like "$usec" '^[0-9]+$' "MONOTONIC_USEC is a number ($usec)"
near_now() {
	python3 -c 'import sys, time; sys.exit(abs(time.monotonic() - int(sys.argv[1]) / 1e6) > 60)' "$1"
}
tap_ok "MONOTONIC_USEC is CLOCK_MONOTONIC, in microseconds" near_now "$usec"
first_reload=$(grep -n '|RELOADING=1|' "$notes" | head -n 1 | cut -d: -f1)
second_ready=$(grep -n '|READY=1$' "$notes" | sed -n 2p | cut -d: -f1)
tap_ok "RELOADING=1 comes before the READY=1 that ends it" \
	test "$first_reload" -lt "$second_ready"
tap_ok "STATUS= names the last change" \
	kk_wait_for 10 grep -q 'generation 2; last change [0-9:]* UTC: reload: applied$' "$notes"

kill -HUP "$sv_pid"
tap_ok "SIGHUP: RELOADING=1" kk_wait_for 10 at_least '|RELOADING=1|MONOTONIC_USEC=' 2
tap_ok "SIGHUP: READY=1 when it ends" kk_wait_for 10 at_least '|READY=1$' 3

printf 'set workers 2\ncluster add\n' > "$T/k.conf"
tap_fails "a refused reload fails" ctl reload
tap_ok "a refused reload: RELOADING=1 then READY=1 (still serving)" \
	kk_wait_for 10 at_least '|READY=1$' 4
tap_is "$(count '|RELOADING=1|')" 3 "one RELOADING=1 per reload"

tap_ok "the supervisor answers while pinging" ctl status
kk_stop "$sv_pid" TERM
tap_ok "STOPPING=1 on SIGTERM" grep -q '|STOPPING=1$' "$notes"
tap_ok "STATUS= says it is stopping" grep -q 'STATUS=stopping: ' "$notes"

# An abstract socket, and WATCHDOG_PID naming another process.
abs="@kakehi-test-notify-$$"
kk_spawn notifyd2 python3 "$SV_DIR/notifyd.py" "$abs" "$T/notes2"
kk_wait_for 10 grep -q '^listening$' "$T/notes2"
printf 'set workers 1\n' > "$T/one.conf"
export NOTIFY_SOCKET="$abs" WATCHDOG_USEC=100000 WATCHDOG_PID=1
sv_start b "$T/one.conf"
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID
tap_ok "abstract socket: READY=1 arrives" kk_wait_for 20 grep -q '|READY=1$' "$T/notes2"
sleep 0.5
tap_fails "WATCHDOG_PID of another process: no pings" grep -q 'WATCHDOG=1' "$T/notes2"
tap_ok "the log says why there are no pings" \
	grep -q 'WATCHDOG_PID=1 is not this process' "$T/b.log"
kk_stop "$sv_pid" TERM

# A manager that stops reading: pings every 10 ms into a full queue.
kk_spawn notifyd3 env NOTIFYD_STALL=4 python3 "$SV_DIR/notifyd.py" "$T/stall.sock" "$T/notes3"
kk_wait_for 10 grep -q '^listening$' "$T/notes3"
export NOTIFY_SOCKET="$T/stall.sock" WATCHDOG_USEC=20000
sv_start c "$T/k.conf"
unset NOTIFY_SOCKET WATCHDOG_USEC
printf 'set workers 2\ncluster add app\n' > "$T/k.conf"
tap_ok "stalled manager: the supervisor is ready" sv_ready c
quick_status() { timeout 5 kakehi-ctl -s "$sv_sock" status ; }
tap_ok "stalled manager: control answers during the stall" quick_status
tap_ok "stalled manager: a reload goes through" timeout 10 kakehi-ctl -s "$sv_sock" reload
tap_ok "stalled manager: READY=1 arrives once it reads again" \
	kk_wait_for 20 grep -q '|READY=1$' "$T/notes3"
tap_ok "stalled manager: pings resume" kk_wait_for 20 grep -q 'WATCHDOG=1' "$T/notes3"
kk_stop "$sv_pid" TERM

# Not a socket path: a warning, and the proxy runs.
export NOTIFY_SOCKET=relative/path
sv_start d "$T/k.conf"
unset NOTIFY_SOCKET
tap_ok "a NOTIFY_SOCKET that is not a path: still ready" sv_ready d
tap_ok "... with a warning naming it" \
	grep -q 'NOTIFY_SOCKET=relative/path is not a socket path' "$T/d.log"
kk_stop "$sv_pid" TERM
tap_done
