#!/usr/bin/env python3
# mkhandoff.py CASE DIR SUPERVISOR [PREVIOUS]: writes a handoff into
# DIR/handoff with real sockets behind its fds (a listening TCP socket, a
# listening unix socket, a socketpair end), spoiled as CASE says, then
# execs kakehi-upgrade -h on it with those fds open. CASE: good, magic,
# version, checksum, truncated, closed, kind-listener, kind-channel.
# PREVIOUS is the binary the self line names (default: /bin/true).
import os, socket, sys

case, d, sup = sys.argv[1], sys.argv[2], sys.argv[3]
prev = sys.argv[4] if len(sys.argv) > 4 else "/bin/true"

def fnv(b):
    h = 0xcbf29ce484222325
    for c in b:
        h ^= c
        h = (h * 0x100000001b3) & 0xffffffffffffffff
    return h

lsn = socket.socket()
lsn.bind(("127.0.0.1", 0))
lsn.listen(8)
ctl = socket.socket(socket.AF_UNIX)
ctl.bind(os.path.join(d, "ctl.sock"))
ctl.listen(8)
ours, theirs = socket.socketpair()
self_fd = os.open(prev, os.O_PATH)
addr = "127.0.0.1:%d" % lsn.getsockname()[1]
lfd, cfd, chfd = lsn.fileno(), ctl.fileno(), ours.fileno()
if case == "closed":
    lfd = 900
elif case == "kind-listener":
    lfd = chfd
elif case == "kind-channel":
    chfd = lsn.fileno()
body = (
    "self %d\n" % self_fd +
    "option config /nowhere/kakehi.conf\n"
    "generation 1\nuptime-ms 0\nupgrades 0\nhup-pending 0\nready-sent 1\n"
    "request 1 'signal USR2' upgrade\n"
    "control %d %s 0 1\n" % (cfd, os.path.join(d, "ctl.sock")) +
    "listener %s %d\n" % (addr, lfd) +
    "worker 0 %d ready 4242 1 1 0 1 0 0 1000 0 0 0 0 0 -\n" % chfd +
    "config\nset workers 1\n").encode()
version = 9 if case == "version" else 1
total = len(body) + (10 if case == "truncated" else 0)
head = "kakehi-handoff %d %d %016x\n" % (version, total, fnv(body))
if case == "magic":
    head = "kakehi-handover" + head[len("kakehi-handoff"):]
data = head.encode() + body
if case == "checksum":
    data = data[:-3] + b"7" + data[-2:]
with open(os.path.join(d, "handoff"), "wb") as f:
    f.write(data)
hfd = os.open(os.path.join(d, "handoff"), os.O_RDONLY)
for fd in (lsn.fileno(), cfd, ours.fileno(), self_fd, hfd):
    os.set_inheritable(fd, True)
# KK_TRIAL_MS: the trial's time bound (-t), 10 s unless a test wants it short.
os.execvp("kakehi-upgrade", ["kakehi-upgrade", "-t", os.environ.get("KK_TRIAL_MS", "10000"),
                             "-h", str(hfd), sup])
