#!/bin/sh
# kakehi-worker under a supervisor: the channel protocol of proto.h,
# played by fakesup.py against the real worker.
. "$(dirname "$0")/../lib.sh"
kk_backend b1 ; p1=$kk_port
kk_backend b2 ; p2=$kk_port
python3 "$(dirname "$0")/fakesup.py" "$KK_BIN/kakehi-worker" "$p1" "$p2"
