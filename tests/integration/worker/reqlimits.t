#!/bin/sh
# kakehi-worker standalone: a listener's request limits, for HTTP/1.1
# (exact bytes, raw) and HTTP/2 (curl, h2c with prior knowledge): just
# within each passes, just past it gets its status (--max-uri 414,
# --max-headers and --max-request-head 431, --max-body 413), and a
# chunked body that crosses --max-body gets 413 mid-body, the connection
# closed after, the backend given none of the excess. Expect:
# 100-continue is the backend's to answer, never the proxy's.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

# A backend that counts the body bytes it receives (Content-Length or
# chunked, decoded) and answers "got N"; one cut short logs "cut N".
cat > "$T/countback.py" <<'PY'
import socket, sys, threading
log = sys.argv[1]
def serve(c):
    buf = b""
    def more():
        nonlocal buf
        got = c.recv(65536)
        if not got:
            raise EOFError
        buf += got
    n = 0
    try:
        while b"\r\n\r\n" not in buf:
            more()
        head, buf = buf.split(b"\r\n\r\n", 1)
        h = head.lower()
        if b"\r\nexpect: 100-continue" in h:
            c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if b"transfer-encoding: chunked" in h:
            while True:
                while b"\r\n" not in buf:
                    more()
                line, buf = buf.split(b"\r\n", 1)
                size = int(line.split(b";")[0], 16)
                while len(buf) < size + 2:
                    n += len(buf)
                    size -= len(buf)
                    buf = b""
                    more()
                n += size
                buf = buf[size + 2:]
                if size == 0 and line.strip() == b"0":
                    break
        elif b"content-length:" in h:
            want = int(h.split(b"content-length:")[1].split(b"\r\n")[0])
            while len(buf) < want:
                more()
            n = want
        body = b"got %d" % n
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                  % (len(body), body))
    except (EOFError, OSError):
        n += len(buf)
        with open(log, "a") as f:
            f.write("cut %d\n" % n)
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
s.settimeout(60)
print(s.getsockname()[1], flush=True)
try:
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
except socket.timeout:
    pass
PY
kk_spawn countback python3 "$T/countback.py" "$T/cuts"
kk_wait_for 10 test -s "$T/countback.log" || { echo "Bail out! countback did not start" ; exit 1 ; }
pb=$(head -n 1 "$T/countback.log")
kw_start rl \
	'listener add http 127.0.0.1:@PORT --max-request-head 2048 --max-headers 10 --max-uri 200 --max-body 1000' \
	'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT' "backend add app b1 127.0.0.1:$pb"

lport=$kw_port
# And one without limits, for an upload that passes.
kw_start open \
	'listener add http 127.0.0.1:@PORT' 'cluster add app' \
	'frontend add app --listener 127.0.0.1:@PORT' "backend add app b1 127.0.0.1:$pb"

cat > "$T/limits.py" <<'PY'
import os, socket, subprocess, sys, time
sys.path.insert(0, os.environ["KW_DIR"])
from raw import read_all
port, cuts, oport = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
n = 0
def tap(cond, name, got=None):
    global n
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, name), flush=True)
    if not cond and got is not None:
        print("# got: %r" % (got,), flush=True)
def raw(data, parts=None):
    s = socket.create_connection(("127.0.0.1", port), 5)
    for p in (parts or [data]):
        try:
            s.sendall(p)
        except OSError:
            break
        if parts:
            time.sleep(0.1)
    return read_all(s, 5)
def status(got):
    return got[9:12].decode() if got.startswith(b"HTTP/1.1 ") else got[:40]
def get(path=b"/", fields=b""):
    return raw(b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n" + fields +
               b"Connection: close\r\n\r\n")

# --max-uri 200: the target, path and query.
p200 = b"/" + b"u" * 190 + b"?q=123456"
tap(status(get(p200)) == "200", "a 200-byte target passes", get(p200))
tap(status(get(p200 + b"7")) == "414", "a 201-byte target gets 414")
# --max-headers 10: Host and Connection, and more.
f8 = b"".join(b"X-F%d: v\r\n" % i for i in range(8))
tap(status(get(fields=f8)) == "200", "10 header fields pass")
tap(status(get(fields=f8 + b"X-F8: v\r\n")) == "431", "11 header fields get 431")
# --max-request-head 2048: the head's own bytes.
def sized(total):
    start = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Pad: "
    pad = total - len(start) - 4
    return start + b"p" * pad + b"\r\n\r\n"
got = raw(sized(2048))
tap(len(sized(2048)) == 2048 and status(got) == "200", "a 2048-byte head passes", got)
tap(status(raw(sized(2049))) == "431", "a 2049-byte head gets 431")
# --max-body 1000, announced.
def post(body, extra=b""):
    return (b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n%s\r\n" %
            (len(body), extra)) + body
