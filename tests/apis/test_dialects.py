"""Stream readers over recorded streams: token times, assembled text, result, errors."""

from __future__ import annotations

import json
from typing import Any

from agentload.apis.dialects import (
    EventsReader,
    NdjsonReader,
    OpenAIChatReader,
    StreamReader,
    make_reader,
)
from agentload.apis.judges import judge
from agentload.apis.request import Check, Stream


def _read(reader: StreamReader, lines: list[tuple[str, float]], end: float = 9.0) -> StreamReader:
    for line, now in lines:
        reader.feed(line, now)
    reader.finish(end)
    return reader


def _chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> str:
    chunk: dict[str, Any] = {
        "id": "chatcmpl-42",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-x",
        "choices": [] if delta is None else [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        ],
        "usage": None,
        **extra,
    }  # fmt: skip
    return "data: " + json.dumps(chunk, separators=(",", ":"))


USAGE = {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
# What an OpenAI-compatible server sends with stream_options.include_usage: a role-only first
# chunk, content chunks, a finish chunk, a usage chunk with no choices, then [DONE].
OPENAI_STREAM = [
    (": keep-alive", 0.5), ("", 0.5),
    (_chunk({"role": "assistant", "content": ""}), 1.0), ("", 1.0),
    (_chunk({"content": "Hello"}), 1.2), ("", 1.2),
    (_chunk({"content": ","}), 1.3), ("", 1.3),
    (_chunk({"content": " world"}), 1.5), ("", 1.5),
    (_chunk({}, "stop"), 1.6), ("", 1.6),
    (_chunk(None, usage=USAGE), 1.7), ("", 1.7),
    ("data: [DONE]", 1.8), ("", 1.8),
]  # fmt: skip
CHAT_CHECKS = [
    Check(path="choices.0.message.content", matches=r"\S"),
    Check(path="choices.0.finish_reason", equals="stop"),
]


def test_openai_ttft_is_the_first_content_chunk_not_the_role_chunk() -> None:
    reader = _read(OpenAIChatReader(), OPENAI_STREAM)
    assert (reader.first_token, reader.last_token, reader.tokens) == (1.2, 1.5, 3)
    assert reader.token_times == [1.2, 1.3, 1.5]
    assert reader.text == "Hello, world" and reader.error == ""


def test_openai_usage_comes_from_the_chunk_without_choices() -> None:
    assert _read(OpenAIChatReader(), OPENAI_STREAM).usage == USAGE


def test_openai_result_is_a_chat_completion_the_plain_checks_pass_on() -> None:
    result = _read(OpenAIChatReader(), OPENAI_STREAM).result
    assert result["object"] == "chat.completion" and result["model"] == "gpt-x"
    assert result["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello, world"},
            "finish_reason": "stop",
        }
    ]
    assert result["usage"] == USAGE and judge(CHAT_CHECKS, result).ok


def test_openai_stream_cut_short_is_an_error_with_a_partial_result() -> None:
    reader = _read(OpenAIChatReader(), OPENAI_STREAM[:8])
    assert reader.error == "stream ended before [DONE]"
    assert reader.text == "Hello," and reader.result["choices"][0]["finish_reason"] is None


def test_openai_empty_stream_is_an_error_without_result() -> None:
    reader = _read(OpenAIChatReader(), [])
    assert reader.error == "stream ended before [DONE]" and reader.result is None


def test_openai_finish_reason_without_done_marker_is_complete() -> None:
    reader = _read(OpenAIChatReader(), OPENAI_STREAM[2:12])
    assert reader.error == "" and reader.result["choices"][0]["finish_reason"] == "stop"


def test_openai_error_payload_sets_the_error() -> None:
    error = 'data: {"error": {"message": "model overloaded", "type": "server_error"}}'
    reader = _read(OpenAIChatReader(), [*OPENAI_STREAM[2:6], (error, 2.0), ("", 2.0)])
    assert reader.error == "stream error: model overloaded"


def test_openai_non_json_chunk_sets_an_error_without_raising() -> None:
    reader = _read(OpenAIChatReader(), [("data: {oops", 1.0), ("", 1.0), ("data: [DONE]", 2.0)])
    assert reader.error == "stream chunk is not JSON"


def test_openai_event_time_is_its_first_data_line_and_crlf_is_tolerated() -> None:
    reader = _read(OpenAIChatReader(), [(_chunk({"content": "x"}) + "\r", 1.0), ("\r", 3.0)])
    assert reader.first_token == 1.0 and reader.text == "x"


# --- events: exactly what target_service/api/routes/codegen.py sends ---------------------------
CODEGEN_RESULT = {
    "id": "5f0c",
    "code": "x = 1\n",
    "language": "python",
    "valid": True,
    "cached": False,
    "usage": {"prompt_tokens": 31, "completion_tokens": 3},
    "timings": {"ttft_ms": 30.0, "engine_ms": 41.2, "validate_ms": 0.1, "total_ms": 42.0},
}


def _event(name: str, data: Any, now: float) -> list[tuple[str, float]]:
    return [(f"event: {name}", now), (f"data: {json.dumps(data)}", now), ("", now)]


