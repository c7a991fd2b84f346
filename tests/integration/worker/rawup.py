#!/usr/bin/env python3
# rawup.py PORT MODE: an upgrade by hand through the proxy at
# 127.0.0.1:PORT to switch.py (Host sw.test), for the upgrades that are not
# WebSocket. Prints what it saw, one check per line:
#   echo   bytes sent with the request, past its head, come back first,
#          then a second write; a half-close comes back as end of file
#   body   a request body goes to the backend before the switch
#   idle   sends nothing after the switch; prints when the proxy closed
#   hold   sends a byte every 0.2 s after the switch (prints "up" once
#          switched); prints when the proxy closed
import socket, sys, time

port, mode = int(sys.argv[1]), sys.argv[2]
UP = b"GET /up HTTP/1.1\r\nHost: sw.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n"


def read_until(s, want, have=b""):
    while want not in have:
        got = s.recv(65536)
        if not got:
            break
        have += got
    return have


s = socket.create_connection(("127.0.0.1", port), 10)
s.settimeout(30)
if mode == "body":
    s.sendall(UP + b"Content-Length: 5\r\n\r\nabcdexyz")
else:
    s.sendall(UP + b"\r\n" + (b"early" if mode == "echo" else b""))
got = read_until(s, b"\r\n\r\n")
head, _, rest = got.partition(b"\r\n\r\n")
print("status", head.split(b"\r\n")[0].decode())
start = time.time()
if mode == "echo":
    print("early", read_until(s, b"early", rest).decode())
    s.sendall(b"later")
    print("later", read_until(s, b"later").decode())
    s.shutdown(socket.SHUT_WR)
    print("eof", "ok" if s.recv(1) == b"" else "bad")
elif mode == "body":
    print("after", read_until(s, b"xyz", rest).decode().replace("\n", " ").strip())
elif mode in ("idle", "hold"):
    print("up", flush=True)
    s.settimeout(0.2)
    while time.time() - start < 120:
        try:
            if mode == "hold":
                s.sendall(b".")
            if s.recv(65536) == b"":
                break
        except socket.timeout:
            continue
        except OSError:
            break
    print("closed after %.1f" % (time.time() - start))
