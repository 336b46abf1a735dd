"""Stream readers: a streamed answer read line by line, each line with its arrival time. Pure.

Feed every line (without its newline) with ``time.perf_counter()`` as it arrives, then call
``finish``. A reader keeps the time of the first and of every content chunk (``first_token``,
``token_times``), the assembled ``text``, ``usage``, the ``result`` to judge (None if the stream
gave none) and ``error`` (the first error event, bad line or truncation; empty if none). It
never raises on what the server sends. Dialects (``Stream.dialect``):

- ``openai-chat``: SSE ``data: {chunk}`` lines ending with ``data: [DONE]``; a chunk with a
  non-empty ``choices[].delta.content`` is a token (a role-only chunk is not); the result is a
  rebuilt ``chat.completion`` so the plain call's checks apply to it;
- ``events``: named SSE events: ``token_event`` (``{"text": ...}`` or plain text; with
  ``token_path``, only an event with non-empty text there), ``result_event`` (the last one is the
  result), ``error_event`` (``{"detail": ...}``); unnamed data is a token;
- ``ndjson``: one JSON object a line, text at ``token_path``; the line where ``done_path`` is
  true ends it and is the result, with the assembled text at ``token_path``;
- ``json-events``: unnamed SSE events of JSON objects (:mod:`agentload.apis.json_events`).
"""

from __future__ import annotations

from typing import Any

from agentload.apis.json_events import JsonEventsReader
from agentload.apis.jsonpath import get, set_path
from agentload.apis.request import Stream
from agentload.apis.sse import BAD, Reader, SSEReader, StreamReader, error_detail, parse_json


def make_reader(stream: Stream) -> StreamReader:
    """A fresh reader for one streamed answer in ``stream.dialect``."""
    if stream.dialect == "events":
        return EventsReader(
            stream.token_event, stream.result_event, stream.error_event, stream.token_path
        )
    if stream.dialect == "ndjson":
        return NdjsonReader(stream.token_path or "message.content", stream.done_path or "done")
    if stream.dialect == "json-events":
        return JsonEventsReader(
            stream.token_paths, stream.error_path, stream.done_path, stream.done_value
        )
    return OpenAIChatReader()


class OpenAIChatReader(SSEReader):
    """OpenAI chat-completion chunks (see the module docstring)."""

    __slots__ = ("done", "_chunks", "_id", "_model", "_role", "_finish_reason")

    def __init__(self) -> None:
        super().__init__()
        self.done = False
        self._chunks = 0
        self._id: Any = None
        self._model: Any = None
        self._role: Any = "assistant"
        self._finish_reason: Any = None

    def finish(self, now: float) -> None:
        """Build the ``chat.completion`` result; a stream without [DONE] nor a finish reason
        was cut short."""
        self._flush()
        if self._chunks:
            self.result = self._completion()
        if not self.done and self._finish_reason is None:
            self._fail("stream ended before [DONE]")

    def _dispatch(self, event: str, data: str, when: float) -> None:
        if data == "[DONE]":
            self.done = True
            return
        chunk = parse_json(data)
        if not isinstance(chunk, dict):
            self._fail(
                "stream chunk is not JSON" if chunk is BAD else "stream chunk is not an object"
            )
            return
        if chunk.get("error"):
            self._fail(f"stream error: {error_detail(chunk['error'])}")
            return
        self._chunks += 1
        self._id = chunk.get("id", self._id)
        self._model = chunk.get("model", self._model)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
        choices = chunk.get("choices")
        if isinstance(choices, list) and choices:
            self._choices(choices, when)

    def _choices(self, choices: list[Any], when: float) -> None:
        content, text = False, ""
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                piece = delta.get("content")
                if isinstance(piece, str) and piece:
                    content = True
                    if choice.get("index", 0) == 0:
                        text = piece
                if delta.get("role") is not None:
                    self._role = delta["role"]
            if choice.get("finish_reason") is not None:
                self._finish_reason = choice["finish_reason"]
        if content:
            self._token(text, when)

    def _completion(self) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion",
            "model": self._model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": self._role, "content": self.text},
                    "finish_reason": self._finish_reason,
                }
            ],
            "usage": self.usage,
        }


class EventsReader(SSEReader):
    """Named SSE events: tokens, then one result or error event (see the module docstring)."""

    __slots__ = ("_token_event", "_result_event", "_error_event", "_token_path")

    def __init__(
        self,
        token_event: str = "token",
        result_event: str = "result",
        error_event: str = "error",
        token_path: str | None = None,
    ) -> None:
        super().__init__()
        self._token_event = token_event
        self._result_event = result_event
        self._error_event = error_event
        self._token_path = token_path

    def finish(self, now: float) -> None:
        """A stream without a result nor an error event was cut short."""
        self._flush()
        if self.result is None:
            self._fail("stream ended without a result event")

    def _dispatch(self, event: str, data: str, when: float) -> None:
        if event == self._token_event or (not event and data != "[DONE]"):
            payload = parse_json(data)
            if self._token_path is not None:  # a token only where the path holds text
                text = get(payload, self._token_path) if payload is not BAD else None
                if isinstance(text, str) and text:
                    self._token(text, when)
            elif isinstance(payload, dict):
                text = payload.get("text")
                self._token(text if isinstance(text, str) else "", when)
            else:
                self._token(payload if isinstance(payload, str) else data, when)
        elif event == self._result_event:
            payload = parse_json(data)
            if payload is BAD:
                self._fail(f"{event} event is not JSON")
                return
            self.result = payload
            usage = payload.get("usage") if isinstance(payload, dict) else None
            if isinstance(usage, dict):
                self.usage = usage
        elif event == self._error_event:
            payload = parse_json(data)
            self._fail(f"stream error: {error_detail(data if payload is BAD else payload)}")


class NdjsonReader(Reader):
    """One JSON object a line, Ollama style (see the module docstring)."""

    __slots__ = ("done", "_token_path", "_done_path")

    def __init__(self, token_path: str = "message.content", done_path: str = "done") -> None:
        super().__init__()
        self.done = False
        self._token_path = token_path
        self._done_path = done_path

    def feed(self, line: str, now: float) -> None:
        """One line of the stream, without its newline, and when it arrived."""
        self._count(line)
        if self.done or not line or line.isspace():
            return
        obj = parse_json(line)
        if not isinstance(obj, dict):
            self._fail("stream line is not JSON" if obj is BAD else "stream line is not an object")
            return
        if obj.get("error"):
            self._fail(f"stream error: {error_detail(obj['error'])}")
            return
        text = get(obj, self._token_path)
        if isinstance(text, str) and text:
            self._token(text, now)
        if get(obj, self._done_path) is True:
            self._done(obj)

    def finish(self, now: float) -> None:
        """A stream without its done line was cut short."""
        if not self.done:
            self._fail("stream ended before the done line")

    def _done(self, obj: dict[str, Any]) -> None:
        self.done = True
        if self._token_path:
            try:
                set_path(obj, self._token_path, self.text)
            except ValueError:
                pass  # no place for the text in this object: judge it as it came
        self.result = obj
        usage = obj.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
        else:
            counts = {"prompt_tokens": "prompt_eval_count", "completion_tokens": "eval_count"}
            found = {ours: obj[theirs] for ours, theirs in counts.items() if theirs in obj}
            self.usage = found or None
