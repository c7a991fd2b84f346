#!/usr/bin/env python3
# blackhole.py PORT: a backend on 127.0.0.1:PORT that never answers a SYN,
# for connect timeouts on loopback. Its socket listens with a backlog of
# 0 and never accepts; connections of its own fill the accept queue, and
# the kernel then drops every further SYN (a full queue drops them whether
# or not SYN cookies are on). Prints "ready" once a probe connect is seen
# hanging, then waits to be killed.
import socket, sys, time

port = int(sys.argv[1])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(0)
fill = []
for _ in range(2):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    fill.append(s)
    time.sleep(0.2)
probe = socket.socket()
probe.settimeout(2)
try:
    probe.connect(("127.0.0.1", port))
    print("failed: a connect was answered")
    sys.exit(1)
except socket.timeout:
    pass
probe.close()
print("ready", flush=True)
while True:
    time.sleep(60)
