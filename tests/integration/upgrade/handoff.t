#!/bin/sh
# kakehi-upgrade's handoff mode on its own, as in an execline chain: each
# refusal of a handoff (not one, another format version, a bad checksum,
# a truncated body, an fd that is closed, an fd of the wrong kind) exits
# with its own code and says why; a handoff that passes goes through a
# trial run of the supervisor, then an exec of it, and a failed trial goes
# back to the previous binary with the reason.
. "$(dirname "$0")/../lib.sh"

MK=$(cd "$(dirname "$0")" && pwd)/mkhandoff.py

# A stand-in supervisor: records each run's arguments, and fails its
# trial, or never ends it, when told to.
cat > "$T/sup" <<'SH'
#!/bin/sh
echo "next $*" >> "$(dirname "$0")/runs"
case "$1:$(cat "$(dirname "$0")/trial" 2>/dev/null)" in --check-handoff:fail)
	echo "kakehi-supervisor: fatal: handoff check failed: the trial says no" >&2
	exit 3 ;;
--check-handoff:hang)
	exec sleep 30 ;;
esac
exit 0
SH
# Run through its O_PATH fd, it is /dev/fd/N to itself: its file is named.
cat > "$T/prev" <<SH
#!/bin/sh
echo "previous \$*" >> "$T/runs"
SH
chmod +x "$T/sup" "$T/prev"

refusal() {	# refusal CASE CODE MESSAGE-REGEX
	rm -f "$T/ctl.sock" "$T/runs"
	python3 "$MK" "$1" "$T" "$T/sup" "$T/prev" > "$T/out" 2>&1
	_st=$?
	tap_is "$_st" "$2" "$1: kakehi-upgrade exits $2"
	tap_like "$(cat "$T/out")" "$3" "$1: it says why"
	tap_ok "$1: nothing was run" test ! -e "$T/runs"
}

refusal magic 101 'kakehi-upgrade: fatal: handoff refused: fd [0-9]+ does not hold a handoff'
refusal version 102 'format version 9; this build reads versions 1 to 3'
refusal checksum 103 'fails its checksum: it is corrupt'
refusal truncated 103 'fewer bytes than the [0-9]+ bytes its header announces'
refusal closed 105 'listener 127\.0\.0\.1:[0-9]+: fd 900 is not open'
refusal kind-listener 106 'listener 127\.0\.0\.1:[0-9]+: fd [0-9]+ is not a listening TCP socket'
refusal kind-channel 106 'channel of worker 0: fd [0-9]+ is not a connected unix stream socket'

kakehi-upgrade > "$T/out" 2>&1
tap_is "$?" 100 "no arguments: usage, exit 100"
kakehi-upgrade -h 3 > "$T/out" 2>&1
tap_is "$?" 100 "-h without a supervisor: usage, exit 100"

rm -f "$T/ctl.sock" "$T/runs"
python3 "$MK" good "$T" "$T/sup" "$T/prev" > "$T/out" 2>&1
tap_is "$?" 0 "a good handoff: the supervisor's exit status comes back through the chain"
tap_like "$(cat "$T/runs")" '^next --check-handoff [0-9]+
next --handoff [0-9]+$' "a good handoff: a trial run, then the exec in place"

rm -f "$T/ctl.sock" "$T/runs"
echo fail > "$T/trial"
python3 "$MK" good "$T" "$T/sup" "$T/prev" > "$T/out" 2>&1
want='^next --check-handoff [0-9]+
previous --handoff [0-9]+ --rollback the new supervisor .*/sup failed its trial run'
want="$want"' \(exit 3\): kakehi-supervisor: fatal: handoff check failed: the trial says no$'
tap_like "$(cat "$T/runs")" "$want" \
	"a failed trial: the previous binary runs again, with the reason"
tap_like "$(cat "$T/out")" 'the trial says no' "a failed trial: its message reaches the log"

# A trial that never ends is killed at the -t bound (300 ms here, where
# the stand-in would sleep 30 s), and the previous binary runs again.
rm -f "$T/ctl.sock" "$T/runs"
echo hang > "$T/trial"
_t0=$(date +%s)
KK_TRIAL_MS=300 python3 "$MK" good "$T" "$T/sup" "$T/prev" > "$T/out" 2>&1
_t1=$(date +%s)
want='^next --check-handoff [0-9]+
previous --handoff [0-9]+ --rollback the new supervisor .*/sup did not finish its trial run'
tap_like "$(cat "$T/runs")" "$want"' within 300ms$' \
	"a trial that hangs: killed at its time bound, the previous binary runs again"
tap_ok "a trial that hangs: over in seconds, not the 30 s it would sleep" \
	test $((_t1 - _t0)) -lt 10
rm -f "$T/trial"

rm -f "$T/ctl.sock" "$T/runs"
python3 "$MK" good "$T" "$T/nowhere" "$T/prev" > "$T/out" 2>&1
want='^previous --handoff [0-9]+ --rollback the new supervisor .*/nowhere cannot be run:'
tap_like "$(cat "$T/runs")" "$want"' No such file or directory$' \
	"a supervisor that does not exist: the previous binary runs again, with the reason"
tap_done
