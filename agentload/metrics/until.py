"""Run until precise (``agentload run --until``), pure: the targets, what the data says of them,
and the sentences that say why the run stopped.

Grammar, one target per ``--until``: ``<metric>(<entry>) ±<number>%`` (``+-`` for ``±``):

- ``p50 | p90 | p95 | p99 | p999``: a percentile of the entry's successful requests (ms), its
  95 % interval from order statistics over the exact histogram;
- ``rps``: the entry's requests per second (Poisson interval);
- ``error_rate``: the entry's failed share (Wilson interval).

A percentile's or a rate's precision is relative: the larger distance from the figure to a
bound, over the figure (±2 % of 190 ms is ±3.8 ms). A share's is absolute, in percentage points
(``error_rate(*) ±0.5%``: the interval within half a point of the rate), since a share is often 0,
where no relative precision exists. The entry is the plan's ``METHOD /path`` (or the path alone
when one method has it), or ``*``: every HTTP entry of the run, each on its own as in a gate, the
run precise when all are. Only a phase that holds one load can stop early: shape ``none`` (the
closed loop: ``smoke``) and ``open_model`` (``rate``); not a ramp of stages, the stress steps,
the sweep or the profile phase, whose length is their design.

API: ``parse_target(expr) -> Target`` and ``check_targets(exprs, phase=, shape=, entries=,
web=) -> list[Target]`` (ConfigError ``--until '...': ... expected ...``), ``read_targets(targets,
observed) -> list[Reading]``, ``all_precise(readings)``, ``until_section(readings, ...)``
(summary.json's ``until``) and ``stop_lines(section)`` (the console's last lines).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from agentload.errors import ConfigError
from agentload.metrics.intervals import (
    Interval,
    poisson_interval,
    quantile_interval_ms,
    relative_half_width,
    samples_for,
    wilson_interval,
)
from agentload.metrics.latency import EntryLatency, count, percentiles_ms

QUANTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99, "p999": 0.999}
RATE, SHARE = "rps", "error_rate"
METRICS = (*QUANTILES, RATE, SHARE)
EVERY = "*"
SHAPES = ("none", "open_model")  # a phase that holds one load
PRECISE, CAP, ABORTED, EARLY = "precise", "cap", "aborted", "early"  # stopped_because
EXPECTED_FORM = (
    'expected "<metric>(<entry>) ±<number>%", e.g. "p95(POST /v1/chat/completions) ±2%" '
    f"(+- for ±; metric one of {', '.join(METRICS)}; entry one of the plan's or *)"
)
_HTTP = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_TARGET = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][A-Za-z_0-9]*)\s*\((?P<entry>[^()]*)\)\s*(?:±|\+-|\+/-)\s*"
    r"(?P<num>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*%\s*$"
)


@dataclass(frozen=True)
class Target:
    """One ``--until``: ``precision`` a fraction (0.02), relative, or absolute for a share."""

    expr: str
    metric: str
    entry: str
    precision: float


@dataclass
class Observed:
    """What the run measured so far: per entry its latencies (exact histograms) and its request
    and failure counts, over ``seconds``."""

    latencies: dict[str, EntryLatency] = field(default_factory=dict)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class Reading:
    """A target read on one entry: the figure, its 95 % interval, the half-width (relative, or
    absolute for a share), the samples, and about how many would make it precise."""

    target: Target
    entry: str
    value: float | None = None
    interval: Interval = (None, None)
    half_width: float | None = None
    samples: int = 0
    needed: int | None = None

    @property
    def name(self) -> str:
        return f"{self.target.metric}({self.entry})"

    @property
    def precise(self) -> bool:
        return self.half_width is not None and self.half_width <= self.target.precision

    def to_dict(self) -> dict[str, Any]:
        width = self.half_width
        return {
            "expr": self.target.expr,
            "name": self.name,
            "metric": self.target.metric,
            "entry": self.entry,
            "unit": _UNITS.get(self.target.metric, "ms"),
            "precision": self.target.precision,
            "relative": self.target.metric != SHARE,
            "value": _round(self.value),
            "interval": [_round(bound) for bound in self.interval],
            "half_width": _round(width) if width is None or math.isfinite(width) else None,
            "samples": self.samples,
            "precise": self.precise,
            "samples_needed": None if self.precise else self.needed,
        }


_UNITS = {RATE: "1/s", SHARE: "share"}


def _round(value: float | None) -> float | None:
    return round(value, 6) if value is not None else None


def parse_target(expr: str) -> Target:
    """One ``--until`` expression; ConfigError naming it and the expected form."""
    match = _TARGET.match(expr)
    if match is None:
        raise ConfigError(f"--until {expr!r}: {EXPECTED_FORM}")
    metric, entry = match["metric"], " ".join(match["entry"].split())
    if metric not in METRICS:
        raise ConfigError(f"--until {expr!r}: unknown metric {metric!r}, {EXPECTED_FORM}")
    if not entry:
        raise ConfigError(f"--until {expr!r}: empty entry in parentheses, {EXPECTED_FORM}")
    precision = float(match["num"]) / 100
    if not 0 < precision < 1:
        raise ConfigError(f"--until {expr!r}: ±{match['num']}% is out of range, expected 0-100%")
    return Target(expr.strip(), metric, entry, precision)


def check_targets(
    exprs: Sequence[str], *, phase: str, shape: str, entries: Sequence[str] | None, web: bool
) -> list[Target]:
    """Parse ``exprs`` and check them before any load: a phase that holds one load, a headless
    run, entries of the plan (``entries`` None: not known, a locustfile of your own). Each
    target's entry comes back as the plan names it."""
    targets = [parse_target(expr) for expr in exprs]
    if not targets:
        return []
    if shape not in SHAPES:
        raise ConfigError(
            f"--until {targets[0].expr!r}: the {phase} phase (shape {shape}) cannot stop early, "
            "its length is its design; expected a phase that holds one load: smoke, rate, or "
            "a profile of shape none or open_model"
        )
    if web:
        raise ConfigError(
            f"--until {targets[0].expr!r}: the web UI starts and stops the load, expected a "
            "headless run (without --web)"
        )
    return [_resolved(target, entries) for target in targets]


