#!/bin/sh
# set statsd: the supervisor sends the metrics over UDP every
# statsd-interval, counters as differences since the last push ("|c"),
# in-flight figures as gauges ("|g"), under statsd-prefix, and only what
# moved: an idle cluster and backend send no line, a counter that did not
# count is not sent. A UDP listener
# here sums what it gets: the counts match the requests made; changing
# the prefix takes effect at the next push; off stops the sending; the
# three settings on one line (set statsd ADDR --prefix P --interval D).
. "$(dirname "$0")/../lib.sh"

kk_backend b1 ; p1=$kk_port
port=$(kk_free_port)
uport=$(kk_free_port)
# The listener: every datagram's lines to a file, one a line, after a
# line "# SIZE", for 60 s at most.
kk_spawn udp python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.5)
end = time.time() + 60
with open(sys.argv[2], "a") as f:
    print("listening", flush=True)
    while time.time() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        f.write("# %d\n" % len(d) + d.decode() + "\n")
        f.flush()
' "$uport" "$T/got"
kk_wait_for 10 grep -q listening "$T/udp.log"
cat > "$T/kakehi.conf" <<EOF
set workers 2
set statsd 127.0.0.1:$uport
set statsd-interval 1s
listener add http 127.0.0.1:$port
cluster add app
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:$p1
cluster add idle
backend add idle i1 127.0.0.1:$p1
EOF
kk_proxy "$T/kakehi.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
# total NAME: the sum of NAME's counter values received
total() { awk -F'[:|]' -v k="$1" '$1 == k && $3 == "c" { s += $2 } END { print s + 0 }' "$T/got" ; }

# Pushes every second from the start; nothing counted, nothing sent.
sleep 1.5
tap_ok "nothing is sent while nothing is counted" test ! -s "$T/got"
ok=0
for i in 1 2 3 4 5 6 ; do
	test "$(kk_http_code "http://127.0.0.1:$port/")" = 200 && ok=$((ok + 1))
done
tap_is "$ok" 6 "six requests answered"
kk_wait_for 10 sh -c "test \"\$(awk -F'[:|]' '\$1 == \"kakehi.cluster.app.requests\" && \$3 == \"c\" { s += \$2 } END { print s + 0 }' '$T/got')\" = 6"
tap_is "$(total kakehi.cluster.app.requests)" 6 "kakehi.cluster.app.requests adds up to 6"
tap_is "$(total kakehi.backend.app.b1.requests)" 6 "kakehi.backend.app.b1.requests too"
tap_is "$(total kakehi.cluster.app.responses_2xx)" 6 "six 2xx"
tap_is "$(total "kakehi.listener.127_0_0_1_$port.requests")" 6 \
	"the listener's name has its dots and colon made underscores"
tap_like "$(cat "$T/got")" '^kakehi\.cluster\.app\.ttfb_p99_us:[1-9][0-9]*\|g$' "gauges are |g"
# Two more pushes with nothing counted meanwhile.
sleep 2.5
tap_is "$(grep -c -E '^kakehi\.(cluster\.idle|backend\.idle\.i1)\.' "$T/got")" 0 \
	"an idle cluster and its backend send nothing"
tap_is "$(grep -c ':0|c$' "$T/got")" 0 "no counter that counted nothing is sent"
tap_is "$(grep -c '^kakehi\.cluster\.app\.requests_active:' "$T/got")" 0 \
	"nor a gauge that stayed 0"
big=$(awk '$1 == "#" && $2 > m { m = $2 } END { print m + 0 }' "$T/got")
tap_ok "no datagram is larger than 1400 bytes (the largest: $big)" test "$big" -gt 0 -a "$big" -le 1400

tap_ok "set statsd-prefix" ctl set statsd-prefix edge.kakehi
kk_http_code "http://127.0.0.1:$port/" >/dev/null
kk_wait_for 10 grep -q '^edge\.kakehi\.cluster\.app\.requests:' "$T/got"
tap_ok "the new prefix is used" grep -q '^edge\.kakehi\.cluster\.app\.requests:' "$T/got"
tap_fails "a bad prefix is refused" ctl set statsd-prefix 'a..b'
tap_fails "a bad address is refused" ctl set statsd nowhere
tap_ok "set statsd off" ctl set statsd off
sleep 1.5
n=$(wc -l < "$T/got")
sleep 2
tap_is "$(wc -l < "$T/got")" "$n" "off: nothing more is sent"
tap_like "$(ctl state dump)" '^set statsd-prefix edge\.kakehi$' "the state keeps the prefix"

# The three settings on one line: set statsd ADDR --prefix P --interval D.
tap_ok "set statsd ADDR --prefix P --interval D" \
	ctl set statsd "127.0.0.1:$uport" --prefix one.line --interval 2s
kk_http_code "http://127.0.0.1:$port/" >/dev/null
kk_wait_for 10 grep -q '^one\.line\.cluster\.app\.requests:' "$T/got"
tap_ok "its --prefix is used" grep -q '^one\.line\.cluster\.app\.requests:' "$T/got"
dump=$(ctl state dump)
tap_like "$dump" '^set statsd 127\.0\.0\.1:[0-9]+$' "the dump has set statsd"
tap_like "$dump" '^set statsd-prefix one\.line$' "and set statsd-prefix on its own line"
tap_like "$dump" '^set statsd-interval 2s$' "and set statsd-interval"
out=$(ctl set workers 2 --prefix x 2>&1) ; rc=$?
tap_is "$rc" 100 "--prefix beside another setting is refused (bad usage)"
tap_like "$out" 'goes with set statsd only; write set statsd-prefix VALUE' "and says what to write"
tap_fails "a bad --interval is refused" ctl set statsd "127.0.0.1:$uport" --interval 0s
tap_is "$(ctl state dump)" "$dump" "and changes nothing"
tap_done
