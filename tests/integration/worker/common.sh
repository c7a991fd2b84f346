# Helpers for the worker tests, sourced after ../lib.sh.
#   kw_start NAME CONFIG-TEXT...: writes $T/NAME.conf from the lines given
#   (the word @PORT replaced by a free port, also left in $kw_port), starts
#   kakehi-listen 127.0.0.1:PORT -- kakehi-worker CONF, waits until it
#   accepts; sets kw_pid.
#   kw_raw [WAIT]: stdin to the proxy as raw bytes, the answer on stdout.
kw_dir=$(cd "$(dirname "$0")" && pwd)

kw_start() {
	_n=$1 ; shift
	kw_port=$(kk_free_port)
	: > "$T/$_n.conf"
	for _l in "$@" ; do
		printf '%s\n' "$_l" | sed "s/@PORT/$kw_port/g" >> "$T/$_n.conf"
	done
	kk_spawn "worker-$_n" kakehi-listen "127.0.0.1:$kw_port" -- kakehi-worker "$T/$_n.conf"
	kw_pid=$kk_last_pid
	kk_wait_for 10 kk_port_open "$kw_port" || { echo "Bail out! worker $_n did not start" ;
		sed 's/^/# /' "$T/worker-$_n.log" ; exit 1 ; }
}

kw_raw() { python3 "$kw_dir/raw.py" "$kw_port" "${1:-3}" ; }

# kw_status_line: the first line of a raw answer, CR removed.
kw_first() { head -n 1 | tr -d '\r' ; }
