"""Dotted JSON paths: reading never raises, writing creates what is missing."""

from __future__ import annotations

import pytest

from agentload.apis.jsonpath import MISSING, get, set_path

ANSWER = {
    "choices": [{"message": {"content": "hi", "tool_calls": None}}],
    "result": {"citations": [], "flag": False},
    "0": "key zero",
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("choices.0.message.content", "hi"),
        ("choices.-1.message.content", "hi"),
        ("result.citations", []),
        ("result.flag", False),
        ("choices.0.message.tool_calls", None),
        ("0", "key zero"),
    ],
)
def test_get_follows_keys_and_list_indexes(path: str, expected: object) -> None:
    assert get(ANSWER, path) == expected


def test_the_empty_path_is_the_whole_value() -> None:
    assert get(ANSWER, "") is ANSWER and get(None, "") is None


@pytest.mark.parametrize(
    "path",
    [
        "choices.1.message",
        "choices.x",
        "choices.0.message.content.0",
        "result.flag.x",
        "result.citations.0",
        "nope",
        "choices.0.message.tool_calls.x",
        "choices." + "9" * 5000,
    ],
)
def test_get_gives_missing_for_absent_or_mistyped_steps(path: str) -> None:
    assert get(ANSWER, path) is MISSING


@pytest.mark.parametrize("value", [None, 3, 2.5, True, "text", []])
def test_get_on_a_scalar_or_empty_list_is_missing(value: object) -> None:
    assert get(value, "a.0") is MISSING


def test_missing_is_not_none_and_shows_its_name() -> None:
    assert MISSING is not None and repr(MISSING) == "MISSING"


def test_set_path_creates_objects_and_replaces_scalars_on_the_way() -> None:
    obj: dict[str, object] = {"message": None}
    set_path(obj, "message.content", "hello")
    set_path(obj, "a.b.c", 1)
    assert obj == {"message": {"content": "hello"}, "a": {"b": {"c": 1}}}


def test_set_path_writes_into_list_items() -> None:
    obj: dict[str, object] = {"choices": [{"text": ""}, "x"]}
    set_path(obj, "choices.0.text", "hi")
    set_path(obj, "choices.1.text", "there")
    assert obj == {"choices": [{"text": "hi"}, {"text": "there"}]}


@pytest.mark.parametrize("path", ["", "choices.5.text", "choices.x"])
def test_set_path_refuses_an_empty_path_or_a_bad_list_step(path: str) -> None:
    with pytest.raises(ValueError):
        set_path({"choices": [{}]}, path, "x")
