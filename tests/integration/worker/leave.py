#!/usr/bin/env python3
# leave.py PORT PREFIX: a client that goes away while its request waits.
# A asks PREFIX/wait/2000 (it holds the backend's one slot); B sends
# PREFIX/wait/0 and closes before A is answered; then C asks PREFIX/wait/0.
# Prints "A STATUS" and "C STATUS SECONDS".
import http.client, socket, sys, threading, time

port, prefix = int(sys.argv[1]), sys.argv[2]
out = {}

def get(name, path):
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        out[name] = "%d %.2f" % (r.status, time.monotonic() - t0)
    except Exception:
        out[name] = "000 %.2f" % (time.monotonic() - t0)

a = threading.Thread(target=get, args=("A", prefix + "/wait/2000"))
a.start()
time.sleep(0.5)
b = socket.create_connection(("127.0.0.1", port))
b.sendall(("GET %s/wait/0 HTTP/1.1\r\nHost: q.test\r\n\r\n" % prefix).encode())
time.sleep(0.3)
b.close()
time.sleep(0.2)
get("C", prefix + "/wait/0")
a.join()
print("A", out["A"].split()[0])
print("C", out["C"])