got = raw(post(b"b" * 1000))
tap(status(got) == "200" and got.endswith(b"got 1000"), "a 1000-byte body passes", got)
open(cuts, "a").close()
before = open(cuts).read()
got = raw(post(b"b" * 1001))
tap(status(got) == "413", "a 1001-byte Content-Length gets 413", got)
# Chunked: counted as it streams.
def chunked(sizes):
    parts = [b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"]
    parts += [b"%x\r\n%s\r\n" % (k, b"c" * k) for k in sizes]
    return parts + [b"0\r\n\r\n"]
got = raw(None, chunked([300, 300, 400]))
tap(status(got) == "200" and got.endswith(b"got 1000"), "1000 chunked bytes pass", got)
got = raw(None, chunked([300, 300, 300, 300, 300]))
tap(status(got) == "413", "a chunked body crossing 1000 bytes gets 413", got)
tap(b"connection: close" in got.lower(), "the 413 closes the connection", got)
time.sleep(0.5)
new = open(cuts).read()[len(before):].split()
tap(new[0::2] == ["cut"] * (len(new) // 2) and len(new) == 2 and int(new[1]) <= 1000,
    "the backend got at most 1000 bytes of it, then a close", new)

# Expect: 100-continue is the backend's to answer (RFC 9110 §10.1.1): its
# 100 reaches the client, and the proxy adds none of its own.
s = socket.create_connection(("127.0.0.1", port), 5)
s.sendall(b"POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
          b"Content-Length: 500\r\nConnection: close\r\n\r\n")
s.settimeout(5)
first = s.recv(65536)
tap(first == b"HTTP/1.1 100 Continue\r\n\r\n", "the backend's 100 Continue comes through", first)
s.sendall(b"e" * 500)
got = read_all(s, 5)
tap(status(got) == "200" and got.endswith(b"got 500") and b"100 Continue" not in got,
    "then the final answer, and no second 100", got)
# curl asked to send Expect: 100-continue (it does so itself only past
# 1 MiB): a body past --max-body is answered 413 at once, without a 100
# and before curl's wait for one (1s) ends.
t0 = time.time()
r = subprocess.run(["curl", "-sv", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                    "-H", "Expect: 100-continue", "--data-binary", "@-",
                    "http://127.0.0.1:%d/up" % port],
                   input=b"d" * 2000, capture_output=True)
took = time.time() - t0
tap(r.stdout == b"413" and b"Expect: 100-continue" in r.stderr and b"100 Continue" not in r.stderr
    and took < 0.9, "curl's upload past --max-body gets 413 at once (%.2fs)" % took, r.stderr[-300:])

# A 2000-byte upload with the expectation where no limit stops it: one
# 100, the backend's, and the body goes at once, not after curl's wait.
t0 = time.time()
r = subprocess.run(["curl", "-sv", "--max-time", "10", "-H", "Expect: 100-continue",
                    "--data-binary", "@-", "http://127.0.0.1:%d/up" % oport],
                   input=b"d" * 2000, capture_output=True)
took = time.time() - t0
tap(r.stdout == b"got 2000" and r.stderr.count(b"< HTTP/1.1 100 Continue") == 1 and took < 0.9,
    "curl's 2000-byte upload gets the backend's one 100, then 200 (%.2fs)" % took,
    (r.stdout, r.stderr[-400:]))

# HTTP/2, the same limits through the same check.
url = "http://127.0.0.1:%d" % port
def h2(*args, data=None):
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                        "--max-time", "10", "--http2-prior-knowledge"] + list(args),
                       input=data, capture_output=True)
    return r.stdout.decode()
tap(h2(url + p200.decode()) == "2 200", "h2: a 200-byte target passes")
tap(h2(url + p200.decode() + "7") == "2 414", "h2: a 201-byte target gets 414")
hs = sum([["-H", "X-F%d: v" % i] for i in range(6)], [])
# curl sends :authority (Host), User-Agent and Accept: 9 fields with these.
tap(h2(url + "/", *hs, "-H", "X-F6: v") == "2 200", "h2: 10 header fields pass")
tap(h2(url + "/", *hs, "-H", "X-F6: v", "-H", "X-F7: v") == "2 431",
    "h2: 11 header fields get 431")
tap(h2(url + "/", "-H", "X-Pad: " + "p" * 1900) == "2 200", "h2: a head within 2048 bytes passes")
tap(h2(url + "/", "-H", "X-Pad: " + "p" * 2000) == "2 431", "h2: a head past 2048 bytes gets 431")
tap(h2(url + "/up", "--data-binary", "@-", data=b"b" * 1000) == "2 200",
    "h2: a 1000-byte body passes")
tap(h2(url + "/up", "--data-binary", "@-", data=b"b" * 1001) == "2 413",
    "h2: a 1001-byte Content-Length gets 413")
before = open(cuts).read()
tap(h2(url + "/up", "-T", "-", data=b"c" * 5000) == "2 413",
    "h2: a body without a length crossing 1000 bytes gets 413")
time.sleep(0.5)
new = open(cuts).read()[len(before):].split()
tap(len(new) == 2 and int(new[1]) <= 1000, "h2: the backend got at most 1000 bytes of it", new)
print("1..%d" % n)
PY
KW_DIR=$kw_dir python3 "$T/limits.py" "$lport" "$T/cuts" "$kw_port"
