#!/usr/bin/env python3
# closeheld.py PORT WORKER-PID LOG: sends stdin to 127.0.0.1:PORT, reads
# until the proxy's end of file, then, with its own side still open, asks
# the worker for its status (SIGUSR1, printed to LOG) and prints the
# status line "connections-active N" that follows, after the response.
# Tells a connection the proxy closed outright from one it keeps open
# waiting for the client's end of file (a lingering close).
import os, signal, socket, sys, time
port, pid, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), 5)
s.sendall(sys.stdin.buffer.read())
s.settimeout(10)
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
time.sleep(0.2)	# the proxy acts on what the end of file left to do
def status_lines():
    try:
        with open(log, "rb") as f:
            return [l for l in f.read().split(b"\n") if l.startswith(b"connections-active ")]
    except OSError:
        return []
before = len(status_lines())
os.kill(pid, signal.SIGUSR1)
deadline = time.monotonic() + 10
active = b"none"
while time.monotonic() < deadline:
    lines = status_lines()
    if len(lines) > before:
        active = lines[before].split()[1]
        break
    time.sleep(0.05)
s.close()
sys.stdout.buffer.write(out)
sys.stdout.buffer.write(b"\nactive " + active + b"\n")
