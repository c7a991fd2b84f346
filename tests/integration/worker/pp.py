#!/usr/bin/env python3
# pp.py serve PORT: an echo backend: reads to end of file, writes it back.
# pp.py send PORT HEX TEXT [WAIT]: sends the bytes HEX then TEXT (escapes
#   \r \n \xHH; empty
#   strings allowed), shuts its write side unless WAIT is given (then
#   waits that long), prints what came back as Python bytes text, then
#   "port=" and its own local port. "closed" when nothing came back.
import socket, sys

if sys.argv[1] == "serve":
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(sys.argv[2])))
    ls.listen(16)
    while True:
        s, _ = ls.accept()
        s.settimeout(30)
        data = b""
        try:
            while len(data) < 1 << 20:
                b = s.recv(65536)
                if not b:
                    break
                data += b
            s.sendall(data)
        except OSError:
            pass
        s.close()

port = int(sys.argv[2])
# TEXT takes \r, \n and \xHH escapes.
data = bytes.fromhex(sys.argv[3]) + sys.argv[4].encode().decode("unicode_escape").encode("latin1")
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(data)
if len(sys.argv) > 5:
    s.settimeout(float(sys.argv[5]))
else:
    s.shutdown(socket.SHUT_WR)
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except OSError:
    pass
print(repr(out) if out else "closed")
print("port=%d" % s.getsockname()[1])