EVENTS_STREAM = [
    *_event("token", {"text": "x"}, 1.0),
    *_event("token", {"text": " = 1"}, 1.5),
    *_event("token", {"text": "\n"}, 2.0),
    *_event("result", CODEGEN_RESULT, 2.1),
]


def test_events_tokens_and_the_result_event_are_read_with_their_times() -> None:
    reader = _read(EventsReader(), EVENTS_STREAM)
    assert (reader.tokens, reader.first_token, reader.last_token) == (3, 1.0, 2.0)
    assert reader.text == "x = 1\n" and reader.result == CODEGEN_RESULT
    assert reader.usage == CODEGEN_RESULT["usage"] and reader.error == ""


def test_events_error_event_is_kept_as_the_reason() -> None:
    lines = [*EVENTS_STREAM[:3], *_event("error", {"status": 503, "detail": "engine down"}, 2.0)]
    reader = _read(EventsReader(), lines)
    assert reader.error == "stream error: engine down" and reader.result is None


def test_events_stream_without_a_result_is_an_error() -> None:
    reader = _read(EventsReader(), EVENTS_STREAM[:6])
    assert reader.error == "stream ended without a result event" and reader.tokens == 2


def test_events_unnamed_and_plain_text_data_are_tokens_and_other_events_ignored() -> None:
    lines = [
        ('data: {"text": "a"}', 1.0), ("", 1.0),
        ("event: token", 1.1), ("data: b", 1.1), ("", 1.1),
        ("event: ping", 1.2), ("data: {}", 1.2), ("", 1.2),
        ("event: done", 1.3), ('data: {"ok": true}', 1.3),
    ]  # fmt: skip
    reader = _read(EventsReader(result_event="done"), lines)
    assert reader.token_times == [1.0, 1.1] and reader.text == "ab"
    assert reader.result == {"ok": True}


def test_events_reader_follows_the_stream_event_names() -> None:
    stream = Stream(dialect="events", token_event="delta", result_event="final")
    lines = [*_event("delta", {"text": "hi"}, 1.0), *_event("final", {"answer": "hi"}, 2.0)]
    reader = _read(make_reader(stream), lines)
    assert reader.text == "hi" and reader.result == {"answer": "hi"}


# --- ndjson: Ollama /api/chat and /api/generate ------------------------------------------------
def _ollama(content: str, done: bool = False, key: str = "message") -> str:
    line: dict[str, Any] = {"model": "llama3.2", "created_at": "2024-08-01T10:00:00Z"}
    line[key] = {"role": "assistant", "content": content} if key == "message" else content
    line["done"] = done
    if done:
        line.update(done_reason="stop", prompt_eval_count=26, eval_count=3, eval_duration=2_000_000)
    return json.dumps(line)


OLLAMA_CHAT = [
    (_ollama("The"), 1.0),
    (_ollama(" sky"), 1.1),
    (_ollama(" is blue."), 1.4),
    (_ollama("", True), 1.5),
]


def test_ndjson_tokens_text_result_and_usage_from_ollama_chat() -> None:
    reader = _read(make_reader(Stream(dialect="ndjson")), OLLAMA_CHAT)
    assert reader.token_times == [1.0, 1.1, 1.4] and reader.first_token == 1.0
    assert reader.text == "The sky is blue." and reader.error == ""
    assert reader.result["message"] == {"role": "assistant", "content": "The sky is blue."}
    assert reader.result["done_reason"] == "stop"
    assert reader.usage == {"prompt_tokens": 26, "completion_tokens": 3}


def test_ndjson_generate_style_text_at_response() -> None:
    lines = [(_ollama("4", key="response"), 1.0), (_ollama("", True, key="response"), 1.2)]
    reader = _read(NdjsonReader(token_path="response"), lines)
    assert reader.result["response"] == "4" and reader.tokens == 1


def test_ndjson_stream_without_the_done_line_is_an_error() -> None:
    reader = _read(NdjsonReader(), OLLAMA_CHAT[:2])
    assert reader.error == "stream ended before the done line" and reader.result is None


def test_ndjson_error_line_and_bad_lines_set_the_error() -> None:
    assert _read(NdjsonReader(), [('{"error": "model not found"}', 1.0)]).error == (
        "stream error: model not found"
    )
    assert _read(NdjsonReader(), [("not json", 1.0)]).error == "stream line is not JSON"


def test_ndjson_blank_lines_are_skipped_and_usage_kept_when_given() -> None:
    done = json.dumps({"message": {"content": ""}, "done": True, "usage": {"total_tokens": 5}})
    reader = _read(NdjsonReader(), [("", 0.5), (OLLAMA_CHAT[0][0], 1.0), ("  ", 1.1), (done, 1.2)])
    assert reader.usage == {"total_tokens": 5} and reader.text == "The"


def test_readers_count_the_utf8_bytes_fed() -> None:
    reader = _read(NdjsonReader(), [("é", 1.0), ("ab", 1.0)])
    assert reader.length == 3 + 3


def test_make_reader_picks_the_dialect() -> None:
    assert isinstance(make_reader(Stream()), OpenAIChatReader)
    assert isinstance(make_reader(Stream(dialect="events")), EventsReader)
    assert isinstance(make_reader(Stream(dialect="ndjson")), NdjsonReader)
