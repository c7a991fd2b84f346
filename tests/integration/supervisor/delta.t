#!/bin/sh
# Changes travel as deltas (protocol-only fake workers): a worker that
# missed one asks for the whole state and gets it; a worker killed while
# a change waits for it comes back with the committed state; 1000
# concurrent kakehi-ctl clients each adding a backend all succeed; a
# client that never reads its reply stalls nobody.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sv.sh"

port=$(kk_free_port)
cat > "$T/k.conf" <<EOF
set workers 2
set worker-timeout 20s
listener add http 127.0.0.1:$port
cluster add app
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:9001
EOF
sv_start a "$T/k.conf"
sv_ready a || { echo "Bail out! supervisor not ready" ; cat "$T/a.log" ; exit 1 ; }
sup_gen() { ctl status | awk '/^generation / { print $2 }' ; }
# resyncs ID: the fake worker's own count, from its status counters
resyncs() {
	ctl status --workers | awk -v id="$1" '$1 == "worker" { w = $2 } w == id && $1 == "resyncs" { print $2 }'
}

# Worker 0 loses a delta (acks it, applies nothing): the next delta is
# off its base, it asks for a resync, and the whole state brings it back.
touch "$FAKE_WORKER_DIR/miss.0"
tap_ok "missed delta: the change itself succeeds" ctl backend add app m1 127.0.0.1:9101
tap_fails "missed delta: worker 0 does not have it" grep -q m1 "$FAKE_WORKER_DIR/state.0"
tap_ok "next change: succeeds" ctl backend add app m2 127.0.0.1:9102
tap_is "$(resyncs 0)" 1 "next change: worker 0 asked for the whole state once"
tap_like "$(cat "$T/a.log")" "worker 0 .* sending it the whole state" "resync logged"
tap_ok "resynchronised worker has the change it missed" grep -q "backend add app m1 " \
	"$FAKE_WORKER_DIR/state.0"
tap_ok "and the one after it" grep -q "backend add app m2 " "$FAKE_WORKER_DIR/state.0"
gen=$(sup_gen)
tap_is "$(worker_field 0 generation)/$(worker_field 1 generation)" "$gen/$gen" \
	"both workers on generation $gen"
tap_is "$(resyncs 1)" 0 "worker 1 never needed the whole state"

# Worker 0 stays silent; while the change waits for it, it is killed: the
# change commits with worker 1's ack, and worker 0 restarts from it.
touch "$FAKE_WORKER_DIR/silent.0"
old0=$(worker_pid 0)
ctl backend add app k1 127.0.0.1:9201 > "$T/k1.out" 2>&1 &
k1=$!
kk_wait_for 20 sh -c "test \"\$(kakehi-ctl -s $sv_sock status | awk '\$1 == \"worker\" \
	&& \$2 == 1 { print \$10 }')\" = $((gen + 1))"
rm -f "$FAKE_WORKER_DIR/silent.0"
kill -9 "$old0"
wait "$k1"
tap_is "$?" 0 "killed mid-change: the change succeeds"
tap_ok "killed mid-change: worker 0 back, ready" kk_wait_for 20 sh -c \
	"kakehi-ctl -s $sv_sock status | grep -q '^worker 0 pid [0-9]* state ready restarts 1 '"
tap_ok "killed mid-change: new pid" test "$(worker_pid 0)" != "$old0"
tap_ok "killed mid-change: its state has the committed change" \
	grep -q "backend add app k1 " "$FAKE_WORKER_DIR/state.0"
tap_like "$(ctl backend list app)" "k1" "killed mid-change: the change is in force"

# 1000 clients at once, each adding a backend: the ones that find every
# slot busy wait in the backlog, none is refused, and all land.
pids=
i=0
while [ $i -lt 1000 ] ; do
	kakehi-ctl -s "$sv_sock" -t 300000 backend add app c$i 127.0.0.1:9 \
		> "$T/c.$i" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
bad=0
for p in $pids ; do
	wait "$p" || bad=$((bad + 1))
done
tap_is "$bad" 0 "1000 concurrent backend adds: all succeed"
[ "$bad" = 0 ] || tap_diag "$(cat "$T"/c.* | sort | uniq -c | head -5)"
tap_is "$(ctl backend list app | grep -c ' c[0-9]* 127.0.0.1:9$')" 1000 \
	"1000 concurrent backend adds: all in the state"
gen=$(sup_gen)
tap_is "$(worker_field 0 generation)/$(worker_field 1 generation)" "$gen/$gen" \
	"1000 concurrent backend adds: both workers on generation $gen"

# A client that asks for a big state dump and never reads it: its reply
# waits in its own queue; other clients are served meanwhile.
awk 'BEGIN { for (i = 0; i < 20000; i++)
	printf "backend add app big%d 127.0.0.1:%d --weight 7\n", i, 10000 + i % 50000 }' \
	> "$T/big.part"
ctl state dump > "$T/big.conf"
cat "$T/big.part" >> "$T/big.conf"
tap_ok "big state loaded" ctl -t 120000 state load "$T/big.conf"
kk_spawn stuck python3 -c '
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
p = b"state\0dump\0"
s.sendall(struct.pack(">I", len(p)) + p)
open(sys.argv[2], "w").write("sent\n")
time.sleep(60)
' "$sv_sock" "$T/stuck.sent"
kk_wait_for 10 test -s "$T/stuck.sent"
sleep 1
tap_ok "a client not reading: status answered" ctl -t 5000 status
tap_ok "a client not reading: a change goes through" ctl -t 5000 backend add app s1 127.0.0.1:9301
tap_like "$(ctl -t 5000 backend list app)" "s1" "a client not reading: a list answered"

# A reload whose difference is larger than a reply frame: the change is
# made, and the reply lists what fits and counts the rest.
ctl state dump > "$T/base.conf"
cp "$T/base.conf" "$T/r.conf"
awk 'BEGIN { for (i = 0; i < 60000; i++)
	printf "backend add app r%d 127.0.0.1:%d --weight 3\n", i, 10000 + i % 50000 }' >> "$T/r.conf"
tap_ok "60 000 backends loaded" ctl -t 120000 state load "$T/r.conf"
cp "$T/base.conf" "$T/q.conf"
awk 'BEGIN { for (i = 0; i < 60000; i++)
	printf "backend add app q%d 127.0.0.1:%d --weight 3\n", i, 10000 + i % 50000 }' >> "$T/q.conf"
ctl -t 120000 state load "$T/q.conf" > "$T/q.out" 2>&1
tap_is "$?" 0 "a difference larger than a reply frame: exit 0"
tap_like "$(tail -n 1 "$T/q.out")" "^\.\.\. and [0-9]+ more lines \(see: state dump\)$" \
	"the reply counts the lines it does not list"
tap_is "$(ctl backend list app | grep -c '^backend add app q')" 60000 "the change is made"

tap_done
