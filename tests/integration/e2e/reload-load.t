#!/bin/sh
# Hitless reloads (issue 9, case 1): a reload every 100 ms while clients on
# keep-alive and on Connection: close connections keep requesting. The two
# configurations alternate between one backend and two, and a frontend
# comes and goes, so every reload is a real change the workers apply;
# no request may fail.
. "$(dirname "$0")/../lib.sh"

kk_backend b1 ; p1=$kk_port
kk_backend b2 ; p2=$kk_port
port=$(kk_free_port)
if kk_soak ; then seconds=20 ; else seconds=4 ; fi

base="set workers 2
listener add http 127.0.0.1:$port
cluster add app
frontend add app --listener 127.0.0.1:$port
backend add app b1 127.0.0.1:$p1"
printf '%s\n' "$base" "backend add app b2 127.0.0.1:$p2" > "$T/two.conf"
printf '%s\n' "$base" "cluster add extra" \
	"frontend add extra --listener 127.0.0.1:$port --host extra.test" \
	"backend add extra e1 127.0.0.1:$p2" > "$T/one.conf"
cp "$T/two.conf" "$T/kakehi.conf"

kk_proxy "$T/kakehi.conf"
tap_is "$(kk_curl -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")" 200 "the proxy serves"

kk_load ka -c 8 -m keepalive -d 0 "127.0.0.1:$port"
kk_load cl -c 4 -m close -d 0 "127.0.0.1:$port"

reloads=0 refused=0
end=$(( $(date +%s) + seconds ))
while test "$(date +%s)" -lt "$end" ; do
	if test $((reloads % 2)) -eq 0 ; then conf=one ; else conf=two ; fi
	if kakehi-ctl -s "$kk_sock" reload "$T/$conf.conf" > "$T/reload.out" 2>&1 ; then
		reloads=$((reloads + 1))
	else
		refused=$((refused + 1))
		sed 's/^/# reload: /' "$T/reload.out"
	fi
	sleep 0.1
done
tap_ok "reloads ran ($reloads in ${seconds}s, none refused)" test "$reloads" -ge 10 -a "$refused" -eq 0
kk_load_assert ka "keep-alive clients across $reloads reloads: no failure"
kk_load_assert cl "Connection: close clients across $reloads reloads: no failure"
tap_ok "the supervisor still runs" kill -0 "$kk_sup_pid"
tap_done
