#!/usr/bin/env python3
# record.py FILE [SECONDS]: the backend of the smuggling tests. Listens on a
# free 127.0.0.1 port (printed on the first line of stdout), appends every
# byte it receives to FILE before it answers, so a test can compare what
# reached the backend byte for byte, and answers each request 200 with the
# body "ok". It frames requests the way the proxy sends them (Content-Length
# or chunked) and exits after SECONDS (default 300) whatever happens.
# With "trailers" (record.py FILE SECONDS trailers, for trailers.t) it answers
# by path: /sum a chunked body whose trailer section carries X-Sum, announced
# by a Trailer field; /framing the same with framing and routing fields among
# the trailers too; /quiet trailers nobody announced; anything else 200 "ok".
import os, socket, sys, threading

path = sys.argv[1]
life = float(sys.argv[2]) if len(sys.argv) > 2 else 300.0
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
CHUNKS = b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
ANSWERS = {
    b"/sum": b"HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\n" + CHUNKS + b"X-Sum: 42\r\n\r\n",
    b"/framing": b"HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\n" + CHUNKS +
        b"Content-Length: 9\r\nX-Sum: 42\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"/quiet": b"HTTP/1.1 200 OK\r\n" + CHUNKS + b"X-Sum: 42\r\n\r\n",
} if len(sys.argv) > 3 and sys.argv[3] == "trailers" else {}


def request_end(buf):
    """Length of the first complete request in buf, or 0."""
    h = buf.find(b"\r\n\r\n")
    if h < 0:
        return 0
    pos = h + 4
    clen, chunked = 0, False
    for line in buf[:h].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            clen = int(value.strip())
        elif name == b"transfer-encoding":
            chunked = value.strip().lower() == b"chunked"
    if not chunked:
        return pos + clen if len(buf) >= pos + clen else 0
    while True:
        e = buf.find(b"\r\n", pos)
        if e < 0:
            return 0
        size = int(buf[pos:e].split(b";")[0], 16)
        pos = e + 2
        if size == 0:
            break
        pos += size + 2
        if len(buf) < pos:
            return 0
    while True:	# trailers, then the empty line
        e = buf.find(b"\r\n", pos)
        if e < 0:
            return 0
        if e == pos:
            return e + 2
        pos = e + 2


def serve(c):
    buf = b""
    with c:
        while True:
            try:
                b = c.recv(65536)
            except OSError:
                return
            if not b:
                return
            with open(path, "ab") as f:
                f.write(b)
            buf += b
            while True:
                n = request_end(buf)
                if not n:
                    break
                target = buf.split(b" ", 2)[1]
                buf = buf[n:]
                c.sendall(ANSWERS.get(target, OK))


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
threading.Timer(life, lambda: os._exit(0)).start()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
