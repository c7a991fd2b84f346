#!/bin/sh
# The stream is protocol-neutral (doc/internals.html, "The layers"):
# stream.c and the headers it stands on include no protocol's header and
# name no protocol's functions; a stream reaches its endpoints only
# through their operations tables, so another protocol plugs in beside
# the h1 files without a change to the stream.
. "$(dirname "$0")/../lib.sh"
src=$(cd "$(dirname "$0")/../../../src/worker" && pwd)

proto='(h1|front|back|tunnel|tcpfront)\.h'
for f in stream.c stream.h head.c head.h msg.h ; do
	got=$(grep -nE "^#[[:space:]]*include[[:space:]]*\"$proto\"" "$src/$f")
	tap_is "$got" "" "$f includes no protocol header"
done
names='\bkk_(front|back|h1|tunnel|tcpfront)_[A-Za-z0-9_]+'
got=$(grep -nE "$names" "$src/stream.c" "$src/stream.h" "$src/head.c" "$src/head.h")
tap_is "$got" "" "the stream and the heads name no protocol function or table"
# Every protocol-specific name the h1 files define stays out of the stream.
got=$(grep -nE '\b(KK_H1_|kk_h1|KK_OUT_|KK_BACK_|KK_FRONT_)' "$src/stream.c" "$src/stream.h")
tap_is "$got" "" "the stream holds no h1 framing, flag or state"
# The client endpoint reaches the client's side only through the stream's
# server table: a --send-proxy connection's addresses and its slot too.
for f in back.c back.h ; do
	got=$(grep -nE "^#[[:space:]]*include[[:space:]]*\"(front|tcpfront)\.h\"" "$src/$f")
	tap_is "$got" "" "$f includes no server endpoint's header"
	got=$(grep -nE '\b(kk_front_[A-Za-z0-9_]+|kk_front\b|KK_FRONT_)' "$src/$f")
	tap_is "$got" "" "$f names no server endpoint's function, type or flag"
done
tap_done
