#!/usr/bin/env python3
# A stand-in for systemd's notification socket: binds a datagram socket
# at PATH (or @NAME, abstract) and appends each datagram it receives to
# OUT as one line, its fields joined by '|', with the sender's pid first
# ("PID|READY=1|STATUS=..."), flushed at once so a test can poll the file.
#   notifyd.py PATH OUT
# With NOTIFYD_STALL=SECONDS it reads nothing for that long after the
# first datagram, so its queue fills and the sender must not block.
import os, socket, struct, sys, time

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("\0" + path[1:] if path.startswith("@") else path)
stall = float(os.environ.get("NOTIFYD_STALL", "0"))
if stall:
    # The smallest queue the kernel allows: it is full after a few.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
with open(out, "a") as f:
    f.write("listening\n")
    f.flush()
    while True:
        data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = "?"
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = str(struct.unpack("iII", cdata[:12])[0])
        f.write(pid + "|" + data.decode("utf-8", "replace").replace("\n", "|") + "\n")
        f.flush()
        if stall:
            time.sleep(stall)
            stall = 0
