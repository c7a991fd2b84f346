#!/usr/bin/env python3
# h2raw.py PORT SCENARIO: an HTTP/2 client written frame by frame, for what
# real clients never send. Connects to 127.0.0.1:PORT with prior knowledge,
# plays SCENARIO and prints what came back, one word a line:
#   flood KIND    frames of one kind past any budget (reset, provoked-reset,
#                 continuation, settings, ping, priority, window-update,
#                 empty-data, hpack):
#                 "goaway CODE" for the GOAWAY received, then "closed" or "open";
#                 flood KIND COUNT sends COUNT frames (reset, provoked-reset:
#                 streams) instead of the kind's default, past the default
#                 budget
#   trailers PATH a POST to PATH with body "abc" and trailer x-sum: 42, no
#                 content-length: "status-end" once the response ended
#   reset PATH    opens a stream to PATH, resets it, then GETs / on another:
#                 "second-end" when that one is answered
#   stall PATH    GETs PATH and never reads it (no WINDOW_UPDATE for its
#                 stream, the connection's window wide open), then GETs /:
#                 "second-end" when that one is answered, then the bytes of
#                 the first received ("first N"); with SECONDS, the
#                 connection is held that long, printing "reset 1 CODE" if
#                 the server resets the stalled stream meanwhile
#   get-hex HEX   GETs the path whose bytes HEX spells (any byte, even those
#                 no client sends): "end" once it is answered
#   last-id PATH  GETs PATH on stream 2^31-1, the last id a client may
#                 open: "end" once it is answered, "goaway CODE LAST" for a
#                 GOAWAY (its error code and last stream id), then
#                 "closed" or "open"
# Header blocks use literal fields without Huffman coding, so no HPACK
# encoder is needed; answers are read as frames, never decoded.
import socket, struct, sys, time

port, scenario = int(sys.argv[1]), sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else "/"
DATA, HEADERS, PRIORITY, RST, SETTINGS, PING, GOAWAY, WINDOW, CONT = 0, 1, 2, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS = 1, 4


def frame(t, flags, sid, payload=b""):
    return (struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) +
            payload)


def hint(v, bits, flags=0):
    top = (1 << bits) - 1
    if v < top:
        return bytes([flags | v])
    out, v = [flags | top], v - top
    while v >= 128:
        out.append(v % 128 + 128)
        v //= 128
    return bytes(out + [v])


def lit(name, value, indexing=False):
    """A literal field with a new name (RFC 7541 §6.2)."""
    n, v = name.encode(), value if isinstance(value, bytes) else value.encode()
    first = b"\x40" if indexing else b"\x00"
    return first + hint(len(n), 7) + n + hint(len(v), 7) + v


def head(method, path):
    return (lit(":method", method) + lit(":scheme", "http") + lit(":path", path) +
            lit(":authority", "a.test"))


s = socket.create_connection(("127.0.0.1", port), 5)
s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(SETTINGS, 0, 0))


def frames(limit=5.0):
    """Frames received until the close or limit seconds: (type, flags, sid, payload),
    None at the close, False each half second nothing came."""
    buf, end = b"", time.time() + limit
    s.settimeout(0.5)
    while time.time() < end:
        while len(buf) >= 9:
            n = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + n:
                break
            t, fl, sid = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7fffffff
            yield t, fl, sid, buf[9:9 + n]
            buf = buf[9 + n:]
        try:
            b = s.recv(65536)
        except socket.timeout:
            yield False
            continue
        except (ConnectionResetError, BrokenPipeError):
            b = b""
        if not b:
            yield None
            return
        buf += b


def send(b):
    try:
        s.sendall(b)
    except (ConnectionResetError, BrokenPipeError):
        pass


