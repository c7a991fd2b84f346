#!/usr/bin/env python3
# raw.py PORT [WAIT]: sends stdin as is to 127.0.0.1:PORT, prints every byte
# received until the server closes (or WAIT seconds of silence, default 3).
# For requests curl refuses to send: smuggling attempts, bare LF, folding.
import socket, sys
port = int(sys.argv[1])
wait = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
data = sys.stdin.buffer.read()
s = socket.create_connection(("127.0.0.1", port), 5)
s.sendall(data)
s.settimeout(wait)
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except (socket.timeout, ConnectionResetError):
    pass
sys.stdout.buffer.write(out)
