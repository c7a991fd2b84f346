#!/bin/sh
# The in-place upgrade against the protocol-only fake worker: an upgrade
# while the workers crash-loop (the supervisor not ready yet) carries the
# readiness fd and the backoff over, and readiness comes once, when the
# workers serve; the state, generation and audit survive; a change after
# the upgrade reaches the adopted workers; a waiting mutation is told to
# retry; bad upgrade options are refused by kakehi-ctl.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sv.sh"

port=$(kk_free_port)
cat > "$T/k.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
cluster add app
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:9001
EOF
touch "$FAKE_WORKER_DIR/crash"
sv_start a "$T/k.conf"
kk_wait_for 20 grep -q 'restarts in' "$T/a.log"
tap_ok "the workers crash-loop: not ready" test ! -s "$T/a.ready"
tap_ok "upgrade while not ready" ctl upgrade --no-workers
tap_ok "still not ready after the upgrade" test ! -s "$T/a.ready"
rm -f "$FAKE_WORKER_DIR/crash"
sv_ready a
tap_is "$(od -An -c "$T/a.ready" | tr -d ' ')" '\n' \
	"readiness comes once, from the upgraded supervisor, when the workers serve"
tap_is "$(ready_count)" 2 "both workers ready"

# Changes, then an upgrade: the state and generation come through.
tap_ok "backend add before the upgrade" ctl backend add app b2 127.0.0.1:9002
gen=$(ctl status | awk '/^generation / { print $2 }')
dump=$(ctl state dump)
w0=$(worker_pid 0) ; w1=$(worker_pid 1)
tap_ok "upgrade --no-workers" ctl upgrade --no-workers
tap_is "$(ctl state dump)" "$dump" "the state is the same after the upgrade"
tap_is "$(ctl status | awk '/^generation / { print $2 }')" "$gen" "and the generation"
tap_is "$(worker_pid 0) $(worker_pid 1)" "$w0 $w1" "the workers are the same processes"
tap_ok "a change after the upgrade commits on the adopted workers" \
	ctl backend add app b3 127.0.0.1:9003
tap_is "$(worker_field 0 generation)/$(worker_field 1 generation)" \
	"$((gen + 1))/$((gen + 1))" "both adopted workers acked it"
tap_like "$(cat "$T/a.log")" \
	'audit: uid=[0-9]+ pid=[0-9]+ comm=kakehi-ctl verb="upgrade --no-workers" result=ok' \
	"the upgrade is audited, by the new supervisor"

# Without --no-workers the rolling worker upgrade follows, and its reply
# ends the answer.
ctl upgrade > "$T/roll.out" 2>&1
tap_is "$?" 0 "upgrade, the workers rolled after it"
tap_like "$(cat "$T/roll.out")" '^upgraded in place: kakehi-supervisor ' \
	"the answer opens with the supervisor's upgrade"
tap_ok "then every worker was replaced" test "$(worker_pid 0)" != "$w0" -a \
	"$(ready_count)" = 2 -a -z "$(ctl status | awk -v a="$w0" -v b="$w1" \
	'$1 == "worker" && ($4 == a || $4 == b)')"
tap_is "$(od -An -c "$T/a.ready" | tr -d ' ')" '\n' "readiness was not signalled again"

# Requests held behind a slow change run in arrival order: the upgrade
# first, which answers the mutation held after it "retry". The change is
# slow because silent workers do not answer it: it lasts worker-timeout.
tap_ok "set worker-timeout 6s" ctl set worker-timeout 6s
touch "$FAKE_WORKER_DIR/silent"
ctl backend add app b4 127.0.0.1:9004 > "$T/slow.out" 2>&1 &
slow=$!
sleep 1
ctl upgrade --no-workers > "$T/up.out" 2>&1 &
up=$!
sleep 1
ctl backend add app b5 127.0.0.1:9005 > "$T/held.out" 2>&1 &
held=$!
sleep 1
rm -f "$FAKE_WORKER_DIR/silent"
wait "$slow"
wait "$up"
tap_is "$?" 0 "an upgrade held behind a change in flight runs when it ends"
wait "$held"
tap_is "$?" 1 "a mutation held after the upgrade is refused"
tap_like "$(cat "$T/held.out")" 'being upgraded in place; this request did not run: retry it' \
	"and told to retry"
tap_ok "b5 was not added" sh -c "! kakehi-ctl -s '$sv_sock' backend list app | grep -q b5"
tap_like "$(cat "$T/a.log")" \
	'audit: uid=[0-9]+ pid=[0-9]+ comm=kakehi-ctl verb="upgrade --no-workers" result=ok' \
	"the held upgrade is audited ok"

# A config path with a line break cannot travel in the handoff's lines:
# refused before anything happens.
nl='
'
port2=$(kk_free_port)
sed "s/127.0.0.1:$port/127.0.0.1:$port2/" "$T/k.conf" > "$T/line${nl}break.conf"
a_sock=$sv_sock a_pid=$sv_pid
sv_start b "$T/line${nl}break.conf"
sv_ready b
ctl upgrade > "$T/nl.out" 2>&1
tap_is "$?" 1 "upgrade of a supervisor whose config path has a line break: refused"
tap_like "$(cat "$T/nl.out")" 'has a line break, which the handoff cannot carry' "and says why"
tap_ok "that supervisor still runs" kill -0 "$sv_pid"
sv_sock=$a_sock sv_pid=$a_pid

tap_fails "upgrade --binary with no value is refused by kakehi-ctl" ctl upgrade --binary
tap_fails "upgrade with a stray argument is refused" ctl upgrade now
tap_ok "the supervisor still runs" kill -0 "$sv_pid"
tap_done
