"""An HTTP server of our own that misbehaves on purpose, one way a path (asyncio, raw sockets).

``python -m tests.servers.hostile --port PORT``:

- ``/ok``: a plain JSON answer (readiness);
- ``/stall``: an SSE stream that sends two events, then nothing, the connection kept open;
- ``/no-newline``: an SSE stream of one line that never ends (64 KiB a second, no newline);
- ``/trickle``: a JSON answer of 200 bytes (Content-Length) sent one byte every 0.1 s;
- ``/endless``: a chunked JSON body that never ends (1 MiB a second);
- ``/never``: reads the request and never answers;
- ``/reset``: announces 1000 bytes, sends 100, then resets the connection (RST);
- ``/redirect``: 302 to another origin; ``/redirect-here``: 302 to ``/ok`` on this server;
- ``/empty``: 200, ``application/json``, no body;
- ``/reflect``: 200 with the request's ``Authorization`` value in its ``Content-Type`` and body;
- ``/reflect-json``: 200, a JSON error whose message holds the ``Authorization`` value.

Each request is counted by path: ``/counts``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import struct
from collections import Counter

COUNTS: Counter[str] = Counter()


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


async def _forever() -> None:
    while True:
        await asyncio.sleep(3600)


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            request = await reader.readuntil(b"\r\n\r\n")
            path = request.split(b" ", 2)[1].decode().split("?")[0]
            length, auth = 0, ""
            for line in request.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
                if line.lower().startswith(b"authorization:"):
                    auth = line.split(b":", 1)[1].strip().decode()
            if length:
                await reader.readexactly(length)
            COUNTS[path] += 1
            if not await _answer(path, writer, auth):
                return
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def _answer(path: str, writer: asyncio.StreamWriter, auth: str = "") -> bool:
    """Answer one request; False when the connection is done with."""
    sse = {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"}
    if path in ("/ok", "/counts"):
        body = json.dumps(dict(COUNTS) if path == "/counts" else {"ok": True}).encode()
        head = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        writer.write(_head("200 OK", head) + body)
        await writer.drain()
        return True
    if path == "/stall":
        writer.write(_head("200 OK", sse))
        for text in ("one", "two"):
            event = f'event: token\ndata: {{"text": "{text}"}}\n\n'.encode()
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
            await asyncio.sleep(0.05)
        await _forever()
    if path == "/no-newline":
        writer.write(_head("200 OK", sse))
        writer.write(b"6\r\ndata: \r\n")
        while True:
            chunk = b"x" * 8192
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            await asyncio.sleep(0.125)
    if path == "/trickle":
        writer.write(_head("200 OK", {"Content-Type": "application/json", "Content-Length": "200"}))
        body = json.dumps({"answer": "x" * 184}).encode()
        for byte in body:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.1)
        return True
    if path == "/endless":
        head = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        writer.write(_head("200 OK", head))
        writer.write(b"1\r\n[\r\n")
        while True:
            chunk = b'"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",' * 1024
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            await asyncio.sleep(0.07)
    if path == "/never":
        await _forever()
    if path == "/reset":
        head = {"Content-Type": "application/json", "Content-Length": "1000"}
        writer.write(_head("200 OK", head) + b'{"answer": "' + b"x" * 88)
        await writer.drain()
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        return False
    if path == "/redirect-here":
        writer.write(_head("302 Found", {"Location": "/ok?from=here", "Content-Length": "0"}))
        await writer.drain()
        return True
    if path == "/redirect":
        head = {"Location": "http://203.0.113.7/elsewhere", "Content-Length": "0"}
        writer.write(_head("302 Found", head))
        await writer.drain()
        return True
    if path == "/reflect":
        body = f"you sent Authorization: {auth}".encode()
        head = {"Content-Type": f"text/plain; echo={auth}", "Content-Length": str(len(body))}
        writer.write(_head("200 OK", head) + body)
        await writer.drain()
        return True
    if path == "/reflect-json":
        body = json.dumps({"error": {"message": f"bad credentials {auth}"}}).encode()
        head = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        writer.write(_head("200 OK", head) + body)
        await writer.drain()
        return True
    if path == "/empty":
        writer.write(_head("200 OK", {"Content-Type": "application/json", "Content-Length": "0"}))
        await writer.drain()
        return True
    writer.write(_head("404 Not Found", {"Content-Length": "0"}))
    await writer.drain()
    return True


async def _serve(port: int) -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(_serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
