#!/bin/sh
# Access logs: a template line and a JSON line checked field by field for
# HTTP/1.1 and HTTP/2 (h2c) requests, a hostile path that must stay one
# valid JSON line, sampling, reopening after the file was moved (log
# reopen and SIGUSR1), a reader that never reads (requests go on, lines
# are dropped and counted), and two workers sharing one pipe whose lines
# never mix.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_backend app ; pa=$kk_port
counters() { python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-$1.log" "$2" |
	awk '{ print $2 }' ; }
h2() { curl -sS --http2-prior-knowledge --max-time 20 "$@" ; }
# fields FILE N SCRIPT: runs a python SCRIPT with L, the list of FILE's
# lines (the last N), each split at "|"; J, each parsed as JSON, when
# they are JSON.
fields() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
lines = open(sys.argv[1], "rb").read().decode("ascii").splitlines()[-int(sys.argv[2]):]
L = [l.split("|") for l in lines]
try:
    J = [json.loads(l) for l in lines]
except ValueError:
    J = None
exec(sys.argv[3])
PY
}
nlines() { test -f "$1" && wc -l < "$1" | tr -d ' ' || echo 0 ; }

# A template, every variable, to a file.
tpl='${time}|${client}|${client_port}|${listener}|${method}|${host}|${path}|${proto}|${status}|${bytes_in}|${bytes_out}|${cluster}|${backend}|${backend_addr}|${duration_ms}|${ttfb_ms}|${close}|${worker}'
kw_start tpl \
	"set access-log $T/tpl.log" "set access-log-format '$tpl'" \
	'listener add http 127.0.0.1:@PORT' 'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT --host 127.0.0.1' \
	"backend add app a1 127.0.0.1:$pa"
