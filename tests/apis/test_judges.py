"""Success checks: each kind of test, automatic reasons, function judges, odd answers."""

from __future__ import annotations

from typing import Any

import pytest

from agentload.apis.judges import JudgeError, judge, load_function, python_parses
from agentload.apis.request import Check
from agentload.apis.verdicts import SUCCESS, Verdict

PLUGIN = "tests.apis.judge_plugin"
ANSWER: dict[str, Any] = {
    "choices": [{"message": {"content": "def f():\n    return 1\n"}}],
    "valid": False,
    "code": "def broken(:",
    "result": {"citations": []},
    "count": 1,
    "none": None,
}


def _reason(answer: Any, **test: Any) -> Verdict:
    return judge([Check(**test)], answer)


def test_no_checks_is_a_success() -> None:
    assert judge([], "<html>oops</html>") is SUCCESS


def test_passing_checks_are_a_success() -> None:
    checks = [
        Check(path="choices.0.message.content", exists=True),
        Check(path="absent", exists=False),
        Check(path="none", exists=False),
        Check(path="valid", equals=False),
        Check(path="choices.0.message.content", matches=r"return \d"),
        Check(path="choices", min_items=1),
        Check(path="choices.0.message.content", python_parses=True),
        Check(path="code", python_parses=False),
        Check(function=f"{PLUGIN}:one_choice"),
    ]
    assert judge(checks, ANSWER) is SUCCESS


@pytest.mark.parametrize(
    ("test", "reason"),
    [
        (
            {"path": "choices.0.message.refusal", "exists": True},
            "choices.0.message.refusal: missing",
        ),
        ({"path": "none", "exists": True}, "none: null, expected a value"),
        ({"path": "count", "exists": False}, "count: present (1), expected absent"),
        ({"path": "valid", "equals": True}, "valid: expected True, got False"),
        ({"path": "absent", "equals": 1}, "absent: missing"),
        ({"path": "code", "python_parses": True}, "code: does not parse as Python"),
        (
            {"path": "result.citations", "min_items": 1},
            "result.citations: 0 items, expected at least 1",
        ),
        ({"path": "count", "min_items": 1}, "count: 1 has no items, expected at least 1"),
        ({"path": "code", "matches": "^x"}, "code: does not match '^x'"),
        ({"path": "count", "matches": "1"}, "count: 1 is not a string, expected one matching '1'"),
        (
            {"path": "valid", "python_parses": True},
            "valid: False is not a string, expected Python code",
        ),
    ],
)
def test_a_failed_check_gives_an_automatic_reason_naming_path_and_test(
    test: dict[str, Any], reason: str
) -> None:
    assert _reason(ANSWER, **test) == Verdict("invalid", reason)


def test_equals_keeps_booleans_apart_from_numbers() -> None:
    assert _reason({"n": 1}, path="n", equals=True).outcome == "invalid"
    assert _reason({"n": 1}, path="n", equals=1.0).ok
    assert _reason({"n": [1, {"a": True}]}, path="n", equals=[1, {"a": True}]).ok
    assert not _reason({"n": [1, {"a": 1}]}, path="n", equals=[1, {"a": True}]).ok


def test_the_first_failed_check_decides_with_its_outcome_and_reason() -> None:
    checks = [
        Check(path="choices", min_items=1),
        Check(path="status", exists=True, outcome="error", reason="body does not match the API"),
        Check(path="valid", equals=True),
    ]
    assert judge(checks, ANSWER) == Verdict("error", "body does not match the API")


def test_python_parses_tolerates_odd_escapes_without_a_warning() -> None:
    assert python_parses('x = "\\d+"\n')
    assert not python_parses("return = 1") and not python_parses("x = '\0'\0")


def test_a_function_judge_returning_a_reason_fails_with_it() -> None:
    verdict = _reason({"choices": []}, function=f"{PLUGIN}:one_choice")
    assert verdict == Verdict("invalid", "answer: expected exactly one choice")


def test_a_function_judge_gets_the_value_at_its_path() -> None:
    assert _reason({"inner": {"choices": [1]}}, path="inner", function=f"{PLUGIN}:one_choice").ok


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("always_true", ""),
        ("always_false", f"answer: {PLUGIN}:always_false returned False"),
        (
            "returns_a_number",
            f"answer: {PLUGIN}:returns_a_number returned int, expected None, True, False "
            "or a reason",
        ),
        ("explodes", f"answer: {PLUGIN}:explodes raised KeyError: 'choices'"),
    ],
)
def test_function_judge_results_and_exceptions_become_verdicts(name: str, reason: str) -> None:
    verdict = _reason(ANSWER, function=f"{PLUGIN}:{name}")
    assert verdict == (SUCCESS if not reason else Verdict("invalid", reason))


def test_a_function_judge_is_imported_once() -> None:
    assert load_function(f"{PLUGIN}:one_choice") is load_function(f"{PLUGIN}:one_choice")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon", 'Import string "no_colon" must be in format "<module>:<attribute>".'),
        ("tests.apis.nowhere:f", 'could not import module "tests.apis.nowhere"'),
        (f"{PLUGIN}:missing", f'attribute "missing" not found in module "{PLUGIN}"'),
        (f"{PLUGIN}:NOT_A_FUNCTION", f'"{PLUGIN}:NOT_A_FUNCTION" is not callable'),
    ],
)
def test_a_function_judge_that_cannot_be_imported_raises_a_judge_error(
    spec: str, message: str
) -> None:
    with pytest.raises(JudgeError) as info:
        load_function(spec)
    assert str(info.value).startswith(message) and isinstance(info.value, ValueError)


def test_an_unimportable_function_judge_in_a_check_fails_it_with_the_import_error() -> None:
    verdict = judge([Check(function="tests.apis.nowhere:f")], {})
    assert verdict == Verdict("invalid", 'answer: could not import module "tests.apis.nowhere"')


@pytest.mark.parametrize("answer", [None, "<html>502 Bad Gateway</html>", [], [1, [2]], 3, True])
def test_odd_answer_shapes_fail_checks_without_raising(answer: Any) -> None:
    checks = [Check(path="choices.0.message.content", exists=True, outcome="error")]
    assert judge(checks, answer) == Verdict("error", "choices.0.message.content: missing")
