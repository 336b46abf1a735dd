"""The summary's figures with their 95 % intervals, and which of them are thin (pure).

Where the intervals go in summary.json (each ``[lo, hi]``, a bound None when not known, the
whole key None without samples), computed by :mod:`agentload.metrics.intervals`:

- ``endpoints[ENTRY]``: ``p50_ci_ms`` ... ``p999_ci_ms`` (order statistics over the exact
  histogram of the successful requests), ``rps_ci`` (Poisson), ``error_rate_ci`` (Wilson);
- ``totals``: ``rps_ci``, ``error_rate_ci``, ``agent_success_rate_ci``;
  ``agent_outcomes[SCENARIO]``: ``success_rate_ci``;
- ``llm[SCENARIO][KIND_ms]``: ``p50_ci`` ... ``p99_ci`` beside ``p50`` ... and ``count``;
- ``goodput[SCENARIO]``: ``share_ci`` (Wilson), ``per_s_ci`` (Poisson);
- ``server_side.routes[ROUTE]``: ``p50_ci_ms`` ... when the view had the route's buckets.

:func:`summary_figures` walks those figures under the names gates use (``p95(GET /x)``,
``error_rate``, ``agent_success_rate(chat)``, ``p95(ttft:chat)``, ``goodput(chat)``,
``server.p95(/x)``), each with its interval and sample count; :func:`precision_section` is
summary.json's ``precision``::

    {"confidence": 0.95, "thin_above": 0.1, "precise_at": 0.05, "figures": 42,
     "thin": [{"figure": "p99(GET /x)", "value": 480.2, "ci": [455.1, null],
               "samples": 212, "samples_for_5pct": 800}]}

``figures`` counts the figures that have an interval; a figure is thin when its interval is
wider than ±10 % of it (a bound unknown counts as infinitely wide; a figure of 0, such as no
errors, is not judged); ``samples_for_5pct`` is about how many samples would make it ±5 %.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from agentload.metrics import intervals
from agentload.metrics.latency import QUANTILES, Histogram

#: summary.json's interval key beside a latency key: ``p95_ms`` → ``p95_ci_ms``.
LATENCY_CI = {key: key.replace("_ms", "_ci_ms") for key in QUANTILES}
_QUANTILE_OF = {key.removesuffix("_ms"): q for key, q in QUANTILES.items()}
CiPair = list[float | None] | None


@dataclass(frozen=True)
class Figure:
    """One figure of a summary: ``name`` as a gate writes it, ``value`` and ``ci`` (canonical
    units: ms, a fraction, per second), the ``samples`` it stands on, ``q`` for a percentile."""

    name: str
    value: float | None
    ci: intervals.Interval
    samples: int
    q: float | None = None

    @property
    def thin(self) -> bool:
        return intervals.is_thin(self.value, self.ci)

    @property
    def samples_for_5pct(self) -> int | None:
        return intervals.samples_for(self.samples, self.value, self.ci, self.q)


def pair(interval: intervals.Interval, digits: int = 3) -> CiPair:
    """An interval as summary.json writes it: ``[lo, hi]`` rounded, None when both are unknown."""
    lo, hi = interval
    if lo is None and hi is None:
        return None
    return [round(lo, digits) if lo is not None else None,
            round(hi, digits) if hi is not None else None]  # fmt: skip


def latency_cis(hist: Histogram | None) -> dict[str, CiPair]:
    """``{"p50_ci_ms": [lo, hi], ...}`` of a histogram's percentiles (None each when empty)."""
    return {
        LATENCY_CI[key]: pair(intervals.quantile_interval_ms(hist, q))
        for key, q in QUANTILES.items()
    }


def rate_ci(events: int, seconds: float | None) -> CiPair:
    """A rate's Poisson interval, per second (None without a window)."""
    if not seconds or seconds <= 0:
        return None
    return pair(intervals.poisson_interval(events, seconds))


