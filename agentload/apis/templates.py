"""Request templates: ``{name}`` placeholders in strings, nested in objects and lists. Pure.

- a string that is exactly ``"{name}"`` becomes the value itself (an int stays an int);
- in any other string every ``{name}`` is replaced by ``str(value)``;
- ``{{`` and ``}}`` are literal braces; any other brace is literal too (``{ x }``, ``{1}``);
- names are identifiers (``[A-Za-z_][A-Za-z0-9_]*``); object keys are never templates.

An unknown name raises :class:`TemplateError` (a ``ValueError``) naming it; :func:`names`
lists the names a template uses, to check them before any load. Strings are parsed once
(cached), so :func:`fill` per request only looks values up and joins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

Filler = Callable[[Mapping[str, Any]], Any]

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


class TemplateError(ValueError):
    """A template uses a name that has no value."""


def fill(template: Any, values: Mapping[str, Any]) -> Any:
    """``template`` with every placeholder replaced from ``values`` (see the module docstring)."""
    if isinstance(template, str):
        return _compile_string(template)(values)
    if isinstance(template, dict):
        return {key: fill(item, values) for key, item in template.items()}
    if isinstance(template, list):
        return [fill(item, values) for item in template]
    return template


def compile_template(template: Any) -> Filler:
    """A function filling ``template`` from values: :func:`fill` without the walk per call."""
    if isinstance(template, str):
        return _compile_string(template)
    if isinstance(template, dict):
        items = [(key, compile_template(item)) for key, item in template.items()]
        return lambda values: {key: item(values) for key, item in items}
    if isinstance(template, list):
        parts = [compile_template(item) for item in template]
        return lambda values: [part(values) for part in parts]
    return lambda values: template


def names(template: Any) -> set[str]:
    """Every placeholder name ``template`` uses."""
    if isinstance(template, str):
        return {part for is_name, part in _parse(template) if is_name}
    if isinstance(template, dict):
        return set().union(*(names(item) for item in template.values()))
    if isinstance(template, list):
        return set().union(*(names(item) for item in template))
    return set()


@lru_cache(maxsize=1024)
def _parse(template: str) -> tuple[tuple[bool, str], ...]:
    """The parts of a string: ``(False, literal)`` or ``(True, name)``; adjacent literals joined."""
    parts: list[tuple[bool, str]] = []
    literal: list[str] = []
    start = 0
    for match in _TOKEN.finditer(template):
        literal.append(template[start : match.start()])
        start = match.end()
        name = match.group(1)
        if name is None:
            literal.append(match.group()[0])
            continue
        if any(literal):
            parts.append((False, "".join(literal)))
        literal = []
        parts.append((True, name))
    literal.append(template[start:])
    if any(literal):
        parts.append((False, "".join(literal)))
    return tuple(parts)


@lru_cache(maxsize=1024)
def _compile_string(template: str) -> Filler:
    parts = _parse(template) if "{" in template or "}" in template else ((False, template),)
    if len(parts) == 1 and parts[0][0]:
        name = parts[0][1]
        return lambda values: _lookup(values, name, template)
    if not any(is_name for is_name, _ in parts):
        text = "".join(part for _, part in parts)
        return lambda values: text
    return lambda values: "".join(
        str(_lookup(values, part, template)) if is_name else part for is_name, part in parts
    )


def _lookup(values: Mapping[str, Any], name: str, template: str) -> Any:
    try:
        return values[name]
    except KeyError:
        known = ", ".join(sorted(values)) or "none"
        raise TemplateError(
            f"template {template!r}: unknown name {name!r}, expected one of {known}"
        ) from None
