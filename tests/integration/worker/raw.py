#!/usr/bin/env python3
# raw.py PORT [WAIT]: sends stdin as is to 127.0.0.1:PORT, prints every byte
# received until the server closes (or WAIT seconds of silence, default 3).
# For requests curl refuses to send: smuggling attempts, bare LF, folding.
# A test's own python imports read_all from here.
import socket, sys

def read_all(s, wait=3.0):
    """Every byte from s until the peer closes, or wait seconds of silence;
    closes s."""
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
    s.close()
    return out

if __name__ == "__main__":
    port = int(sys.argv[1])
    wait = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    data = sys.stdin.buffer.read()
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(data)
    sys.stdout.buffer.write(read_all(s, wait))
