#!/usr/bin/python3
# wsclient.py PORT HOST: a WebSocket client through the proxy at
# 127.0.0.1:PORT (HOST is the Host it routes by), on Debian's
# python3-websockets. Prints one line per check: a text and a binary
# message echoed, a 10 MiB message echoed whole, a ping answered by a pong,
# and the close code after the close handshake (1000 when both sides
# closed cleanly). Any failure prints its reason and exits 1.
import asyncio, os, sys
import websockets

port, host = int(sys.argv[1]), sys.argv[2]


async def main():
    async with websockets.connect("ws://%s/echo" % host, host="127.0.0.1", port=port,
                                  max_size=None, open_timeout=20, close_timeout=20) as ws:
        await ws.send("hello, tunnel")
        print("text", "ok" if await ws.recv() == "hello, tunnel" else "bad")
        blob = bytes(range(256)) * 4
        await ws.send(blob)
        print("binary", "ok" if await ws.recv() == blob else "bad")
        big = os.urandom(10 * 1024 * 1024)
        await ws.send(big)
        back = await asyncio.wait_for(ws.recv(), 60)
        print("big", "ok" if back == big else "bad %d bytes" % len(back))
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 20)
        print("ping ok")
    print("close", ws.close_code)

try:
    asyncio.run(asyncio.wait_for(main(), 120))
except Exception as e:
    print("failed:", type(e).__name__, e)
    sys.exit(1)
