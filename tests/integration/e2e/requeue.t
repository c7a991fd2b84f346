#!/bin/sh
# Workers take turns on a shared listener by going to the tail of its
# wait queue after a wake-up that accepted (kakehi-worker's
# accept-requeues); a worker alone among the accepting ones skips the two
# system calls, which would put it where it already is.
. "$(dirname "$0")/../lib.sh"

kk_backend b1 ; pb=$kk_port
port=$(kk_free_port)
cat > "$T/kakehi.conf" <<CONF
set workers 1
listener add http 127.0.0.1:$port
cluster add app
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:$pb
CONF
kk_proxy "$T/kakehi.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
total() {	# total KEY: KEY summed over the workers' own counters
	ctl status --workers | awk -v k="$1" '$1 == k { n += $2 } END { print n + 0 }'
}
many() {	# many N: N requests, each on a new connection
	_i=0
	while test $_i -lt "$1" ; do
		kk_http_code -H 'Connection: close' "http://127.0.0.1:$port/" > /dev/null
		_i=$((_i + 1))
	done
}

sleep 0.3	# a heartbeat has looked at the board
many 20
tap_is "$(total accept-requeues)" 0 "one worker: it never requeues"
tap_ok "set workers 2" ctl set workers 2
ready2() { test "$(ctl status | awk '/^workers / { print $4 }')" = 2 ; }
tap_ok "two workers ready" kk_wait_for 20 ready2
sleep 0.3
many 20
tap_ok "two workers: they take turns ($(total accept-requeues) requeues)" \
	test "$(total accept-requeues)" -gt 0
tap_done
