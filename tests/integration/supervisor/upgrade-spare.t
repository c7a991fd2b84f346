#!/bin/sh
# An inherited socket that no listener names is kept as a spare, and
# stays one across an in-place upgrade: a change committed after the
# upgrade does not close it, and a later listener add of its address
# takes it instead of binding a second socket.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sv.sh"

p1=$(kk_free_port)
p2=$(kk_free_port)
cat > "$T/k.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$p1
EOF
sv_sock=$T/chain.sock
: > "$T/chain.ready"
kk_spawn chain kakehi-listen 127.0.0.1:$p1 127.0.0.1:$p2 -- \
	sh -c 'exec kakehi-supervisor -d 7 -s "$1" -W "$2" "$3" 7>"$4"' sh \
	"$sv_sock" "$FAKE_WORKER" "$T/k.conf" "$T/chain.ready"
sv_pid=$kk_last_pid
tap_ok "the supervisor is ready" sv_ready chain
tap_like "$(cat "$T/chain.log")" "keeping inherited socket 127\\.0\\.0\\.1:$p2 \\(fd 4\\) unused" \
	"the unnamed socket is kept as a spare"
tap_ok "upgrade --no-workers" ctl upgrade --no-workers
tap_ok "a change after the upgrade commits" ctl set drain-timeout 5s
tap_is "$(ss -Hltn "sport = :$p2" | wc -l)" 1 "the spare is still open"
tap_ok "listener add takes the spare" ctl listener add http "127.0.0.1:$p2"
tap_fails "... and no socket was bound for it" \
	grep -q "listening on 127.0.0.1:$p2" "$T/chain.log"
tap_is "$(ss -Hltn "sport = :$p2" | wc -l)" 1 "one listening socket for the port"
tap_done
