#!/bin/sh
# Verbs through kakehi-ctl against a supervisor whose workers are the
# protocol-only fake: changes commit only when every worker acks, a
# refusal or a bad verb leaves the state as it was, silence is reported
# and the silent worker replaced, listeners travel to workers with
# SCM_RIGHTS, `set workers` scales live, state save/load round-trips, a
# killed worker comes back, SIGHUP applies the config as a diff, and
# every mutation is audited.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sv.sh"

port=$(kk_free_port)
cat > "$T/k.conf" <<EOF
set workers 2
set worker-timeout 3s
listener add http 127.0.0.1:$port
cluster add app
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:9001
EOF
sv_start a "$T/k.conf"
sv_ready a || { echo "Bail out! supervisor not ready" ; cat "$T/a.log" ; exit 1 ; }

# A good mutation: committed, acked by both workers.
tap_ok "backend add: ok" ctl backend add app b2 127.0.0.1:9002
tap_like "$(ctl backend list app)" "backend add app b2 127.0.0.1:9002" "backend add: listed"
gen=$(ctl status | awk '/^generation / { print $2 }')
tap_is "$(worker_field 0 generation)/$(worker_field 1 generation)" "$gen/$gen" \
	"both workers acked generation $gen"
tap_like "$(cat "$T/a.log")" 'audit: uid=[0-9]+ pid=[0-9]+ comm=kakehi-ctl verb="backend add app b2 127.0.0.1:9002" result=ok' \
	"backend add: audit line with uid, pid, comm"

# A verb the state refuses: exit 1, state unchanged.
ctl state dump > "$T/before"
ctl backend add nope b3 127.0.0.1:9003 > "$T/out" 2>&1
tap_is "$?" 1 "backend add to a missing cluster: exit 1"
tap_like "$(cat "$T/out")" 'cluster "nope" does not exist' "refusal says why"
ctl state dump > "$T/after"
tap_ok "refused verb: state unchanged" cmp "$T/before" "$T/after"
tap_like "$(cat "$T/a.log")" 'verb="backend add nope b3 127.0.0.1:9003" result=error' "refusal audited"

# The supervisor parses again: a verb the client did not check is refused.
raw() {	# raw WORD...: sends the words as one frame (\xNN escapes allowed), prints the reply
	python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
words = [w.encode().decode("unicode_escape") for w in sys.argv[2:]]
p = b"".join(w.encode() + b"\0" for w in words)
s.sendall(struct.pack(">I", len(p)) + p)
hdr = s.recv(4)
n = struct.unpack(">I", hdr)[0]
body = b""
while len(body) < n:
    body += s.recv(n - len(body))
print(body[:1].decode(), body[1:].decode(errors="replace"))
' "$sv_sock" "$@"
}
raw=$(raw backend add app bx not-an-address)
tap_like "$raw" "^E backend add: " "unchecked bad verb from a raw client: error reply"
ctl state dump > "$T/after"
tap_ok "unchecked bad verb: state unchanged" cmp "$T/before" "$T/after"
tap_like "$(cat "$T/a.log")" \
	'audit: uid=[0-9]+ pid=[0-9]+ comm=python3 verb="backend add app bx not-an-address" result=refused: backend add: ' \
	"refused by the supervisor's parser: audited"
raw=$(raw backend add app 'b\x1b[31m9' 127.0.0.1:9009)
tap_like "$raw" "^E " "an id with control characters: error reply"
tap_like "$(grep 'verb="backend add app .*9009' "$T/a.log")" \
	'verb="backend add app .?b\?\[31m9.? 127.0.0.1:9009" result=refused: ' \
	"an id with control characters: audited, scrubbed"
tap_fails "audit lines carry no control characters" \
	sh -c "grep audit '$T/a.log' | LC_ALL=C grep -q '[[:cntrl:]]'"
raw listener list extra > /dev/null
tap_fails "a refused read-only verb is not audited" grep -q 'verb="listener list' "$T/a.log"
ctl state dump > "$T/after"
tap_ok "refused raw verbs: state unchanged" cmp "$T/before" "$T/after"

