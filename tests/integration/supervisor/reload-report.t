#!/bin/sh
# What a reload reports: its reply (and, for SIGHUP, the log) opens with
# the changes counted (added, removed, changed: removed and added again,
# settings), then lists the lines applied; a reload from kakehi-ctl also
# writes the count in the log, naming who asked and which file.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sv.sh"

port=$(kk_free_port)
cat > "$T/k.conf" <<EOF2
set workers 1
listener add http 127.0.0.1:$port
cluster add app
cluster add old
frontend add app --listener 127.0.0.1:$port --host a.test
backend add app b1 127.0.0.1:9001
backend add app b2 127.0.0.1:9002
EOF2
sv_start a "$T/k.conf"
tap_ok "supervisor ready" sv_ready a

# b2 moves (changed), old goes, new comes, one setting.
cat > "$T/k.conf" <<EOF2
set workers 1
set drain-timeout 5s
listener add http 127.0.0.1:$port
cluster add app
cluster add new
frontend add app --listener 127.0.0.1:$port --host a.test
backend add app b1 127.0.0.1:9001
backend add app b2 127.0.0.1:9009
EOF2
out=$(ctl reload)
tap_is "$(echo "$out" | head -n 1)" "changes: 1 added, 1 removed, 1 changed, 1 setting" \
	"reload: the reply opens with the changes counted"
tap_like "$out" "^backend remove app b2\$" "... then lists the lines: the old b2 removed"
tap_like "$out" "^backend add app b2 127\\.0\\.0\\.1:9009\$" "... and added again"
tap_like "$out" "^cluster remove old\$" "... the removed cluster"
tap_like "$out" "^cluster add new\$" "... the added one"
counted="1 added, 1 removed, 1 changed, 1 setting"
tap_like "$(cat "$T/a.log")" \
	"info: uid=[0-9]+ pid=[0-9]+ comm=kakehi-ctl: reload of $T/k\\.conf: $counted\$" \
	"reload: the log names who asked, the file, and the changes"

# A cluster whose options change is re-added with what depends on it,
# and the clusters printed after it (order is part of the state).
sed -i 's/^cluster add app$/cluster add app --lb random/' "$T/k.conf"
tap_is "$(ctl reload | head -n 1)" "changes: 5 changed" \
	"a changed cluster: it, the next cluster, its frontend and backends count as changed"

echo "backend add new n1 127.0.0.1:9100" >> "$T/k.conf"
kill -HUP "$sv_pid"
tap_ok "SIGHUP: the log has the changes counted" \
	kk_wait_for 10 grep -q "signal HUP: applied: changes: 1 added\$" "$T/a.log"
tap_ok "SIGHUP: ... and the line applied" \
	grep -q "signal HUP: applied: backend add new n1 127.0.0.1:9100\$" "$T/a.log"
tap_is "$(ctl reload)" "no change" "reload with no difference: no change"

printf 'cluster add\n' > "$T/bad.conf"
tap_fails "a refused reload fails" ctl reload "$T/bad.conf"
tap_fails "... and logs no changes" grep -q "reload of $T/bad.conf" "$T/a.log"
kk_stop "$sv_pid" TERM
tap_done
