"""What the client measured: ``totals``, ``endpoints[ENTRY]`` and ``agent_outcomes[SCENARIO]``.

Each ``observe_*`` returns ``(value, reason)``: the value in canonical units, or None and why it
is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentload.errors import ConfigError
from agentload.gates.grammar import EVERY, LATENCY_METRICS, Gate, finite

Observed = tuple[float | None, str]


def observe_client(gate: Gate, summary: Mapping[str, Any]) -> Observed:
    """A latency, rate or count of the run's totals or of one entry; agent success per scenario."""
    if gate.entry == EVERY:
        what = "scenario with agent outcomes" if gate.metric == "agent_success_rate" else "entry"
        return None, f"no {what} in this run to evaluate {gate.metric}(*) on"
    if gate.metric == "agent_success_rate":
        return _observe_success(gate, summary)
    if gate.entry is None:
        totals = summary.get("totals") or {}
        return number(totals.get(gate.metric), f"no {gate.metric} in this run")
    stats = _entry_stats(gate, summary.get("endpoints") or {})
    return number(stats.get(key(gate.metric)), _missing(gate.entry, stats))


def _missing(entry: str, stats: Mapping[str, Any]) -> str:
    """Why an entry has no value: no requests, or every one failed (latencies are successes')."""
    requests, failures = stats.get("requests") or 0, stats.get("failures") or 0
    if requests and failures >= requests:
        return f"all {requests} requests of {entry!r} failed"
    return f"no requests for {entry!r}"


def _observe_success(gate: Gate, summary: Mapping[str, Any]) -> Observed:
    if gate.entry is None:
        totals = summary.get("totals") or {}
        return number(totals.get("agent_success_rate"), "no agent outcomes in this run")
    outcomes = (summary.get("agent_outcomes") or {}).get(gate.entry) or {}
    return number(outcomes.get("success_rate"), f"no {gate.entry} outcomes in this run")


def _entry_stats(gate: Gate, endpoints: Mapping[str, Any]) -> Mapping[str, Any]:
    assert gate.entry is not None
    if gate.entry in endpoints:
        return endpoints[gate.entry]  # type: ignore[no-any-return]
    by_name = [name for name in endpoints if name.split(" ", 1)[-1] == gate.entry]
    if len(by_name) == 1:
        return endpoints[by_name[0]]  # type: ignore[no-any-return]
    known = ", ".join(sorted(endpoints)) or "none"
    hint = f" (ambiguous: {by_name})" if by_name else ""
    raise ConfigError(f"gate {gate.expr!r}: unknown entry {gate.entry!r}{hint}; entries: {known}")


def key(metric: str) -> str:
    """The summary key of a metric: ``p95`` → ``p95_ms``, ``rps`` → ``rps``."""
    return f"{metric}_ms" if metric in LATENCY_METRICS else metric


def number(value: Any, reason: str) -> Observed:
    """``(value, "")`` for a finite number, else ``(None, reason)``."""
    found = finite(value)
    return (found, "") if found is not None else (None, reason)
