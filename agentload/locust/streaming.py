"""A streamed code-gen call: read the SSE stream line by line, time the whole of it.

The ``POST /v1/agents/codegen`` entry's response time is the whole stream (request sent to the
last byte), not just the headers. ``TTFT codegen`` is the time to the first token event;
``TPOT codegen`` is ``(last token - first token) / (tokens - 1)`` (only with two tokens or more).
The final event carries the same result object as the plain call and is judged the same way.
Lines are read as they arrive (``readline``), not in fixed-size blocks, so TTFT is not delayed
by buffering.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from agentload.locust.entries import failure_verdict, fire
from agentload.scenarios.judges import Verdict, judge_codegen

_STREAM_HEADERS = {"Accept": "text/event-stream", "Accept-Encoding": "identity"}


@dataclass
class StreamReading:
    """What was read from one SSE stream."""

    first_token: float | None = None
    last_token: float | None = None
    tokens: int = 0
    result: dict[str, Any] | None = None
    error: str = ""
    length: int = 0
    _event: str = field(default="")
    _data: list[str] = field(default_factory=list)

    def feed(self, line: str, now: float) -> None:
        """One line of the stream (without its newline)."""
        if not line:
            self._dispatch(now)
        elif line.startswith("event:"):
            self._event = line[6:].strip()
        elif line.startswith("data:"):
            self._data.append(line[5:].lstrip())

    def finish(self, now: float) -> None:
        self._dispatch(now)

    def _dispatch(self, now: float) -> None:
        event, data = self._event, "\n".join(self._data)
        self._event, self._data = "", []
        if not data or data == "[DONE]":
            return
        try:
            payload = json.loads(data)
        except json.JSONDecodeError:
            payload = data
        if event == "error" or (isinstance(payload, dict) and "detail" in payload):
            detail = payload.get("detail") if isinstance(payload, dict) else payload
            self.error = f"stream error: {detail}"
        elif isinstance(payload, dict) and "valid" in payload and "code" in payload:
            self.result = payload
        else:
            self.tokens += 1
            self.last_token = now
            if self.first_token is None:
                self.first_token = now


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
