# Shared helpers for the integration tests (POSIX sh, sourced):
#   . "$(dirname "$0")/../lib.sh"
# TAP output, a private temporary directory, free loopback ports, waiting
# for readiness by polling, and cleanup of every process the test started
# (and their descendants) when the script exits, whatever the reason.

: "${KK_BIN:?KK_BIN must name the directory of the built programs (make check-fast sets it)}"
: "${KK_TESTBIN:?KK_TESTBIN must name the directory of the test tools}"
PATH="$KK_BIN:$KK_TESTBIN:/usr/lib/execline/bin:$PATH"
export PATH

tap_n=0
tap_failed=0
kk_pids=

# TAP --------------------------------------------------------------------

tap_result() {	# tap_result STATUS NAME: STATUS 0 is a pass
	tap_n=$((tap_n + 1))
	if test "$1" -eq 0 ; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
	return "$1"
}

tap_ok() {	# tap_ok NAME CMD...: passes when CMD succeeds
	_name=$1 ; shift
	"$@" > "$T/.tap_out" 2>&1
	_st=$?
	tap_result "$_st" "$_name" || sed 's/^/#   /' "$T/.tap_out"
}

tap_fails() {	# tap_fails NAME CMD...: passes when CMD fails
	_name=$1 ; shift
	if "$@" > "$T/.tap_out" 2>&1 ; then
		tap_result 1 "$_name" ; sed 's/^/#   /' "$T/.tap_out"
	else
		tap_result 0 "$_name"
	fi
}

tap_is() {	# tap_is GOT WANT NAME
	if test "x$1" = "x$2" ; then
		tap_result 0 "$3"
	else
		tap_result 1 "$3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
	fi
}

tap_like() {	# tap_like TEXT EXTENDED-REGEX NAME
	if printf '%s\n' "$1" | grep -Eq -- "$2" ; then
		tap_result 0 "$3"
	else
		tap_result 1 "$3"
		printf '%s\n' "$1" | head -n 20 | sed 's/^/#   got: /'
		printf '#   wanted a match for: %s\n' "$2"
	fi
}

tap_diag() { printf '%s\n' "$*" | sed 's/^/# /' ; }

tap_skip_all() { echo "1..0 # SKIP $*" ; exit 0 ; }

tap_done() {
	echo "1..$tap_n"
	test "$tap_failed" -eq 0
	exit $?
}

# Processes ----------------------------------------------------------------

