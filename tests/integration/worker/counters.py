#!/usr/bin/env python3
# counters.py PID LOG KEY...: asks the worker PID for its status (SIGUSR1,
# printed to LOG) and prints "KEY VALUE" for each KEY from that answer.
import os, signal, sys, time
pid, log, keys = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
def dumps():
    return ("\n" + open(log).read()).split("\npid ")
before = len(dumps())
os.kill(pid, signal.SIGUSR1)
for _ in range(100):
    time.sleep(0.1)
    d = dumps()
    if len(d) > before and "\nbuffer-size " in d[-1]:
        break
last = {}
for line in d[-1].splitlines():
    k, _, v = line.partition(" ")
    last[k] = v
for k in keys:
    print(k, last.get(k, "missing"))
