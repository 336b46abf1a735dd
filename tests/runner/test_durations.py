"""Durations: the forms users write, and one clear error otherwise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentload.durations import format_duration, parse_duration
from agentload.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h30m", 5400),
        ("90", 90),
        ("1.5s", 1.5),
        ("250ms", 0.25),
        ("2h", 7200),
        (" 10S ", 10),
        (45, 45),
        (2.5, 2.5),
    ],
)
def test_parse_duration_accepts_the_documented_forms(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "abc", "5x", "1m1h", "-3", "nan", "inf", "1e3", "5s5s", True])
def test_parse_duration_rejects_anything_else_quoting_the_value(bad):
    with pytest.raises(ConfigError, match="expected a duration") as err:
        parse_duration(bad, what="--duration")
    assert str(err.value).startswith(f"--duration: got {bad!r}")


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (1.5, "1.5s"), (90, "1m30s"), (5400, "1h30m"), (3600, "1h")]
)
def test_format_duration_is_compact(seconds, text):
    assert format_duration(seconds) == text


@settings(deadline=None, derandomize=True)
@given(st.integers(min_value=0, max_value=10**6))
def test_format_then_parse_round_trips_whole_seconds(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=20))
def test_any_text_parses_or_raises_config_error_in_one_line(text):
    try:
        value = parse_duration(text)
    except ConfigError as exc:
        assert "\n" not in str(exc)
    else:
        assert value >= 0
