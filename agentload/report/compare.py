"""Compare two runs: ``compare_runs(base_dir, new_dir, tolerances) -> Comparison``.

Per entry P50/P95/P99 (``latency_compare.py``: the rank and tail tests over the exact
histograms), RPS and error rate, the totals, agent success, the stress knee and the profile's top
functions, each with its delta. A metric with a tolerance (P95, P99, RPS, error rate, agent
success, knee RPS) that NEW breaches is a *regression* when a test confirms it, *inconclusive*
when the samples cannot tell (fails unless ``Tolerances.allow_inconclusive``), *within noise*
when chance explains it (``verdicts.py``). Each delta also carries the noise the two runs show
(``noise.py``): the band used for runs recorded before the exact histograms and for the knee.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentload.metrics.stats import is_http
from agentload.report.comparison import (
    INCONCLUSIVE,
    REGRESSION,
    Comparison,
    Delta,
    FunctionDelta,
    Tolerances,
)
from agentload.report.html import short_path
from agentload.report.latency_compare import Hists, latency_deltas, run_histograms
from agentload.report.noise import rate_band, rps_band
from agentload.report.rundata import RunData, load_run
from agentload.report.verdicts import (
    Evidence,
    decide,
    judge,
    proportion_evidence,
    throughput_evidence,
)
from agentload.results.requests_file import FILE_NAME

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


def _p(p: float | None) -> str:
    if p is None:
        return ""
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _seconds(run: RunData, stats: Mapping[str, Any]) -> float | None:
    """The length of the window ``stats``' rate is over."""
    requests, rps = _num(stats.get("requests")), _num(stats.get("rps"))
    if requests and rps:
        return requests / rps
    return _num(run.summary.get("duration_s"))


def rps_delta(
    entry: str,
    b: Mapping[str, Any],
    n: Mapping[str, Any],
    base: RunData,
    new: RunData,
    tol: Tolerances | None,
) -> Delta:
    """RPS of an entry (or "all"); with ``tol`` a drop past ``tol.rps_pct`` is tested."""
    noise = rps_band(base.timeline, new.timeline, None if entry == "all" else entry)
    d = Delta(entry, "RPS", _num(b.get("rps")), _num(n.get("rps")), "/s", True, noise=noise)
    if tol is None:
        return judge(d, None, relative=True)
    d.tolerance = f"-{tol.rps_pct:g} %"
    sb, sn = _seconds(base, b), _seconds(new, n)
    rb, rn = _num(b.get("requests")), _num(n.get("requests"))
    if not (sb and sn and rb is not None and rn is not None):
        return judge(d, tol.rps_pct, True, tol.fail_within_noise)
    p, needed = throughput_evidence(int(rb), sb, int(rn), sn, tol.alpha)
    d.test = f"counts {_p(p)}"
    pct = d.change_pct
    breach = pct is not None and -pct > tol.rps_pct
    return decide(d, breach, Evidence((p,), (needed,)), tol.alpha, tol.fail_within_noise)


def rate_delta(
    entry: str,
    metric: str,
    rates: tuple[float | None, float | None],
    trials: tuple[float | None, float | None],
    limit_points: float | None,
    tol: Tolerances,
    higher_is_better: bool = False,
) -> Delta:
    """A proportion (error rate, agent success): worse by more than ``limit_points`` and
    confirmed by Fisher's test of the bad outcomes' shares."""
    (rb, rn), (nb, nn) = rates, trials
    d = Delta(
        entry,
        metric,
        rb,
        rn,
        "fraction",
        higher_is_better,
        noise=rate_band(rb, nb, rn, nn),
        tolerance=f"{'-' if higher_is_better else '+'}{limit_points:g} points"
        if limit_points is not None
        else "",
    )
    if rb is None or rn is None or not nb or not nn:
        return judge(d, None, relative=False)
    bad_b, bad_n = (1 - rb, 1 - rn) if higher_is_better else (rb, rn)
    p, needed = proportion_evidence(
        round(bad_b * nb), int(nb), round(bad_n * nn), int(nn), tol.alpha
    )
    d.test = f"Fisher {_p(p)}"
    breach = limit_points is not None and 100 * (bad_n - bad_b) > limit_points
    return decide(d, breach, Evidence((p,), (needed,)), tol.alpha, tol.fail_within_noise)