def _resolved(target: Target, entries: Sequence[str] | None) -> Target:
    if entries is None or target.entry == EVERY or target.entry in entries:
        return target
    by_path = [known for known in entries if known.split(" ", 1)[-1] == target.entry]
    if len(by_path) == 1:
        return replace(target, entry=by_path[0])
    expected = by_path if by_path else [e for e in entries if _is_http(e)] + [EVERY]
    what = "is ambiguous" if by_path else "is not an entry of the plan"
    raise ConfigError(
        f"--until {target.expr!r}: {target.entry!r} {what}, expected one of {', '.join(expected)}"
    )


def _is_http(entry: str) -> bool:
    return entry.split(" ", 1)[0] in _HTTP


def read_targets(targets: Sequence[Target], observed: Observed) -> list[Reading]:
    """Each target on its entry (a ``*`` target on every HTTP entry seen so far)."""
    readings = []
    seen = sorted(set(observed.latencies) | set(observed.counts))
    for target in targets:
        if target.entry == EVERY:
            names = [name for name in seen if _is_http(name)] or [EVERY]
        else:
            by_path = [name for name in seen if name.split(" ", 1)[-1] == target.entry]
            names = [target.entry if target.entry in seen or len(by_path) != 1 else by_path[0]]
        readings += [_read(target, name, observed) for name in names]
    return readings


