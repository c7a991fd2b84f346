#!/usr/bin/env python3
# slowread.py: an HTTP/1.1 backend on 127.0.0.1:0 (its port on the first
# line of stdout) that reads a request body slowly, in pieces of 7000
# bytes (less than a buffer) with pauses between them, so what
# sends it the body has it taken a part of a buffer at a time; then
# answers the body's length and sha256.
import hashlib
import socket
import threading
import time


def serve(c):
    with c:
        data = b""
        while b"\r\n\r\n" not in data:
            got = c.recv(4096)
            if not got:
                return
            data += got
        head, body = data.split(b"\r\n\r\n", 1)
        n = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v)
        h = hashlib.sha256(body)
        left = n - len(body)
        while left > 0:
            got = c.recv(min(7000, left))
            if not got:
                return
            h.update(got)
            left -= len(got)
            time.sleep(0.001)
        text = ("%d %s\n" % (n, h.hexdigest())).encode()
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                  % len(text) + text)


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
