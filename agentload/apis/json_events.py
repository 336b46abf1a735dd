"""The ``json-events`` stream dialect: SSE ``data:`` events, each one JSON object, as an A2A
server streams its JSON-RPC responses (``data: {"jsonrpc": "2.0", "id": 1, "result": {...}}``).
Pure.

- an event with a value (not ``null``) at ``error_path`` is an error: its ``message`` or
  ``detail``, else the value (A2A names such an event ``event: error``; the name is not needed);
- an event with a non-empty text at one of ``token_paths`` (the first that has one) is a token;
  the text is the string there, the ``text`` of a part (an object), or the ``text`` fields of a
  list of parts joined (A2A: ``result.artifactUpdate.artifact.parts``);
- the last event is the result (the checks judge it); with ``done_path`` set, a last event
  without ``done_value`` there (JSON equality) means the stream was cut short;
- a stream with no event at all is an error. A line that is a whole JSON object outside any SSE
  event counts as one event: a server that refuses a streamed request up front answers it as
  plain JSON (the a2a-sdk does, for a JSON-RPC error such as a wrong ``A2A-Version``).
"""

from __future__ import annotations

from typing import Any

from agentload.apis.jsonpath import MISSING, get
from agentload.apis.sse import BAD, SSEReader, error_detail, parse_json


class JsonEventsReader(SSEReader):
    """SSE events of JSON objects (see the module docstring)."""

    __slots__ = ("_token_paths", "_error_path", "_done_path", "_done_value", "_events")

    def __init__(
        self,
        token_paths: list[str],
        error_path: str = "error",
        done_path: str | None = None,
        done_value: Any = True,
    ) -> None:
        super().__init__()
        self._token_paths = tuple(token_paths)
        self._error_path = error_path
        self._done_path = done_path
        self._done_value = done_value
        self._events = 0

    def feed(self, line: str, now: float) -> None:
        """One line of the stream, without its newline, and when it arrived."""
        if line.startswith("{") and self._data is None:  # plain JSON, not an SSE field
            self._count(line)
            self._dispatch("", line.rstrip("\r"), now)
            return
        super().feed(line, now)

    def finish(self, now: float) -> None:
        """A stream with no event, or whose last event is not the done one, was cut short."""
        self._flush()
        if not self._events:
            self._fail("stream ended without an event")
        elif self._done_path and not _same(get(self.result, self._done_path), self._done_value):
            self._fail(
                f"stream ended before an event with {self._done_path} = {self._done_value!r}"
            )

    def _dispatch(self, event: str, data: str, when: float) -> None:
        payload = parse_json(data)
        if not isinstance(payload, dict):
            self._fail(
                "stream event is not JSON" if payload is BAD else "stream event is not an object"
            )
            return
        self._events += 1
        self.result = payload
        error = get(payload, self._error_path) if self._error_path else MISSING
        if error is not MISSING and error is not None:
            self._fail(f"stream error: {error_detail(error)}")
            return
        for path in self._token_paths:
            text = _text(get(payload, path))
            if text:
                self._token(text, when)
                return


def _text(value: Any) -> str:
    """The text of a token value: a string, a part's ``text``, or a list of parts' joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list):
        return "".join(
            p["text"] for p in value if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def _same(value: Any, expected: Any) -> bool:
    """Equality of JSON values, booleans apart from numbers (``true`` is not ``1``)."""
    if isinstance(value, bool) or isinstance(expected, bool):
        return value is expected
    return value is not MISSING and bool(value == expected)
