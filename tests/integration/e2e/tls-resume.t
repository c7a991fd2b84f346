#!/bin/sh
# TLS session resumption across workers and upgrades, with openssl
# s_client -sess_out/-sess_in, TLS 1.3 and 1.2: a ticket one worker issued
# resumes on the other worker, after both workers were killed (-9) and
# restarted, and after an in-place supervisor upgrade that rolled the
# workers. The worker that answered a connection is the one whose
# connections-total moved (connections are made one at a time).
. "$(dirname "$0")/../lib.sh"

kk_certs
kk_backend b1 ; p1=$kk_port
port=$(kk_free_port)
c=$kk_certs_dir
cat > "$T/k.conf" <<EOF
set workers 2
listener add https 127.0.0.1:$port
cluster add app
frontend add app --listener 127.0.0.1:$port --host a.test
backend add app b1 127.0.0.1:$p1
certificate add 127.0.0.1:$port --cert $c/a.crt --key $c/a.key --chain $c/chain.crt
EOF
kk_proxy "$T/k.conf"
ctl() { kakehi-ctl -s "$kk_sock" "$@" ; }

# "ID COUNT" per ready worker.
counts() { ctl status --workers | awk '$1 == "worker" { id = $2 }
	/^  connections-total / { print id, $2 }' ; }
# tls VERSION OUT [IN]: one request over s_client, the session to OUT (and
# offered from IN); prints "New" or "Reused", then the id of the worker
# that served it, then the HTTP status.
tls() {
	_before=$(counts)
	printf 'GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n' |
		timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername a.test \
		"-tls$1" -sess_out "$2" ${3:+-sess_in "$3"} -ign_eof > "$T/s.out" 2>&1
	_how=$(awk '/^(New|Reused), / { sub(/,.*/, ""); print; exit }' "$T/s.out")
	_code=$(awk '/^HTTP\/1\.1 / { print $2; exit }' "$T/s.out")
	_after=$(counts)
	_who=$(printf '%s\n%s\n' "$_before" "$_after" | awk '
		{ if ($1 in c && c[$1] != $2) print $1 ; c[$1] = $2 }')
	echo "$_how ${_who:-?} ${_code:-?}"
}

for v in 1_3 1_2 ; do
	first=$(tls "$v" "$T/t$v")
	tap_like "$first" '^New [0-9]+ 200$' \
		"TLS ${v%_*}.${v#*_}: a full handshake, served ($first)"
	w=${first#New } ; w=${w%% *}
	# Resume from that ticket until the other worker answers.
	got=
	for i in $(seq 1 40) ; do
		r=$(tls "$v" "$T/r$v" "$T/t$v")
		o=${r#* } ; o=${o%% *}
		if test "$o" != "$w" -a "$o" != "?" ; then got=$r ; break ; fi
	done
	tap_like "$got" '^Reused [0-9]+ 200$' \
		"TLS ${v%_*}.${v#*_}: the ticket of worker $w resumes on another worker ($got)"
done

# Every worker killed: their replacements get the ring in use.
for w in $(ctl status | awk '$1 == "worker" { print $4 }') ; do kill -9 "$w" ; done
all_ready() { test "$(ctl status | awk '$1 == "worker" && $6 == "ready"' | wc -l)" = 2 ; }
kk_wait_for 20 all_ready
for v in 1_3 1_2 ; do
	tap_like "$(tls "$v" "$T/r$v" "$T/t$v")" '^Reused [0-9]+ 200$' \
		"TLS ${v%_*}.${v#*_}: resumed on a worker restarted after kill -9"
done

# An in-place supervisor upgrade, the workers rolled after it.
tap_ok "kakehi-ctl upgrade" ctl upgrade
kk_wait_for 20 all_ready
for v in 1_3 1_2 ; do
	tap_like "$(tls "$v" "$T/r$v" "$T/t$v")" '^Reused [0-9]+ 200$' \
		"TLS ${v%_*}.${v#*_}: resumed after the upgrade, on a worker it started"
done

kk_stop "$kk_sup_pid"
tap_done
