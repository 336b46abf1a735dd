"""A server whose throughput capacity follows exactly from its settings, for the knee tests.

``python -m tests.servers.capacity PORT MODE SLOTS SERVICE_MS`` serves ``GET /work``:

- ``plateau``: ``SLOTS`` requests are served at a time, each for ``SERVICE_MS``; the others wait
  their turn (FIFO enough: a semaphore). Capacity: ``SLOTS / SERVICE_MS`` requests per second,
  reached at ``SLOTS`` closed-loop users; more users only queue (throughput plateaus, latency
  grows).
- ``collapse``: no limit on requests in flight, but contention: a request that arrives with ``n``
  in flight (itself included) takes ``SERVICE_MS * max(1, n / SLOTS) ** 2``. With ``u``
  closed-loop users, ``n = u``, so throughput is ``u / SERVICE_MS`` up to ``SLOTS`` users (peak
  ``SLOTS / SERVICE_MS``), then ``SLOTS ** 2 / (SERVICE_MS * u)``: goodput falls past the peak.

``GET /readyz``: 200 at once (readiness). ``GET /truth``: ``{"mode", "slots", "service_ms",
"capacity_rps", "served"}``. Standard library only: ``ThreadingHTTPServer`` (HTTP/1.1 keep-alive,
TCP_NODELAY, a listen backlog of 128, one thread per connection), ``time.sleep``; loopback.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from tests.servers.plain_http import TextHandler, serve

MODES = ("plateau", "collapse")


class Capacity:
    """The service: its settings, the slots, the requests in flight and those served."""

    def __init__(self, mode: str, slots: int, service_ms: float) -> None:
        if mode not in MODES or slots < 1 or service_ms <= 0:
            raise SystemExit(f"usage: MODE in {MODES}, SLOTS >= 1, SERVICE_MS > 0; got {sys.argv}")
        self.mode, self.slots, self.service_s = mode, slots, service_ms / 1000.0
        self.gate = threading.BoundedSemaphore(slots)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.served = 0

    @property
    def capacity_rps(self) -> float:
        return self.slots / self.service_s

    def serve(self) -> None:
        """One request: wait for a slot and hold it (plateau), or take the contended time."""
        if self.mode == "plateau":
            with self.gate:
                time.sleep(self.service_s)
        else:
            with self.lock:
                self.in_flight += 1
                n = self.in_flight
            try:
                time.sleep(self.service_s * max(1.0, n / self.slots) ** 2)
            finally:
                with self.lock:
                    self.in_flight -= 1
        with self.lock:
            self.served += 1

    def truth(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "slots": self.slots,
            "service_ms": self.service_s * 1000.0,
            "capacity_rps": self.capacity_rps,
            "served": self.served,
        }


SERVICE: Capacity


class Handler(TextHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        if self.path == "/work":
            SERVICE.serve()
            self.send_text(200, b"done")
        elif self.path == "/readyz":
            self.send_text(200, b"ok")
        elif self.path == "/truth":
            self.send_text(200, json.dumps(SERVICE.truth()).encode())
        else:
            self.send_text(404, b"not found")


def main() -> None:
    global SERVICE
    port, mode, slots, service_ms = sys.argv[1:5]
    SERVICE = Capacity(mode, int(slots), float(service_ms))
    serve(int(port), Handler, f"capacity {mode} listening on {port}: {SERVICE.capacity_rps:g} rps")


if __name__ == "__main__":
    main()
