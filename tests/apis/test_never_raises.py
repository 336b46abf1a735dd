"""Whatever the server answers, judging and stream reading never raise (property tests)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentload.apis.dialects import make_reader
from agentload.apis.jsonpath import get
from agentload.apis.judges import judge
from agentload.apis.request import Check, Stream

KEYS = ["choices", "0", "message", "content", "delta", "usage", "error", "text", "done", "x"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip
PATHS = st.sampled_from(["", "choices.0.message.content", "x", "0.0", "choices.-1", "message"])
CHECKS = [
    Check(path="choices.0.message.content", exists=True),
    Check(path="message", exists=False),
    Check(path="x", equals=[1, {"a": True}]),
    Check(path="choices.0.message.content", matches=r"\w"),
    Check(path="choices", min_items=2),
    Check(path="content", python_parses=True),
    Check(function="tests.apis.judge_plugin:one_choice"),
]
DIALECTS = [
    Stream(dialect="openai-chat"),
    Stream(dialect="events"),
    Stream(dialect="ndjson"),
    Stream(dialect="ndjson", token_path="choices.0.message.content", done_path="0"),
]
LINE = (
    st.text(max_size=40)
    | JSON.map(json.dumps)
    | JSON.map(lambda value: "data: " + json.dumps(value))
    | st.sampled_from(["", "data: [DONE]", "event: token", "event: result", "event: error"])
)


@settings(max_examples=300)
@given(answer=JSON)
def test_judge_never_raises_on_any_json_answer(answer: Any) -> None:
    for check in CHECKS:
        assert judge([check], answer).outcome in ("success", "invalid")


@given(answer=JSON, path=PATHS)
def test_jsonpath_get_never_raises_on_any_json_value(answer: Any, path: str) -> None:
    get(answer, path)


@settings(max_examples=300)
@given(lines=st.lists(LINE, max_size=12))
def test_stream_readers_never_raise_on_any_lines(lines: list[str]) -> None:
    for stream in DIALECTS:
        reader = make_reader(stream)
        for now, line in enumerate(lines):
            reader.feed(line, float(now))
        reader.finish(99.0)
        assert isinstance(reader.error, str) and reader.tokens == len(reader.token_times)
        assert isinstance(reader.text, str)
