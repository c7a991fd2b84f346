#!/usr/bin/env python3
# What systemd does for a .socket unit, for tests: binds and listens on
# each ADDR, keeps its own copies (as systemd does, so the addresses stay
# taken), and runs CMD in a child with the sockets on fds 3.., LISTEN_FDS,
# LISTEN_PID (the child's pid) and LISTEN_FDNAMES (from $ACTIVATE_NAMES
# when set, else unset). $ACTIVATE_WRONG_PID=1 sets LISTEN_PID to this
# process instead, as for a service that forked after activation.
#   activate.py ADDR... -- CMD...
# It waits for the child, forwarding TERM, and exits with its status.
import fcntl, os, signal, socket, sys

sep = sys.argv.index("--")
addrs, cmd = sys.argv[1:sep], sys.argv[sep + 1:]
socks = []
for a in addrs:
    host, port = a.rsplit(":", 1)
    fam = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host.strip("[]"), int(port)))
    s.listen(128)
    socks.append(s)
parent = os.getpid()
pid = os.fork()
if pid == 0:
    # Lifted above 3..3+n first: a socket may already sit on a target
    # number (dup2 onto itself would leave it close-on-exec).
    high = [os.dup(s.fileno()) for s in socks]
    high = [fcntl.fcntl(f, fcntl.F_DUPFD, 3 + len(socks)) for f in high]
    for i, f in enumerate(high):
        os.dup2(f, 3 + i)
        os.close(f)
    env = dict(os.environ)
    env["LISTEN_FDS"] = str(len(socks))
    env["LISTEN_PID"] = str(parent if os.environ.get("ACTIVATE_WRONG_PID") else os.getpid())
    if "ACTIVATE_NAMES" in os.environ:
        env["LISTEN_FDNAMES"] = os.environ["ACTIVATE_NAMES"]
    for k in ("ACTIVATE_NAMES", "ACTIVATE_WRONG_PID"):
        env.pop(k, None)
    os.execvpe(cmd[0], cmd, env)
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
while True:
    try:
        _, st = os.waitpid(pid, 0)
        break
    except InterruptedError:
        continue
sys.exit(os.waitstatus_to_exitcode(st) & 0xff)
