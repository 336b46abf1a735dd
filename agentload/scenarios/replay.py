"""Trace replay's schedule: which calls go when, on which process, with which values. Pure.

A trace (:mod:`agentload.scenarios.traces`) becomes a schedule of *items*, each taken by one
free user: a row alone, or every row of one session in order (a session's rows stay on one user,
and each waits for the session's previous call). Times are the trace's offsets divided by
``speed``; rows past ``max_duration_s`` are left out. With several load-generating processes the
items are dealt out in turn (``share``), so every row is sent once and a session stays on one
process, as k6 splits its arrivals into execution segments.

- ``resolve_replay(shape_json) -> ReplayPlan``: the runner's ``AGENTLOAD_SHAPE`` (``trace``,
  ``speed``, ``max_duration_s``, ``max_lag_s``, ``users``, ``max_users``, ``processes``,
  ``expected_latency_s``); ConfigError in one line.
- ``schedule``, ``share``, ``pool_size`` (0 users: the busiest ``expected_latency_s`` of the
  schedule x 4, plus the sessions open at once), ``assign_scenarios`` (a row's ``scenario``,
  else one drawn by the run's weights from a generator seeded with the run's seed; a session's
  rows share the first's), ``check_scenarios``.
- ``Prompts``: a row's prompt of ``input_tokens`` tokens by a token rule (the ``words`` rule is
  how the embedded engine counts), cut from the synthetic prompts' corpus; Mooncake's
  ``hash_ids`` name blocks of ``BLOCK_TOKENS`` tokens, so rows that share a prefix of hash ids
  share that prefix of text (a prefix cache sees what the trace's server saw).
  ``row_values(row, prompts)``: the row's template values (``prompt``, ``prompt_tokens``,
  ``output_tokens``, ``max_tokens``, and the trace's own), which win over the scenario's vars.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agentload.errors import ConfigError
from agentload.scenarios.traces import Trace, TraceError, TraceRow

BLOCK_TOKENS = 512  # Mooncake's hash block
HEADROOM = 4.0
MAX_POOL = 2000


class TokenRule(Protocol):
    """A token rule over a corpus (:mod:`agentload.scenarios.synthetic`'s)."""

    @property
    def tokens(self) -> Sequence[Any]: ...

    def join(self, tokens: Sequence[Any], /) -> str: ...


@dataclass(frozen=True)
class ReplayPlan:
    """What the replay shape and its users follow (from ``AGENTLOAD_SHAPE``)."""

    trace: Path
    speed: float = 1.0
    max_duration_s: float = 3600.0
    max_lag_s: float = 5.0
    users: int = 0
    max_users: int = 1000
    processes: int = 1
    expected_latency_s: float = 0.2


@dataclass(frozen=True)
class Item:
    """What one free user takes: ``rows`` (indexes into the trace's rows, in order), the first
    due ``at_s`` seconds after the schedule's origin."""

    at_s: float
    rows: tuple[int, ...]


def resolve_replay(shape_json: str | None) -> ReplayPlan:
    """The plan from the ``AGENTLOAD_SHAPE`` JSON; ConfigError naming the bad key."""
    try:
        given = json.loads(shape_json or "")
    except json.JSONDecodeError:
        given = None
    if not isinstance(given, dict) or not isinstance(given.get("trace"), str):
        raise ConfigError('AGENTLOAD_SHAPE: expected a JSON object with "trace": PATH (replay)')
    kwargs: dict[str, Any] = {"trace": Path(given["trace"])}
    for key in ("speed", "max_duration_s", "max_lag_s", "expected_latency_s"):
        if given.get(key) is not None:
            value = given[key]
            if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
                raise ConfigError(f"AGENTLOAD_SHAPE: {key} {value!r}, expected a number > 0")
            kwargs[key] = float(value)
    for key, low in (("users", 0), ("max_users", 1), ("processes", 1)):
        if given.get(key) is not None:
            value = given[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ConfigError(
                    f"AGENTLOAD_SHAPE: {key} {value!r}, expected a whole number >= {low}"
                )
            kwargs[key] = value
    return ReplayPlan(**kwargs)


def schedule(trace: Trace, speed: float, max_duration_s: float) -> list[Item]:
    """The items of the rows due within ``max_duration_s`` at ``speed``, by their first row."""
    sessions: dict[str, list[int]] = {}
    firsts: list[tuple[float, int, str | None]] = []
    for index, row in enumerate(trace.rows):
        at = row.offset_s / speed
        if at > max_duration_s:
            break  # rows are sorted by time
        if row.session is None:
            firsts.append((at, index, None))
        elif row.session in sessions:
            sessions[row.session].append(index)
        else:
            sessions[row.session] = [index]
            firsts.append((at, index, row.session))
    return [
        Item(at, tuple(sessions[session]) if session is not None else (index,))
        for at, index, session in firsts
    ]


def share(items: Sequence[Item], index: int, processes: int) -> list[Item]:
    """Process ``index``'s items of ``processes``: every ``processes``-th, from ``index``."""
    return list(items[index % processes :: processes])


def scheduled_rows(items: Sequence[Item]) -> int:
    return sum(len(item.rows) for item in items)


def pool_size(trace: Trace, items: Sequence[Item], plan: ReplayPlan) -> int:
    """Users for the whole schedule: ``plan.users``, else the most rows due within any
    ``expected_latency_s`` x ``HEADROOM``, plus the sessions open at once; within
    [2, ``max_users``]."""
    if plan.users:
        return min(plan.users, plan.max_users)
    times = sorted(trace.rows[i].offset_s / plan.speed for item in items for i in item.rows)
    busiest, low = 0, 0
    for high, at in enumerate(times):
        while at - times[low] > plan.expected_latency_s:
            low += 1
        busiest = max(busiest, high - low + 1)
    spans = [
        (items_at(trace, item, plan.speed, 0), items_at(trace, item, plan.speed, -1))
        for item in items
        if len(item.rows) > 1
    ]
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    open_now = open_most = 0
    for _, step in edges:
        open_now += step
        open_most = max(open_most, open_now)
    need = math.ceil(busiest * HEADROOM)
    return max(2, min(plan.max_users, MAX_POOL, need + open_most))


def items_at(trace: Trace, item: Item, speed: float, which: int) -> float:
    """When row ``which`` (0 the first, -1 the last) of ``item`` is due."""
    return trace.rows[item.rows[which]].offset_s / speed


def check_scenarios(trace: Trace, known: Collection[str]) -> None:
    """Every scenario a row names must be one of ``known``; TraceError naming the line."""
    for row in trace.rows:
        if row.scenario is not None and row.scenario not in known:
            raise TraceError(
                f'{trace.path}: line {row.line}: field "scenario": unknown scenario '
                f"{row.scenario!r}, expected one of {', '.join(known)}"
            )


def assign_scenarios(trace: Trace, weights: Mapping[str, float], seed: int) -> tuple[str, ...]:
    """Each row's scenario: its own, else its session's first row's, else drawn by ``weights``."""
    names = [name for name, weight in weights.items() if weight > 0]
    chances = [weights[name] for name in names]
    rng = random.Random(f"{seed}:replay")
    by_session: dict[str, str] = {}
    out: list[str] = []
    for row in trace.rows:
        name = row.scenario
        if name is None and row.session is not None:
            name = by_session.get(row.session)
        if name is None:
            name = rng.choices(names, weights=chances)[0]
        if row.session is not None:
            by_session.setdefault(row.session, name)
        out.append(name)
    return tuple(out)


class Prompts:
    """Prompts of a row's input length, cut from ``rule``'s corpus (see the module docstring)."""

    def __init__(self, rule: TokenRule, seed: int) -> None:
        self.rule = rule
        self.seed = seed

    def _offset(self, key: str) -> int:
        digest = hashlib.blake2b(f"{self.seed}:{key}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") % len(self.rule.tokens)

    def _run(self, key: str, length: int) -> list[Any]:
        tokens, offset = self.rule.tokens, self._offset(key)
        run = list(tokens[offset : offset + length])
        while len(run) < length:  # wraps round the corpus's end (bounded: each pass adds)
            run += tokens[: length - len(run)]
        return run

    def text(self, row: TraceRow) -> str:
        """``row.input_tokens`` tokens: its hash blocks' text, then (past them) its own."""
        length = row.input_tokens or 0
        tokens: list[Any] = []
        for block in row.hash_ids:
            if len(tokens) >= length:
                break
            tokens += self._run(f"block:{block}", min(BLOCK_TOKENS, length - len(tokens)))
        if len(tokens) < length:
            tokens += self._run(f"line:{row.line}", length - len(tokens))
        return self.rule.join(tokens)


def row_values(row: TraceRow, prompts: Prompts) -> dict[str, Any]:
    """The row's template values: its own, then its lengths (``prompt``, ``prompt_tokens``;
    ``output_tokens``, ``max_tokens``) where the trace has them."""
    values: dict[str, Any] = dict(row.values)
    if row.input_tokens is not None:
        values["prompt"] = prompts.text(row)
        values["prompt_tokens"] = row.input_tokens
    if row.output_tokens is not None:
        values["output_tokens"] = values["max_tokens"] = row.output_tokens
    return values


def describe(
    trace: Trace, items: Sequence[Item], speed: float, max_duration_s: float
) -> dict[str, Any]:
    """summary.json's ``replay.trace``: the file, its format and rows, and what was scheduled."""
    scheduled = scheduled_rows(items)
    return {
        "file": trace.path.name,
        "path": str(trace.path),
        "format": trace.format,
        "rows": len(trace.rows),
        "sessions": trace.sessions,
        "span_s": round(trace.span_s, 3),
        "speed": speed,
        "max_duration_s": max_duration_s,
        "scheduled": scheduled,
        "past_max_duration": len(trace.rows) - scheduled,
    }