U=http://127.0.0.1:$kw_port
curl -sS --max-time 10 -o /dev/null "$U/x?q=1" --data-binary 'hello'
h2 -o /dev/null "$U/two?a=b"
curl -sS --max-time 10 -o /dev/null -H 'Host: nowhere.test' "$U/none"
kk_wait_for 10 sh -c "test \$(wc -l < '$T/tpl.log') -ge 3"
out=$(fields "$T/tpl.log" 3 "
import re
a, b, c = L
ok = lambda c, what: print(('ok' if c else 'bad') + ' ' + what)
ok(len(a) == 18 and len(b) == 18, 'eighteen fields')
ok(re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$', a[0]), 'time')
ok(a[1] == '127.0.0.1' and 0 < int(a[2]) < 65536, 'client')
ok(a[3] == '127.0.0.1:$kw_port', 'listener')
ok(a[4:8] == ['POST', '127.0.0.1', '/x?q=1', 'HTTP/1.1'], 'h1 request')
ok(a[8] == '200', 'status')
ok(a[9] == '5' and int(a[10]) > 0, 'bytes')
ok(a[11:14] == ['app', 'a1', '127.0.0.1:$pa'], 'route')
ok(int(a[14]) >= int(a[15]) >= 0, 'times')
ok(a[16] == 'done' and a[17] == '0', 'close, worker')
ok(b[4:8] == ['GET', '127.0.0.1', '/two?a=b', 'HTTP/2'] and b[8] == '200', 'h2 request')
ok(c[5:9] == ['nowhere.test', '/none', 'HTTP/1.1', '404'] and c[11:14] == ['-', '-', '-']
    and c[16] == 'no-route', 'a request answered without a backend: %r' % c)
")
tap_is "$(echo "$out" | grep -c '^ok')" 12 \
	"a template line carries every field: h1, h2, and a 404 answered without a backend"
echo "$out" | grep '^bad' | sed 's/^/# /'

# JSON, and paths no client should send: quotes, backslash and bytes past
# ASCII, over h2 and h1 (both refuse control bytes in a path, a tab
# included: smuggling.t).
kw_start json \
	"set access-log $T/json.log" 'set access-log-format json' \
	'listener add http 127.0.0.1:@PORT' 'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT' "backend add app a1 127.0.0.1:$pa"
U=http://127.0.0.1:$kw_port
curl -sS --max-time 10 -o /dev/null "$U/j?x=1" -d 'abc'
h2 -o /dev/null "$U/h2"
hostile=$(printf '/q"\\\303\251"}' | od -An -tx1 | tr -d ' \n')
tap_is "$(python3 "$kw_dir/h2raw.py" "$kw_port" get-hex "$hostile")" end \
	"a path of quotes, backslash and UTF-8 is answered over h2"
printf 'GET /t"\\\303\251"} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' |
	kw_raw 2 | kw_first > "$T/raw.out"
tap_is "$(cat "$T/raw.out")" "HTTP/1.1 200 OK" "and over h1"
curl -sS --max-time 10 -o /dev/null "$U/$(python3 -c 'print("z" * 3000)')"
kk_wait_for 10 sh -c "test \$(wc -l < '$T/json.log') -ge 5"
out=$(fields "$T/json.log" 5 "
ok = lambda c, what: print(('ok' if c else 'bad') + ' ' + what)
ok(J is not None and len(J) == 5, 'five JSON lines')
a, b, c, d, e = J
keys = ['time', 'client', 'client_port', 'listener', 'method', 'host', 'path', 'proto',
    'status', 'bytes_in', 'bytes_out', 'cluster', 'backend', 'backend_addr', 'duration_ms',
    'ttfb_ms', 'close', 'worker']
ok(list(a) == keys, 'every key in order')
ok(a['method'] == 'POST' and a['path'] == '/j?x=1' and a['proto'] == 'HTTP/1.1', 'h1')
ok(a['status'] == 200 and a['bytes_in'] == 3 and a['bytes_out'] > 0, 'numbers')
ok(a['cluster'] == 'app' and a['backend'] == 'a1' and a['client'] == '127.0.0.1', 'strings')
ok(isinstance(a['client_port'], int) and isinstance(a['ttfb_ms'], int), 'types')
ok(b['proto'] == 'HTTP/2' and b['path'] == '/h2' and b['status'] == 200, 'h2')
ok(c['path'] == '/q\"\\\\\xc3\xa9\"}', 'hostile h2 path kept, escaped: %r' % c['path'])
ok(d['path'] == '/t\"\\\\\xc3\xa9\"}', 'hostile h1 path kept, escaped: %r' % d['path'])
ok(e['path'] == '/' + 'z' * 1023 + '...' and e['status'] == 200, 'a long path cut, and said so')
")
tap_is "$(echo "$out" | grep -c '^ok')" 10 \
	"JSON lines parse, field by field, hostile and long paths included"
echo "$out" | grep '^bad' | sed 's/^/# /'
tap_is "$(grep -c '' "$T/json.log")" 5 "each hostile path stays on its line"
tap_is "$(counters json access-log-cut)" 1 "the cut line is counted"

# Sampling: one request in three.
kw_start sample \
	"set access-log $T/sample.log" 'set access-log-sample 3' \
	'listener add http 127.0.0.1:@PORT' 'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT' "backend add app a1 127.0.0.1:$pa"
curl -sS --max-time 20 "http://127.0.0.1:$kw_port/s[1-9]" > /dev/null
kk_wait_for 10 sh -c "test \$(wc -l < '$T/sample.log') -ge 3"
sleep 0.5
tap_is "$(nlines "$T/sample.log")" 3 "access-log-sample 3: 9 requests, 3 lines"
tap_is "$(counters sample access-log-lines)" 3 "and status counts them"

# A reader that never reads: the pipe fills, then the buffer; requests are
# answered all the same and the lines that do not fit are counted.
# fifo_reader NAME [OUT]: a reader of the FIFO $T/NAME, open before any
# writer (a writer opening without blocking needs one), copying to OUT, or
# never reading without it.
fifo_reader() {
	_f=$1 ; shift
	mkfifo "$T/$_f"
	kk_spawn "$_f" python3 -c 'import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
os.set_blocking(fd, True)
print("open", flush=True)
if len(sys.argv) < 3:
    time.sleep(120)
    sys.exit(0)
out = open(sys.argv[2], "wb")
while True:
    b = os.read(fd, 65536)
    if not b:
        time.sleep(0.05)
        continue
    out.write(b)
    out.flush()' "$T/$_f" "$@"
	kk_wait_for 10 grep -q open "$T/$_f.log"
}
fifo_reader stuck
long=$(python3 -c 'print("p" * 900)')
kw_start stuck \
	"set access-log $T/stuck" 'set access-log-format json' \
	'listener add http 127.0.0.1:@PORT' 'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT' "backend add app a1 127.0.0.1:$pa"
n=$(curl -s --max-time 60 -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$kw_port/$long[1-600]" |
	grep -c '^200$')
tap_is "$n" 600 "a reader that never reads: 600 requests answered"
tap_ok "the lines that did not fit are dropped and counted" \
	test "$(counters stuck access-log-dropped)" -gt 0

# The whole proxy: two workers, a file reopened after logrotate moved it.
cat > "$T/sv.conf" <<EOF
set workers 2
set access-log $T/access.log
set access-log-format json
listener add http 127.0.0.1:$(kk_free_port)
EOF
lp=$(awk '/^listener/ { sub(".*:", "", $4) ; print $4 }' "$T/sv.conf")
cat >> "$T/sv.conf" <<EOF
cluster add app
frontend add app --listener 127.0.0.1:$lp
backend add app a1 127.0.0.1:$pa
EOF
kk_proxy "$T/sv.conf" "127.0.0.1:$lp"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }
U=http://127.0.0.1:$lp
get() { curl -sS --max-time 10 -o /dev/null "$@" ; }
get "$U/before"
kk_wait_for 10 grep -q '"/before"' "$T/access.log"
mv "$T/access.log" "$T/access.log.1"
get "$U/moved"
kk_wait_for 10 grep -q '"/moved"' "$T/access.log.1"
# log reopen answers once both workers have the new file, so the line
# of a request made right after it is there, without waiting.
tap_like "$(ctl log reopen)" 'reopened the access log in 2 workers' \
	"log reopen answers when both workers reopened"
get "$U/after"
tap_ok "after log reopen new lines go to a new file" \
	kk_wait_for 10 grep -q '"/after"' "$T/access.log"
# A path that cannot be opened (a directory, since root ignores modes):
# the answer is an error naming each worker and why, and lines go on to
# the file open.
mv "$T/access.log" "$T/access.log.2"
mkdir "$T/access.log"
out=$(ctl log reopen 2>&1) ; rc=$?
tap_is "$rc" 1 "a log reopen that fails exits 1"
tap_like "$out" 'reopened in 0 of 2 workers; worker [0-9]+ \(pid [0-9]+\): access-log: unable to open .*Is a directory.*; worker [0-9]+ \(pid' \
	"and names both workers and the reason"
get "$U/kept"
tap_ok "lines go on to the file already open" \
	kk_wait_for 10 grep -q '"/kept"' "$T/access.log.2"
rmdir "$T/access.log"
# A worker that does not answer (stopped) is waited for worker-timeout,
# then named as silent.
wpid=$(echo "$out" | sed -n 's/.*(pid \([0-9]*\)).*/\1/p')
ctl set ping-timeout 60s > /dev/null
ctl set worker-timeout 1s > /dev/null
kill -STOP "$wpid"
out=$(ctl log reopen 2>&1) ; rc=$?
kill -CONT "$wpid"
tap_is "$rc" 1 "a log reopen a worker does not answer exits 1"
tap_like "$out" 'reopened in 1 of 2 workers; 1 did not answer within 1000 ms' \
	"and says how many stayed silent"
ctl set worker-timeout 5s > /dev/null
ctl set ping-timeout 5s > /dev/null
kill -USR1 "$kk_sup_pid"
tap_ok "SIGUSR1 to the supervisor reopens it too" \
	kk_wait_for 10 sh -c "curl -s -o /dev/null '$U/usr1' ; grep -q '\"/usr1\"' '$T/access.log'"
tap_ok "and its outcome is logged" \
	kk_wait_for 10 grep -q 'signal USR1: applied: reopened the access log in 2 workers' "$T/kakehi.log"
get "$U/late"
kk_wait_for 10 grep -q '"/late"' "$T/access.log"
tap_fails "and the moved file gets no more lines" grep -q '"/late"' "$T/access.log.2"

# Two workers, one pipe, lines near PIPE_BUF: each arrives whole.
fifo_reader shared "$T/shared.out"
ctl set access-log "$T/shared" > /dev/null
long=$(python3 -c 'print("q" * 1000)')
pids=
for i in 1 2 3 4 ; do
	curl -s --max-time 60 -H "Connection: close" "$U/$long[1-300]" > /dev/null &
	pids="$pids $!"
done
wait $pids
kk_wait_for 10 sh -c "test \$(wc -l < '$T/shared.out') -ge 1200"
out=$(fields "$T/shared.out" 100000 "
ok = J is not None and len(J) >= 1200 and all(j['path'][:1001] == '/' + 'q' * 1000 and
    j['path'][1001:].isdigit() and j['status'] == 200 for j in J)
print('ok' if ok else 'bad', len(J or []), len(set(j['worker'] for j in J or [])))
")
tap_like "$out" '^ok 1200 ' "1200 lines of two workers through one pipe, each whole JSON"
tap_like "$out" ' 2$' "and both workers wrote some"
tap_like "$(ctl status --workers)" 'access-log-lines' \
	"status --workers shows each worker's access-log counters"
tap_like "$(ctl status)" 'total access-log-lines 1[0-9]{3}' \
	"the summary of status sums the workers' access-log counters"
ctl set access-log off > /dev/null
tap_done
