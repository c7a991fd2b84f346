#!/usr/bin/env python3
# fakesup.py WORKER BACKEND1-PORT BACKEND2-PORT: plays the supervisor's
# side of the channel (proto.h) against a real kakehi-worker and prints TAP
# lines for what it checks. Frames: 4-byte big-endian length, then
# NUL-terminated words; listener fds travel as SCM_RIGHTS.
import os, socket, struct, subprocess, sys, time, urllib.request

worker, p1, p2 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
n = 0
failed = 0

def tap(cond, name, diag=""):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, name))
    if not cond:
        failed += 1
        for l in str(diag).splitlines():
            print("#   " + l)
    sys.stdout.flush()

def frame(*words):
    p = b"".join(w.encode() + b"\0" for w in words)
    return struct.pack(">I", len(p)) + p

def recv_msg(s, timeout=10):
    s.settimeout(timeout)
    hdr = b""
    while len(hdr) < 4:
        d = s.recv(4 - len(hdr))
        if not d:
            return None
        hdr += d
    ln = struct.unpack(">I", hdr)[0]
    p = b""
    while len(p) < ln:
        d = s.recv(ln - len(p))
        if not d:
            return None
        p += d
    return [w.decode() for w in p.split(b"\0")[:-1]]

def listener():
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(128)
    return l, "127.0.0.1:%d" % l.getsockname()[1]

def get(addr, path="/", host="app.test"):
    req = urllib.request.Request("http://%s%s" % (addr, path), headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, ""
    except Exception as e:
        return 0, str(e)

def spawn(lsock, addr, gen, wid, text):
    """Starts the worker with lsock on fd 3, the channel on 4 and the state
    memfd on 5; returns (process, our end of the channel)."""
    sup, wk = socket.socketpair()
    mfd = os.memfd_create("state")
    os.write(mfd, text.encode())
    src = (lsock.fileno(), wk.fileno(), mfd)
    def child():
        # Move the fds above the targets first, so no dup2 overwrites a source.
        tmp = [os.dup(f) for f in src]
        for i, f in enumerate(tmp):
            os.dup2(f, 3 + i)
    env = dict(os.environ, LISTEN_FDS="1", LISTEN_FDNAMES=addr)
    p = subprocess.Popen([worker, "-c", "4", "-s", "5", "-g", str(gen), "-i", wid],
                         env=env, preexec_fn=child, close_fds=False)
    wk.close()
    os.close(mfd)
    return p, sup

def state(addrs, backend_port):
    t = "".join("listener add http %s\n" % a for a in addrs)
    t += "cluster add app\n"
    t += "".join("frontend add app --listener %s\n" % a for a in addrs)
    t += "backend add app b 127.0.0.1:%d\n" % backend_port
    return t

l1, a1 = listener()
proc, sup = spawn(l1, a1, 1, "w7", state([a1], p1))

m = recv_msg(sup)
tap(m == ["ready", "1"], "worker says ready 1", m)
st, body = get(a1)
tap(st == 200 and body.startswith("backend b1"), "serves the initial state", (st, body))

sup.sendall(frame("status"))
m = recv_msg(sup)
ok = m and m[0] == "status" and len(m) == 2
text = m[1] if ok else ""
tap(ok and ("pid %d\n" % proc.pid) in text, "status answers with the pid", m)
tap("id w7\n" in text and "generation 1\n" in text, "status has id and generation", text)
tap("requests 1\n" in text and "responses-2xx 1\n" in text, "status counts requests", text)

# A listener added at run time: its fd first, then the update naming it.
l2, a2 = listener()
sup.sendmsg([frame("listener", a2)], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", l2.fileno()))])
sup.sendall(frame("update", "2", state([a1, a2], p2)))
m = recv_msg(sup)
tap(m == ["ack", "2"], "update 2 acknowledged", m)
st, body = get(a1)
tap(st == 200 and body.startswith("backend b2"), "update applied: new backend", (st, body))
st, body = get(a2)
tap(st == 200 and body.startswith("backend b2"), "listener passed at run time serves", (st, body))

sup.sendall(frame("update", "3", "cluster add\n"))
m = recv_msg(sup)
tap(m and m[0] == "nack" and m[1] == "3" and len(m) == 3 and m[2], "bad update refused with a reason", m)
sup.sendall(frame("update", "4", state([a1, a2, "127.0.0.1:1"], p1)))
m = recv_msg(sup)
tap(m and m[0] == "nack" and "no socket" in m[2], "update naming a listener without a socket refused", m)
st, body = get(a1)
tap(st == 200 and body.startswith("backend b2"), "refused updates changed nothing", (st, body))

# Removing a listener closes it in the worker.
sup.sendall(frame("update", "5", state([a1], p2)))
m = recv_msg(sup)
tap(m == ["ack", "5"], "update 5 acknowledged", m)
sup.sendall(frame("status"))
m = recv_msg(sup)
tap(m and "generation 5\n" in m[1], "generation follows the updates", m)

# Changes as deltas: verb lines on the generation they apply to.
sup.sendall(frame("delta", "5", "6", "backend remove app b\nbackend add app b 127.0.0.1:%d\n" % p1))
m = recv_msg(sup)
tap(m == ["ack", "6"], "delta 5 -> 6 acknowledged", m)
st, body = get(a1)
tap(st == 200 and body.startswith("backend b1"), "delta applied: backend moved", (st, body))
sup.sendall(frame("delta", "6", "7", "backend remove app b\nbackend remove app nosuch\n"))
m = recv_msg(sup)
tap(m and m[0] == "nack" and m[1] == "7" and "nosuch" in m[2], "delta that does not apply refused", m)
st, body = get(a1)
tap(st == 200 and body.startswith("backend b1"), "refused delta undone: backend still there", (st, body))

# A delta on a base the worker is not on: it asks for the whole state,
# which comes as a memfd, and then serves it.
sup.sendall(frame("delta", "8", "9", "backend remove app b\n"))
m = recv_msg(sup)
tap(m == ["resync", "6"], "delta on a wrong base: resync from generation 6", m)
st, body = get(a1)
tap(st == 200 and body.startswith("backend b1"), "wrong-base delta applied nothing", (st, body))
mfd = os.memfd_create("state")
os.write(mfd, state([a1], p2).encode())
sup.sendmsg([frame("state", "9")], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", mfd))])
os.close(mfd)
m = recv_msg(sup)
tap(m == ["ack", "9"], "whole state 9 acknowledged", m)
st, body = get(a1)
tap(st == 200 and body.startswith("backend b2"), "resynchronised worker serves state 9", (st, body))
sup.sendall(frame("delta", "9", "10", "cluster add other\n"))
m = recv_msg(sup)
tap(m == ["ack", "10"], "deltas apply again after the resync", m)

# Drain: the worker exits 0.
sup.sendall(frame("drain"))
try:
    rc = proc.wait(10)
except subprocess.TimeoutExpired:
    proc.kill()
    rc = "timeout"
tap(rc == 0, "drain: worker exits 0", rc)

# Channel end of file: a second worker drains and exits too.
l3, a3 = listener()
proc, sup2 = spawn(l3, a3, 9, "w8", state([a3], p1))
m = recv_msg(sup2)
tap(m == ["ready", "9"], "second worker ready 9", m)
sup2.close()
try:
    rc = proc.wait(10)
except subprocess.TimeoutExpired:
    proc.kill()
    rc = "timeout"
tap(rc == 0, "channel closed: worker drains and exits 0", rc)

print("1..%d" % n)
sys.exit(1 if failed else 0)
