#!/bin/sh
# kakehi-ctl top: one frame with --once, rates from two samples; then in a
# real terminal (tmux): redrawn while load runs, showing the request
# rate, and ended by the q key with the terminal given back.
. "$(dirname "$0")/../lib.sh"

kk_backend b1 ; p1=$kk_port
port=$(kk_free_port)
cat > "$T/kakehi.conf" <<EOF
set workers 2
listener add http 127.0.0.1:$port
cluster add app
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:$p1
EOF
kk_proxy "$T/kakehi.conf" "127.0.0.1:$port"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }

# Load: a request every 20 ms or so, for as long as the test needs.
cat > "$T/load.sh" <<EOF
while : ; do curl -s -o /dev/null --max-time 5 http://127.0.0.1:$port/ ; sleep 0.02 ; done
EOF
kk_spawn load sh "$T/load.sh"

out=$(ctl top --once --interval 1000)
tap_is "$?" 0 "top --once: exit 0"
tap_like "$out" '^kakehi .* generation [0-9]+ .*workers 2 wanted, 2 ready' "the head line"
tap_like "$out" '^requests +[1-9][0-9]*\.[0-9] +[1-9][0-9]*$' "requests: a rate under load, and the total"
tap_like "$out" '^  ttfb +[0-9]+\.[0-9] +[0-9]+\.[0-9] +[0-9]+\.[0-9]$' "latency percentiles, in ms"
tap_like "$out" '^worker 1 pid [0-9]+ state ready' "the workers"
tap_fails "no terminal controls with --once" sh -c "printf '%s' \"\$1\" | grep -q \"\$(printf '\\033')\"" \
	sh "$out"
tap_is "$(ctl top --interval 5 2>&1 ; echo "rc=$?")" \
	"kakehi-ctl: top: --interval 5: a number of milliseconds in 100..60000
rc=100" "a bad interval: exit 100, saying why"

if ! command -v tmux > /dev/null ; then
	tap_ok "# SKIP tmux is not installed (tools/install-deps installs it)" true
	tap_done
	exit 0
fi
# A tmux server of this test's own, in the foreground so that the cleanup
# ends it, then top in a window of it.
sock=$T/tmux.sock
kk_spawn tmux tmux -S "$sock" -f /dev/null -D
kk_wait_for 10 test -S "$sock"
tmux -S "$sock" new-session -d -s top -x 100 -y 40 \
	"kakehi-ctl -s '$kk_sock' top --interval 300; echo top-exit=\$?; sleep 30"
screen() { tmux -S "$sock" capture-pane -p -t top ; }
tap_ok "in a terminal: the screen is drawn" \
	kk_wait_for 15 sh -c "tmux -S '$sock' capture-pane -p -t top | grep -q '^requests'"
tap_ok "... and redrawn with a rate under load" \
	kk_wait_for 15 sh -c "tmux -S '$sock' capture-pane -p -t top | grep -Eq '^requests +[1-9]'"
tap_like "$(screen)" '^worker 0 pid [0-9]+ state ready' "the workers on screen"
tmux -S "$sock" send-keys -t top q
tap_ok "q ends it, exit 0" \
	kk_wait_for 10 sh -c "tmux -S '$sock' capture-pane -p -t top | grep -q 'top-exit=0'"
tap_like "$(tmux -S "$sock" display-message -p -t top '#{pane_mode}')" '^$' "the pane is back to normal"
tap_done