if scenario == "flood":
    out = []
    # How many frames of the kind: each kind's own default, or argv[4].
    given = int(sys.argv[4]) if len(sys.argv) > 4 else None
    count = given or 1000
    if arg == "reset":
        for i in range(1, 2 * count + 1, 2):
            out.append(frame(HEADERS, END_STREAM | END_HEADERS, i, head("GET", "/")))
            out.append(frame(RST, 0, i, struct.pack(">I", 8)))
    elif arg == "provoked-reset":
        # Requests without :path, each reset by the server (MadeYouReset).
        out = [frame(HEADERS, END_STREAM | END_HEADERS, i,
                     lit(":method", "GET") + lit(":scheme", "http"))
               for i in range(1, 2 * count + 1, 2)]
    elif arg == "continuation":
        out.append(frame(HEADERS, END_STREAM, 1, head("GET", "/")))
        out += [frame(CONT, 0, 1, lit("x-a", "b")) for _ in range(given or 200)]
    elif arg == "settings":
        out = [frame(SETTINGS, 0, 0) for _ in range(count)]
    elif arg == "ping":
        out = [frame(PING, 0, 0, b"12345678") for _ in range(count)]
    elif arg == "priority":
        out = [frame(PRIORITY, 0, 3 + 2 * (i % 100), struct.pack(">IB", 0, 16))
               for i in range(given or 2000)]
    elif arg == "window-update":
        out = [frame(WINDOW, 0, 0, struct.pack(">I", 1)) for _ in range(given or 3000)]
    elif arg == "empty-data":
        out.append(frame(HEADERS, END_HEADERS, 1, head("POST", "/")))
        out += [frame(DATA, 0, 1) for _ in range(count)]
    elif arg == "hpack":
        # One 4000-byte entry in the dynamic table, then blocks that name it
        # a hundred times each: 400 kB decoded from a few hundred bytes.
        first = head("GET", "/") + lit("x-big", "a" * 4000, indexing=True)
        out.append(frame(HEADERS, END_STREAM | END_HEADERS, 1, first))
        out.append(frame(HEADERS, END_STREAM | END_HEADERS, 3,
                         head("GET", "/") + b"\xbe" * 100))
    send(b"".join(out))
    for f in frames():
        if f is None:
            print("closed")
            break
        if f and f[0] == GOAWAY:
            print("goaway %d" % int.from_bytes(f[3][4:8], "big"))
    else:
        print("open")
elif scenario == "trailers":
    send(frame(HEADERS, END_HEADERS, 1, head("POST", arg)) + frame(DATA, 0, 1, b"abc") +
         frame(HEADERS, END_STREAM | END_HEADERS, 1, lit("x-sum", "42")))
    for f in frames():
        if f is None:
            break
        if f and f[2] == 1 and f[1] & END_STREAM and f[0] in (DATA, HEADERS):
            print("status-end")
            break
elif scenario == "reset":
    send(frame(HEADERS, END_STREAM | END_HEADERS, 1, head("GET", arg)))
    time.sleep(0.3)
    send(frame(RST, 0, 1, struct.pack(">I", 8)) +
         frame(HEADERS, END_STREAM | END_HEADERS, 3, head("GET", "/")))
    for f in frames():
        if f is None:
            break
        if f and f[2] == 3 and f[1] & END_STREAM and f[0] in (DATA, HEADERS):
            print("second-end")
            break
elif scenario == "get-hex":
    send(frame(HEADERS, END_STREAM | END_HEADERS, 1, head("GET", bytes.fromhex(arg))))
    for f in frames():
        if f is None:
            break
        if f and f[2] == 1 and f[1] & END_STREAM and f[0] in (DATA, HEADERS):
            print("end")
            break
elif scenario == "last-id":
    top = 0x7fffffff
    send(frame(HEADERS, END_STREAM | END_HEADERS, top, head("GET", arg)))
    for f in frames():
        if f is None:
            print("closed")
            break
        if f and f[2] == top and f[1] & END_STREAM and f[0] in (DATA, HEADERS):
            print("end")
        if f and f[0] == GOAWAY:
            print("goaway %d %d" % (int.from_bytes(f[3][4:8], "big"),
                                    int.from_bytes(f[3][0:4], "big") & 0x7fffffff))
    else:
        print("open")
elif scenario == "stall":
    send(frame(WINDOW, 0, 0, struct.pack(">I", 1 << 30)) +
         frame(HEADERS, END_STREAM | END_HEADERS, 1, head("GET", arg)))
    time.sleep(0.5)
    send(frame(HEADERS, END_STREAM | END_HEADERS, 3, head("GET", "/")))
    got, reset = 0, None
    frs = frames(3.0 + (float(sys.argv[4]) if len(sys.argv) > 4 else 0))
    start = time.time()
    for f in frs:
        if f is None:
            break
        if time.time() - start > 3.0:
            break
        if not f:
            continue
        if f[0] == DATA and f[2] == 1:
            got += len(f[3])
        if f[0] == RST and f[2] == 1:
            reset = int.from_bytes(f[3][:4], "big")
        if f[2] == 3 and f[1] & END_STREAM and f[0] in (DATA, HEADERS):
            print("second-end")
    print("first %d" % got, flush=True)
    if len(sys.argv) > 4:	# hold the connection while the test looks
        for f in frs:
            if f is None:
                break
            if f and f[0] == RST and f[2] == 1:
                reset = int.from_bytes(f[3][:4], "big")
        if reset is not None:
            print("reset 1 %d" % reset, flush=True)
s.close()
