#!/usr/bin/env python3
# leave.py PORT PREFIX: a client that goes away while its request waits.
# A asks PREFIX/wait/2000 (it holds the backend's one slot); B sends
# PREFIX/wait/0 and closes before A is answered; then C asks PREFIX/wait/0.
# Prints "A STATUS" and "C STATUS SECONDS".
import os, socket, sys, threading, time
sys.dont_write_bytecode = True	# no __pycache__ left in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from burst import timed_get

port, prefix = int(sys.argv[1]), sys.argv[2]
out = {}

def get(name, path):
    out[name] = timed_get(port, path)

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
print("A %03d" % out["A"][0])
print("C %03d %.2f" % out["C"][:2])