def _entry_deltas(
    base: RunData, new: RunData, tol: Tolerances, histograms: tuple[Hists | None, Hists | None]
) -> list[Delta]:
    out = []
    b_eps: Mapping[str, Any] = base.summary.get("endpoints") or {}
    n_eps: Mapping[str, Any] = new.summary.get("endpoints") or {}
    b_hists, n_hists = histograms
    for entry in sorted(set(b_eps) | set(n_eps)):
        b, n = b_eps.get(entry) or {}, n_eps.get(entry) or {}
        hists = (
            (b_hists.get(entry), n_hists.get(entry))
            if b_hists is not None and n_hists is not None
            else None
        )
        out += latency_deltas(entry, base, new, hists, tol)
        out.append(rps_delta(entry, b, n, base, new, tol if is_http(entry) else None))
        out.append(
            rate_delta(
                entry,
                "error rate",
                (_error_rate(b), _error_rate(n)),
                (_num(b.get("requests")), _num(n.get("requests"))),
                tol.error_rate_points,
                tol,
            )
        )
    return out


def _error_rate(stats: Mapping[str, Any]) -> float | None:
    requests, failures = _num(stats.get("requests")), _num(stats.get("failures"))
    return failures / requests if requests and failures is not None else None


def _total_deltas(base: RunData, new: RunData, tol: Tolerances) -> list[Delta]:
    b: Mapping[str, Any] = base.summary.get("totals") or {}
    n: Mapping[str, Any] = new.summary.get("totals") or {}
    return [
        rps_delta("all", b, n, base, new, tol),
        rate_delta(
            "all",
            "error rate",
            (_num(b.get("error_rate")), _num(n.get("error_rate"))),
            (_num(b.get("requests")), _num(n.get("requests"))),
            tol.error_rate_points,
            tol,
        ),
        rate_delta(
            "all",
            "agent success",
            (_num(b.get("agent_success_rate")), _num(n.get("agent_success_rate"))),
            (_tasks(base), _tasks(new)),
            tol.success_points,
            tol,
            higher_is_better=True,
        ),
    ]


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


def _notes(base: RunData, new: RunData, histograms: tuple[Hists | None, Hists | None]) -> list[str]:
    old = [
        f"{side} ({run.run_dir})"
        for side, run, hists in zip(("BASE", "NEW"), (base, new), histograms, strict=True)
        if hists is None
    ]
    if not old:
        return []
    return [
        f"{' and '.join(old)} recorded no exact latency histograms (a run from before them): "
        "percentiles are judged by their tolerances and noise bands only, without the rank and "
        "tail tests."
    ]


def compare(
    base: RunData, new: RunData, tolerances: Tolerances | None = None, from_requests: bool = False
) -> Comparison:
    """Compare two loaded runs (pure but for reading ``requests.jsonl.gz`` when asked)."""
    tol = tolerances or Tolerances()
    histograms = (run_histograms(base, from_requests), run_histograms(new, from_requests))
    return Comparison(
        base_dir=str(base.run_dir),
        new_dir=str(new.run_dir),
        base_phase=base.phase,
        new_phase=new.phase,
        tolerances=tol,
        deltas=_total_deltas(base, new, tol)
        + _knee_deltas(base, new, tol)
        + _entry_deltas(base, new, tol, histograms),
        functions=_functions(base, new),
        notes=_notes(base, new, histograms),
    )


def compare_runs(base_dir: Path, new_dir: Path, tolerances: Tolerances | None = None) -> Comparison:
    """Load both run folders and compare them; ConfigError when either is not a run folder.
    A ``requests.jsonl.gz`` path stands for its run folder, its latency tests then read the
    file's lines (see ``docs/report.md``)."""
    base, new = _run_of(base_dir), _run_of(new_dir)
    return compare(base[0], new[0], tolerances, from_requests=base[1] or new[1])


def _run_of(path: Path) -> tuple[RunData, bool]:
    if path.name == FILE_NAME and path.is_file():
        return load_run(path.parent), True
    return load_run(path), False
