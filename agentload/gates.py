"""k6-style pass/fail gates over a run's summary.

Grammar (one expression per gate)::

    gate   := ["server."] metric ["(" entry ")"] op number [unit]
    metric := p50 | p90 | p95 | p99 | max | avg          latency of an entry, unit ms (default) or s
            | error_rate | agent_success_rate            a share, unit % (or a fraction 0..1)
            | rps | requests | failures                  plain numbers
    op     := < | <= | > | >= | == | !=

Examples: ``p95(POST /v1/chat/completions) < 800ms``, ``p99(TTC report) < 30s``,
``error_rate < 1%``, ``agent_success_rate(chat) >= 95%``, ``rps(GET /health) > 50``,
``server.p95(/v1/chat/completions) < 900ms`` (from ``summary["server_side"]``, routes as the
server's ``route`` label).

The entry ``*`` means each one: ``p95(*) < 5s`` and ``error_rate(*) < 1%`` are evaluated for
every HTTP entry of the run (request type an HTTP method; not the TTFT/TPOT/TTC timings),
``agent_success_rate(*) >= 95%`` for every scenario with outcomes; each gives its own result
(``p95(GET /health)``). With no such entry in the run, one failed result says so. This is how the
stock profiles gate any API without naming its routes.

API: ``parse_gate(expr) -> Gate`` (ConfigError), ``parse_gates(exprs)``,
``evaluate(gates, summary, strict=True) -> list[GateResult]`` (GateResult: name, expr, observed,
passed, reason, threshold, op; ``to_dict()`` for summary.json),
``should_abort(results, elapsed_s, grace_s) -> str | None`` (the reason), ``format_value``.
Evaluation is a pure function of the summary dict (see ``agentload.summary``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from agentload.errors import ConfigError

LATENCY_METRICS = ("p50", "p90", "p95", "p99", "max", "avg")
RATE_METRICS = ("error_rate", "agent_success_rate")
COUNT_METRICS = ("rps", "requests", "failures")
METRICS = LATENCY_METRICS + RATE_METRICS + COUNT_METRICS
EVERY = "*"
#: Routes of the target's own plumbing, left out of server-side totals.
INTERNAL_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
EXPECTED_FORM = (
    'expected "<metric>[(<entry>)] <op> <number>[ms|s|%]", e.g. "p95(POST /v1/chat/completions) '
    '< 800ms" or "error_rate < 1%"'
)

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_GATE = re.compile(
    r"^\s*(?P<server>server\.)?(?P<metric>[A-Za-z_][A-Za-z_0-9]*)\s*"
    r"(?:\((?P<entry>[^()]*)\))?\s*(?P<op><=|>=|==|!=|<|>)\s*"
    r"(?P<num>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*(?P<unit>ms|s|%)?\s*$",
    re.ASCII,
)


@dataclass(frozen=True)
class Gate:
    """A parsed gate; ``threshold`` is in canonical units (ms for latency, a fraction for rates)."""

    expr: str
    metric: str
    entry: str | None
    op: str
    threshold: float
    server: bool = False

    @property
    def name(self) -> str:
        """The measured side, e.g. ``p95(POST /v1/chat/completions)``."""
        prefix = "server." if self.server else ""
        return f"{prefix}{self.metric}" + (f"({self.entry})" if self.entry else "")

    def check(self, observed: float) -> bool:
        return _OPS[self.op](observed, self.threshold)


@dataclass(frozen=True)
class GateResult:
    """One gate's outcome; ``observed`` None means not evaluable (counts as failed)."""

    name: str
    expr: str
    observed: float | None
    passed: bool
    reason: str
    threshold: float = math.nan
    op: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "expr": self.expr,
            "observed": self.observed,
            "passed": self.passed,
            "threshold": self.threshold,
            "reason": self.reason,
        }


def format_value(metric: str, value: float | None) -> str:
    """Human form of a canonical value: ``812ms``, ``1.2%``, ``20.5``; ``n/a`` for None."""
    if value is None:
        return "n/a"
    if metric in LATENCY_METRICS:
        return f"{value:.0f}ms" if value < 10_000 else f"{value / 1000:.3g}s"
    if metric in RATE_METRICS:
        return f"{value * 100:.4g}%"
    return f"{value:.4g}"


