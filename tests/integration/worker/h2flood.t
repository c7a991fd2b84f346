#!/bin/sh
# HTTP/2 floods against an h2c listener: frames that cost the server work
# and bring no request (rapid reset, requests the server must reset,
# CONTINUATION, SETTINGS, PING, PRIORITY, WINDOW_UPDATE, empty DATA) and
# an HPACK bomb (a small block
# that decodes past --h2-max-header-list). Each is answered with GOAWAY
# ENHANCE_YOUR_CALM (11) and the close, counted in status by kind, and
# another connection is served all the while. A reader that never opens
# its window again has its stream reset after the front timeout. A client
# whose stream ids run out (2^31-1) is served, then let go with GOAWAY;
# one that reads slowly through a small window is served whole.
# --h2-max-resets lowers the reset budgets, and each --h2-max-* option
# its own.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_backend app ; pa=$kk_port
kw_start flood \
	'listener add http 127.0.0.1:@PORT' 'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT' "backend add app a 127.0.0.1:$pa"
counters() { python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-flood.log" "$@" ; }
flood_port=$kw_port

for kind in reset provoked-reset continuation settings ping priority window-update empty-data \
    hpack ; do
	out=$(timeout 20 python3 "$kw_dir/h2raw.py" "$kw_port" flood "$kind" | tr '\n' ' ')
	tap_is "$out" "goaway 11 closed " "$kind flood: GOAWAY ENHANCE_YOUR_CALM, then the close"
	tap_is "$(curl -sS --http2-prior-knowledge --max-time 10 -o /dev/null -w '%{http_code}' \
		"http://127.0.0.1:$kw_port/")" 200 "$kind flood: another connection is served"
done
out=$(counters h2-flood-reset h2-flood-provoked-reset h2-flood-continuation h2-flood-settings \
	h2-flood-ping \
	h2-flood-priority h2-flood-window-update h2-flood-empty-data h2-flood-header-list \
	closes-h2-flood)
for k in reset provoked-reset continuation settings ping priority window-update empty-data \
    header-list ; do
	tap_like "$out" "^h2-flood-$k 1\$" "the $k flood is counted once"
done
tap_like "$out" '^closes-h2-flood 9$' "nine connections closed as floods"

# Stream ids run out: on the stream at 2^31-1, the last a client may
# open, GOAWAY NO_ERROR names it at once; it is served, then the close.
out=$(timeout 20 python3 "$kw_dir/h2raw.py" "$kw_port" last-id / | tr '\n' ' ')
tap_is "$out" "goaway 0 2147483647 end closed " \
	"stream 2^31-1: GOAWAY NO_ERROR naming it, its answer, then the close"
tap_is "$(curl -sS --http2-prior-knowledge --max-time 10 -o /dev/null -w '%{http_code}' \
	"http://127.0.0.1:$kw_port/")" 200 "the worker serves on after stream ids ran out"

# --h2-max-resets lowers the reset budgets: 30 streams reset in a second
# pass the default 200, not a budget of 10; nor do 30 streams the server
# must reset.
out=$(timeout 20 python3 "$kw_dir/h2raw.py" "$kw_port" flood reset 30 | tr '\n' ' ')
tap_is "$out" "open " "30 resets in a second: within the default budget"
out=$(timeout 20 python3 "$kw_dir/h2raw.py" "$kw_port" flood provoked-reset 30 | tr '\n' ' ')
tap_is "$out" "open " "30 streams the server resets: within the default budget"
kw_start resets \
	'listener add http 127.0.0.1:@PORT --h2-max-resets 10' 'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT' "backend add app a 127.0.0.1:$pa"
out=$(timeout 20 python3 "$kw_dir/h2raw.py" "$kw_port" flood reset 30 | tr '\n' ' ')
tap_is "$out" "goaway 11 closed " "--h2-max-resets 10: 30 resets are a flood"
out=$(timeout 20 python3 "$kw_dir/h2raw.py" "$kw_port" flood provoked-reset 30 | tr '\n' ' ')
tap_is "$out" "goaway 11 closed " "--h2-max-resets 10: so are 30 streams the server resets"
out=$(python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-resets.log" h2-flood-reset \
	h2-flood-provoked-reset)
tap_like "$out" '^h2-flood-reset 1$' "... counted as a reset flood"
tap_like "$out" '^h2-flood-provoked-reset 1$' "... and a provoked-reset one"

# Every other budget is the listener's too: 12 frames of a kind (12 in
# one header block for CONTINUATION) pass the defaults and are a flood
# past a budget of 5; the defaults were tried above on the first listener.
kw_start budgets \
	'listener add http 127.0.0.1:@PORT --h2-max-settings 5 --h2-max-pings 5 --h2-max-priority 5 --h2-max-window-updates 5 --h2-max-empty-data 5 --h2-max-continuations 5' \
	'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT' "backend add app a 127.0.0.1:$pa"
# A connection left open is only known as such after h2raw's 5 s wait:
# the six within the defaults run at once.
kinds="settings ping priority window-update empty-data continuation"
pids=
for kind in $kinds ; do
	timeout 20 python3 "$kw_dir/h2raw.py" "$flood_port" flood "$kind" 12 > "$T/open-$kind" &
	pids="$pids $!"
done
wait $pids
for kind in $kinds ; do
	tap_is "$(tr '\n' ' ' < "$T/open-$kind")" "open " "12 $kind frames: within the default budget"
	out=$(timeout 20 python3 "$kw_dir/h2raw.py" "$kw_port" flood "$kind" 12 | tr '\n' ' ')
	tap_is "$out" "goaway 11 closed " "12 $kind frames past a budget of 5 (--h2-max-*): a flood"
done

kk_backend big -s 3000000 ; pbig=$kk_port
kw_start slow \
	'listener add http 127.0.0.1:@PORT --front-timeout 1s' 'cluster add big' \
	'frontend add big --listener 127.0.0.1:@PORT' "backend add big b 127.0.0.1:$pbig"
# A client with a 1023-byte window reads 3 MB in steps of about 512
# bytes: thousands of small WINDOW_UPDATEs a second, each giving back
# bytes it was sent, which is no flood.
tap_is "$(timeout 60 nghttp -w 10 "http://127.0.0.1:$kw_port/" | wc -c)" 3000000 \
	"a client with a 1 kB window reads 3 MB: its small WINDOW_UPDATEs are no flood"
out=$(timeout 20 python3 "$kw_dir/h2raw.py" "$kw_port" stall / 4)
tap_like "$out" '^reset 1 8$' \
	"a zero-window reader's stream is reset (CANCEL) after the front timeout"
tap_done
