"""A streamed code-gen call: read the SSE stream line by line, time the whole of it.

The ``POST /v1/agents/codegen`` entry's response time is the whole stream (request sent to the
last byte), not just the headers. ``TTFT codegen`` is the time to the first token event;
``TPOT codegen`` is ``(last token - first token) / (tokens - 1)`` (only with two tokens or more).
The final event carries the same result object as the plain call and is judged the same way.
Lines are read as they arrive (``readline``), not in fixed-size blocks, so TTFT is not delayed
by buffering.
"""

from __future__ import annotations

import time
from typing import Any

from agentload.locust.entries import failure_verdict, fire
from agentload.scenarios.judges import Verdict, judge_codegen
from agentload.scenarios.sse import StreamReading

_STREAM_HEADERS = {"Accept": "text/event-stream", "Accept-Encoding": "identity"}


def stream_codegen(user: Any, path: str, body: dict[str, Any]) -> Verdict:
    """Make one streamed code-gen call; fire TTFT/TPOT; return the agent verdict."""
    started = time.perf_counter()
    reading = StreamReading()
    with user.client.post(
        path, json=body, name=path, stream=True, catch_response=True, headers=_STREAM_HEADERS
    ) as resp:
        if resp.status_code == 200:
            _read(resp, reading)
        resp.request_meta["response_time"] = (time.perf_counter() - started) * 1000
        resp.request_meta["response_length"] = reading.length
        verdict = _verdict(resp, reading)
        if verdict.outcome in ("error", "rejected", "timeout"):
            resp.failure(verdict.reason)
    if reading.first_token is not None:
        fire(user, "TTFT", "codegen", (reading.first_token - started) * 1000)
    if reading.tokens >= 2 and reading.first_token is not None and reading.last_token is not None:
        tpot = (reading.last_token - reading.first_token) / (reading.tokens - 1)
        fire(user, "TPOT", "codegen", tpot * 1000)
    return verdict


def _read(resp: Any, reading: StreamReading) -> None:
    raw = resp._response  # geventhttpclient's response: readline returns as soon as a line is in
    try:
        while True:
            line = raw.readline(b"\n")
            if not line:
                break
            reading.length += len(line)
            reading.feed(line.decode("utf-8", "replace").rstrip("\r\n"), time.perf_counter())
    except (OSError, ValueError) as exc:
        reading.error = f"stream broken: {type(exc).__name__}"
    reading.finish(time.perf_counter())


def _verdict(resp: Any, reading: StreamReading) -> Verdict:
    if resp.status_code != 200:
        return failure_verdict(resp)
    if reading.error:
        return Verdict("error", reading.error)
    if reading.result is None:
        return Verdict("error", "stream ended without a result event")
    return judge_codegen(reading.result)
