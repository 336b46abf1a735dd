"""A server of known capacity that says when it completed each request.

``python -m tests.servers.capacity_truth PORT SLOTS SERVICE_MS`` serves:

- ``GET /work``: waits for one of ``SLOTS`` slots, holds it ``SERVICE_MS`` (a sleep), answers
  200. Its capacity is exactly ``SLOTS / SERVICE_MS`` requests per millisecond: a closed loop of
  ``u`` users gets about ``min(u, SLOTS) / SERVICE_MS`` (less the client's own time per request),
  and more users only queue for the slots.
- ``GET /truth``: ``{"done": [t, ...], "slots", "service_ms"}``, the wall-clock times
  (``time.time()``) at which ``/work`` responses were completed, taken just before the response
  is written (a client sees each one after it), in order.
- ``GET /ok``: 200 at once (readiness; not counted).

Standard library only: ``ThreadingHTTPServer`` with HTTP/1.1 keep-alive, TCP_NODELAY and a
listen backlog of 128, one thread per connection; loopback.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Truth:
    def __init__(self, slots: int, service_ms: float) -> None:
        self.slots, self.service_ms = slots, service_ms
        self.gate = threading.Semaphore(slots)
        self.lock = threading.Lock()
        self.done: list[float] = []

    def work(self) -> None:
        with self.gate:
            time.sleep(self.service_ms / 1000.0)
        with self.lock:
            self.done.append(time.time())

    def report(self) -> dict[str, Any]:
        with self.lock:
            done = sorted(self.done)
        return {"done": done, "slots": self.slots, "service_ms": self.service_ms}


TRUTH = Truth(1, 1.0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body in two writes: no 40 ms delayed ACK

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        if self.path == "/work":
            TRUTH.work()
            self._send(200, b"x")
        elif self.path == "/truth":
            self._send(200, json.dumps(TRUTH.report()).encode())
        elif self.path == "/ok":
            self._send(200, b"ok")
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # users that connect at once are not dropped (SYN retried 1 s later)


def main() -> None:
    global TRUTH
    port, slots, service_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    TRUTH = Truth(slots, service_ms)
    sys.setswitchinterval(0.0002)  # a woken thread gets the GIL soon: no added latency
    server = Server(("127.0.0.1", port), Handler)
    print(f"capacity_truth listening on {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
