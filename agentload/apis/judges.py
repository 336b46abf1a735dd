"""Success checks on an answer: the first failed :class:`~agentload.apis.model.Check` decides.

Each check tests the value at its JSON path (``""``: the whole answer):

- ``exists``: ``true`` passes when the value is there and not ``null``, ``false`` otherwise;
- ``equals``: JSON equality (``true`` is not ``1``); ``not_equals``: its negation (a missing
  value passes);
- ``matches``: ``re.search`` in a string value;
- ``min_items``: a list, object or string with at least N items;
- ``python_parses``: ``true`` passes for a string ``ast.parse`` accepts, ``false`` otherwise;
- ``function``: ``"module:function"`` called with the value (the answer for ``path = ""``);
  ``None``/``True`` passes, ``False`` or a reason string fails, an exception it raises fails
  the check with its type and message (so does an import failure, which the plugin reports
  before any load by calling :func:`load_function` on every judge).

A failed check gives ``Verdict(check.outcome, check.reason or <automatic reason>)``, the
automatic reason naming the path and the test (``choices.0.message.content: missing``), followed
by ``: <value>`` when the answer has a string or number at the check's ``detail`` path.
:func:`judge` never raises on any answer. :func:`load_function` imports a function judge
once (cached) and raises :class:`JudgeError` (a ``ValueError``) when it cannot::

    ValueError
    └── JudgeError      Import string "x" must be in format "<module>:<attribute>".
"""

from __future__ import annotations

import ast
import importlib
import re
import warnings
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any

from agentload.apis.jsonpath import MISSING, get
from agentload.apis.request import Check
from agentload.apis.verdicts import SUCCESS, Verdict
from agentload.redaction import redact

JudgeFunction = Callable[[Any], object]


class JudgeError(ValueError):
    """A function judge that cannot be imported."""


def judge(checks: Sequence[Check], answer: Any) -> Verdict:
    """The verdict of ``checks`` on ``answer``: the first failure, else success."""
    for check in checks:
        try:
            failure = _test(check, get(answer, check.path))
        except RecursionError:
            failure = "too deeply nested"
        if failure is not None:
            reason = check.reason or f"{check.path or 'answer'}: {failure}"
            return Verdict(check.outcome, redact(reason + _detail(answer, check.detail)))
    return SUCCESS


def _detail(answer: Any, path: str) -> str:
    """``": <value>"`` for the string or number at ``path`` of the answer (``""`` if none)."""
    if not path:
        return ""
    value = get(answer, path)
    if isinstance(value, list) and value:  # e.g. a list of content parts: the first one's text
        value = value[0].get("text") if isinstance(value[0], dict) else value[0]
    if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
        return ""
    text = str(value)
    return f": {text if len(text) <= 200 else text[:197] + '...'}"


@cache
def load_function(spec: str) -> JudgeFunction:
    """The function named by ``"module:function"`` (imported once); JudgeError otherwise."""
    module_name, _, attrs = spec.partition(":")
    if not module_name or not attrs:
        raise JudgeError(f'Import string "{spec}" must be in format "<module>:<attribute>".')
    try:
        target: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise JudgeError(f'could not import module "{module_name}": {exc}') from None
        raise JudgeError(f'could not import module "{module_name}"') from None
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"
        raise JudgeError(f'could not import module "{module_name}": {detail}') from None
    for attr in attrs.split("."):
        try:
            target = getattr(target, attr)
        except AttributeError:
            raise JudgeError(f'attribute "{attrs}" not found in module "{module_name}"') from None
    if not callable(target):
        raise JudgeError(f'"{spec}" is not callable, expected a function taking the answer')
    function: JudgeFunction = target
    return function


def _test(check: Check, value: Any) -> str | None:
    """Why ``value`` fails ``check``, or None if it passes."""
    if check.exists is not None:
        present = value is not MISSING and value is not None
        if present == check.exists:
            return None
        if check.exists:
            return "missing" if value is MISSING else "null, expected a value"
        return f"present ({_show(value)}), expected absent"
    if check.function is not None:
        return _call(check.function, value)
    if check.not_equals is not None and value is MISSING:
        return None
    if value is MISSING:
        return "missing"
    if check.matches is not None:
        return _match(check.matches, value)
    if check.min_items is not None:
        return _count(check.min_items, value)
    if check.python_parses is not None:
        return _parses(check.python_parses, value)
    if check.not_equals is not None:
        return f"equals {_show(value)}" if _json_equal(value, check.not_equals) else None
    if not _json_equal(value, check.equals):
        return f"expected {_show(check.equals)}, got {_show(value)}"
    return None


def _match(pattern: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"{_show(value)} is not a string, expected one matching {pattern!r}"
    return None if _regex(pattern).search(value) else f"does not match {pattern!r}"


def _count(minimum: int, value: Any) -> str | None:
    if not isinstance(value, list | dict | str):
        return f"{_show(value)} has no items, expected at least {minimum}"
    return None if len(value) >= minimum else f"{len(value)} items, expected at least {minimum}"


def _parses(expected: bool, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"{_show(value)} is not a string, expected Python code" if expected else None
    if python_parses(value) == expected:
        return None
    return "does not parse as Python" if expected else "parses as Python, expected not to"


def _call(spec: str, value: Any) -> str | None:
    if value is MISSING:
        return "missing"
    try:
        function = load_function(spec)
    except JudgeError as exc:
        return str(exc)  # the plugin loads every judge before the run: not seen there
    try:
        returned = function(value)
    except Exception as exc:
        return f"{spec} raised {type(exc).__name__}: {exc}"
    if returned is None or returned is True:
        return None
    if returned is False:
        return f"{spec} returned False"
    if isinstance(returned, str):
        return returned or f"{spec} returned an empty reason"
    return f"{spec} returned {type(returned).__name__}, expected None, True, False or a reason"


def python_parses(code: str) -> bool:
    """True if ``code`` is syntactically valid Python (warnings about it suppressed)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for odd escapes
            ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values, with booleans apart from numbers (``true != 1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_json_equal, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _show(value: Any) -> str:
    """A short description of ``value`` for a reason."""
    if value is MISSING:
        return "nothing"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    if isinstance(value, dict):
        return "an object"
    text = repr(value[:61] if isinstance(value, str) else value)
    return text if len(text) <= 60 else f"{text[:57]}..."
