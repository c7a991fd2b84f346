#!/usr/bin/env python3
# A gRPC server and client for grpc.t, on Debian's python3-grpcio, with
# messages as raw bytes (no generated code). As a server:
#   grpcpeer.py server      prints its port, serves service t.T:
#     Unary     the request back, with initial metadata x-seen: yes and a
#               trailing x-len: the request's length
#     Down      server streaming: the request "N SIZE" gives N messages of
#               SIZE bytes each, the i-th filled with the letter a+i%26
#     Up        client streaming: "COUNT SHA256" of the messages received
#     Bidi      each message back as it comes, upper-cased
#     Fail      NOT_FOUND "no such thing", before any message (a
#               trailers-only response)
#     Late      one message, then DATA_LOSS "cut" in the trailers
# As a client:
#   grpcpeer.py client PORT CASE   prints what CASE got, one line each
import hashlib
import sys
from concurrent import futures

import grpc

SERVICE = "t.T"
OPTS = [("grpc.max_send_message_length", 64 << 20),
        ("grpc.max_receive_message_length", 64 << 20),
        ("grpc.enable_http_proxy", 0)]


def unary(req, ctx):
    ctx.send_initial_metadata((("x-seen", "yes"),))
    ctx.set_trailing_metadata((("x-len", str(len(req))),))
    return req


def down(req, ctx):
    n, size = (int(x) for x in req.split())
    for i in range(n):
        yield bytes([97 + i % 26]) * size


def up(reqs, ctx):
    h = hashlib.sha256()
    n = 0
    for r in reqs:
        h.update(r)
        n += 1
    return ("%d %s" % (n, h.hexdigest())).encode()


def bidi(reqs, ctx):
    for r in reqs:
        yield r.upper()


def fail(req, ctx):
    ctx.abort(grpc.StatusCode.NOT_FOUND, "no such thing")


def late(req, ctx):
    yield b"first"
    ctx.abort(grpc.StatusCode.DATA_LOSS, "cut")


def server():
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Down": grpc.unary_stream_rpc_method_handler(down),
        "Up": grpc.stream_unary_rpc_method_handler(up),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
        "Late": grpc.unary_stream_rpc_method_handler(late),
    }
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=OPTS)
    srv.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    print(port, flush=True)
    srv.wait_for_termination()


def status(e):
    return "status %s %s" % (e.code().name, e.details())


def client(port, case):
    ch = grpc.insecure_channel("127.0.0.1:%s" % port, options=OPTS)
    m = "/%s/" % SERVICE
    t = 30
    try:
        if case == "unary":
            call = ch.unary_unary(m + "Unary")
            resp, c = call.with_call(b"hello grpc", timeout=t)
            print("reply", resp.decode())
            print("initial", ",".join("%s=%s" % kv for kv in c.initial_metadata()
                                      if kv[0].startswith("x-")))
            print("trailing", ",".join("%s=%s" % kv for kv in c.trailing_metadata()
                                       if kv[0].startswith("x-")))
            print("code", c.code().name)
        elif case == "large":
            body = bytes(range(256)) * (12 << 12)  # 12 MB
            resp = ch.unary_unary(m + "Unary")(body, timeout=t)
            print("same", resp == body, len(resp))
        elif case == "down":
            n = 0
            h = hashlib.sha256()
            for r in ch.unary_stream(m + "Down")(b"200 30000", timeout=t):
                n += 1
                h.update(r)
            want = hashlib.sha256()
            for i in range(200):
                want.update(bytes([97 + i % 26]) * 30000)
            print("messages", n, "whole", h.hexdigest() == want.hexdigest())
        elif case == "up":
            msgs = [bytes([i % 256]) * (1000 + i * 97) for i in range(300)]
            want = hashlib.sha256(b"".join(msgs)).hexdigest()
            resp = ch.stream_unary(m + "Up")(iter(msgs), timeout=t)
            print("match", resp.decode() == "300 " + want, resp.decode().split()[0])
        elif case == "bidi":
            # Each message waits for its answer before the next goes:
            # both directions stream at once, interleaved.
            import queue
            q = queue.Queue()

            def gen():
                for i in range(50):
                    yield ("msg%d" % i).encode()
                    got = q.get(timeout=t)
                    if got != ("MSG%d" % i).encode():
                        return

            n = 0
            for r in ch.stream_stream(m + "Bidi")(gen(), timeout=t):
                n += 1
                q.put(r)
            print("echoed", n)
        elif case == "fail":
            try:
                ch.unary_unary(m + "Fail")(b"x", timeout=t)
                print("no error")
            except grpc.RpcError as e:
                print(status(e))
        elif case == "late":
            got = []
            try:
                for r in ch.unary_stream(m + "Late")(b"x", timeout=t):
                    got.append(r.decode())
                print("no error")
            except grpc.RpcError as e:
                print("got", ",".join(got))
                print(status(e))
        else:
            print("unknown case", case)
            return 2
    except grpc.RpcError as e:
        print(status(e))
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server()
    else:
        sys.exit(client(sys.argv[2], sys.argv[3]))
