#!/usr/bin/env python3
# hello.py PORT NAME MODE: a TLS client through a tcp listener, standard
# library only. NAME is the server name to send ("-": none). MODE:
#   split      the ClientHello in 40-byte pieces, 20 ms apart, then the
#              handshake; prints the backend's certificate name, CN=...
#   truncated  half the ClientHello, then the end of file
#   oversized  a record announcing a ClientHello of 64 KiB, then 2 KiB of it
#   whole      the ClientHello at once, as split otherwise
# Prints "CN=name", or "closed" when the proxy closed the connection.
import re, socket, ssl, sys, time

port, name, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=15)

def closed_after(data, shut):
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    print("closed")
    sys.exit(0)

if mode == "oversized":
    # TLS 1.0 record of 2^14 bytes holding a ClientHello that says 64 KiB.
    hs = b"\x01\x01\x00\x00" + b"\x03\x03" + b"\x00" * 2044
    closed_after(b"\x16\x03\x01\x40\x00" + hs, False)

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, out, server_hostname=None if name == "-" else name)
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = out.read()
if mode == "truncated":
    closed_after(hello[: len(hello) // 2], True)
if mode == "split":
    for i in range(0, len(hello), 40):
        s.sendall(hello[i:i + 40])
        time.sleep(0.02)
else:
    s.sendall(hello)
while True:
    try:
        obj.do_handshake()
        break
    except ssl.SSLWantReadError:
        pending = out.read()
        if pending:
            s.sendall(pending)
        try:
            b = s.recv(65536)
        except OSError:
            b = b""
        if not b:
            print("closed")
            sys.exit(0)
        inc.write(b)
pending = out.read()
if pending:
    s.sendall(pending)
der = obj.getpeercert(True)
# The test's certificates carry their name in the CN as plain ASCII.
m = re.search(rb"([a-z0-9-]+\.test)", der)
print("CN=" + (m.group(1).decode() if m else "?"))
