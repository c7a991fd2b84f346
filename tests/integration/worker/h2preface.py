#!/usr/bin/env python3
# h2preface.py PORT [SPLIT]: sends the HTTP/2 client preface and an empty
# SETTINGS frame to 127.0.0.1:PORT, the preface cut after SPLIT bytes with
# a pause between the pieces (0: whole), and prints the answer in hex, then
# "closed" when the server closed the connection within 5 s, else "open".
import socket, sys, time
port = int(sys.argv[1])
split = int(sys.argv[2]) if len(sys.argv) > 2 else 0
preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
s = socket.create_connection(("127.0.0.1", port), 5)
if split:
    s.sendall(preface[:split])
    time.sleep(0.3)
    s.sendall(preface[split:] + settings)
else:
    s.sendall(preface + settings)
s.settimeout(5)
out, state = b"", "open"
try:
    while True:
        b = s.recv(65536)
        if not b:
            state = "closed"
            break
        out += b
except socket.timeout:
    pass
except ConnectionResetError:
    state = "closed"
print(out.hex())
print(state)
