"""A streaming chat-completions target for bench_concurrency.py that keeps its own truth.

``POST /v1/chat/completions`` with ``"stream": true`` answers as an OpenAI-compatible server
does (SSE ``data:`` chunks, chunked transfer encoding, keep-alive): the headers at once, the
first token ``--ttft-ms`` after the request was received, then one token every
``--interval-ms`` until ``max_tokens`` are sent, the last with a ``finish_reason``, the usage
and ``data: [DONE]``. Each stream gets a number (1, 2, ...) that it reports as its usage's
``prompt_tokens``, so the client's own record of the call (agentload's ``requests.jsonl.gz``
``input_tokens``) names the stream. ``GET /v1/models`` answers 200 (readiness).

The truth: for every stream, the wall-clock time (``time.time()``) its request was received
(the bytes completing it were read) and the time each token's write to the socket returned.
``POST /bench/dump`` (the body a file path) writes them there (:func:`write_records`, one
record per stream: its number, the time received and the tokens' send times) and answers 200;
``GET /bench/started`` says how many streams have started and connections were opened.

Cheap at thousands of streams: one asyncio protocol per connection (uvloop when installed),
and one timer for all streams: a heap of the streams' next send times, served in order, so a
tick costs a heap pop and one write per due token. Loopback only.
Run: ``python benchmarks/stream_server.py --port 8000``.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import json
import socket
import struct
import time
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import cast

MODEL = "agentload-sim"
TAP_ENV = "BENCH_STREAMS_OUT"  # where stream_tap_locustfile.py writes its records
_RECORD = struct.Struct("<qdi")  # number, a float (time received / TTFT ms), count of values
_STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
_MODELS = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]}).encode()


def write_records(path: Path, records: Iterable[tuple[int, float, Iterable[float]]]) -> int:
    """Write ``(number, value, values)`` records to ``path`` (binary); how many."""
    n = 0
    with path.open("wb") as out:
        for number, value, values in records:
            floats = array("d", values)
            out.write(_RECORD.pack(number, value, len(floats)))
            out.write(floats.tobytes())
            n += 1
    return n


def read_records(path: Path) -> Iterator[tuple[int, float, array[float]]]:
    """The records :func:`write_records` wrote."""
    data = path.read_bytes()
    at = 0
    while at + _RECORD.size <= len(data):
        number, value, count = _RECORD.unpack_from(data, at)
        at += _RECORD.size
        floats = array("d")
        floats.frombytes(data[at : at + 8 * count])
        at += 8 * count
        yield number, value, floats


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _event(obj: object) -> bytes:
    return _chunk(b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n")


class Stream:
    """One streamed answer: its connection, the tokens left and the truth recorded so far."""

    __slots__ = ("number", "conn", "left", "received", "sent", "token", "last")

    def __init__(self, number: int, conn: Connection, tokens: int, received: float) -> None:
        self.number = number
        self.conn = conn
        self.left = tokens
        self.received = received
        self.sent = array("d")
        base = {"id": f"chatcmpl-{number}", "object": "chat.completion.chunk", "model": MODEL}
        token = {**base, "choices": [{"index": 0, "delta": {"content": " tok"}}]}
        finish = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        usage = {"prompt_tokens": number, "completion_tokens": tokens,
                 "total_tokens": number + tokens}  # fmt: skip
        self.token = _event(token)
        self.last = b"".join(
            (self.token, _event(finish), _event({**base, "choices": [], "usage": usage}),
             _chunk(b"data: [DONE]\n\n"), b"0\r\n\r\n")
        )  # fmt: skip

    def send_next(self) -> bool:
        """Write the next token (the last one ends the stream); True while tokens are left."""
        self.left -= 1
        transport = self.conn.transport
        if transport is None or transport.is_closing():
            return False
        transport.write(self.token if self.left else self.last)
        self.sent.append(time.time())
        if not self.left:
            self.conn.stream = None
        return self.left > 0


class Server:
    """The streams of every connection, sent on one timer."""

    def __init__(self, ttft_s: float, interval_s: float) -> None:
        self.ttft_s = ttft_s
        self.interval_s = interval_s
        self.streams: list[Stream] = []
        self.connections = 0
        self._numbers = itertools.count(1)
        self._heap: list[tuple[float, int, Stream]] = []
        self._timer: asyncio.TimerHandle | None = None

    def start_stream(self, conn: Connection, body: bytes, received: float) -> None:
        try:
            request = json.loads(body)
            tokens = max(1, int(request.get("max_tokens") or 16))
            streamed = bool(request.get("stream"))
        except (ValueError, TypeError, AttributeError):
            conn.reply(400, b'{"error":{"message":"bad request body"}}')
            return
        if not streamed:
            conn.reply(400, b'{"error":{"message":"only streamed calls are served"}}')
            return
        stream = Stream(next(self._numbers), conn, tokens, received)
        self.streams.append(stream)
        conn.stream = stream
        assert conn.transport is not None
        conn.transport.write(_STREAM_HEAD)
        loop = asyncio.get_running_loop()
        self._push(loop, loop.time() + self.ttft_s, stream)

    def _push(self, loop: asyncio.AbstractEventLoop, due: float, stream: Stream) -> None:
        heapq.heappush(self._heap, (due, stream.number, stream))
        if self._timer is None or due < self._timer.when():
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(due, self._pump)

    def _pump(self) -> None:
        """Send every token that is due, then sleep until the next one."""
        self._timer = None
        loop = asyncio.get_running_loop()
        heap, interval = self._heap, self.interval_s
        now = loop.time()
        while heap and heap[0][0] <= now:
            due, number, stream = heapq.heappop(heap)
            if stream.send_next():
                heapq.heappush(heap, (due + interval, number, stream))
            now = loop.time()
        if heap:
            self._timer = loop.call_at(heap[0][0], self._pump)

    def dump(self, path: Path) -> int:
        """Write the truth of every stream so far to ``path``; how many streams."""
        return write_records(path, ((s.number, s.received, s.sent) for s in self.streams))


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: requests one after another, each read whole."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.stream: Stream | None = None
        self._buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.server.connections += 1
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        received = time.time()
        buffer = self._buffer
        buffer += data
        while True:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            lines = bytes(buffer[:head_end]).decode("latin-1").split("\r\n")
            method, target = (lines[0].split(" ") + ["", ""])[:2]
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip() or 0)
            end = head_end + 4 + length
            if len(buffer) < end:
                return
            body = bytes(buffer[head_end + 4 : end])
            del buffer[:end]
            self._route(method, target.split("?", 1)[0], body, received)

    def _route(self, method: str, path: str, body: bytes, received: float) -> None:
        if method == "POST" and path == "/v1/chat/completions":
            self.server.start_stream(self, body, received)
        elif method == "GET" and path == "/v1/models":
            self.reply(200, _MODELS)
        elif method == "GET" and path == "/bench/started":
            counts = (len(self.server.streams), self.server.connections)
            self.reply(200, b'{"streams":%d,"connections":%d}' % counts)
        elif method == "POST" and path == "/bench/dump":
            n = self.server.dump(Path(body.decode()))
            self.reply(200, b'{"streams":%d}' % n)
        else:
            self.reply(404, b'{"error":{"message":"not found"}}')

    def reply(self, status: int, body: bytes) -> None:
        if self.transport is None:
            return
        head = b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
        self.transport.write(head % (status, len(body)) + body)


async def serve(host: str, port: int, ttft_s: float, interval_s: float) -> None:
    server = Server(ttft_s, interval_s)
    loop = asyncio.get_running_loop()
    listening = await loop.create_server(lambda: Connection(server), host, port, backlog=8192)
    async with listening:
        await listening.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ttft-ms", type=float, default=100.0)
    parser.add_argument("--interval-ms", type=float, default=50.0)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    runner(serve(args.host, args.port, args.ttft_ms / 1000, args.interval_ms / 1000))


if __name__ == "__main__":
    main()