def parse_gate(expr: str) -> Gate:
    """Parse one expression; ConfigError naming it and the expected form when malformed."""
    if not isinstance(expr, str):
        raise ConfigError(f"gate {expr!r} is not a string; {EXPECTED_FORM}")
    match = _GATE.match(expr)
    if match is None:
        raise ConfigError(f"gate {expr!r} is malformed; {EXPECTED_FORM}")
    metric, unit = match["metric"], match["unit"]
    entry = " ".join(match["entry"].split()) if match["entry"] is not None else None
    if metric not in METRICS:
        raise ConfigError(f"gate {expr!r}: unknown metric {metric!r}, expected one of {METRICS}")
    if entry == "":
        raise ConfigError(f"gate {expr!r}: empty entry in parentheses; {EXPECTED_FORM}")
    if metric in LATENCY_METRICS and entry is None:
        raise ConfigError(
            f"gate {expr!r}: {metric} needs an entry, e.g. {metric}(POST /v1/chat/completions)"
        )
    value = float(match["num"])
    if metric in LATENCY_METRICS:
        if unit == "%":
            raise ConfigError(f"gate {expr!r}: {metric} takes ms or s, not %")
        value = value * 1000 if unit == "s" else value
    elif metric in RATE_METRICS:
        if unit in ("ms", "s"):
            raise ConfigError(f"gate {expr!r}: {metric} takes % (e.g. 1%) or a fraction 0..1")
        if unit == "%":
            value /= 100
        if value > 1:
            raise ConfigError(f"gate {expr!r}: {metric} {value:g} is above 1; write it as a %")
    elif unit is not None:
        raise ConfigError(f"gate {expr!r}: {metric} takes no unit, got {unit!r}")
    return Gate(expr.strip(), metric, entry, match["op"], value, bool(match["server"]))


def parse_gates(exprs: Iterable[str]) -> list[Gate]:
    return [parse_gate(e) for e in exprs]


def evaluate(
    gates: Sequence[Gate], summary: Mapping[str, Any], *, strict: bool = True
) -> list[GateResult]:
    """Evaluate every gate on a summary dict (keys ``endpoints``, ``totals``, ``agent_outcomes``,
    ``server_side``). An entry the run does not have is a ConfigError when ``strict`` (after the
    run), a failed not-evaluable result otherwise (mid-run checks)."""
    results = []
    for gate in expand(gates, summary):
        try:
            observed, reason = _observe(gate, summary)
        except ConfigError:
            if strict:
                raise
            observed, reason = None, f"entry {gate.entry!r} not seen yet"
        if observed is None:
            results.append(
                GateResult(gate.name, gate.expr, None, False, reason, gate.threshold, gate.op)
            )
            continue
        passed = gate.check(observed)
        shown = format_value(gate.metric, observed)
        reason = f"observed {shown}" + ("" if passed else f", expected {gate.op} {_limit(gate)}")
        results.append(
            GateResult(gate.name, gate.expr, observed, passed, reason, gate.threshold, gate.op)
        )
    return results


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
        else:
            names = sorted(k for k in summary.get("endpoints") or {} if _is_http(k))
        if not names and gate.metric == "agent_success_rate" and summary.get("endpoints"):
            continue  # requests but no recorded outcomes (a locustfile of your own): HTTP only
        expanded += [replace(gate, entry=name) for name in names] or [gate]
    return expanded


def _is_http(entry: str) -> bool:
    return entry.split(" ", 1)[0] in HTTP_METHODS


def should_abort(results: Sequence[GateResult], elapsed_s: float, grace_s: float) -> str | None:
    """The abort reason when, past the grace period, a gate evaluated and failed (k6's
    abortOnFail with delayAbortEval); None otherwise. Not-evaluable gates never abort."""
    if elapsed_s < grace_s:
        return None
    for result in results:
        if not result.passed and result.observed is not None:
            return f"gate {result.expr!r} failing after {grace_s:g}s grace: {result.reason}"
    return None


def _limit(gate: Gate) -> str:
    return format_value(gate.metric, gate.threshold)


