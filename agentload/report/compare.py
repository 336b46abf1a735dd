"""Compare two runs: ``compare_runs(base_dir, new_dir, tolerances) -> Comparison``.

Per entry P50/P95/P99, RPS and error rate, the totals, agent success, the stress knee and the
profile's top functions, each with its delta. A metric with a tolerance (P95, P99, agent success,
knee RPS) is a *regression* when NEW is worse than BASE by more than it, and by more than the
noise the two runs show (``noise.py``: confidence intervals of percentiles, the spread of
per-interval samples, binomial error of rates). A breach inside the noise is *inconclusive*: it
is shown, but does not fail unless ``Tolerances.fail_within_noise``; any other delta inside the
noise is labelled "within noise" so a reader knows it may not be real.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentload.report.comparison import (
    INCONCLUSIVE,
    REGRESSION,
    Comparison,
    Delta,
    FunctionDelta,
    Tolerances,
)
from agentload.report.html import short_path
from agentload.report.noise import percentile_band, rate_band, rps_band
from agentload.report.rundata import RunData, load_run

__all__ = [
    "INCONCLUSIVE",
    "REGRESSION",
    "Comparison",
    "Delta",
    "FunctionDelta",
    "Tolerances",
    "compare",
    "compare_runs",
    "judge",
]


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def judge(
    delta: Delta, limit: float | None, relative: bool, fail_within_noise: bool = False
) -> Delta:
    """Set ``status``: regression when worse by more than ``limit`` (percent if ``relative``,
    else in the metric's own unit) and by more than the noise (unless ``fail_within_noise``),
    inconclusive when worse past the limit but within the noise; else same / within noise /
    better / worse."""
    change = delta.change
    if change is None:
        delta.status = "n/a"
        return delta
    sign = -1.0 if delta.higher_is_better else 1.0
    worse = sign * change
    pct = delta.change_pct
    measure = (sign * pct if pct is not None else None) if relative else worse
    if limit is not None and measure is not None and measure > limit:
        noisy = delta.within_noise and not fail_within_noise
        delta.status = INCONCLUSIVE if noisy else REGRESSION
    elif change == 0:
        delta.status = "same"
    elif delta.within_noise:
        delta.status = "within noise"
    else:
        delta.status = "worse" if worse > 0 else "better"
    return delta


def _entry_deltas(base: RunData, new: RunData, tol: Tolerances) -> list[Delta]:
    out = []
    b_eps: Mapping[str, Any] = base.summary.get("endpoints") or {}
    n_eps: Mapping[str, Any] = new.summary.get("endpoints") or {}
    for entry in sorted(set(b_eps) | set(n_eps)):
        b, n = b_eps.get(entry) or {}, n_eps.get(entry) or {}
        for metric, key, q, limit in (
            ("P50", "p50_ms", 0.50, None),
            ("P95", "p95_ms", 0.95, tol.p95_pct),
            ("P99", "p99_ms", 0.99, tol.p99_pct),
        ):
            noise = percentile_band(base.timeline, new.timeline, entry, q)
            d = Delta(
                entry,
                metric,
                _num(b.get(key)),
                _num(n.get(key)),
                "ms",
                tolerance=f"+{limit:g} %" if limit is not None else "",
                noise=noise,
            )
            out.append(judge(d, limit, True, tol.fail_within_noise))
        noise = rps_band(base.timeline, new.timeline, entry)
        d = Delta(entry, "RPS", _num(b.get("rps")), _num(n.get("rps")), "/s", True, noise=noise)
        out.append(judge(d, None, relative=True))
        err_b, err_n = _error_rate(b), _error_rate(n)
        noise = rate_band(err_b, _num(b.get("requests")), err_n, _num(n.get("requests")))
        out.append(
            judge(
                Delta(entry, "error rate", err_b, err_n, "fraction", noise=noise),
                None,
                relative=False,
            )
        )
    return out


def _error_rate(stats: Mapping[str, Any]) -> float | None:
    requests, failures = _num(stats.get("requests")), _num(stats.get("failures"))
    return failures / requests if requests and failures is not None else None


def _total_deltas(base: RunData, new: RunData, tol: Tolerances) -> list[Delta]:
    b: Mapping[str, Any] = base.summary.get("totals") or {}
    n: Mapping[str, Any] = new.summary.get("totals") or {}
    rps_noise = rps_band(base.timeline, new.timeline)
    out = [
        judge(
            Delta(
                "all",
                "RPS",
                _num(b.get("rps")),
                _num(n.get("rps")),
                "/s",
                higher_is_better=True,
                noise=rps_noise,
            ),
            None,
            relative=True,
        )
    ]
    err_noise = rate_band(
        _num(b.get("error_rate")),
        _num(b.get("requests")),
        _num(n.get("error_rate")),
        _num(n.get("requests")),
    )
    out.append(
        judge(
            Delta(
                "all",
                "error rate",
                _num(b.get("error_rate")),
                _num(n.get("error_rate")),
                "fraction",
                noise=err_noise,
            ),
            None,
            relative=False,
        )
    )
    sb, sn = _num(b.get("agent_success_rate")), _num(n.get("agent_success_rate"))
    success_noise = rate_band(sb, _tasks(base), sn, _tasks(new))
    d = Delta(
        "all",
        "agent success",
        sb,
        sn,
        "fraction",
        higher_is_better=True,
        tolerance=f"-{tol.success_points:g} points",
        noise=success_noise,
    )
    out.append(judge(d, tol.success_points / 100.0, False, tol.fail_within_noise))
    return out


def _tasks(run: RunData) -> float | None:
    """How many agent tasks were judged (the sample size of the success rate)."""
    per_scenario = run.summary.get("agent_outcomes")
    if isinstance(per_scenario, dict) and per_scenario:
        return float(sum(int(row.get("total", 0)) for row in per_scenario.values())) or None
    outcomes = run.final.get("outcomes") or (
        run.timeline[-1].get("outcomes") if run.timeline else {}
    )
    if not isinstance(outcomes, dict):
        return None
    total = sum(int(v) for counts in outcomes.values() for v in (counts or {}).values())
    return float(total) or None


def _knee_deltas(base: RunData, new: RunData, tol: Tolerances) -> list[Delta]:
    kb = (base.summary.get("stress") or {}).get("knee") or {}
    kn = (new.summary.get("stress") or {}).get("knee") or {}
    if not kb and not kn:
        return []
    rps = Delta(
        "knee",
        "RPS",
        _num(kb.get("rps")),
        _num(kn.get("rps")),
        "/s",
        higher_is_better=True,
        tolerance=f"-{tol.knee_rps_pct:g} %",
    )
    users = Delta(
        "knee", "users", _num(kb.get("users")), _num(kn.get("users")), "", higher_is_better=True
    )
    p95 = Delta("knee", "P95", _num(kb.get("p95_ms")), _num(kn.get("p95_ms")), "ms")
    return [
        judge(rps, tol.knee_rps_pct, True, tol.fail_within_noise),
        judge(users, None, relative=True),
        judge(p95, None, relative=True),
    ]


def _functions(base: RunData, new: RunData) -> list[FunctionDelta]:
    def top(run: RunData) -> dict[str, tuple[str, float | None]]:
        funcs = (run.summary.get("profile") or {}).get("top_functions") or []
        return {
            str(f.get("function")): (
                f"{short_path(str(f.get('file', '')))}:{f.get('line', '')}",
                _num(f.get("self_pct")),
            )
            for f in funcs
            if isinstance(f, dict)
        }

    tb, tn = top(base), top(new)
    names = list(tb) + [name for name in tn if name not in tb]
    return [
        FunctionDelta(
            name,
            (tb.get(name) or tn[name])[0],
            tb.get(name, ("", None))[1],
            tn.get(name, ("", None))[1],
        )
        for name in names
    ]


def compare(base: RunData, new: RunData, tolerances: Tolerances | None = None) -> Comparison:
    """Compare two loaded runs (pure)."""
    tol = tolerances or Tolerances()
    return Comparison(
        base_dir=str(base.run_dir),
        new_dir=str(new.run_dir),
        base_phase=base.phase,
        new_phase=new.phase,
        tolerances=tol,
        deltas=_total_deltas(base, new, tol)
        + _knee_deltas(base, new, tol)
        + _entry_deltas(base, new, tol),
        functions=_functions(base, new),
    )


def compare_runs(base_dir: Path, new_dir: Path, tolerances: Tolerances | None = None) -> Comparison:
    """Load both run folders and compare them; ConfigError when either is not a run folder."""
    return compare(load_run(base_dir), load_run(new_dir), tolerances)
