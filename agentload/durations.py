"""Durations as users write them: ``30s``, ``5m``, ``1h30m``, ``90`` (seconds), ``1.5s``; a part of
a run (``parse_portion``): a duration or a share of it, ``5%``."""

from __future__ import annotations

import math
import re

from agentload.errors import ConfigError

_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)")
_EXPECTED = 'expected a duration such as "30s", "5m", "1h30m", "1.5s" or a number of seconds'


def parse_duration(value: object, *, what: str = "duration") -> float:
    """Return ``value`` in seconds; raise ConfigError (quoting it) if it is not a duration >= 0."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f"{what}: got {value!r}, {_EXPECTED}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip().lower()
        seconds = _parse_text(text) if text else math.nan
        if math.isnan(seconds):
            raise ConfigError(f"{what}: got {value!r}, {_EXPECTED}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"{what}: got {value!r}, {_EXPECTED}")
    return seconds


def _parse_text(text: str) -> float:
    """Seconds for a text duration, NaN when it is not one."""
    try:
        return float(text) if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", text) else _parse_units(text)
    except ValueError:
        return math.nan


def _parse_units(text: str) -> float:
    pos, total, seen = 0, 0.0, []
    for match in _PART.finditer(text):
        if match.start() != pos:
            return math.nan
        unit = match.group(2)
        if unit in seen:
            return math.nan
        seen.append(unit)
        total += float(match.group(1)) * _UNIT_S[unit]
        pos = match.end()
    if pos != len(text) or not seen:
        return math.nan
    order = [u for u in ("h", "m", "s", "ms") if u in seen]
    return total if order == seen else math.nan


def format_duration(seconds: float) -> str:
    """``90`` -> ``"1m30s"``, ``5400`` -> ``"1h30m"``, ``1.5`` -> ``"1.5s"``, ``0`` -> ``"0s"``."""
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"cannot format duration {seconds!r}")
    whole = int(seconds)
    frac = round(seconds - whole, 3)
    if frac >= 1:
        whole, frac = whole + 1, 0.0
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs or frac or not parts:
        sec_text = f"{secs + frac:.3f}".rstrip("0").rstrip(".") if frac else str(secs)
        parts.append(f"{sec_text}s")
    return "".join(parts)


_PORTION_EXPECTED = 'expected a duration such as "10s" or a share of the run such as "5%"'


def parse_portion(value: str, *, what: str) -> tuple[float, bool]:
    """A part of a run as users write it (``--warmup 10s``, ``--warmup 5%``): ``(seconds,
    False)``, or ``(share, True)`` for a share of the run's planned length (0 <= share < 1);
    ConfigError quoting it otherwise."""
    text = value.strip()
    if not text.endswith("%"):
        try:
            return parse_duration(text, what=what), False
        except ConfigError:
            raise ConfigError(f"{what} {value!r}: {_PORTION_EXPECTED}") from None
    try:
        share = float(text[:-1]) / 100
    except ValueError:
        share = math.nan
    if not 0 <= share < 1:
        raise ConfigError(f"{what} {value!r}: {_PORTION_EXPECTED}, under 100%")
    return share, True
