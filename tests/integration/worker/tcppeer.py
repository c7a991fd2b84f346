#!/usr/bin/env python3
# tcppeer.py: both ends of a tcp tunnel test, standard library only.
#   serve PORT MODE [OUT]: a backend on 127.0.0.1:PORT, one connection at a
#     time, for the life of the test. MODE:
#     reply:  reads to end of file, then writes "SHA COUNT\n" and BYTES
#             (the client's end of file first, its answer after it);
#             a connection that sent nothing gets nothing
#     first:  writes BYTES (env TCPPEER_BYTES) and shuts its write side,
#             then reads to end of file and appends "SHA COUNT" to OUT
#             (its end of file first, the client's bytes after it)
#     reset:  reads a line, answers "bye\n", then resets the connection
#   probe PORT TEXT SECONDS: sends TEXT, reads until the connection ends;
#     prints "eof N" or "reset N" (N bytes read), or "open N" when it is
#     still open after SECONDS.
#   sha TAG BYTES: the digest of what a side sending BYTES with TAG sends.
#   client PORT ORDER BYTES: connects, prints what it saw as
#     "SENT-SHA RECEIVED-SHA RECEIVED-COUNT [REPLY]". ORDER is reply or
#     first, as the backend's MODE.
import hashlib, os, socket, struct, sys

CHUNK = 256 * 1024

def source(n, seed):
    # Distinct chunks, so that a lost, repeated or reordered chunk shows.
    h = hashlib.sha256()
    i = 0
    while n > 0:
        k = min(n, CHUNK)
        block = hashlib.sha256(b"%s %d" % (seed, i)).digest() * (k // 32 + 1)
        block = block[:k]
        h.update(block)
        yield block, h
        n -= k
        i += 1

def send(s, n, seed):
    h = hashlib.sha256()
    for block, h in source(n, seed):
        s.sendall(block)
    return h.hexdigest()

def drain(s):
    h = hashlib.sha256()
    n = 0
    while True:
        b = s.recv(CHUNK)
        if not b:
            return h, n
        h.update(b)
        n += len(b)

def serve(port, mode, out):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    while True:
        s, _ = ls.accept()
        s.settimeout(60)
        try:
            if mode == "reply":
                h, n = drain(s)
                if not n:	# a probe whether the port is open
                    s.close()
                    continue
                s.sendall(b"%s %d\n" % (h.hexdigest().encode(), n))
                send(s, int(os.environ["TCPPEER_BYTES"]), b"reply")
                s.shutdown(socket.SHUT_WR)
                drain(s)
            elif mode == "first":
                send(s, int(os.environ["TCPPEER_BYTES"]), b"first")
                s.shutdown(socket.SHUT_WR)
                h, n = drain(s)
                with open(out, "a") as f:
                    f.write("%s %d\n" % (h.hexdigest(), n))
            elif mode == "reset":
                s.recv(100)
                s.sendall(b"bye\n")
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError as e:
            sys.stderr.write("tcppeer: %s\n" % e)
        s.close()

def client(port, order, nbytes):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    if order == "reply":
        sent = send(s, nbytes, b"client")
        s.shutdown(socket.SHUT_WR)
        h, n = drain_reply(s)
    else:
        h, n = drain(s)
        sent = send(s, nbytes, b"client")
        s.shutdown(socket.SHUT_WR)
        drain(s)
    print(sent, h.hexdigest(), n)

def drain_reply(s):
    # The backend's "SHA COUNT" line, then its bytes.
    f = s.makefile("rb")
    line = f.readline().decode().strip()
    h = hashlib.sha256()
    n = 0
    while True:
        b = f.read(CHUNK)
        if not b:
            break
        h.update(b)
        n += len(b)
    print(line)
    return h, n

if sys.argv[1] == "serve":
    serve(int(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
elif sys.argv[1] == "probe":
    s = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10)
    s.settimeout(float(sys.argv[4]))
    if sys.argv[3]:
        s.sendall(sys.argv[3].encode())
    n = 0
    try:
        while True:
            b = s.recv(CHUNK)
            if not b:
                print("eof", n)
                break
            n += len(b)
    except socket.timeout:
        print("open", n)
    except ConnectionResetError:
        print("reset", n)
elif sys.argv[1] == "sha":
    h = None
    for _, h in source(int(sys.argv[3]), sys.argv[2].encode()):
        pass
    print(h.hexdigest())
else:
    client(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
