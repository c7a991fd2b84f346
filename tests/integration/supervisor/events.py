#!/usr/bin/env python3
# events.py SOCKET MODE ARGS: a control client written by hand, for what
# kakehi-ctl does not do.
#   stuck READY GO   asks for events, reads the first frame, touches READY,
#                    then reads nothing until GO exists (60 s at most);
#                    then reads to the end and prints the number of frames
#                    and the last one: "STATUS BODY"
#   changes N PORT   on one connection, N `backend add app sI 127.0.0.1:PORT`
#                    one after another; prints how many were applied
import os, socket, struct, sys, time

path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.connect(path)


def send(*words):
    body = b"".join(w.encode() + b"\0" for w in words)
    s.sendall(struct.pack(">I", len(body)) + body)


def frame():
    hdr = b""
    while len(hdr) < 4:
        b = s.recv(4 - len(hdr))
        if not b:
            return None
        hdr += b
    n = struct.unpack(">I", hdr)[0]
    body = b""
    while len(body) < n:
        b = s.recv(n - len(body))
        if not b:
            return None
        body += b
    return body


if mode == "stuck":
    ready, go = sys.argv[3], sys.argv[4]
    send("events")
    frame()
    open(ready, "w").close()
    for _ in range(600):
        if os.path.exists(go):
            break
        time.sleep(0.1)
    n, last = 0, None
    while True:
        f = frame()
        if f is None:
            break
        n, last = n + 1, f
    print(n, (last[:1] + b" " + last[1:].strip()).decode() if last else "none")
elif mode == "changes":
    count, port = int(sys.argv[3]), sys.argv[4]
    ok = 0
    for i in range(count):
        send("backend", "add", "app", "s%d" % i, "127.0.0.1:%s" % port)
        f = frame()
        ok += f is not None and f[:1] == b"O"
    print(ok)