def share_ci(successes: int, trials: int) -> CiPair:
    """A share's Wilson interval (None without trials)."""
    return pair(intervals.wilson_interval(successes, trials), 6)


def summary_figures(summary: Mapping[str, Any]) -> Iterator[Figure]:
    """Every figure of the summary that has an interval key (see the module docstring); a
    summary written before the intervals has none."""
    return (f for f in _all_figures(summary) if f is not None)


def _all_figures(summary: Mapping[str, Any]) -> Iterator[Figure | None]:
    totals = _mapping(summary.get("totals"))
    requests = _int(totals.get("requests"))
    yield from _plain("", totals, ("rps", "error_rate"), requests)
    outcomes = _mapping(summary.get("agent_outcomes"))
    judged = sum(_int(_mapping(row).get("total")) for row in outcomes.values())
    yield from _plain("", totals, ("agent_success_rate",), judged)
    for name, raw in _mapping(summary.get("endpoints")).items():
        stats = _mapping(raw)
        calls = _int(stats.get("requests"))
        successes = calls - _int(stats.get("failures")) if stats.get("failed") else calls
        for key, q in QUANTILES.items():
            metric = key.removesuffix("_ms")
            yield _figure(f"{metric}({name})", stats, key, LATENCY_CI[key], successes, q)
        yield from _plain(f"({name})", stats, ("rps", "error_rate"), calls)
    for scenario, row in outcomes.items():
        row = _mapping(row)
        count = _int(row.get("total"))
        yield _figure(f"agent_success_rate({scenario})", row, "success_rate", None, count)
    for scenario, section in _mapping(summary.get("llm")).items():
        for kind in ("ttft", "itl", "tpot", "e2e"):
            dist = _mapping(_mapping(section).get(f"{kind}_ms"))
            for metric, q in _QUANTILE_OF.items():
                name = f"{metric}({kind}:{scenario})"
                yield _figure(name, dist, metric, None, _int(dist.get("count")), q)
    for scenario, row in _mapping(summary.get("goodput")).items():
        row = _mapping(row)
        yield _figure(f"goodput({scenario})", row, "share", None, _int(row.get("requests")))
    routes = _mapping(_mapping(summary.get("server_side")).get("routes"))
    for route, raw in routes.items():
        stats = _mapping(raw)
        for key, q in QUANTILES.items():
            name = f"server.{key.removesuffix('_ms')}({route})"
            yield _figure(name, stats, key, LATENCY_CI[key], _int(stats.get("requests")), q)


def precision_section(summary: Mapping[str, Any]) -> dict[str, Any]:
    """summary.json's ``precision``: how many figures have an interval, and the thin ones."""
    checked = [f for f in summary_figures(summary) if f.value is not None]
    thin = [
        {
            "figure": f.name,
            "value": f.value,
            "ci": pair(f.ci, 6),
            "samples": f.samples,
            "samples_for_5pct": f.samples_for_5pct,
        }
        for f in checked
        if f.thin
    ]
    return {
        "confidence": intervals.CONFIDENCE,
        "thin_above": intervals.THIN,
        "precise_at": intervals.PRECISE,
        "figures": len(checked),
        "thin": thin,
    }


def _plain(
    suffix: str, row: Mapping[str, Any], keys: tuple[str, ...], n: int
) -> Iterator[Figure | None]:
    for key in keys:
        yield _figure(f"{key}{suffix}", row, key, None, n)


def _figure(
    name: str, row: Mapping[str, Any], key: str, ci_key: str | None, n: int, q: float | None = None
) -> Figure | None:
    """The figure ``row[key]`` with its interval ``row[ci_key]`` (default ``KEY_ci``); None when
    the row has no interval key."""
    ci_key = ci_key if ci_key is not None else f"{key}_ci"
    if ci_key not in row:
        return None
    raw = row[ci_key]
    lo, hi = (raw[0], raw[1]) if isinstance(raw, list | tuple) and len(raw) == 2 else (None, None)
    return Figure(name, _number(row.get(key)), (_number(lo), _number(hi)), n, q)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
