"""A gate expression's grammar: the metrics, their units, ``parse_gate`` and ``format_value``.

See the package docstring (``agentload.gates``) for the grammar itself.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from agentload.errors import ConfigError

LATENCY_METRICS = ("p50", "p90", "p95", "p99", "max", "avg")
RATE_METRICS = ("error_rate", "agent_success_rate", "dropped_rate", "peak_error_rate", "goodput")
COUNT_METRICS = ("rps", "requests", "failures")
#: LLM figures (``summary["llm"]``, ``summary["sweep"]``): plain numbers, no ``server.``.
LLM_METRICS = ("output_tokens_per_s", "total_tokens_per_s", "goodput", "max_rate_under_slo")
#: The stress search's results (``summary["stress"]``): no entry, no ``server.``.
STRESS_METRICS = ("knee_rps", "max_rps", "peak_error_rate", "knee_found")
#: Metrics of the whole run only (no entry, no ``server.``).
RUN_METRICS = (*STRESS_METRICS, "dropped_rate", "max_rate_under_slo")
#: True/false metrics: the bare name means ``name == true``.
FLAG_METRICS = ("knee_found",)
METRICS = (
    LATENCY_METRICS
    + RATE_METRICS
    + COUNT_METRICS
    + ("knee_rps", "max_rps", "knee_found", "output_tokens_per_s", "total_tokens_per_s")
    + ("max_rate_under_slo",)
)
EVERY = "*"
EXPECTED_FORM = (
    'expected "<metric>[(<entry>)] <op> <number>[ms|s|%]", e.g. "p95(POST /v1/chat/completions) '
    '< 800ms" or "error_rate < 1%", or a bare flag such as "knee_found"'
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
_FLAG = re.compile(r"^\s*(?P<metric>[A-Za-z_][A-Za-z_0-9]*)\s*$", re.ASCII)


@dataclass(frozen=True)
class Gate:
    """A parsed gate; ``threshold`` is in canonical units (ms for latency, a fraction for rates,
    1 or 0 for a flag)."""

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


def format_value(metric: str, value: float | None) -> str:
    """Human form of a canonical value: ``812ms``, ``1.2%``, ``20.5``, ``true``; ``n/a`` for
    None."""
    if value is None:
        return "n/a"
    if metric in LATENCY_METRICS:
        return f"{value:.0f}ms" if value < 10_000 else f"{value / 1000:.3g}s"
    if metric in RATE_METRICS:
        return f"{value * 100:.4g}%"
    if metric in FLAG_METRICS:
        return "true" if value else "false"
    return f"{value:.4g}"


def parse_gate(expr: str) -> Gate:
    """Parse one expression; ConfigError naming it and the expected form when malformed."""
    if not isinstance(expr, str):
        raise ConfigError(f"gate {expr!r} is not a string; {EXPECTED_FORM}")
    flag = _FLAG.match(expr)
    if flag is not None and flag["metric"] in FLAG_METRICS:
        return Gate(expr.strip(), flag["metric"], None, "==", 1.0)
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
    if metric in LLM_METRICS and match["server"]:
        raise ConfigError(f"gate {expr!r}: {metric} is a client figure, written without server.")
    if metric in RUN_METRICS and (entry is not None or match["server"]):
        raise ConfigError(
            f"gate {expr!r}: {metric} is a figure of the whole run, written without "
            f"server. or an entry, e.g. {'knee_found' if metric in FLAG_METRICS else metric}"
            + ("" if metric in FLAG_METRICS else " >= 50")
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
    elif metric in FLAG_METRICS and value not in (0.0, 1.0):
        raise ConfigError(f"gate {expr!r}: {metric} is true (1) or false (0), got {value:g}")
    return Gate(expr.strip(), metric, entry, match["op"], value, bool(match["server"]))


def parse_gates(exprs: Iterable[str]) -> list[Gate]:
    return [parse_gate(e) for e in exprs]


def limit(gate: Gate) -> str:
    """The gate's threshold in human form."""
    return format_value(gate.metric, gate.threshold)


def finite(value: object) -> float | None:
    """A finite number as a float, else None (bools are not numbers here)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
