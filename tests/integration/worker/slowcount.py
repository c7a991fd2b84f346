#!/usr/bin/env python3
# slowcount.py: an HTTP/1.1 backend on 127.0.0.1:0 (its port on the first
# line of stdout) that answers .../wait/MS after MS milliseconds and counts
# the requests it holds at once: /peak answers the most held since the
# last /peak, and resets it; /seen how many waiting requests it got.
import http.server, sys, threading, time

lock = threading.Lock()
now = peak = seen = 0

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, text):
        body = text.encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        global now, peak, seen
        if self.path == "/peak":
            with lock:
                p, peak = peak, 0
            return self.answer(str(p))
        if self.path == "/seen":
            with lock:
                n = seen
            return self.answer(str(n))
        ms = int(self.path.rsplit("/", 1)[-1]) if "/wait/" in self.path else 0
        with lock:
            now += 1
            seen += 1
            peak = max(peak, now)
        try:
            time.sleep(ms / 1000)
            self.answer("waited")
        finally:
            with lock:
                now -= 1

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
print(srv.server_address[1], flush=True)
srv.serve_forever()