def _read(target: Target, entry: str, observed: Observed) -> Reading:
    metric, precision = target.metric, target.precision
    if metric in QUANTILES:
        latency = observed.latencies.get(entry)
        hist = latency.ok if latency is not None else None
        n, q = count(hist), QUANTILES[metric]
        if hist is None or n == 0:
            return Reading(target, entry)
        value = percentiles_ms(hist, [q])[0]
        interval = quantile_interval_ms(hist, q)
        width = relative_half_width(value, interval)
        needed = samples_for(n, value, interval, q, target=precision)
        return Reading(target, entry, value, interval, width, n, needed)
    requests, failures = observed.counts.get(entry, (0, 0))
    if requests == 0:
        return Reading(target, entry)
    if metric == RATE:
        seconds = observed.seconds
        value = requests / seconds if seconds > 0 else None
        interval = poisson_interval(requests, seconds)
        width = relative_half_width(value, interval)
        needed = samples_for(requests, value, interval, target=precision)
        return Reading(target, entry, value, interval, width, requests, needed)
    share = failures / requests
    interval = wilson_interval(failures, requests)
    lo, hi = interval
    width = max(share - lo, hi - share) if lo is not None and hi is not None else None
    needed = math.ceil(requests * (width / precision) ** 2) if width else None
    return Reading(target, entry, share, interval, width, requests, needed)


def all_precise(readings: Sequence[Reading]) -> bool:
    return bool(readings) and all(reading.precise for reading in readings)


def until_section(
    readings: Sequence[Reading],
    *,
    stopped_because: str,
    seconds: float,
    cap_s: float,
    every_s: float,
    checks: int,
    figures_from: str,
) -> dict[str, Any]:
    """summary.json's ``until``: the targets read, why the run stopped, and when."""
    return {
        "targets": [reading.to_dict() for reading in readings],
        "precise": all_precise(readings),
        "stopped_because": stopped_because,
        "seconds": round(seconds, 3),
        "cap_s": cap_s,
        "check_every_s": every_s,
        "checks": checks,
        "figures_from": figures_from,
    }


def shown(target: Mapping[str, Any], still: str = "") -> str:
    """``p95(GET /x) 191 ms ±1.8 %`` of one of the section's targets (``still``: a word before
    the ±)."""
    value, width, name = target.get("value"), target.get("half_width"), target["name"]
    if value is None:
        return f"{name} has no samples yet"
    if target["metric"] == SHARE:
        figure, unit = f"{value * 100:.3g} %", "points"
    else:
        figure, unit = f"{value:.4g}{' ms' if target['metric'] in QUANTILES else '/s'}", "%"
    if width is None:
        return f"{name} {figure} has no bounded interval yet"
    return f"{name} {figure} {still}±{width * 100:.2g} {unit}"


def stop_lines(section: Mapping[str, Any] | None) -> list[str]:
    """The console's lines on why a ``--until`` run stopped (none without ``--until``)."""
    if not section:
        return []
    targets = section.get("targets") or []
    seconds, why = float(section.get("seconds") or 0), section.get("stopped_because")
    if why == PRECISE:
        return [f"stopped: {', '.join(shown(t) for t in targets)} after {seconds:.0f} s"]
    if why == CAP:
        head = f"stopped on the cap ({float(section.get('cap_s') or seconds):g} s), not precise"
    elif why == EARLY:
        head = f"stopped before precise (another check ended the run after {seconds:.0f} s)"
    else:
        head = f"stopped before precise (run aborted after {seconds:.0f} s)"
    still = [_still(t) for t in targets if not t.get("precise")]
    if len(still) == 1:
        lines = [f"{head}: {still[0]}"]
    else:
        lines = [f"{head}: {len(still)} of {len(targets)} targets", *still]
    return lines + [f"precise: {shown(t)}" for t in targets if t.get("precise")]


def _still(target: Mapping[str, Any]) -> str:
    """A target not yet precise, its samples, and about how many would make it so."""
    samples, needed = target.get("samples") or 0, target.get("samples_needed")
    wanted = target["precision"] * 100
    unit = ("point" if wanted == 1 else "points") if target["metric"] == SHARE else "%"
    said = f"{shown(target, still='still ')} ({samples:,} samples)"
    if not needed:
        return said
    return f"{said}, about {needed:,} would make it ±{wanted:g} {unit}"
