"""A tiny ASGI target for bench_scenarios.py: ``GET /v1/status`` answers at once, except that
every ``STALL_PERIOD_S`` seconds (from ``STALL_ORIGIN``, a Unix time) the server stalls for
``STALL_S`` seconds and every request waiting in that window is answered when it ends.
``STALL_S=0`` gives a plain fast server. Run: ``uvicorn benchmarks.stall_server:app``.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

PERIOD_S = float(os.environ.get("STALL_PERIOD_S", "2.0"))
STALL_S = float(os.environ.get("STALL_S", "0"))
ORIGIN = float(os.environ.get("STALL_ORIGIN", "0") or time.time())
BODY = b'{"status":"ok","uptime_s":1.0}'


def stall_left(now: float) -> float:
    """Seconds until the current stall ends (0 outside a stall)."""
    phase = (now - ORIGIN) % PERIOD_S
    return STALL_S - phase if phase < STALL_S else 0.0


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    wait = stall_left(time.time()) if STALL_S else 0.0
    if wait:
        await asyncio.sleep(wait)
    status = 200 if scope["path"] == "/v1/status" else 404
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})