# A worker refuses: error with its reason, everyone rolled back.
echo "127.0.0.1:9004 router rejects it" > "$FAKE_WORKER_DIR/nack"
ctl backend add app b4 127.0.0.1:9004 > "$T/out" 2>&1
tap_is "$?" 1 "worker nack: exit 1"
tap_like "$(cat "$T/out")" "refused by worker [01]: router rejects it" "worker nack: reason relayed"
rm -f "$FAKE_WORKER_DIR/nack"
ctl state dump > "$T/after"
tap_ok "worker nack: state unchanged" cmp "$T/before" "$T/after"
gen=$(ctl status | awk '/^generation / { print $2 }')
tap_ok "worker nack: workers back on the committed state (generation $gen)" \
	kk_wait_for 10 sh -c "test \"\$(kakehi-ctl -s $sv_sock status | grep -c 'state ready restarts 0 generation $gen')\" = 2"

# Silent workers: reported by name at worker-timeout and replaced one at
# a time, each drained only once its replacement serves, so some worker
# always accepts.
old0=$(worker_pid 0)
touch "$FAKE_WORKER_DIR/silent"
ctl backend add app b5 127.0.0.1:9005 > "$T/out" 2>&1
tap_is "$?" 1 "silent workers: exit 1"
tap_like "$(cat "$T/out")" "workers 0 \\(pid [0-9]+\\), 1 \\(pid [0-9]+\\) did not answer within 3s" \
	"silent workers: named in the reply"
tap_like "$(cat "$T/out")" "they are replaced one at a time, each drained once its replacement serves" \
	"silent workers: the reply says they are replaced"
rm -f "$FAKE_WORKER_DIR/silent"
tap_ok "silent workers: replaced" kk_wait_for 20 sh -c \
	"test \"\$(kakehi-ctl -s $sv_sock status | grep -c 'state ready restarts 1')\" = 2"
tap_ok "silent workers: new pid" test "$(worker_pid 0)" != "$old0"
tap_ok "silent workers: the late ones have left" kk_wait_for 20 sh -c \
	"! kakehi-ctl -s $sv_sock status | grep -Eq '^worker .* late( |$)'"
tap_like "$(grep "to replace late worker\|draining late worker" "$T/a.log" | \
	sed 's/.*\(replace late worker [01]\|draining late worker [01]\).*/\1/' | tr '\n' ,)" \
	"^replace late worker 0,draining late worker 0,replace late worker 1,draining late worker 1,$" \
	"silent workers: one at a time, each drained after its replacement is ready"
tap_like "$(ctl backend list app)" "b5" "silent workers: the change stays in force"

# listener add: bound by the supervisor, sent to every worker.
port2=$(kk_free_port)
tap_ok "listener add: ok" ctl listener add http 127.0.0.1:$port2
tap_like "$(ctl status --workers)" "listeners 127.0.0.1:$port,127.0.0.1:$port2" "listener add: workers hold the new socket"
tap_ok "listener add: port accepts" kk_port_open "$port2"
ctl listener add http 127.0.0.1:$port > "$T/out" 2>&1
tap_is "$?" 1 "listener add twice: exit 1"
tap_ok "listener remove: ok" ctl listener remove 127.0.0.1:$port2
sup_has_port() { ss -ltnp "sport = :$1" | grep -q "pid=$sv_pid," ; }
tap_fails "listener remove: the supervisor closed its socket" sup_has_port "$port2"
tap_ok "the first listener is still the supervisor's" sup_has_port "$port"

# set workers, live.
tap_ok "set workers 3" ctl set workers 3
tap_ok "set workers 3: three ready" kk_wait_for 20 sh -c \
	"test \"\$(kakehi-ctl -s $sv_sock status | awk '\$1 == \"workers\" { print \$4 }')\" = 3"
pid2=$(worker_pid 2)
tap_ok "set workers 1" ctl set workers 1
tap_ok "set workers 1: extra workers drained" kk_wait_for 20 sh -c "! kill -0 $pid2 2>/dev/null"
tap_ok "set workers 1: one worker left" kk_wait_for 20 sh -c \
	"test \"\$(kakehi-ctl -s $sv_sock status | grep -c '^worker ')\" = 1"
ctl set workers 2 > /dev/null
kk_wait_for 20 sh -c "test \"\$(kakehi-ctl -s $sv_sock status | awk '\$1 == \"workers\" { print \$4 }')\" = 2"

# Mutations from several clients at once are serialised, none is lost.
cpids=
for i in 1 2 3 4 5 6 ; do
	ctl backend add app c$i 127.0.0.1:910$i > "$T/c$i.out" 2>&1 &
	cpids="$cpids $!"
done
for p in $cpids ; do wait "$p" ; done
tap_is "$(ctl backend list app | grep -c ' c[1-6] ')" 6 "six concurrent mutations all applied"

