"""What every stream reader shares: the reader protocol, the line and token bookkeeping, the SSE
event framing, and the JSON helpers. Pure; the dialects are in :mod:`agentload.apis.dialects`."""

from __future__ import annotations

import json
from typing import Any, Protocol

from agentload.redaction import redact


class StreamReader(Protocol):
    """What every dialect reader offers (see the module docstring)."""

    first_token: float | None
    last_token: float | None
    token_times: list[float]
    tokens: int
    usage: dict[str, Any] | None
    result: Any
    error: str
    length: int

    @property
    def text(self) -> str: ...

    def feed(self, line: str, now: float) -> None: ...

    def finish(self, now: float) -> None: ...


class Reader:
    """The state every dialect keeps; subclasses call ``_token`` and ``_fail``."""

    __slots__ = (
        "first_token",
        "last_token",
        "token_times",
        "tokens",
        "usage",
        "result",
        "error",
        "length",
        "_parts",
    )

    def __init__(self) -> None:
        self.first_token: float | None = None
        self.last_token: float | None = None
        self.token_times: list[float] = []
        self.tokens = 0
        self.usage: dict[str, Any] | None = None
        self.result: Any = None
        self.error = ""
        self.length = 0  # UTF-8 bytes fed, a newline a line
        self._parts: list[str] = []

    @property
    def text(self) -> str:
        """The content assembled from the tokens."""
        return "".join(self._parts)

    def _count(self, line: str) -> None:
        self.length += (len(line) if line.isascii() else len(line.encode("utf-8", "replace"))) + 1

    def _token(self, text: str, now: float) -> None:
        if self.first_token is None:
            self.first_token = now
        self.last_token = now
        self.token_times.append(now)
        self.tokens += 1
        if text:
            self._parts.append(text)

    def _fail(self, reason: str) -> None:
        if not self.error:
            self.error = reason


class SSEReader(Reader):
    """Server-sent events: ``event:`` and ``data:`` fields, a blank line ends an event whose
    time is that of its first data line; ``:`` comments and other fields are ignored."""

    __slots__ = ("_event", "_data", "_when")

    def __init__(self) -> None:
        super().__init__()
        self._event = ""
        self._data: str | None = None
        self._when = 0.0

    def feed(self, line: str, now: float) -> None:
        """One line of the stream, without its newline, and when it arrived."""
        self._count(line)
        if line.startswith("data:"):
            value = line[6:] if line.startswith("data: ") else line[5:]
            if self._data is None:
                self._data, self._when = value, now
            else:
                self._data += "\n" + value
        elif not line or line == "\r":
            self._flush()
        elif line.startswith("event:"):
            self._event = line[6:].strip()

    def finish(self, now: float) -> None:
        """The stream ended (an event not closed by a blank line still counts)."""
        self._flush()

    def _flush(self) -> None:
        event, data = self._event, self._data
        self._event, self._data = "", None
        if data is not None:
            self._dispatch(event, data.rstrip("\r"), self._when)

    def _dispatch(self, event: str, data: str, when: float) -> None:
        raise NotImplementedError


BAD = object()


def parse_json(data: str) -> Any:
    """The JSON value of ``data``, or ``BAD``."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return BAD


def error_detail(error: Any) -> str:
    """The message of an error payload: its ``detail`` or ``message``, else the payload."""
    if isinstance(error, dict):
        for key in ("detail", "message"):
            if error.get(key):
                error = error[key]
                break
    try:
        text = error if isinstance(error, str) else json.dumps(error, default=str)
    except (ValueError, RecursionError):
        text = "unreadable error payload"
    text = redact(text)  # a server may echo a credential back
    return text if len(text) <= 200 else f"{text[:197]}..."


def last_event_data(text: str) -> Any:
    """The JSON of the last ``data:`` event of an SSE body (an answer sent as one event), or
    :data:`BAD` when it has none or it is not JSON."""
    events: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.startswith("data:"):
            events[-1].append(line[6:] if line.startswith("data: ") else line[5:])
        elif not line.strip() and events[-1]:
            events.append([])
    found = [lines for lines in events if lines]
    return parse_json("\n".join(found[-1])) if found else BAD