def _observe(gate: Gate, summary: Mapping[str, Any]) -> tuple[float | None, str]:
    if gate.entry == EVERY:
        what = "scenario with agent outcomes" if gate.metric == "agent_success_rate" else "entry"
        return None, f"no {what} in this run to evaluate {gate.metric}(*) on"
    if gate.server:
        return _observe_server(gate, summary)
    if gate.metric == "agent_success_rate":
        return _observe_success(gate, summary)
    if gate.entry is None:
        totals = summary.get("totals") or {}
        return _number(totals.get(gate.metric), f"no {gate.metric} in this run")
    stats = _entry_stats(gate, summary.get("endpoints") or {})
    return _number(stats.get(_key(gate.metric)), f"no requests for {gate.entry!r}")


def _observe_success(gate: Gate, summary: Mapping[str, Any]) -> tuple[float | None, str]:
    if gate.entry is None:
        totals = summary.get("totals") or {}
        return _number(totals.get("agent_success_rate"), "no agent outcomes in this run")
    outcomes = (summary.get("agent_outcomes") or {}).get(gate.entry) or {}
    return _number(outcomes.get("success_rate"), f"no {gate.entry} outcomes in this run")


def _observe_server(gate: Gate, summary: Mapping[str, Any]) -> tuple[float | None, str]:
    """Read H7's ``server_side``: ``routes[ROUTE]`` (``p95_ms``, ``rps``, ``error_rate``,
    ``requests``, ``errors_5xx``), top-level ``rps``/``requests``/``agent_success_rate`` and
    ``agents[AGENT]["success_rate"]``; ``{"missing": reason}`` without Prometheus."""
    server = summary.get("server_side") or {}
    routes = server.get("routes") or {}
    if not routes and not server.get("source"):
        reason = server.get("missing") or "no Prometheus data"
        return None, f"server-side view missing: {reason}"
    if gate.metric == "agent_success_rate":
        if gate.entry is None:
            return _number(server.get("agent_success_rate"), "no agent outcomes on the server")
        agent = (server.get("agents") or {}).get(gate.entry) or {}
        return _number(agent.get("success_rate"), f"no {gate.entry} outcomes on the server")
    if gate.entry is None:
        if gate.metric in ("error_rate", "failures"):
            v1 = [r for name, r in routes.items() if name not in INTERNAL_ROUTES]
            errors = sum(int(r.get("errors_5xx") or 0) for r in v1)
            requests = sum(int(r.get("requests") or 0) for r in v1)
            if gate.metric == "failures":
                return float(errors), ""
            return (errors / requests, "") if requests else (None, "no requests on the server")
        return _number(server.get(gate.metric), f"no server-side {gate.metric}")
    route = routes.get(gate.entry)
    if route is None:
        client_names = {key.split(" ", 1)[-1] for key in summary.get("endpoints") or {}}
        if gate.entry in client_names:
            return None, f"route {gate.entry!r} missing from the server-side view"
        raise ConfigError(
            f"gate {gate.expr!r}: unknown route {gate.entry!r}, the server view has "
            f"{sorted(routes)}"
        )
    key = "errors_5xx" if gate.metric == "failures" else _key(gate.metric)
    return _number(route.get(key), f"no server-side {gate.metric} for {gate.entry!r}")


def _entry_stats(gate: Gate, endpoints: Mapping[str, Any]) -> Mapping[str, Any]:
    assert gate.entry is not None
    if gate.entry in endpoints:
        return endpoints[gate.entry]  # type: ignore[no-any-return]
    by_name = [key for key in endpoints if key.split(" ", 1)[-1] == gate.entry]
    if len(by_name) == 1:
        return endpoints[by_name[0]]  # type: ignore[no-any-return]
    known = ", ".join(sorted(endpoints)) or "none"
    hint = f" (ambiguous: {by_name})" if by_name else ""
    raise ConfigError(f"gate {gate.expr!r}: unknown entry {gate.entry!r}{hint}; entries: {known}")


def _key(metric: str) -> str:
    return f"{metric}_ms" if metric in LATENCY_METRICS else metric


def _number(value: Any, reason: str) -> tuple[float | None, str]:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value), ""
    return None, reason
