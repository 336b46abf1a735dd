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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body in two writes: no 40 ms delayed ACK

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        if self.path == "/work":
            SERVICE.serve()
            self._send(200, b"done")
        elif self.path == "/readyz":
            self._send(200, b"ok")
        elif self.path == "/truth":
            self._send(200, json.dumps(SERVICE.truth()).encode())
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
    request_queue_size = 128  # users that connect at once are not retried a second later


def main() -> None:
    global SERVICE
    port, mode, slots, service_ms = sys.argv[1:5]
    SERVICE = Capacity(mode, int(slots), float(service_ms))
    sys.setswitchinterval(0.0002)  # a woken thread gets the GIL sooner: less added latency
    server = Server(("127.0.0.1", int(port)), Handler)
    print(f"capacity {mode} listening on {port}: {SERVICE.capacity_rps:g} rps", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
