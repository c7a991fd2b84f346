#!/bin/sh
# The metrics segment at scale: 3 000 sites (a cluster, a frontend and a
# backend each: 6 000 objects counted apart, past the first chunk of
# slots and several rebuilds of the index). The last site's requests are
# counted on its own objects, a site added live gets its slot, a site
# removed leaves it, answers larger than a frame arrive whole, and the
# segment holds memory for what was counted only, not for every object's
# counters.
. "$(dirname "$0")/../lib.sh"

kk_backend b1 ; bp=$kk_port
port=$(kk_free_port)
n=3000
mport=$(kk_free_port)
{
	echo "set workers 2"
	echo "listener add http 127.0.0.1:$port"
	echo "listener add http 127.0.0.1:$mport --service prometheus"
	i=1
	while test $i -le $n ; do
		echo "cluster add s$i"
		echo "frontend add s$i --listener 127.0.0.1:$port --host s$i.test"
		echo "backend add s$i b 127.0.0.1:$bp"
		i=$((i + 1))
	done
} > "$T/kakehi.conf"
kk_proxy "$T/kakehi.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
req() { kk_http_code -H "Host: $1" "http://127.0.0.1:$port/" ; }
count() {	# count CLUSTER: its requests
	ctl metrics --cluster "$1" | awk -v c="$1" '$1 == "cluster" && $2 == c {
		for (i = 3; i < NF; i++) if ($i == "requests") print $(i + 1) }'
}

ok=0
for i in 1 2 3 4 5 ; do test "$(req s$n.test)" = 200 && ok=$((ok + 1)) ; done
tap_is "$ok" 5 "five requests to the last of $n sites"
tap_is "$(count s$n)" 5 "counted on its cluster"
tap_like "$(ctl metrics --cluster s$n)" "^backend s$n b .* requests 5 " "and its backend"
tap_is "$(count s1)" 0 "the first site: nothing"
tap_is "$(ctl metrics | grep -c '^cluster ')" "$n" "every cluster has its line"
# Answers past a frame's 4 MiB come in parts.
ctl metrics --prometheus > "$T/prom" 2> "$T/prom.err"
tap_is "$?" 0 "the Prometheus form of $n sites ($(wc -c < "$T/prom") bytes)"
tap_ok "is over a frame" test "$(wc -c < "$T/prom")" -gt 4194304
tap_is "$(grep -c '^kakehi_cluster_requests_total{' "$T/prom")" "$n" "with every cluster"
# A reader that takes its time: the parts wait for it, the supervisor
# answers others meanwhile, and the answer is whole.
kk_spawn slowreader sh -c "kakehi-ctl -s '$kk_sock' metrics --prometheus |
	(sleep 2 ; cat > '$T/prom.slow')"
slow=$kk_last_pid
sleep 0.5
tap_like "$(ctl status)" "^generation " "status answers while a long answer waits for its reader"
wait "$slow"
tap_is "$(wc -c < "$T/prom.slow")" "$(wc -c < "$T/prom")" "the slow reader gets it all"
# The worker's endpoint makes it a part a loop turn: whole all the same,
# its end the connection's close.
curl -sS --max-time 60 -D "$T/scrape.head" -o "$T/scrape" "http://127.0.0.1:$mport/metrics"
tap_is "$?" 0 "a scrape of the worker's endpoint ($(wc -c < "$T/scrape") bytes)"
tap_is "$(grep -c '^kakehi_cluster_requests_total{' "$T/scrape")" "$n" \
	"with every cluster"
tap_fails "no length: the close ends it" grep -qi '^content-length' "$T/scrape.head"
if command -v promtool >/dev/null 2>&1 ; then
	tap_ok "promtool check metrics accepts it" sh -c "promtool check metrics < '$T/scrape' > /dev/null 2>&1"
else
	tap_result 0 "# SKIP promtool is not installed (prometheus)"
fi
tap_is "$(kakehi-ctl -s "$kk_sock" --json metrics | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(len(d["clusters"]), len(d["backends"]))')" "$n $n" "the JSON form parses whole"

tap_ok "a site added live" sh -c "
	kakehi-ctl -s '$kk_sock' cluster add late &&
	kakehi-ctl -s '$kk_sock' frontend add late --listener 127.0.0.1:$port --host late.test &&
	kakehi-ctl -s '$kk_sock' backend add late b 127.0.0.1:$bp"
req late.test >/dev/null ; req late.test >/dev/null
tap_is "$(count late)" 2 "its requests counted apart"
tap_ok "removed again" sh -c "
	kakehi-ctl -s '$kk_sock' frontend remove late --listener 127.0.0.1:$port --host late.test &&
	kakehi-ctl -s '$kk_sock' backend remove late b &&
	kakehi-ctl -s '$kk_sock' cluster remove late"
tap_like "$(ctl metrics)" "^retired cluster requests 2 " "its counts retired"

# The segment's memory: the names and the index of 6 000 objects, the
# counters of the few that counted. Every object's counters in two
# stripes would be over 80 MB.
seg=
for f in /proc/$kk_sup_pid/fd/* ; do
	case "$(readlink "$f")" in *kakehi-metrics*) seg=$f ;; esac
done
kib=$(( $(stat -L -c %b "$seg") / 2 ))
tap_ok "the segment holds $kib KiB (under 16 MiB)" test "$kib" -lt 16384
tap_done
