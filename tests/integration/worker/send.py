#!/usr/bin/env python3
# send.py PORT [WAIT]: sends stdin as is to 127.0.0.1:PORT and prints every
# byte received. Exit 0 when the server closed the connection, 1 when it
# was still open after WAIT seconds of silence (default 5).
import socket, sys
port = int(sys.argv[1])
wait = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
data = sys.stdin.buffer.read()
s = socket.create_connection(("127.0.0.1", port), 5)
s.sendall(data)
s.settimeout(wait)
out, closed = b"", 0
try:
    while True:
        b = s.recv(65536)
        if not b:
            closed = 1
            break
        out += b
except ConnectionResetError:
    closed = 1
except socket.timeout:
    pass
sys.stdout.buffer.write(out)
sys.exit(0 if closed else 1)
