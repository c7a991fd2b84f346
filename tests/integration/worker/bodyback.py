#!/usr/bin/env python3
# bodyback.py: a backend for the body and timeout tests, one thread per
# connection, one request per connection (it answers with Connection:
# close). Prints its port on the first line. By path:
#   /hash[?pause=MS]  reads the body as it comes (Content-Length or
#                     chunked, decoded here), answers "len N sha256 HEX";
#                     pause: sleeps MS after each read of at most 64 KiB
#                     (a backend that reads slowly but steadily)
#   /big/N            answers N bytes with Content-Length
#   /cut-head         sends part of a response head, then closes
#   /bad-chunk        a chunked response whose first size line is not hex
#   /bad-chunk-late/N the same after a good chunk of N bytes
# The bad-chunk answers keep the connection open a while, so only the
# framing can end them, not an end of file.
import hashlib, socket, sys, threading, time


class Reader:
    def __init__(self, sock, pause):
        self.sock, self.buf, self.pause = sock, b"", pause

    def fill(self):
        got = self.sock.recv(65536)
        if not got:
            raise EOFError("end of file in the request")
        if self.pause:
            time.sleep(self.pause)
        self.buf += got

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        i = self.buf.index(b"\r\n")
        out, self.buf = self.buf[:i], self.buf[i + 2:]
        return out

    def take(self, n, sink):
        while n:
            if not self.buf:
                self.fill()
            piece = self.buf[:n]
            self.buf = self.buf[len(piece):]
            sink(piece)
            n -= len(piece)


def body(r, fields, sink):
    """Reads the request body into sink; returns its decoded length."""
    if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
        total = 0
        while True:
            size = r.line()
            n = int(size.split(b";")[0], 16)
            if not n:
                while r.line():	# trailers up to the empty line
                    pass
                return total
            r.take(n, sink)
            total += n
            if r.line() != b"":
                raise ValueError("no CRLF after chunk data")
    n = int(fields.get(b"content-length", b"0"))
    r.take(n, sink)
    return n


def answer(c, status, text):
    c.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
              % (status, len(text), text))


def serve(c):
    try:
        path, r, fields = b"", None, {}
        pause = 0.0
        r = Reader(c, 0)
        head = r.line()
        path = head.split(b" ")[1]
        if b"?pause=" in path:
            path, ms = path.split(b"?pause=")
            pause = int(ms) / 1000.0
        while True:
            ln = r.line()
            if not ln:
                break
            k, v = ln.split(b":", 1)
            fields[k.strip().lower()] = v.strip()
        if path == b"/hash":
            r.pause = pause
            h = hashlib.sha256()
            n = body(r, fields, h.update)
            answer(c, 200, b"len %d sha256 %s\n" % (n, h.hexdigest().encode()))
        elif path.startswith(b"/big/"):
            body(r, fields, lambda p: None)
            n = int(path[5:])
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % n)
            block = b"x" * 65536
            while n:
                k = min(n, len(block))
                c.sendall(block[:k])
                n -= k
        elif path == b"/cut-head":
            body(r, fields, lambda p: None)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: te")
        elif path.startswith(b"/bad-chunk"):
            body(r, fields, lambda p: None)
            good = b""
            if path.startswith(b"/bad-chunk-late/"):
                n = int(path[16:])
                good = b"%x\r\n%s\r\n" % (n, b"y" * n)
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + good +
                      b"zz\r\n")
            time.sleep(8)
        else:
            answer(c, 404, b"no such path\n")
    except (OSError, EOFError, ValueError):
        pass
    finally:
        c.close()


def main():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    print(ls.getsockname()[1], flush=True)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
