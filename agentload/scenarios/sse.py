"""Reading the code-gen SSE stream: token events, then one result (or error) event. Pure.

The agent API streams ``event: token`` (``{"text": ...}``) per token, then ``event: result`` with
the same object as the plain call, or ``event: error`` (``{"status", "detail"}``). Feed each line
(without its newline) with the time it arrived; the reading keeps the first and last token times,
the token count, the result and any error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


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
