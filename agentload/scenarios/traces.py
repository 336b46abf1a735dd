"""Traffic traces to replay: one call a row, at its time, with its token lengths. Pure.

``load_trace(path) -> Trace`` reads a trace in one of three formats, told apart by content (a
gzip file, a JSON line, a CSV header), and returns its rows sorted by time, each with its
offset from the first row in seconds (the trace's own time: ``--speed`` divides it later):

- ``mooncake``: JSON Lines as Mooncake's FAST'25 traces (``kvcache-ai/Mooncake``,
  ``FAST25-release/traces``): ``{"timestamp": 27482, "input_length": 655, "output_length": 52,
  "hash_ids": [46, 47]}``, ``timestamp`` in milliseconds; optional ``session_id`` and
  ``scenario``; any other key with a text or number value is a template value of the row.
- ``azure``: the Azure LLM inference trace CSV (``Azure/AzurePublicDataset``,
  AzureLLMInferenceDataset2023/2024): ``TIMESTAMP,ContextTokens,GeneratedTokens`` with
  ``2023-11-16 18:15:46.6805900,4808,10`` rows; optional ``scenario`` and ``session_id``
  columns; other columns are template values.
- ``agentload``: a past run's ``requests.jsonl.gz``: each ``part: "call"`` line is a row at its
  ``intended_start`` (else ``start``), with its ``scenario`` and, when recorded, its
  ``input_tokens`` and ``output_tokens``.

Errors (a :class:`agentload.errors.ConfigError`, exit 2, before any load)::

    ConfigError
     └── TraceError   names the file, the line and what was expected, e.g.
                      trace.jsonl: line 3: field "input_length": got -1, expected a whole
                      number of tokens >= 0
"""

from __future__ import annotations

import csv
import gzip
import json
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from agentload.errors import ConfigError

TraceFormat = Literal["mooncake", "azure", "agentload"]
MAX_ROWS = 2_000_000
_GZIP_MAGIC = b"\x1f\x8b"
_MOONCAKE_KEYS = frozenset({"timestamp", "input_length", "output_length"})
_MOONCAKE_OWN = _MOONCAKE_KEYS | {"hash_ids", "session_id", "scenario"}
_AZURE_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
_AZURE_OWN = frozenset({*_AZURE_COLUMNS, "scenario", "session_id"})
EXPECTED = (
    'expected Mooncake JSON Lines ({"timestamp": ms, "input_length": n, "output_length": n}), '
    "an Azure LLM inference CSV (TIMESTAMP,ContextTokens,GeneratedTokens) or agentload's "
    "requests.jsonl.gz"
)


