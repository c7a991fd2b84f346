#!/bin/sh
# A change a worker is too slow to acknowledge does not take the service
# down: with real workers, one is stopped (SIGSTOP) while a backend is
# added; past worker-timeout the reply names it, a replacement starts from
# the committed state, and the late worker is drained only once the
# replacement serves. Requests keep being answered, with the new backend.
. "$(dirname "$0")/../lib.sh"

kk_backend b1 ; p1=$kk_port
kk_backend b2 ; p2=$kk_port
port=$(kk_free_port)
sock=$T/control

cat > "$T/kakehi.conf" <<EOF
set workers 2
set worker-timeout 2s
set drain-timeout 2s
listener add http 127.0.0.1:$port
cluster add app
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:$p1
EOF

: > "$T/ready"
kk_spawn kakehi sh -c 'exec kakehi-supervisor -d 5 -s "$1" "$2" 5>"$3"' sh \
	"$sock" "$T/kakehi.conf" "$T/ready"
tap_ok "supervisor ready" kk_wait_for 30 test -s "$T/ready"
ctl() { kakehi-ctl -s "$sock" "$@" ; }
worker_pid() { ctl status | awk -v id="$1" '$1 == "worker" && $2 == id { print $4 }' ; }

w0=$(worker_pid 0)
kill -STOP "$w0"
ctl backend add app b2 127.0.0.1:$p2 > "$T/add.out" 2>&1
tap_is "$?" 1 "late worker: the change reports it (exit 1)"
tap_like "$(cat "$T/add.out")" "worker 0 \\(pid $w0\\) did not answer within 2s" \
	"late worker: named in the reply"
tap_like "$(cat "$T/add.out")" "it is replaced one at a time" "late worker: replaced, not killed"
tap_ok "late worker: a replacement serves" kk_wait_for 30 sh -c \
	"kakehi-ctl -s $sock status | grep -q 'state ready restarts 1 generation'"
tap_ok "late worker: still alive while replaced" kill -0 "$w0"
kill -CONT "$w0"
tap_ok "late worker: drained, then gone" kk_wait_for 30 sh -c "! kill -0 $w0 2>/dev/null"
tap_like "$(cat "$T/kakehi.log")" "draining late worker 0 \\(pid $w0\\): worker [0-9]+ \\(pid [0-9]+\\) replaces it" \
	"late worker: drained after its replacement was ready"
tap_is "$(ctl status | grep -c '^worker .* state ready')" 2 "two workers serve again"
seen=
i=0
while [ $i -lt 40 ] ; do
	seen="$seen $(kk_curl "http://127.0.0.1:$port/" | awk '{ print $2 ; exit }')"
	i=$((i + 1))
done
tap_like "$seen" "b1" "requests still reach b1"
tap_like "$seen" "b2" "and the backend the change added"
tap_fails "no request failed" sh -c "echo '$seen' | grep -q '  '"

tap_done
