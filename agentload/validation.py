"""One line from a pydantic ValidationError: the field, the value given, what was expected."""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError


def describe(exc: ValidationError) -> str:
    """One line for the first validation error: the field, the value given, what was expected."""
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err["loc"])
    given = err.get("input")
    if not loc:
        return _expected(err)
    if err["type"] == "extra_forbidden":
        return f'field "{loc}": unknown field, check its spelling'
    if err["type"] == "missing":
        return f'field "{loc}": missing, expected a table or value'
    expected = _expected(err)
    return f'field "{loc}": got {_show(given)}, expected {expected}'


def _expected(err: Any) -> str:
    ctx = err.get("ctx") or {}
    kind = err["type"]
    bounds = {
        "greater_than_equal": "a number >= {ge}",
        "greater_than": "a number > {gt}",
        "less_than_equal": "a number <= {le}",
        "less_than": "a number < {lt}",
    }
    if kind in bounds:
        numbers = {k: f"{v:g}" if isinstance(v, int | float) else v for k, v in ctx.items()}
        return bounds[kind].format(**numbers)
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '')}"
    if kind.startswith(("float", "int")):
        return "a number"
    msg = str(err["msg"])
    return msg[len("Value error, ") :] if msg.startswith("Value error, ") else msg.lower()


def _show(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return "a table"
    return repr(value)
