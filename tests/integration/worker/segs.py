#!/usr/bin/env python3
# segs.py PORT N: N requests with Connection: close, each on a new
# connection and sent in one write; after the end of file, counts the
# segments the client received (tcpi_segs_in of TCP_INFO) and prints the
# fewest. The handshake's SYN-ACK is one; a proxy that acknowledges the
# request with its response and sends the response with its FIN adds one.
import socket, struct, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
req = b"GET /segs HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n"
best = None
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(5)
    s.sendall(req)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    s.close()
    if not out.startswith(b"HTTP/1.1 200") or len(info) < 144:
        sys.stdout.write("bad answer or no tcpi_segs_in: %r\n" % out[:60])
        sys.exit(1)
    segs = struct.unpack_from("I", info, 140)[0]
    best = segs if best is None or segs < best else best
sys.stdout.write("%d\n" % best)
