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
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.servers.plain_http import TextHandler, serve

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


class Handler(TextHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        started = time.perf_counter()
        url = urlsplit(self.path)
        if url.path == "/ok":
            self.send_text(200, b"ok")
        elif url.path == "/reset":
            TRUTH.reset()
            self.send_text(200, b"ok")
        elif url.path == "/truth":
            path = parse_qs(url.query).get("path", [""])[0]
            self.send_text(200, json.dumps(TRUTH.report(path)).encode())
        elif url.path in PATHS:
            sleep_ms, status = planned(url.path, TRUTH.take_k(url.path))
            time.sleep(sleep_ms / 1000.0)
            served_ms = (time.perf_counter() - started) * 1000.0
            self.send_text(status, b"x")
            TRUTH.done(url.path, sleep_ms, served_ms, status)
        else:
            self.send_text(404, b"not found")


def main() -> None:
    port = int(sys.argv[1])
    serve(port, Handler, f"latency_truth listening on {port}")


if __name__ == "__main__":
    main()
