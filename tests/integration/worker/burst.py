#!/usr/bin/env python3
# burst.py PORT N PATH: N requests for PATH at once, each on its own
# connection; prints "STATUS SECONDS RETRY-AFTER" per request, in the
# order they finish ("-" for a missing Retry-After, "000" for a failure).
# timed_get is leave.py's too.
import http.client, sys, threading, time

def timed_get(port, path):
    """One GET on a fresh connection: (status, seconds, Retry-After or "-")."""
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        c.close()
        return r.status, time.monotonic() - t0, r.getheader("Retry-After", "-")
    except Exception:
        return 0, time.monotonic() - t0, "-"

def main():
    port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    lock = threading.Lock()
    start = threading.Barrier(n)

    def one():
        start.wait()
        line = "%03d %.2f %s" % timed_get(port, path)
        with lock:
            print(line, flush=True)

    ts = [threading.Thread(target=one) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()

if __name__ == "__main__":
    main()
