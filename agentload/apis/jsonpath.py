"""Dotted JSON paths: ``choices.0.message.content``, ``result.citations``, ``""`` (the whole
value). Pure.

A step is an object key, or a list index (``0``, ``-1``) when the value there is a list.
:func:`get` never raises on a JSON value: a missing key, an index out of range or a step into
a string, number, ``null`` or ``bool`` gives :data:`MISSING`, which is not ``None`` (``None``
is JSON ``null``, a value that is there).
"""

from __future__ import annotations

import enum
from functools import lru_cache
from typing import Any, Final


class _Missing(enum.Enum):
    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing.MISSING


@lru_cache(maxsize=1024)
def _steps(path: str) -> tuple[tuple[str, int | None], ...]:
    """The steps of ``path``: each key, with its integer value when it can be a list index."""
    if not path:
        return ()
    return tuple((part, _index(part)) for part in path.split("."))


def _index(part: str) -> int | None:
    digits = part[1:] if part.startswith("-") else part
    return int(part) if digits.isdigit() and digits.isascii() and len(digits) < 19 else None


def get(obj: Any, path: str) -> Any:
    """The value at ``path`` in ``obj``, or :data:`MISSING` if any step is absent."""
    for key, index in _steps(path):
        if isinstance(obj, dict):
            obj = obj.get(key, MISSING)
            if obj is MISSING:
                return MISSING
        elif isinstance(obj, list) and index is not None and -len(obj) <= index < len(obj):
            obj = obj[index]
        else:
            return MISSING
    return obj


def set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    """Store ``value`` at ``path`` in ``obj``, creating (or replacing with) objects on the way
    where a step is absent or not a container. ValueError for ``""`` or a list without that
    index on the way."""
    parts = _steps(path)
    if not parts:
        raise ValueError('got path "", expected a path to a value inside the object')
    target: Any = obj
    for key, index in parts[:-1]:
        slot: Any = _list_index(target, key, index, path) if isinstance(target, list) else key
        child = target[slot] if isinstance(target, list) else target.get(key)
        if not isinstance(child, dict | list):
            child = target[slot] = {}
        target = child
    key, index = parts[-1]
    if isinstance(target, list):
        target[_list_index(target, key, index, path)] = value
    else:
        target[key] = value


def _list_index(items: list[Any], key: str, index: int | None, path: str) -> int:
    if index is None or not -len(items) <= index < len(items):
        raise ValueError(f"path {path!r}: step {key!r} is not an index of a {len(items)}-item list")
    return index