# Every pid started with kk_spawn is ended at exit, with its descendants:
# TERM first, KILL for what is left after a grace period.
kk_descendants() {	# kk_descendants PID: prints PID's descendants, deepest last
	for _s in /proc/[0-9]*/stat ; do
		_line=$(cat "$_s" 2>/dev/null) || continue
		_rest=${_line##*) }
		set -- $_rest
		if test "$2" = "$KK_PARENT" ; then
			_p=${_s#/proc/} ; echo "${_p%/stat}"
		fi
	done
}

kk_tree() {	# kk_tree PID: PID and all its descendants
	echo "$1"
	KK_PARENT=$1
	for _c in $(kk_descendants "$1") ; do kk_tree "$_c" ; done
}

kk_cleanup() {
	_all=
	for _p in $kk_pids ; do _all="$_all $(kk_tree "$_p")" ; done
	test -n "$_all" && kill -TERM $_all 2>/dev/null
	_i=0
	while test $_i -lt 50 ; do
		_alive=
		for _p in $_all ; do kill -0 "$_p" 2>/dev/null && _alive="$_alive $_p" ; done
		test -z "$_alive" && break
		sleep 0.1
		_i=$((_i + 1))
	done
	test -n "$_alive" && kill -KILL $_alive 2>/dev/null
	wait 2>/dev/null
	test -n "$T" && rm -rf "$T"
}

T=$(mktemp -d "${TMPDIR:-/tmp}/kakehi-test.XXXXXX") || { echo "Bail out! mktemp failed" ; exit 1 ; }
trap 'kk_cleanup' EXIT
trap 'exit 1' INT TERM HUP

kk_spawn() {	# kk_spawn LOGNAME CMD...: runs CMD in the background, logs to $T/LOGNAME.log; sets kk_last_pid
	_log=$1 ; shift
	"$@" > "$T/$_log.log" 2>&1 &
	kk_last_pid=$!
	kk_pids="$kk_pids $kk_last_pid"
}

kk_stop() {	# kk_stop PID [SIGNAL]: signals PID and waits for it
	kill "-${2:-TERM}" "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# Ports and waiting ----------------------------------------------------------

kk_free_port() {	# prints a TCP port free on 127.0.0.1 right now
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

kk_dead_port() {	# kk_dead_port: sets kk_port to a port where connects are refused for the whole test
	# A port merely free now can be taken by a parallel test's listener, or
	# picked as a connect's own source port (a TCP self-connect that then
	# "succeeds"); a socket bound and never listening keeps it refused.
	_kk_dead=$((${_kk_dead:-0} + 1))
	kk_spawn "dead-port-$_kk_dead" python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); sys.stdout.flush()
time.sleep(3600)'
	kk_wait_for 10 test -s "$T/dead-port-$_kk_dead.log" || { echo "Bail out! no dead port" ; exit 1 ; }
	kk_port=$(head -n 1 "$T/dead-port-$_kk_dead.log")
}

kk_wait_for() {	# kk_wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds
	_deadline=$(( $1 * 10 )) ; shift
	_i=0
	while test $_i -lt $_deadline ; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

kk_port_open() {	# kk_port_open PORT [HOST]: true when something accepts there
	python3 -c 'import socket,sys; socket.create_connection((sys.argv[2], int(sys.argv[1])), 1).close()' "$1" "${2:-127.0.0.1}"
}

kk_backend() {	# kk_backend NAME [ARGS...]: starts kk-testbackend on a free port; sets kk_port and kk_last_pid
	_name=$1 ; shift
	kk_spawn "backend-$_name" kk-testbackend -p -n "$_name" "$@" 127.0.0.1:0
	kk_wait_for 10 test -s "$T/backend-$_name.log" || { echo "Bail out! backend $_name did not start" ; exit 1 ; }
	kk_port=$(head -n 1 "$T/backend-$_name.log")
}

kk_certs() {	# kk_certs: writes the test certificates (tests/tools/kk-mkcerts) to $T/certs; sets kk_certs_dir
	kk_certs_dir=$T/certs
	"$(dirname "$0")/../../tools/kk-mkcerts" "$kk_certs_dir" ||
		{ echo "Bail out! kk-mkcerts failed" ; exit 1 ; }
}

# HTTP through curl: body on stdout; kk_http_code prints only the status.
kk_curl() { curl -sS --max-time 10 "$@" ; }
kk_http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" ; }

# The whole proxy ------------------------------------------------------------

kk_proxy() {	# kk_proxy CONF [ADDR...]: starts kakehi-supervisor on CONF (under kakehi-listen ADDR... when given), waits for its readiness; sets kk_sup_pid and kk_sock
	_conf=$1 ; shift
	kk_sock=$T/control
	rm -f "$T/ready"
	mkfifo "$T/ready"
	if test $# -gt 0 ; then
		kk_spawn kakehi kakehi-listen "$@" -- \
			sh -c 'exec kakehi-supervisor -d 5 -s "$1" "$2" 5>"$3"' sh "$kk_sock" "$_conf" "$T/ready"
	else
		kk_spawn kakehi sh -c 'exec kakehi-supervisor -d 5 -s "$1" "$2" 5>"$3"' sh \
			"$kk_sock" "$_conf" "$T/ready"
	fi
	kk_sup_pid=$kk_last_pid
	test "$(timeout 30 head -c 1 "$T/ready" | od -An -c | tr -d ' ')" = '\n' || {
		echo "Bail out! kakehi-supervisor did not signal readiness" ; sed 's/^/# /' "$T/kakehi.log" ; exit 1 ; }
}

# Load with every failure counted (tests/tools/kk-load.c) --------------------

# KK_SOAK set (make check-soak): the hitless tests run their full lengths.
kk_soak() { test -n "${KK_SOAK:-}" ; }

kk_load() {	# kk_load NAME ARGS...: starts kk-load ARGS in the background, its counts to $T/load-NAME.stats (NAME: letters, digits, _)
	_name=$1 ; shift
	rm -f "$T/load-$_name.stats"
	kk_spawn "load-$_name" kk-load -o "$T/load-$_name.stats" "$@"
	eval "kk_load_pid_$_name=\$kk_last_pid"
}

# Not in $(...): a subshell cannot wait for the load to finish.
kk_load_finish() {	# kk_load_finish NAME: stops the load (in-flight requests complete); its counts in kk_load_counts
	eval "_p=\$kk_load_pid_$1"
	kill -TERM "$_p" 2>/dev/null
	wait "$_p" 2>/dev/null
	kk_load_counts=$(cat "$T/load-$1.stats" 2>/dev/null) || kk_load_counts="requests=0 (kk-load wrote no counts)"
}

kk_load_assert() {	# kk_load_assert NAME DESCRIPTION: stops the load; passes when it made requests and none failed
	kk_load_finish "$1"
	_req=$(printf '%s\n' "$kk_load_counts" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
	_okn=$(printf '%s\n' "$kk_load_counts" | sed -n 's/.* ok=\([0-9]*\).*/\1/p')
	test -n "$_req" && test "$_req" -gt 0 && test "$_req" = "$_okn"
	tap_result $? "$2 ($kk_load_counts)" || sed 's/^/#   /' "$T/load-$1.log"
}
