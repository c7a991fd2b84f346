#!/bin/sh
# kakehi-ctl without a supervisor: a bad verb exits 100 and sends nothing,
# help works offline, an unreachable control socket exits 111 with advice.
. "$(dirname "$0")/../lib.sh"

ctl_status() {	# ctl_status ARGS...: runs kakehi-ctl, keeps stdout/stderr, prints the code
	kakehi-ctl "$@" > "$T/out" 2> "$T/err"
	echo $?
}

tap_is "$(ctl_status)" 100 "no verb: exit 100"
tap_like "$(cat "$T/err")" "usage: kakehi-ctl" "no verb: usage on stderr"

tap_is "$(ctl_status -s "$T/none" bogus)" 100 "unknown verb: exit 100"
tap_like "$(cat "$T/err")" '^kakehi-ctl: unknown verb "bogus"' "unknown verb: message"

tap_is "$(ctl_status -s "$T/none" backend add app)" 100 "missing argument: exit 100"
tap_like "$(cat "$T/err")" "backend add: .*usage: backend add" "missing argument: message with usage"
tap_is "$(cat "$T/out")" "" "nothing on stdout"

tap_is "$(ctl_status -s "$T/none" backend add app b1 notanaddress)" 100 \
	"bad address: exit 100 before connecting"
tap_is "$(ctl_status -t soon status)" 100 "bad -t: exit 100"

tap_is "$(ctl_status help)" 0 "help: exit 0"
tap_like "$(cat "$T/out")" "^backend add CLUSTER BACKEND-ID" "help lists backend add"
tap_is "$(ctl_status help backend)" 0 "help backend: exit 0"
tap_like "$(cat "$T/out")" "--weight" "help backend shows its options"
tap_is "$(ctl_status help nosuchverb)" 100 "help of an unknown word: exit 100"

tap_is "$(ctl_status -s "$T/none" status)" 111 "unreachable socket: exit 111"
tap_like "$(cat "$T/err")" "$T/none.*is kakehi-supervisor running" "names the socket and what to check"
tap_is "$(KAKEHI_SOCKET="$T/env-sock" ; export KAKEHI_SOCKET ; ctl_status status)" 111 "KAKEHI_SOCKET used"
tap_like "$(cat "$T/err")" "$T/env-sock" "message names \$KAKEHI_SOCKET's path"

# A socket file nobody listens on: connection refused, still 111.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/stale"
tap_is "$(ctl_status -s "$T/stale" status)" 111 "stale socket: exit 111"
tap_like "$(cat "$T/err")" "Connection refused" "stale socket: says refused"

# A server that accepts and never answers: the timeout ends the wait.
if command -v python3 > /dev/null ; then
	kk_spawn mute python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
c = s.accept()[0]
time.sleep(60)' "$T/mute"
	kk_wait_for 10 test -S "$T/mute"
	tap_is "$(ctl_status -s "$T/mute" -t 300 status)" 111 "silent supervisor: exit 111 at the timeout"
	tap_like "$(cat "$T/err")" "did not answer in time" "timeout explained"
fi

tap_done
