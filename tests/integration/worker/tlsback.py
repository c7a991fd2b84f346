#!/usr/bin/env python3
# tlsback.py CERT KEY: an HTTP/1.1 backend over TLS for tls-backend.t.
# CERT holds the leaf then its chain. Listens on a free 127.0.0.1 port,
# printed on the first line. Each response says what the server saw of
# the connection and the request, one "key value" line each: the request
# line, the server name the client sent ("-": none), the ALPN protocol,
# whether the TLS session was resumed, the connection's number (1 for
# the first accepted), the request body's length and its SHA-256. The
# body of a POST is sent back after those lines. A request for /close
# gets Connection: close and the connection ends. Exits after 300 s.
import hashlib, socket, ssl, sys, threading, time

cert, key = sys.argv[1], sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(["http/1.1"])
names = {}


def on_sni(sock, name, _ctx):
    names[id(sock)] = name


ctx.sni_callback = on_sni
count = [0]
lock = threading.Lock()


def read_head(f):
    lines = []
    while True:
        line = f.readline(65536)
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            return lines
        lines.append(line.decode("latin-1").rstrip("\r\n"))


def serve(raw, n):
    try:
        s = ctx.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError):
        raw.close()
        return
    f = s.makefile("rb")
    try:
        while True:
            head = read_head(f)
            if not head:
                break
            fields = {}
            for h in head[1:]:
                k, _, v = h.partition(":")
                fields[k.strip().lower()] = v.strip()
            body = f.read(int(fields.get("content-length", "0")))
            close = head[0].split(" ")[1] == "/close"
            info = ("request %s\nsni %s\nalpn %s\nreused %s\nconn %d\nbody-len %d\n"
                    "body-sha %s\n" % (head[0], names.get(id(s)) or "-",
                                       s.selected_alpn_protocol() or "-",
                                       s.session_reused, n, len(body),
                                       hashlib.sha256(body).hexdigest())).encode()
            out = info + body
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n" %
                      (len(out), b"Connection: close\r\n" if close else b"") + out)
            if close:
                break
    except (ssl.SSLError, OSError):
        pass
    try:
        s.unwrap()
    except (ssl.SSLError, OSError, ValueError):
        pass
    s.close()


lsock = socket.socket()
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", 0))
lsock.listen(64)
print(lsock.getsockname()[1], flush=True)
end = time.time() + 300


def accept():
    while True:
        c, _ = lsock.accept()
        with lock:
            count[0] += 1
            n = count[0]
        threading.Thread(target=serve, args=(c, n), daemon=True).start()


threading.Thread(target=accept, daemon=True).start()
time.sleep(max(0, end - time.time()))
