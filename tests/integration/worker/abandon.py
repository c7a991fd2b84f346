#!/usr/bin/env python3
# abandon.py PORT WAVES N PATH: an HTTP/2 client (python3-h2) that gives
# its streams no window (SETTINGS_INITIAL_WINDOW_SIZE 0), so no response
# byte reaches it: the proxy holds what the backend sends. WAVES times it
# opens N streams for PATH, waits while the proxy fills its buffers, and
# resets them all; then it closes. Prints how many it reset.
import socket
import sys
import time

import h2.config
import h2.connection
import h2.errors
import h2.settings

port, waves, n, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(0.05)
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})


def pump(seconds):
    end = time.time() + seconds
    while True:
        s.sendall(c.data_to_send())
        if time.time() >= end:
            return
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        if not data:
            return
        c.receive_data(data)


pump(0.2)
reset = 0
for w in range(waves):
    ids = []
    for i in range(n):
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, [(":method", "GET"), (":scheme", "http"),
                             (":authority", "127.0.0.1:%d" % port), (":path", path)],
                       end_stream=True)
        ids.append(sid)
    pump(1.0)
    for sid in ids:
        try:
            c.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            reset += 1
        except Exception:
            pass
    pump(0.3)
c.close_connection()
s.sendall(c.data_to_send())
s.close()
print(reset)
