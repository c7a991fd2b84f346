#!/bin/sh
# kakehi-worker standalone: request bodies far larger than every buffer
# reach the backend whole (sha256 compared there), chunked with any chunk
# sizes or with Content-Length, while the worker's buffers stay bounded.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

kk_spawn bodyback python3 "$kw_dir/bodyback.py"
kk_wait_for 10 test -s "$T/bodyback.log" || { echo "Bail out! bodyback did not start" ; exit 1 ; }
pb=$(head -n 1 "$T/bodyback.log")
kw_start bodies \
	'listener add http 127.0.0.1:@PORT' 'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT' "backend add app b1 127.0.0.1:$pb"
up() { python3 "$kw_dir/bodyclient.py" "$kw_port" upload "$@" ; }
M=67108864	# 64 MiB: thousands of buffers' worth

# Just past one buffer (16 KiB, the request head included) and well past.
tap_is "$(up 20000 chunked 20000)" ok "a 20000-byte chunk arrives whole"
tap_is "$(up 20000 chunked 1000)" ok "twenty 1000-byte chunks arrive whole"
# Sizes around the buffer and the re-chunking overhead, in turn.
tap_is "$(up $M chunked 16383,16384,16385,1,19,20,21,23,24,25,65537,3,1048577)" ok \
	"64 MiB chunked, odd chunk sizes in turn: sha256 matches"
tap_is "$(up $M chunked random:7)" ok "64 MiB chunked, seeded random chunk sizes: sha256 matches"
tap_is "$(up $M chunked random:8)" ok "64 MiB chunked, other random sizes: sha256 matches"
tap_is "$(up $M length)" ok "64 MiB with Content-Length: sha256 matches"
# A backend that reads slowly: the upload still arrives whole.
tap_is "$(up 4000000 chunked random:9 0 '/hash?pause=2')" ok \
	"4 MB chunked to a backend that reads slowly: sha256 matches"

# Memory stayed bounded: after the uploads, every buffer is back.
out=$(python3 "$kw_dir/counters.py" "$kw_pid" "$T/worker-bodies.log" buffers-in-use back-active)
tap_like "$out" '^buffers-in-use 0$' "no buffer held after the uploads"
tap_like "$out" '^back-active 0$' "no backend connection held after the uploads"
tap_done
