#!/usr/bin/env python3
# switch.py: a backend that answers every request with a 101, asked for or
# not, then echoes the bytes of the new protocol until the client's end of
# file, then closes. For the upgrades of websocket.t that are not
# WebSocket: a request body (Content-Length) is read whole before the 101
# and reported after it as "body <bytes>\n". Listens on a free 127.0.0.1
# port, printed on the first line; exits after 300 s whatever happens.
import socket, sys, threading


def serve(c):
    try:
        buf = b""
        while b"\r\n\r\n" not in buf:
            got = c.recv(65536)
            if not got:
                return
            buf += got
        head, buf = buf.split(b"\r\n\r\n", 1)
        clen = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                clen = int(v.strip())
        while len(buf) < clen:
            got = c.recv(65536)
            if not got:
                return
            buf += got
        body, buf = buf[:clen], buf[clen:]
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n"
                  b"Connection: Upgrade\r\n\r\n")
        if clen:
            c.sendall(b"body " + body + b"\n")
        while True:
            if buf:
                c.sendall(buf)
            buf = c.recv(65536)
            if not buf:
                break
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        c.close()


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
s.settimeout(300)
try:
    while True:
        c, _ = s.accept()
        c.settimeout(60)
        threading.Thread(target=serve, args=(c,), daemon=True).start()
except OSError:
    pass
