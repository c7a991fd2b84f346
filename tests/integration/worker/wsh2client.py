#!/usr/bin/python3
# wsh2client.py PORT PATH [idle|PROTOCOL]: a WebSocket client over HTTP/2 (RFC 8441,
# extended CONNECT) on python3-h2, framing WebSocket messages itself.
# Prints, a line each: the server's SETTINGS_ENABLE_CONNECT_PROTOCOL,
# the response status (and for a 200: a text message echoed, a
# 300000-byte binary one echoed whole, the close code that answers its
# close, and "ended" once the stream ended both ways). idle: once the
# tunnel is up, nothing is sent; the reset that ends it is printed
# ("reset CODE"). Another word: the :protocol asked for instead of
# websocket. With WSH2_TLS set in the environment: over TLS, ALPN h2
# (the certificate is not checked).
import os
import socket
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings

port, path = int(sys.argv[1]), sys.argv[2]
mode = sys.argv[3] if len(sys.argv) > 3 else ""
s = socket.create_connection(("127.0.0.1", port))
if os.environ.get("WSH2_TLS"):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    s = ctx.wrap_socket(s, server_hostname="a.test")
    if s.selected_alpn_protocol() != "h2":
        print("alpn", s.selected_alpn_protocol())
        sys.exit(1)
s.settimeout(20)
c = h2.connection.H2Connection(h2.config.H2Configuration(
    client_side=True, header_encoding="utf-8", validate_outbound_headers=False))
c.initiate_connection()
c.increment_flow_control_window(1 << 24)
s.sendall(c.data_to_send())
events = []
buf = bytearray()
ended = False


def more():
    global ended
    data = s.recv(65536)
    if not data:
        raise EOFError
    for ev in c.receive_data(data):
        if isinstance(ev, h2.events.DataReceived):
            buf.extend(ev.data)
            c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            ended = True
        events.append(ev)
    s.sendall(c.data_to_send())


def wait(pred):
    end = time.time() + 20
    while not pred():
        if time.time() > end:
            raise TimeoutError
        more()


def frame(opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def message():
    """One whole server frame from buf: (opcode, payload)."""
    def whole():
        if len(buf) < 2:
            return False
        n, at = buf[1] & 0x7f, 2
        if n == 126:
            if len(buf) < 4:
                return False
            n, at = struct.unpack(">H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                return False
            n, at = struct.unpack(">Q", buf[2:10])[0], 10
        return len(buf) >= at + n
    wait(whole)
    op, n, at = buf[0] & 0x0f, buf[1] & 0x7f, 2
    if n == 126:
        n, at = struct.unpack(">H", buf[2:4])[0], 4
    elif n == 127:
        n, at = struct.unpack(">Q", buf[2:10])[0], 10
    payload = bytes(buf[at:at + n])
    del buf[:at + n]
    return op, payload


def send(data, end=False):
    # As the stream's and connection's windows allow.
    while data:
        room = min(c.local_flow_control_window(1), c.max_outbound_frame_size)
        if room <= 0:
            more()
            continue
        c.send_data(1, data[:room])
        data = data[room:]
        s.sendall(c.data_to_send())
    if end:
        c.end_stream(1)
        s.sendall(c.data_to_send())


wait(lambda: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in events))
print("settings", c.remote_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL, 0))
proto = mode if mode and mode != "idle" else "websocket"
c.send_headers(1, [(":method", "CONNECT"), (":protocol", proto), (":scheme", "http"),
                   (":path", path), (":authority", "127.0.0.1:%d" % port),
                   ("sec-websocket-version", "13")])
s.sendall(c.data_to_send())
wait(lambda: any(isinstance(e, (h2.events.ResponseReceived, h2.events.StreamReset))
                 for e in events))
for e in events:
    if isinstance(e, h2.events.StreamReset):
        print("reset", e.error_code)
        sys.exit(0)
    if isinstance(e, h2.events.ResponseReceived):
        status = dict(e.headers)[":status"]
        print("status", status)
        if status != "200":
            sys.exit(0)
        names = [k for k, v in e.headers]
        print("accept-field", "sec-websocket-accept" in names)
if mode == "idle":
    try:
        wait(lambda: any(isinstance(e, h2.events.StreamReset) for e in events))
        print("reset", [e for e in events if isinstance(e, h2.events.StreamReset)][0].error_code)
    except TimeoutError:
        print("no reset")
    sys.exit(0)
send(frame(1, b"hello over h2"))
op, p = message()
print("text", p.decode())
big = bytes(range(256)) * 1172
big = big[:300000]
send(frame(2, big))
op, p = message()
print("binary", len(p), p == big)
send(frame(8, struct.pack(">H", 1000)))
op, p = message()
print("close", struct.unpack(">H", p[:2])[0] if op == 8 else "op%d" % op)
send(b"", end=True)
wait(lambda: ended)
print("ended")