# kill -9 of a worker: replaced, status counts the restart.
victim=$(worker_pid 1)
restarts=$(worker_field 1 restarts)
kill -9 "$victim"
tap_ok "kill -9: worker 1 replaced" kk_wait_for 20 sh -c \
	"test \"\$(kakehi-ctl -s $sv_sock status | awk '\$1 == \"worker\" && \$2 == 1 { print \$6 \" \" \$8 }')\" = 'ready $((restarts + 1))'"
tap_like "$(cat "$T/a.log")" "worker 1 \\(pid $victim\\) died on signal 9" "kill -9: exit logged with the signal"
tap_like "$(ctl --json status)" '"id":1,"pid":[0-9]+,"state":"ready","restarts":'"$((restarts + 1))" "status --json shows the restart"

# state save, then a new supervisor from the saved file: same state.
tap_ok "state save" ctl state save "$T/saved.state"
ctl state dump > "$T/dump1"
tap_ok "saved file is a valid config" kakehi-upgrade -c "$T/saved.state"

# SIGHUP: the config file applied as a diff.
cp "$T/k.conf" "$T/k.conf.orig"
echo "backend add app b9 127.0.0.1:9009" >> "$T/k.conf"
kill -HUP "$sv_pid"
tap_ok "SIGHUP: reload applied" kk_wait_for 10 sh -c "kakehi-ctl -s $sv_sock backend list app | grep -q b9"
tap_fails "SIGHUP: runtime-only backends removed by the diff" sh -c "ctl backend list app | grep -q ' b2 '"
tap_like "$(cat "$T/a.log")" "signal HUP: applied: backend add app b9" "SIGHUP: diff logged"
tap_is "$(ctl reload)" "no change" "reload with no difference: no change"
printf 'set workers 2\nbackend add ghost x 1.2.3.4:5\n' > "$T/bad.conf"
ctl reload "$T/bad.conf" > "$T/out" 2>&1
tap_is "$?" 1 "reload of a bad file: exit 1"
tap_like "$(cat "$T/out")" "bad.conf:2: " "reload of a bad file: file:line"
tap_like "$(ctl backend list app)" "b9" "reload of a bad file: state unchanged"
ctl state load "$T/saved.state" > "$T/out" 2>&1
tap_is "$?" 0 "state load: ok"
tap_like "$(cat "$T/out")" "backend add app b2" "state load: replies with the applied difference"
ctl state dump > "$T/dump2"
tap_ok "state load: state equals the saved one" cmp "$T/dump1" "$T/dump2"

# --json on a verb that answers text: one object, the generation the
# answer leaves, the text's lines; a refusal stays text on stderr.
tap_ok "--json on changes: an object with the generation and the lines" python3 -c '
import json, subprocess, sys
sock, d = sys.argv[1], sys.argv[2]
def ctl(*words):
    r = subprocess.run(["kakehi-ctl", "-s", sock, "--json"] + list(words),
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr
def gen():
    return json.loads(ctl("status")[1])["generation"]
rc, out, err = ctl("state", "save", d + "/json.state")
a = json.loads(out)
assert rc == 0 and a["ok"] and isinstance(a["lines"], list), a
g = gen()
rc, out, err = ctl("backend", "add", "app", "j1", "127.0.0.1:9031")
a = json.loads(out)
assert rc == 0 and a == {"ok": True, "generation": g + 1, "lines": []}, (rc, out, err)
rc, out, err = ctl("backend", "add", "nope", "j2", "127.0.0.1:9032")
assert rc == 1 and out == "" and "does not exist" in err, (rc, out, err)
# A reload back to the saved state: its listing, a line each.
rc, out, err = ctl("reload", d + "/json.state")
a = json.loads(out)
assert rc == 0 and a["generation"] == g + 2, (rc, out, err)
assert any("backend remove app j1" in l for l in a["lines"]), a
' "$sv_sock" "$T"

tap_ok "shutdown" ctl shutdown
wait "$sv_pid"
tap_is "$?" 0 "shutdown: exit 0"
tap_like "$(cat "$T/a.log")" 'verb="shutdown" result=ok' "shutdown audited"

# Restart from the saved state: the same dump.
sv_start b "$T/saved.state"
tap_ok "restart from the saved state" sv_ready b
ctl state dump > "$T/dump3"
tap_ok "restart from the saved state: same state" cmp "$T/dump1" "$T/dump3"
ctl shutdown --hard > /dev/null
wait "$sv_pid"
tap_is "$?" 0 "shutdown --hard: exit 0"

tap_done
