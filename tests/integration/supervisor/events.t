#!/bin/sh
# kakehi-ctl events (protocol-only fake workers): a follower sees the
# changes applied and refused with their generation and actor, a
# worker's exit, restart and readiness, as text and as JSON, never a
# key's bytes, through quiet spells longer than -t; a follower that stops
# reading is dropped with a notice once it falls behind, and the
# supervisor serves others all the while; more followers than allowed
# are refused.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sv.sh"

port=$(kk_free_port)
cat > "$T/k.conf" <<CONF
set workers 1
listener add http 127.0.0.1:$port
cluster add app
frontend add app --listener 127.0.0.1:$port
CONF
sv_start a "$T/k.conf"
sv_ready a || { echo "Bail out! supervisor not ready" ; cat "$T/a.log" ; exit 1 ; }

kk_spawn events-text kakehi-ctl -s "$sv_sock" -t 2000 events
ftext=$kk_last_pid
kk_spawn events-json kakehi-ctl -s "$sv_sock" --json events
fjson=$kk_last_pid
text=$T/events-text.log json=$T/events-json.log
tap_ok "a follower is told where its stream starts" \
	kk_wait_for 10 grep -q '^following events from generation ' "$text"
kk_wait_for 10 grep -q '"event":"following"' "$json"
gen=$(ctl status | awk '/^generation / { print $2 }')

tap_ok "a change" ctl backend add app b1 127.0.0.1:9001
tap_ok "the change is an event" kk_wait_for 10 grep -q " change " "$text"
line=$(grep " change " "$text" | head -n 1)
tap_like "$line" "^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:.]*Z change generation=$((gen + 1)) result=applied " \
	"text: time, kind, the generation it made, applied"
tap_like "$line" 'actor="uid=[0-9]+ pid=[0-9]+ comm=kakehi-ctl"' "text: the actor"
tap_like "$line" 'verb="backend add app b1 127\.0\.0\.1:9001"' "text: the verb, quoted"

# A change the worker refuses: the refusal and why.
echo "b2 no room for b2" > "$FAKE_WORKER_DIR/nack"
tap_fails "a change the worker refuses" ctl backend add app b2 127.0.0.1:9002
rm -f "$FAKE_WORKER_DIR/nack"
tap_ok "its refusal is an event" kk_wait_for 10 grep -q "result=refused" "$text"
tap_like "$(grep result=refused "$text")" 'why="refused by worker 0.*no room for b2' \
	"text: the refusal says why"

# The worker dies: its exit, then a new process spawned and ready again.
# The new one may come from the exit, from a backoff, or, when the
# supervisor saw the channel break before it reaped the process, from
# ready: the why says which restart it is either way.
old=$(worker_pid 0)
kill -9 "$old"
tap_ok "the worker's restart is followed to ready" \
	kk_wait_for 20 sh -c "grep ' worker ' '$text' | grep -v 'pid=$old ' | grep -q 'state=ready'"
tap_like "$(grep " worker " "$text" | grep "pid=$old " | tail -n 1)" \
	"worker id=0 pid=$old state=exited was=[a-z]+ .*why=\"died on signal 9" \
	"the exit: its pid, its state before, how it ended"
tap_like "$(grep " worker " "$text" | grep "state=spawned" | tail -n 1)" \
	'was=[a-z]+ .*why="restart 1, after its last process died on signal 9' \
	"then a new process, spawned, saying why"

# JSON: one object a line, the same events.
tap_ok "JSON: every line an object, the same events" python3 -c '
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
kinds = [e["event"] for e in evs]
c = [e for e in evs if e["event"] == "change"]
assert kinds[0] == "following", kinds
assert c[0]["result"] == "applied" and c[0]["generation"] == int(sys.argv[2]) + 1, c[0]
assert c[0]["verb"] == "backend add app b1 127.0.0.1:9001", c[0]
assert c[1]["result"] == "refused" and "no room for b2" in c[1]["why"], c[1]
w = [e for e in evs if e["event"] == "worker"]
assert any(e["state"] == "ready" and e["was"] == "spawned" for e in w), w
' "$json" "$gen"

# A certificate's key never shows: the verb is redacted as in the log.
kk_certs
cport=$(kk_free_port)
ctl listener add https 127.0.0.1:$cport > /dev/null
ctl certificate add 127.0.0.1:$cport --cert "$kk_certs_dir/a.crt" --key "$kk_certs_dir/a.key" \
	--chain "$kk_certs_dir/chain.crt" > "$T/cert.out" 2>&1 || tap_diag "$(cat "$T/cert.out")"
tap_ok "a certificate added is an event" kk_wait_for 10 grep -q "verb=\"certificate add" "$text"
# kakehi-ctl sends the key file's bytes in base64 (--key-data).
key=$(base64 -w0 "$kk_certs_dir/a.key" | cut -c 1-48)
tap_fails "with no key bytes, text or JSON" grep -qF "$key" "$text" "$json"
tap_like "$(grep 'verb="certificate add' "$text")" '--key-data \(hidden\)' \
	"the key's option is shown hidden"

# kakehi-ctl's -t covers the first answer only: a follower with -t 2 s
# is still there after a longer quiet spell.
sleep 3
ctl backend add app b3 127.0.0.1:9003
tap_ok "a quiet spell past -t does not end a follower" \
	kk_wait_for 10 grep -q 'verb="backend add app b3' "$text"

# A follower that stops reading: past its backlog bound it is dropped
# with a notice (in the log, and as its last frame), and everyone else
# is served meanwhile.
python3 "$SV_DIR/events.py" "$sv_sock" stuck "$T/stuck.ready" "$T/stuck.go" > "$T/stuck.out" &
stuck=$!
kk_wait_for 10 test -e "$T/stuck.ready"
tap_is "$(python3 "$SV_DIR/events.py" "$sv_sock" changes 1500 9004)" 1500 \
	"1500 changes applied while a follower reads nothing"
tap_ok "status answers" ctl status
tap_like "$(cat "$T/a.log")" "events: dropped uid=[0-9]+ pid=$stuck .*fell more than 65536 bytes behind" \
	"the stuck follower was dropped, and the log says so"
touch "$T/stuck.go"
wait "$stuck"
tap_like "$(cat "$T/stuck.out")" "^[0-9]+ E events: this reader fell more than 64 KiB behind" \
	"its last frame tells it why"
tap_is "$(grep -c ' change ' "$text")" "$(( $(grep -c '"event":"change"' "$json") ))" \
	"the followers that read lost nothing"
tap_ok "... and saw all 1500" kk_wait_for 20 sh -c "test \$(grep -c 'verb=\"backend add app s' '$text') -eq 1500"

# At most 8 followers: two follow, six more may, the ninth is refused.
more=
for i in 1 2 3 4 5 6 ; do
	kk_spawn "events-more$i" kakehi-ctl -s "$sv_sock" events
	more="$more $kk_last_pid"
	kk_wait_for 10 grep -q '^following' "$T/events-more$i.log"
done
out=$(ctl events 2>&1)
tap_is "$?" 1 "a ninth follower is refused: exit 1"
tap_like "$out" "8 clients follow already" "... saying why"
kill $ftext $fjson $more
tap_done