class TraceError(ConfigError):
    """A trace that cannot be replayed; the message names the file, the line and the form."""


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One call of a trace: when (seconds after the first row), how long its prompt and answer
    are (tokens; None: not in the trace), and what else the trace says of it."""

    offset_s: float
    input_tokens: int | None
    output_tokens: int | None
    line: int
    scenario: str | None = None
    session: str | None = None
    hash_ids: tuple[int, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Trace:
    """A trace's rows, sorted by time (rows at the same time keep the file's order)."""

    path: Path
    format: TraceFormat
    rows: tuple[TraceRow, ...]

    @property
    def span_s(self) -> float:
        """The last row's offset (the trace's length at ``--speed 1``)."""
        return self.rows[-1].offset_s if self.rows else 0.0

    @property
    def sessions(self) -> int:
        return len({row.session for row in self.rows if row.session is not None})


def load_trace(path: Path) -> Trace:
    """Read and check a trace (see the module docstring); TraceError in one line."""
    try:
        with path.open("rb") as raw:
            head = raw.read(2)
    except FileNotFoundError:
        raise TraceError(f"--trace {path}: not found, {EXPECTED}") from None
    except OSError as exc:
        raise TraceError(f"--trace {path}: not readable ({exc.strerror or exc})") from None
    try:
        if head == _GZIP_MAGIC:
            with gzip.open(path, "rt", encoding="utf-8") as text:
                return _read(path, text)
        with path.open(encoding="utf-8", newline="") as text:
            return _read(path, text)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise TraceError(f"{path}: not readable as a trace ({exc}), {EXPECTED}") from None


def _read(path: Path, text: Iterator[str]) -> Trace:
    number, first = next(((n, line) for n, line in enumerate(text, 1) if line.strip()), (0, ""))
    if not first:
        raise TraceError(f"{path}: empty, {EXPECTED}")
    if first.lstrip().startswith("{"):
        keys = set(_object(path, number, first))
        if _MOONCAKE_KEYS <= keys:
            found: TraceFormat = "mooncake"
            raw = _json_rows(path, number, first, text, _mooncake)
        elif {"entry", "scenario"} <= keys and ({"intended_start", "start"} & keys):
            found = "agentload"
            raw = _json_rows(path, number, first, text, _agentload)
        else:
            missing = ", ".join(sorted(_MOONCAKE_KEYS - keys))
            raise TraceError(f"{path}: line {number}: no {missing} in it, {EXPECTED}")
    else:
        found, raw = "azure", _azure_rows(path, number, first, text)
    rows = sorted((r for r in raw if r is not None), key=lambda r: r.offset_s)
    if not rows:
        raise TraceError(f"{path}: no rows to replay, {EXPECTED}")
    start = rows[0].offset_s
    shifted = tuple(_at(row, row.offset_s - start) for row in rows)
    return Trace(path=path, format=found, rows=shifted)


def _at(row: TraceRow, offset_s: float) -> TraceRow:
    return TraceRow(offset_s, row.input_tokens, row.output_tokens, row.line, row.scenario,
                    row.session, row.hash_ids, row.values)  # fmt: skip


def _object(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise TraceError(f"{path}: line {number}: not JSON ({exc.msg}), {EXPECTED}") from None
    if not isinstance(value, dict):
        raise TraceError(f"{path}: line {number}: not a JSON object, {EXPECTED}")
    return value


def _json_rows(
    path: Path, number: int, first: str, text: Iterator[str], make: Any
) -> Iterator[TraceRow | None]:
    yield make(path, number, _object(path, number, first))
    for at, line in enumerate(text, number + 1):
        if line.strip():
            _bound(path, at)
            yield make(path, at, _object(path, at, line))


def _bound(path: Path, number: int) -> None:
    if number > MAX_ROWS:
        raise TraceError(f"{path}: over {MAX_ROWS:,} lines, expected a shorter trace (cut it)")


def _mooncake(path: Path, number: int, obj: dict[str, Any]) -> TraceRow:
    where = f"{path}: line {number}"
    missing = sorted(_MOONCAKE_KEYS - set(obj))
    if missing:
        raise TraceError(f'{where}: no "{missing[0]}", {EXPECTED}')
    stamp = obj["timestamp"]
    if not _number(stamp) or stamp < 0:
        raise TraceError(
            f'{where}: field "timestamp": got {stamp!r}, expected milliseconds >= 0'
        )  # fmt: skip
    hashes = obj.get("hash_ids", [])
    if not isinstance(hashes, list) or not all(_whole(h) and h >= 0 for h in hashes):
        raise TraceError(f'{where}: field "hash_ids": expected a list of whole numbers >= 0')
    values = {k: v for k, v in obj.items() if k not in _MOONCAKE_OWN and _scalar(v)}
    return TraceRow(
        offset_s=float(stamp) / 1000.0,
        input_tokens=_tokens(where, "input_length", obj["input_length"]),
        output_tokens=_tokens(where, "output_length", obj["output_length"]),
        line=number,
        scenario=_name(where, "scenario", obj.get("scenario")),
        session=_name(where, "session_id", obj.get("session_id")),
        hash_ids=tuple(hashes),
        values=values,
    )


def _agentload(path: Path, number: int, obj: dict[str, Any]) -> TraceRow | None:
    """A requests.jsonl.gz line: a row for each call (its later polls and steps are the call's)."""
    if obj.get("part") != "call":
        return None
    where = f"{path}: line {number}"
    start: Any = obj.get("intended_start")
    start = obj.get("start") if start is None else start
    if not _number(start):
        raise TraceError(f'{where}: field "intended_start": got {start!r}, expected unix seconds')
    scenario = obj.get("scenario")
    if not isinstance(scenario, str) or not scenario:
        raise TraceError(f'{where}: field "scenario": got {scenario!r}, expected its name')
    known = [
        _tokens(where, name, obj[name]) if obj.get(name) is not None else None
        for name in ("input_tokens", "output_tokens")
    ]
    return TraceRow(float(start), known[0], known[1], number, scenario=scenario)


def _azure_rows(path: Path, number: int, header: str, text: Iterator[str]) -> Iterator[TraceRow]:
    columns = next(csv.reader([header]))
    columns = [c.strip() for c in columns]
    missing = [c for c in _AZURE_COLUMNS if c not in columns]
    if missing:
        shown = header.strip()[:80]
        raise TraceError(f"{path}: line {number}: header {shown!r} has no {missing[0]}, {EXPECTED}")
    first: datetime | None = None
    for at, cells in enumerate(csv.reader(text), number + 1):
        if not cells or not any(c.strip() for c in cells):
            continue
        _bound(path, at)
        where = f"{path}: line {at}"
        if len(cells) != len(columns):
            raise TraceError(f"{where}: {len(cells)} cells, expected {len(columns)} as the header")
        row = dict(zip(columns, (c.strip() for c in cells), strict=True))
        when = _datetime(where, row["TIMESTAMP"])
        first = when if first is None else first
        try:
            offset = (when - first).total_seconds()
        except TypeError:
            raise TraceError(
                f'{where}: field "TIMESTAMP": got {row["TIMESTAMP"]!r}, expected the same '
                "time zone form as the first row"
            ) from None
        yield TraceRow(
            offset_s=offset,
            input_tokens=_tokens(where, "ContextTokens", _int(row["ContextTokens"])),
            output_tokens=_tokens(where, "GeneratedTokens", _int(row["GeneratedTokens"])),
            line=at,
            scenario=_name(where, "scenario", row.get("scenario") or None),
            session=_name(where, "session_id", row.get("session_id") or None),
            values={k: v for k, v in row.items() if k not in _AZURE_OWN},
        )


def _datetime(where: str, value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise TraceError(
            f'{where}: field "TIMESTAMP": got {value!r}, expected a date and time such as '
            "2023-11-16 18:15:46.6805900"
        ) from None


def _int(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text


def _tokens(where: str, name: str, value: Any) -> int:
    if not _whole(value) or value < 0:
        raise TraceError(
            f'{where}: field "{name}": got {value!r}, expected a whole number of tokens >= 0'
        )
    return int(value)


def _name(where: str, name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise TraceError(f'{where}: field "{name}": got {value!r}, expected a name')
    return value


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)
