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
from typing import Any

from tests.servers.plain_http import TextHandler, serve


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


class Handler(TextHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        if self.path == "/work":
            TRUTH.work()
            self.send_text(200, b"x")
        elif self.path == "/truth":
            self.send_text(200, json.dumps(TRUTH.report()).encode())
        elif self.path == "/ok":
            self.send_text(200, b"ok")
        else:
            self.send_text(404, b"not found")


def main() -> None:
    global TRUTH
    port, slots, service_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    TRUTH = Truth(slots, service_ms)
    serve(port, Handler, f"capacity_truth listening on {port}")


if __name__ == "__main__":
    main()
