#!/usr/bin/python3
# wsback.py: the WebSocket backend of websocket.t, on Debian's
# python3-websockets (10.x, asyncio API). Listens on a free 127.0.0.1 port,
# printed on the first line, and echoes every message, text or binary, as
# it came; pings are answered by the library. Messages of any size are
# taken (the test sends 10 MiB). Exits after 300 s whatever happens.
# wsback.py CERT KEY: the same over TLS (CERT: the leaf, then its chain).
import asyncio, ssl, sys
import websockets


async def echo(ws, path):
    async for msg in ws:
        await ws.send(msg)


async def main():
    tls = None
    if len(sys.argv) == 3:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(sys.argv[1], sys.argv[2])
    server = await websockets.serve(echo, "127.0.0.1", 0, max_size=None, ssl=tls)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(300)

asyncio.run(main())
