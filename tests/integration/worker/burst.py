#!/usr/bin/env python3
# burst.py PORT N PATH: N requests for PATH at once, each on its own
# connection; prints "STATUS SECONDS RETRY-AFTER" per request, in the
# order they finish ("-" for a missing Retry-After, "000" for a failure).
import http.client, sys, threading, time

port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
start = threading.Barrier(n)

def one():
    start.wait()
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        line = "%d %.2f %s" % (r.status, time.monotonic() - t0,
                               r.getheader("Retry-After", "-"))
        c.close()
    except Exception:
        line = "000 %.2f -" % (time.monotonic() - t0)
    with lock:
        print(line, flush=True)

ts = [threading.Thread(target=one) for _ in range(n)]
for t in ts:
    t.start()
for t in ts:
    t.join()
