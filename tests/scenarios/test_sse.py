"""The SSE reader behind streamed code-gen: token times, the result event, errors."""

from __future__ import annotations

import json

from agentload.scenarios.sse import StreamReading


def _feed(reading: StreamReading, lines: list[tuple[str, float]]) -> StreamReading:
    for line, now in lines:
        reading.feed(line, now)
    reading.finish(9.0)
    return reading


def test_tokens_and_the_result_event_are_read_with_their_times() -> None:
    result = {"id": "x", "code": "x = 1\n", "language": "python", "valid": True}
    reading = _feed(
        StreamReading(),
        [
            ("event: token", 1.0), ('data: {"text": "x"}', 1.0), ("", 1.0),
            ("event: token", 1.5), ('data: {"text": " = 1"}', 1.5), ("", 1.5),
            ("event: token", 2.0), ('data: {"text": "\\n"}', 2.0), ("", 2.0),
            ("event: result", 2.1), (f"data: {json.dumps(result)}", 2.1), ("", 2.1),
        ],
    )  # fmt: skip
    assert (reading.tokens, reading.first_token, reading.last_token) == (3, 1.0, 2.0)
    assert reading.result == result and reading.error == ""


def test_an_error_event_is_kept_as_the_reason() -> None:
    reading = _feed(
        StreamReading(),
        [("event: error", 1.0), ('data: {"status": 503, "detail": "engine down"}', 1.0)],
    )
    assert reading.error == "stream error: engine down" and reading.result is None


def test_openai_style_data_lines_and_done_marker_count_as_tokens() -> None:
    reading = _feed(StreamReading(), [('data: {"choices": []}', 1.0), ("", 1.0),
                                      ("data: [DONE]", 2.0), ("", 2.0)])  # fmt: skip
    assert reading.tokens == 1 and reading.result is None
