#!/bin/sh
# The programs' own log lines: under set log-format json every line of the
# supervisor and of its workers on their shared stderr is one JSON object
# (time, program, level, then a message or an audit record's fields);
# log level warning drops info lines but never audit lines, is what
# state save keeps, and a level that does not exist is refused; set
# log-format text goes back to "PROGRAM: LEVEL: message".
. "$(dirname "$0")/../lib.sh"

kk_backend plain ; pb=$kk_port
port=$(kk_free_port)
cat > "$T/kakehi.conf" <<EOF
set workers 2
set log-format json
listener add http 127.0.0.1:$port
cluster add app
cluster add tlsfail --tls --no-verify
frontend add app --listener 127.0.0.1:$port --host app.test
frontend add tlsfail --listener 127.0.0.1:$port --host tls.test
backend add app b1 127.0.0.1:$pb
backend add tlsfail t1 127.0.0.1:$pb
EOF
kk_proxy "$T/kakehi.conf" "127.0.0.1:$port"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
log=$T/kakehi.log

# json_lines FROM SCRIPT: runs a python SCRIPT with J, the lines of the
# log from line FROM on, each parsed as JSON (a line that is not fails).
json_lines() {
	python3 - "$log" "$1" "$2" <<'PY'
import json, sys
lines = open(sys.argv[1], "rb").read().decode().splitlines()[int(sys.argv[2]) - 1:]
J = [json.loads(l) for l in lines]
exec(sys.argv[3])
PY
}
at() { echo $(( $(wc -l < "$log") + 1 )) ; }

tap_is "$(kk_http_code -H 'Host: app.test' "http://127.0.0.1:$port/")" 200 "a request served"
# A TLS handshake with a plain backend fails: the worker says so.
kk_http_code -H 'Host: tls.test' "http://127.0.0.1:$port/" > /dev/null
kk_wait_for 10 grep -q 'TLS to backend' "$log"
ctl backend add app b2 "127.0.0.1:$pb" > /dev/null
kk_wait_for 10 grep -q 'committed' "$log"
tap_ok "every line is one JSON object with time, program and level" json_lines 1 '
assert J
for j in J:
    assert set(["time", "program", "level"]) <= set(j), j
    assert j["time"].endswith("Z") and len(j["time"]) == 24, j
    assert j["level"] in ("info", "warning"), j'
tap_ok "the supervisor's lines carry a message" json_lines 1 '
assert any(j["program"] == "kakehi-supervisor" and "ready" in j.get("message", "") for j in J)'
tap_ok "a worker's warning is a JSON line of its own" json_lines 1 '
w = [j for j in J if j["program"] == "kakehi-worker"]
assert any(j["level"] == "warning" and "TLS to backend 127.0.0.1" in j["message"] for j in w), w'
tap_ok "an audit line has the actor, the verb and the result as fields" json_lines 1 '
a = [j for j in J if j.get("event") == "audit"]
assert any(j["verb"] == "backend add app b2 127.0.0.1:'"$pb"'" and j["result"] == "ok"
           and j["actor"].startswith("uid=") and "comm=kakehi-ctl" in j["actor"] for j in a), a'

# log level: warning keeps the audit trail, not the info lines.
tap_is "$(ctl log level)" info "log level: info by default"
ctl log level warning > /dev/null
tap_is "$(ctl log level)" warning "log level warning: taken"
from=$(at)
ctl backend remove app b2 > /dev/null
ctl backend add app b3 "127.0.0.1:$pb" > /dev/null
kk_wait_for 10 sh -c "tail -n +$from '$log' | grep -q 'backend add app b3'"
sleep 0.5
tap_ok "at warning: the audit lines, no info line" json_lines "$from" '
assert [j for j in J if j.get("event") == "audit" and "b3" in j["verb"]], J
assert not [j for j in J if j.get("event") != "audit" and j["level"] == "info"], J'
tap_like "$(ctl state dump)" 'set log-level warning' "state dump keeps the level"
ctl state dump > "$T/before"
ctl log level debug > "$T/out" 2>&1
tap_is "$?" 1 "log level debug: refused, exit 1"
tap_like "$(cat "$T/out")" 'not a level: give info or warning' "the refusal names the levels"
ctl state dump > "$T/after"
tap_ok "a refused level changes nothing" cmp "$T/before" "$T/after"
tap_ok "the refusal is audited" json_lines "$from" '
assert [j for j in J if j.get("event") == "audit" and j["verb"] == "log level debug"
        and j["result"] == "error" and "not a level" in j["why"]], J'

# Back to text.
ctl log level info > /dev/null
ctl set log-format text > /dev/null
from=$(at)
ctl backend remove app b3 > /dev/null
kk_wait_for 10 sh -c "tail -n +$from '$log' | grep -q 'committed'"
tap_like "$(tail -n +"$from" "$log")" '^kakehi-supervisor: info: audit: uid=[0-9]+ pid=[0-9]+ comm=kakehi-ctl verb="backend remove app b3" result=ok$' \
	"set log-format text: text lines again"

tap_done
