#!/usr/bin/env python3
# ka.py PORT STEP...: clients of 127.0.0.1:PORT, each on one keep-alive
# connection, running the steps in order:
#   NAME@SRC[:HEX[:TEXT]]  opens client NAME from the address SRC (any of
#       127.0.0.0/8), and sends the bytes HEX then TEXT first (a PROXY
#       header; TEXT takes \r, \n and \xHH escapes)
#   NAME  one GET on NAME's connection; prints "NAME SRC:PORT X-SRC X-DST":
#       its own address and port, then the X-Src and X-Dst headers the
#       echo backend saw ("none" when absent, "closed" when no answer)
#   -NAME  closes NAME's connection
#   ~SECONDS  waits
import socket, sys, time

port = int(sys.argv[1])
conns = {}


def response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        b = s.recv(65536)
        if not b:
            return None
        data += b
    head, _, body = data.partition(b"\r\n\r\n")
    clen = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            clen = int(v)
    while len(body) < clen:
        b = s.recv(65536)
        if not b:
            return None
        body += b
    return body


def header(body, name):
    for line in body.split(b"\n"):
        k, _, v = line.partition(b":")
        if k.strip().lower() == name:
            return v.strip().decode()
    return "none"


for step in sys.argv[2:]:
    if "@" in step:
        name, _, rest = step.partition("@")
        src, _, rest = rest.partition(":")
        hexpart, _, text = rest.partition(":")
        s = socket.socket()
        s.settimeout(20)
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        first = bytes.fromhex(hexpart) + \
            text.encode().decode("unicode_escape").encode("latin1")
        if first:
            s.sendall(first)
        conns[name] = s
    elif step.startswith("~"):
        time.sleep(float(step[1:]))
    elif step.startswith("-"):
        conns.pop(step[1:]).close()
    else:
        s = conns[step]
        me = "%s:%d" % s.getsockname()
        try:
            s.sendall(b"GET /ka HTTP/1.1\r\nHost: ka.test\r\n\r\n")
            body = response(s)
        except OSError:
            body = None
        if body is None:
            print(step, me, "closed", "closed")
        else:
            print(step, me, header(body, b"x-src"), header(body, b"x-dst"))
        sys.stdout.flush()
for s in conns.values():
    s.close()
