#!/usr/bin/env python3
# An HTTP/2 backend (h2c, prior knowledge) for h2back.t, on python3-h2:
# prints its port, then a line per connection accepted and closed. What
# it answers, by path (a request's trailers are logged, "trailers n=v,..."):
#   /echo       200, the request body back; x-sha256 (of the body),
#               x-names (the request's field names), x-conn (its number),
#               x-trailer (a request trailer "x-up", if one came)
#   /big?n=N    N bytes of a fixed pattern, content-length, x-sha256
#   /trailers   "hello" then trailers grpc-status: 0 and x-sum: 42
#   /delay      200 after half a second
#   /rst        RST_STREAM INTERNAL_ERROR, no response
#   /die        a head promising 100000 bytes, 1000 of them, then the
#               connection closes
#   /hold       held until another request comes on its connection; then
#               GOAWAY naming this stream last, this one answered, the
#               other never (it was not processed)
import hashlib
import socket
import struct
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events

lock = threading.Lock()
nconn = 0


def log(msg):
    with lock:
        print(msg, flush=True)


def pattern(n):
    block = bytes(range(256)) * 64
    out = bytearray()
    while len(out) < n:
        out += block
    return bytes(out[:n])


class Conn:
    def __init__(self, sock, num):
        self.sock = sock
        self.num = num
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding="utf-8"))
        self.req = {}        # stream id -> [headers, body, trailers]
        self.out = {}        # stream id -> [data left, trailers, end]
        self.delayed = []    # (when, stream id)
        self.hold = None     # the /hold stream waiting for company

    def send(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def queue(self, sid, status, fields, body, trailers=None):
        self.h2.send_headers(sid, [(":status", str(status))] + fields,
                             end_stream=not body and not trailers)
        if body or trailers:
            self.out[sid] = [body, trailers]

    def flush(self):
        for sid in list(self.out):
            body, trailers = self.out[sid]
            while body:
                try:
                    room = min(self.h2.local_flow_control_window(sid),
                               self.h2.max_outbound_frame_size)
                except Exception:
                    room = -1
                if room <= 0:
                    break
                chunk, body = body[:room], body[room:]
                self.h2.send_data(sid, chunk, end_stream=not body and not trailers)
            self.out[sid][0] = body
            if body:
                continue
            if trailers:
                self.h2.send_headers(sid, trailers, end_stream=True)
            del self.out[sid]

    def answer(self, sid):
        fields, body, trailers = self.req.pop(sid)
        h = dict(fields)
        if trailers:
            log("trailers " + ",".join("%s=%s" % t for t in trailers))
        path = h.get(":path", "")
        if path.startswith("/echo"):
            names = ",".join(n for n, _ in fields)
            extra = [("x-sha256", hashlib.sha256(body).hexdigest()),
                     ("x-names", names), ("x-conn", str(self.num)),
                     ("x-method", h.get(":method", "")),
                     ("x-authority", h.get(":authority", ""))]
            if trailers and "x-up" in dict(trailers):
                extra.append(("x-trailer", dict(trailers)["x-up"]))
            self.queue(sid, 200, [("content-length", str(len(body)))] + extra, body)
        elif path.startswith("/big"):
            n = int(path.split("n=")[1])
            data = pattern(n)
            self.queue(sid, 200, [("content-length", str(n)),
                                  ("x-sha256", hashlib.sha256(data).hexdigest())], data)
        elif path.startswith("/trailers"):
            self.queue(sid, 200, [("content-type", "text/plain")], b"hello",
                       [("grpc-status", "0"), ("x-sum", "42")])
        elif path.startswith("/delay"):
            self.delayed.append((time.monotonic() + 0.5, sid))
        elif path.startswith("/rst"):
            self.h2.reset_stream(sid, error_code=2)
        elif path.startswith("/die"):
            self.h2.send_headers(sid, [(":status", "200"), ("content-length", "100000")])
            self.h2.send_data(sid, b"x" * 1000)
            self.send()
            raise EOFError
        elif path.startswith("/hold"):
            self.hold = sid
            log("hold %d" % sid)
        else:
            self.queue(sid, 200, [("x-conn", str(self.num))], b"ok\n")

    def company(self, sid):
        # Another request while one is held: GOAWAY names the held one
        # as the last processed; it is answered after, this one never.
        held, self.hold = self.hold, None
        self.send()
        self.sock.sendall(struct.pack(">I", 8)[1:] + b"\x07\x00" + struct.pack(">I", 0)
                          + struct.pack(">II", held, 0))
        log("goaway %d refusing %d" % (held, sid))
        self.req.pop(sid, None)
        self.queue(held, 200, [("x-conn", str(self.num))], b"held\n")
        self.ignored = sid

    def run(self):
        self.ignored = None
        self.h2.initiate_connection()
        self.send()
        while True:
            timeout = None
            if self.delayed:
                # Never 0, which would make the socket non-blocking.
                timeout = max(0.001, min(w for w, _ in self.delayed) - time.monotonic())
            self.sock.settimeout(timeout)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                data = None
            if data == b"":
                return
            if data:
                for ev in self.h2.receive_data(data):
                    self.event(ev)
            now = time.monotonic()
            for w, sid in [d for d in self.delayed if d[0] <= now]:
                self.delayed.remove((w, sid))
                self.queue(sid, 200, [("x-conn", str(self.num))], b"late\n")
            self.flush()
            self.send()

    def event(self, ev):
        if isinstance(ev, h2.events.RequestReceived):
            if ev.stream_id == self.ignored:
                return
            self.req[ev.stream_id] = [ev.headers, b"", None]
            if self.hold is not None and ev.stream_id != self.hold:
                self.company(ev.stream_id)
        elif isinstance(ev, h2.events.DataReceived):
            if ev.stream_id in self.req:
                self.req[ev.stream_id][1] += ev.data
            self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.TrailersReceived):
            if ev.stream_id in self.req:
                self.req[ev.stream_id][2] = ev.headers
        elif isinstance(ev, h2.events.StreamEnded):
            if ev.stream_id in self.req:
                self.answer(ev.stream_id)
        elif isinstance(ev, h2.events.StreamReset):
            self.req.pop(ev.stream_id, None)
            self.out.pop(ev.stream_id, None)


def serve(sock, num):
    try:
        Conn(sock, num).run()
    except (EOFError, OSError):
        pass
    except h2.exceptions.ProtocolError as e:
        log("protocol error on %d: %r" % (num, e))
    finally:
        sock.close()
        log("closed %d" % num)


def main():
    global nconn
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    log(str(ls.getsockname()[1]))
    while True:
        s, _ = ls.accept()
        nconn += 1
        log("accept %d" % nconn)
        threading.Thread(target=serve, args=(s, nconn), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
