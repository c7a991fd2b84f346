#!/usr/bin/env python3
# tlsclient.py PORT CA MODE [NAME]: a TLS client by hand against the https
# listener at 127.0.0.1:PORT, trusting CA, for what curl and openssl
# s_client cannot do. Server name NAME (default a.test). Prints what it
# saw, one check per line:
#   proxy   a PROXY v1 header from 192.0.2.7 first, in the clear, then
#           the handshake and a request: prints the backend's echo
#   upgrade an upgrade to switch.py (Host sw.test) over TLS: the 101, then
#           bytes both ways through the tunnel, then the half-close
#   stall   connects and sends nothing; prints when the proxy closed
#   half    sends the first half of a real ClientHello, then nothing;
#           prints when the proxy closed
#   torn    one request, answered; then the first bytes of a record and
#           the end of the TCP stream in one segment: prints when the
#           proxy closed
#   partial the first bytes of a request head in a whole record, and the
#           end of the TCP stream in the same segment: prints when the
#           proxy closed
#   last    a request that says it is the last (Connection: close), read
#           to the end: prints whether the end was a clean close_notify and
#           how many segments with data the proxy sent (TCP_INFO), then
#           resumes that session on a new connection and prints whether it
#           was reused
#   keep    one request, then waits until the file NAME.go exists, then a
#           second request on the same connection: prints the status of
#           each and the served certificate's SHA-256 once per request
import hashlib, os, socket, ssl, sys, time

port, ca, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
name = sys.argv[4] if len(sys.argv) > 4 else "a.test"
ctx = ssl.create_default_context(cafile=ca)


def read_until(s, want, have=b""):
    while want not in have:
        got = s.recv(65536)
        if not got:
            break
        have += got
    return have


def wait_close(s):
    start = time.time()
    s.settimeout(30)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    print("closed after %.1f" % (time.time() - start))


s = socket.create_connection(("127.0.0.1", port), 10)
s.settimeout(30)
if mode == "proxy":
    s.sendall(b"PROXY TCP4 192.0.2.7 127.0.0.1 4242 %d\r\n" % port)
    t = ctx.wrap_socket(s, server_hostname=name)
    t.sendall(b"GET /pp HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % name.encode())
    print(read_until(t, b"\r\n\r\n\r\n").decode(errors="replace"))
elif mode == "upgrade":
    t = ctx.wrap_socket(s, server_hostname=name)
    t.sendall(b"GET /up HTTP/1.1\r\nHost: sw.test\r\nConnection: Upgrade\r\n"
              b"Upgrade: echo\r\n\r\nearly")
    got = read_until(t, b"\r\n\r\n")
    head, _, rest = got.partition(b"\r\n\r\n")
    print("status", head.split(b"\r\n")[0].decode())
    print("early", read_until(t, b"early", rest).decode())
    t.sendall(b"later")
    print("later", read_until(t, b"later").decode())
elif mode == "last":
    sess = None
    for i in (1, 2):
        if i == 2:
            s = socket.create_connection(("127.0.0.1", port), 10)
            s.settimeout(30)
        t = ctx.wrap_socket(s, server_hostname=name, suppress_ragged_eofs=False,
                            session=sess)
        t.sendall(b"GET /last HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                  % name.encode())
        try:
            while t.recv(65536):
                pass
            end = "clean"
        except ssl.SSLEOFError:
            end = "truncated"
        if i == 1:
            print("end", end)
            # struct tcp_info: tcpi_data_segs_in at byte 152 (Linux 4.6).
            info = t.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 160)
            print("segments", int.from_bytes(info[152:156], sys.byteorder))
            sess = t.session
        else:
            print("reused", t.session_reused)
        t.close()
elif mode == "keep":
    go = name + ".go"
    name = os.path.basename(name)
    t = ctx.wrap_socket(s, server_hostname=name)
    for i in (1, 2):
        if i == 2:
            while not os.path.exists(go):
                time.sleep(0.05)
        t.sendall(b"GET /k%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (i, name.encode()))
        head, _, body = read_until(t, b"\r\n\r\n").partition(b"\r\n\r\n")
        clen = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
        while len(body) < int(clen[0].split(b":")[1]):
            body += t.recv(65536)
        print("status", head.split(b"\r\n")[0].decode())
        print("cert", hashlib.sha256(t.getpeercert(True)).hexdigest(), flush=True)
elif mode == "torn":
    t = ctx.wrap_socket(s, server_hostname=name)
    t.sendall(b"GET /one HTTP/1.1\r\nHost: %s\r\n\r\n" % name.encode())
    read_until(t, b"\r\n\r\n")
    time.sleep(0.2)
    # Corked, the last bytes and the FIN leave as one segment: the proxy
    # sees them with one readable edge.
    t.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    # A record's header and 10 of its 64 bytes, past the TLS layer.
    socket.socket.send(t, b"\x17\x03\x03\x00\x40" + b"\0" * 10)
    socket.socket.shutdown(t, socket.SHUT_WR)	# TCP only: no close_notify
    wait_close(t)
elif mode == "partial":
    t = ctx.wrap_socket(s, server_hostname=name)
    t.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    t.sendall(b"GET /partial HTTP/1.1\r\nHo")
    socket.socket.shutdown(t, socket.SHUT_WR)	# TCP only: no close_notify
    wait_close(t)
elif mode == "stall":
    wait_close(s)
elif mode == "half":
    # A real ClientHello, made by the ssl module into memory, cut in two.
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    s.sendall(hello[: len(hello) // 2])
    wait_close(s)
