#!/bin/sh
# Startup refusals: a bad config line exits 100 naming file:line and
# leaves nothing behind; an unreadable config is 111; usage is 100.
# kakehi-upgrade -c gives the same verdicts for a handoff state.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sv.sh"

cat > "$T/bad.conf" <<'EOF2'
set workers 1
# a comment
cluster add app
backend add nope b1 127.0.0.1:9000
EOF2
kakehi-supervisor -s "$T/s.sock" -W "$FAKE_WORKER" "$T/bad.conf" > "$T/out" 2>&1
tap_is "$?" 100 "bad config line: exit 100"
tap_like "$(cat "$T/out")" "^kakehi-supervisor: fatal: $T/bad.conf:4: backend add: .*nope" \
	"the message names file:line and the verb"
tap_fails "no control socket left behind" test -e "$T/s.sock"

printf 'set workers 1\nset no-such-key 3\n' > "$T/bad2.conf"
kakehi-supervisor -s "$T/s.sock" -W "$FAKE_WORKER" "$T/bad2.conf" > "$T/out" 2>&1
tap_is "$?" 100 "unknown setting: exit 100"
tap_like "$(cat "$T/out")" "bad2.conf:2: " "unknown setting: file:line"

printf 'listener add http 127.0.0.1:80 --bogus\n' > "$T/bad3.conf"
kakehi-supervisor -s "$T/s.sock" -W "$FAKE_WORKER" "$T/bad3.conf" > "$T/out" 2>&1
tap_is "$?" 100 "unknown option: exit 100"

kakehi-supervisor -s "$T/s.sock" -W "$FAKE_WORKER" "$T/missing.conf" > "$T/out" 2>&1
tap_is "$?" 111 "unreadable config: exit 111"
tap_like "$(cat "$T/out")" "unable to open .*missing.conf" "unreadable config: says which file"

kakehi-supervisor > "$T/out" 2>&1
tap_is "$?" 100 "no config: usage, exit 100"
kakehi-supervisor -d 2 "$T/bad.conf" > "$T/out" 2>&1
tap_is "$?" 100 "-d below 3: exit 100"

printf 'set workers 1\n' > "$T/ok.conf"
kakehi-supervisor -s "$T/s.sock" -W "$T/no-such-worker" "$T/ok.conf" > "$T/out" 2>&1
tap_is "$?" 111 "missing worker binary: exit 111"
tap_like "$(cat "$T/out")" "no-such-worker" "missing worker binary: named"

# kakehi-upgrade -c: same grammar, same verdicts.
kakehi-upgrade -c "$T/bad.conf" > "$T/out" 2>&1
tap_is "$?" 100 "upgrade -c: bad state exits 100"
tap_like "$(cat "$T/out")" "^kakehi-upgrade: fatal: $T/bad.conf:4: " "upgrade -c: file:line"
cat > "$T/good.state" <<'EOF2'
set workers 3
listener add http 127.0.0.1:8080
cluster add app --lb random
frontend add app --listener 127.0.0.1:8080 --host example.com --path /api
backend add app b1 127.0.0.1:9000 --weight 10
EOF2
tap_ok "upgrade -c: a valid state exits 0" kakehi-upgrade -c "$T/good.state"
kakehi-upgrade -c "$T/missing.state" > "$T/out" 2>&1
tap_is "$?" 111 "upgrade -c: unreadable state exits 111"
kakehi-upgrade > "$T/out" 2>&1
tap_is "$?" 100 "upgrade: no mode is a usage error"

tap_done
