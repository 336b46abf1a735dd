"""Function judges for the tests: ``tests.apis.judge_plugin:<name>``."""

from __future__ import annotations

from typing import Any

NOT_A_FUNCTION = 3


def one_choice(answer: Any) -> str | None:
    if len(answer.get("choices", [])) != 1:
        return "expected exactly one choice"
    return None


def always_true(answer: Any) -> bool:
    return True


def always_false(answer: Any) -> bool:
    return False


def returns_a_number(answer: Any) -> int:
    return 7


def explodes(answer: Any) -> None:
    raise KeyError("choices")
