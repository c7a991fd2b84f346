# Helpers for the supervisor tests (sourced after ../lib.sh).
# sv_start NAME CONFIG [OPTIONS...]: starts kakehi-supervisor with its
# control socket at $T/NAME.sock, readiness on fd 3 into $T/NAME.ready
# and its log in $T/NAME.log; sets sv_pid and sv_sock. The worker is the
# protocol-only fake unless SV_WORKER names another binary.
SV_DIR=$(cd "$(dirname "$0")" && pwd)
FAKE_WORKER=$SV_DIR/fake-worker
SV_WORKER=${SV_WORKER:-$FAKE_WORKER}
FAKE_WORKER_DIR=$T/knobs
export FAKE_WORKER_DIR
mkdir -p "$FAKE_WORKER_DIR"

sv_start() {
	_n=$1 ; _c=$2 ; shift 2
	sv_sock=$T/$_n.sock
	: > "$T/$_n.ready"
	kk_spawn "$_n" sh -c 'r=$1 ; shift ; exec "$@" 3>"$r"' sh "$T/$_n.ready" \
		kakehi-supervisor -d 3 -s "$sv_sock" -W "$SV_WORKER" "$@" "$_c"
	sv_pid=$kk_last_pid
}

sv_ready() {	# sv_ready NAME: waits for the readiness newline
	kk_wait_for 30 test -s "$T/$1.ready"
}

ctl() { kakehi-ctl -s "$sv_sock" "$@" ; }

# worker_pid ID: the pid status reports for worker ID
worker_pid() { ctl status | awk -v id="$1" '$1 == "worker" && $2 == id { print $4 }' ; }
# worker_field ID FIELD: a word after FIELD on worker ID's status line
worker_field() {
	ctl status | awk -v id="$1" -v f="$2" '$1 == "worker" && $2 == id {
		for (i = 3; i < NF; i++) if ($i == f) print $(i + 1) }'
}
ready_count() { ctl status | awk '/^workers / { print $4 }' ; }
