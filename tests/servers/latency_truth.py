"""A server whose latency distributions are known exactly, and that says what it served.

``python -m tests.servers.latency_truth PORT`` serves, each request sleeping a planned time:

- ``GET /fixed``: 200 ms, always.
- ``GET /uniform``: uniform over [20, 200] ms, as a low-discrepancy sequence
  (``20 + 180 * frac(k * golden ratio)`` for the k-th request), so the spread is exact, not drawn.
- ``GET /bimodal``: 10 ms, and 1,000 ms for every 10th request (exactly 10 % slow).
- ``GET /mixed``: 300 ms answered 200, and every 4th request a faster failure: 503 after 100 ms.
- ``GET /ok``: 200 at once (readiness; not counted). ``GET /reset``: forget what was served.
- ``GET /truth?path=/fixed``: what it served on that path, once the response was written:
  ``{"ok": {...}, "failed": {...}}``, each ``{"count", "p50_ms", "p95_ms", "p99_ms", "max_ms",
  "planned_ms": [...], "served_ms": [...]}``. ``planned_ms`` are the planned sleeps, the exact
  distribution; ``served_ms`` the time from the request parsed to the response about to be
  written, as this server measured it (so no client can see less: the end is taken before the
  write, because after it the thread may wait for the GIL while the client already has the
  answer). Percentiles are nearest-rank order statistics of the planned sleeps,
  rank ``max(1, round(q * n))``: the rule HdrHistogram (and so agentload) reads its ranks by.

Standard library only: ``ThreadingHTTPServer`` with HTTP/1.1 keep-alive, TCP_NODELAY and a
listen backlog of 128, one thread per connection, ``time.sleep`` for the planned time; loopback.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

GOLDEN = (1 + math.sqrt(5)) / 2
PATHS = ("/fixed", "/uniform", "/bimodal", "/mixed")


def planned(path: str, k: int) -> tuple[float, int]:
    """The k-th (0-based) request on ``path``: (sleep in ms, status)."""
    if path == "/fixed":
        return 200.0, 200
    if path == "/uniform":
        return 20.0 + 180.0 * ((k * GOLDEN) % 1.0), 200
    if path == "/bimodal":
        return (1000.0 if k % 10 == 9 else 10.0), 200
    return (100.0, 503) if k % 4 == 3 else (300.0, 200)


def nearest_rank(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return ordered[max(1, int(q * len(ordered) + 0.5)) - 1] if ordered else None


class Truth:
    """What was served, per path, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_k = dict.fromkeys(PATHS, 0)
        self.served: dict[str, list[tuple[float, float, int]]] = {p: [] for p in PATHS}

    def reset(self) -> None:
        with self.lock:
            self.next_k = dict.fromkeys(PATHS, 0)
            self.served = {p: [] for p in PATHS}

    def take_k(self, path: str) -> int:
        with self.lock:
            k = self.next_k[path]
            self.next_k[path] = k + 1
            return k

    def done(self, path: str, planned_ms: float, served_ms: float, status: int) -> None:
        with self.lock:
            self.served[path].append((planned_ms, served_ms, status))

    def report(self, path: str) -> dict[str, Any]:
        with self.lock:
            rows = list(self.served.get(path, []))
        out = {}
        for kind, rows_of_kind in (
            ("ok", [r for r in rows if r[2] < 400]),
            ("failed", [r for r in rows if r[2] >= 400]),
        ):
            plan = [r[0] for r in rows_of_kind]
            out[kind] = {
                "count": len(plan),
                "p50_ms": nearest_rank(plan, 0.50),
                "p95_ms": nearest_rank(plan, 0.95),
                "p99_ms": nearest_rank(plan, 0.99),
                "max_ms": max(plan) if plan else None,
                "planned_ms": plan,
                "served_ms": [r[1] for r in rows_of_kind],
            }
        return out


TRUTH = Truth()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm holds the
    # body until the client's delayed ACK, about 40 ms later (seen: /fixed read 92 ms).
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        started = time.perf_counter()
        url = urlsplit(self.path)
        if url.path == "/ok":
            self._send(200, b"ok")
        elif url.path == "/reset":
            TRUTH.reset()
            self._send(200, b"ok")
        elif url.path == "/truth":
            path = parse_qs(url.query).get("path", [""])[0]
            self._send(200, json.dumps(TRUTH.report(path)).encode())
        elif url.path in PATHS:
            sleep_ms, status = planned(url.path, TRUTH.take_k(url.path))
            time.sleep(sleep_ms / 1000.0)
            served_ms = (time.perf_counter() - started) * 1000.0
            self._send(status, b"x")
            TRUTH.done(url.path, sleep_ms, served_ms, status)
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
    # The default listen backlog (5) drops the SYNs of users that connect at once: the kernel
    # retries after 1 s, and that second lands in the client's first request.
    request_queue_size = 128


def main() -> None:
    port = int(sys.argv[1])
    # A thread whose sleep ended waits for the GIL up to the switch interval (5 ms by default)
    # while another runs: latency no server of record would add. Hand the GIL over sooner.
    sys.setswitchinterval(0.0002)
    server = Server(("127.0.0.1", port), Handler)
    print(f"latency_truth listening on {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
