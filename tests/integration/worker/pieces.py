#!/usr/bin/env python3
# pieces.py PORT HOW N: N requests, each on a new connection, sent in two
# writes with Nagle's algorithm on (the socket default): HOW "body" sends
# the head then a small body, "head" a head cut in two. Prints the
# fastest round trip in milliseconds. A proxy that leaves the first write
# unacknowledged makes the second wait for the delayed-ACK timer, 40 ms
# or more, on every request.
import socket, sys, time
port, how, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
if how == "body":
    parts = [b"POST /pieces HTTP/1.1\r\nHost: app.test\r\nContent-Length: 10\r\n"
             b"Connection: close\r\n\r\n", b"0123456789"]
else:
    parts = [b"GET /pieces HTTP/1.1\r\nHost: app.test\r\n",
             b"Connection: close\r\n\r\n"]
best = None
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(5)
    t0 = time.monotonic()
    for p in parts:
        s.sendall(p)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    t = (time.monotonic() - t0) * 1000
    s.close()
    if not out.startswith(b"HTTP/1.1 200"):
        sys.stdout.write("bad answer: %r\n" % out[:60])
        sys.exit(1)
    best = t if best is None or t < best else best
sys.stdout.write("%d\n" % int(best))
