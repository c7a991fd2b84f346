#!/usr/bin/env python3
# bodyclient.py PORT HOW ARGS...: a client for the body and timeout tests.
#   upload TOTAL FRAMING [SIZES [RATE [PATH]]]
#       POSTs TOTAL bytes of seeded pseudo-random data to PATH (/hash) and
#       prints "ok" when the backend's sha256 and length match, else what
#       came back. FRAMING: "length" (Content-Length) or "chunked"; SIZES
#       for chunked: "random:SEED" (chunk sizes from a seeded generator,
#       1 byte to 1 MiB) or a comma-separated list used in turn. RATE:
#       bytes per second, 0 for as fast as the proxy takes them.
#   stall SENT TOTAL  sends a head announcing TOTAL body bytes, SENT of
#       them, then nothing; prints the answer's status line ("none" when
#       the connection just closed) and the seconds it took
#   noread PATH HOLD  sends GET PATH, reads nothing for HOLD seconds, then
#       prints "held"
#   get PATH  sends GET PATH (the last request), reads up to the close and
#       prints the status line, the body bytes, whether the body ended with
#       a final chunk, and the seconds it took
import hashlib, random, socket, sys, time

port, how = int(sys.argv[1]), sys.argv[2]
args = sys.argv[3:]


def connect(rcvbuf=0):
    s = socket.socket()
    if rcvbuf:	# set before the handshake, so the window stays small
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(120)
    s.connect(("127.0.0.1", port))
    return s


def answer(s):
    got = b""
    while True:
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not b:
            break
        got += b
    return got


def sizes(spec):
    if spec.startswith("random:"):
        rng = random.Random(int(spec[7:]))
        ranges = [(1, 20), (20, 5000), (5000, 70000), (70000, 1 << 20)]
        weights = [2, 3, 4, 1]
        while True:
            lo, hi = rng.choices(ranges, weights)[0]
            yield rng.randint(lo, hi)
    cycle = [int(x) for x in spec.split(",")]
    while True:
        yield from cycle


def upload(total, framing, spec="random:1", rate=0, path="/hash"):
    total, rate = int(total), float(rate)
    data = random.Random(total).randbytes
    h = hashlib.sha256()
    s = connect()
    head = "POST %s HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n" % path
    head += ("Transfer-Encoding: chunked\r\n" if framing == "chunked"
             else "Content-Length: %d\r\n" % total)
    out = bytearray((head + "\r\n").encode())
    left, t0, sent = total, time.monotonic(), 0
    piece = sizes(spec)
    try:
        while left:
            n = min(left, next(piece)) if framing == "chunked" else min(left, 1 << 20)
            if rate:
                n = min(n, max(1, int(rate / 10)))
            d = data(n)
            h.update(d)
            out += b"%x\r\n%s\r\n" % (n, d) if framing == "chunked" else d
            left -= n
            sent += n
            if len(out) >= 1 << 18 or rate or not left:
                s.sendall(out)
                out = bytearray()
            if rate:
                ahead = sent / rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
        if framing == "chunked":
            s.sendall(bytes(out) + b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError) as e:
        print("send failed after %d bytes: %s" % (sent, e))
    got = answer(s)
    want = b"len %d sha256 %s\n" % (total, h.hexdigest().encode())
    if got.startswith(b"HTTP/1.1 200") and got.endswith(b"\r\n\r\n" + want):
        print("ok")
    else:
        print("got %r after %.1fs, want %r" % (got[:200], time.monotonic() - t0, want))


def stall(sent, total):
    s = connect()
    s.sendall(b"POST /hash HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
              % (int(total), b"s" * int(sent)))
    t0 = time.monotonic()
    got = answer(s)
    line = got.split(b"\r\n")[0].decode() if got else "none"
    print("%s %.1f" % (line, time.monotonic() - t0))


def noread(path, hold):
    s = connect(4096)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: app.test\r\n\r\n" % path.encode())
    time.sleep(float(hold))
    print("held")


def get(path):
    s = connect()
    s.sendall(b"GET %s HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n"
              % path.encode())
    t0 = time.monotonic()
    got = answer(s)
    head, _, body = got.partition(b"\r\n\r\n")
    line = head.split(b"\r\n")[0].decode() if got else "none"
    print("%s|body %d|final-chunk %s|%.1f" % (line, len(body),
          "yes" if body.endswith(b"\r\n0\r\n\r\n") else "no", time.monotonic() - t0))


{"get": get, "upload": upload, "stall": stall, "noread": noread}[how](*args)
