"""Evaluating parsed gates on a summary dict (pure): ``evaluate``, ``expand``, ``should_abort``,
``shown_expr``. A gate on a figure with a 95 % interval is decided on it
(:mod:`agentload.gates.evidence`: pass, fail or inconclusive)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from agentload.errors import ConfigError
from agentload.gates.arrivals import observe_arrivals
from agentload.gates.client import Observed, observe_client
from agentload.gates.evidence import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    Evidence,
    decide,
    evidence,
    inconclusive_reason,
    interval_text,
)
from agentload.gates.grammar import (
    EVERY,
    LLM_METRICS,
    STRESS_METRICS,
    Gate,
    format_value,
    limit,
)
from agentload.gates.llm import is_stream_entry, observe_llm
from agentload.gates.server import observe_server
from agentload.gates.stress import observe_stress

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class GateResult:
    """One gate's outcome; ``observed`` None means not evaluable (counts as failed).

    ``status`` is ``pass``, ``fail`` or ``inconclusive`` (the threshold inside ``ci``, the
    interval it was decided on); ``passed`` is False only when the result counts against the
    run: a fail, or an inconclusive one that was not allowed."""

    name: str
    expr: str
    observed: float | None
    passed: bool
    reason: str
    threshold: float = math.nan
    op: str = ""
    status: str = ""
    ci: tuple[float | None, float | None] | None = None
    samples_needed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "expr": self.expr,
            "observed": self.observed,
            "passed": self.passed,
            "status": self.status or (PASS if self.passed else FAIL),
            "ci": list(self.ci) if self.ci is not None else None,
            "samples_needed": self.samples_needed,
            "threshold": self.threshold,
            "reason": self.reason,
        }


def evaluate(
    gates: Sequence[Gate],
    summary: Mapping[str, Any],
    *,
    strict: bool = True,
    allow_inconclusive: bool = False,
) -> list[GateResult]:
    """Evaluate every gate on a summary dict (keys ``endpoints``, ``totals``, ``agent_outcomes``,
    ``server_side``, ``stress``, ``arrivals``). An entry the run does not have is a ConfigError
    when ``strict`` (after the run), a failed not-evaluable result otherwise (mid-run checks).
    An inconclusive result passes only with ``allow_inconclusive``."""
    results = []
    for gate in expand(gates, summary):
        try:
            observed, note = observe(gate, summary)
        except ConfigError:
            if strict:
                raise
            observed, note = None, f"no requests for {gate.entry!r}"
        if observed is None:
            results.append(
                GateResult(gate.name, gate.expr, None, False, note, gate.threshold, gate.op, FAIL)
            )
            continue
        results.append(_decided(gate, observed, note, evidence(gate, summary), allow_inconclusive))
    return results


def _decided(
    gate: Gate, observed: float, note: str, found: Evidence | None, allow_inconclusive: bool
) -> GateResult:
    """The result of a gate with a value: on its interval when it has one, else on the value."""
    if found is not None:
        status, needed = decide(gate, observed, found)
    else:
        status, needed = (PASS if gate.check(observed) else FAIL), None
    reason = f"observed {format_value(gate.metric, observed)}"
    reason += (f" ({note})" if note else "") + (
        "" if status == PASS else f", expected {_want(gate)}"
    )
    if found is not None and status == INCONCLUSIVE:
        reason += f"; {inconclusive_reason(gate, found, needed)}"
    elif found is not None:
        reason += f"; 95 % interval {interval_text(gate.metric, found.ci)}"
    passed = status == PASS or (status == INCONCLUSIVE and allow_inconclusive)
    ci = found.ci if found is not None else None
    return GateResult(
        gate.name, gate.expr, observed, passed, reason, gate.threshold, gate.op, status, ci, needed
    )


def observe(gate: Gate, summary: Mapping[str, Any]) -> Observed:
    """The gate's value in canonical units and a note (why it is None, or what it is)."""
    if gate.metric in STRESS_METRICS:
        return observe_stress(gate, summary)
    if gate.metric == "dropped_rate":
        return observe_arrivals(gate, summary)
    if gate.metric in LLM_METRICS or (not gate.server and is_stream_entry(gate.entry)):
        return observe_llm(gate, summary)
    if gate.server:
        return observe_server(gate, summary)
    return observe_client(gate, summary)


def expand(gates: Sequence[Gate], summary: Mapping[str, Any]) -> list[Gate]:
    """Each ``*`` gate as one gate per HTTP entry (per scenario for agent success) of the run;
    a ``*`` gate with none stays as it is (and is not evaluable)."""
    expanded: list[Gate] = []
    for gate in gates:
        if gate.entry != EVERY or gate.server:
            expanded.append(gate)
            continue
        if gate.metric == "agent_success_rate":
            names = sorted(summary.get("agent_outcomes") or {})
        elif gate.metric == "goodput":
            names = sorted(summary.get("goodput") or {})
        else:
            names = sorted(k for k in summary.get("endpoints") or {} if _is_http(k))
        if not names and gate.metric == "agent_success_rate" and summary.get("endpoints"):
            continue  # requests but no recorded outcomes (a locustfile of your own): HTTP only
        expanded += [replace(gate, entry=name) for name in names] or [gate]
    return expanded


def should_abort(results: Sequence[GateResult], elapsed_s: float, grace_s: float) -> str | None:
    """The abort reason when, past the grace period, a gate evaluated and failed (k6's
    abortOnFail with delayAbortEval); None otherwise. Not-evaluable and inconclusive gates
    never abort: only a figure whose whole interval is on the wrong side does."""
    if elapsed_s < grace_s:
        return None
    for result in results:
        if not result.passed and result.observed is not None and result.status == FAIL:
            return f"gate {result.expr!r} failing after {grace_s:g}s grace: {result.reason}"
    return None


def shown_expr(name: str, expr: str) -> str:
    """A result's expression as it was evaluated: a ``*`` gate's names its entry or scenario
    (``agent_success_rate(*) >= 95%`` on ``chat``: ``agent_success_rate(chat) >= 95%``)."""
    _, star, rest = expr.partition("(*)")
    if not star or not name or name.endswith("(*)"):
        return expr
    return name + rest


def _is_http(entry: str) -> bool:
    return entry.split(" ", 1)[0] in HTTP_METHODS


def _want(gate: Gate) -> str:
    return f"{gate.op} {limit(gate)}"
