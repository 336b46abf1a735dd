"""One entry's latency rows of a comparison: P50, P95, P99 with the rank and tail tests.

The tests read each run's exact histograms of the entry's successful requests: final.json's
cumulative ``hdr`` per entry (what summary.json's percentiles come from), else the merge of the
timeline's per-second ``hdr``; or its ``requests.jsonl.gz`` (the E2E of the requests not
failed) when the comparison was given that file, or the run has no exact histograms. A run with
neither (:func:`run_histograms` returns None) is judged by tolerance and noise band only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentload.metrics.latency import Histogram, decode
from agentload.metrics.stats import histogram_meta, latency_over
from agentload.report.comparison import Delta, Tolerances
from agentload.report.noise import percentile_band
from agentload.report.requests_chart import histograms_from_lines
from agentload.report.rundata import RunData
from agentload.report.significance import (
    RankTest,
    bins_ms,
    mann_whitney,
    proportion_sample_size,
    tail_test,
)
from agentload.report.verdicts import Evidence, decide, judge, rank_evidence
from agentload.results.requests_file import FILE_NAME

Hists = dict[str, Histogram | None]
PERCENTILES = (("P50", "p50_ms", 0.50), ("P95", "p95_ms", 0.95), ("P99", "p99_ms", 0.99))


def run_histograms(run: RunData, from_requests: bool = False) -> Hists | None:
    """``{entry: histogram of its successes}`` of a run with exact histograms, else None; from
    its ``requests.jsonl.gz`` when ``from_requests`` or when the run has no exact histograms."""
    requests = run.run_dir / FILE_NAME
    meta = histogram_meta(run.final, run.timeline) or {}
    if (from_requests or meta.get("kind") != "hdr") and requests.is_file():
        return histograms_from_lines(requests)
    if meta.get("kind") != "hdr":
        return None
    final_entries: Mapping[str, Any] = run.final.get("entries") or {}
    names = set(final_entries) | set(run.summary.get("endpoints") or {})
    out: Hists = {}
    for name in names:
        raw = final_entries.get(name) or {}
        if raw.get("hdr"):
            out[name] = decode(str(raw["hdr"]))
        elif run.final.get("histogram") and name in final_entries:
            out[name] = None  # recorded, no successful request
        else:
            out[name] = latency_over(run.timeline, name).ok
    return out


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _rank_effect(test: RankTest, base_median: float | None) -> str:
    pct = f" ({100 * test.shift_ms / base_median:+.0f} %)" if base_median else ""
    return f"P(slower) {test.common_language:.2f}, {test.shift_ms:+,.0f} ms{pct}"


def latency_deltas(
    entry: str,
    base: RunData,
    new: RunData,
    hists: tuple[Histogram | None, Histogram | None] | None,
    tol: Tolerances,
) -> list[Delta]:
    """The P50/P95/P99 rows of ``entry``; ``hists`` None: judged without the tests."""
    b: Mapping[str, Any] = (base.summary.get("endpoints") or {}).get(entry) or {}
    n: Mapping[str, Any] = (new.summary.get("endpoints") or {}).get(entry) or {}
    limits = {"P50": None, "P95": tol.p95_pct, "P99": tol.p99_pct}
    base_bins = bins_ms(hists[0]) if hists else []
    new_bins = bins_ms(hists[1]) if hists else []
    rank = mann_whitney(base_bins, new_bins)
    base_median = _num(b.get("p50_ms"))
    out = []
    for metric, key, q in PERCENTILES:
        limit = limits[metric]
        d = Delta(
            entry,
            metric,
            _num(b.get(key)),
            _num(n.get(key)),
            "ms",
            tolerance=f"+{limit:g} %" if limit is not None else "",
            noise=percentile_band(base.timeline, new.timeline, entry, q),
        )
        if rank is None:
            out.append(judge(d, limit, True, tol.fail_within_noise))
            continue
        if limit is None:
            d.test, d.effect = f"rank {_p(rank.p_value)}", _rank_effect(rank, base_median)
            out.append(decide(d, False, Evidence((rank.p_value,), (None,)), tol.alpha))
            continue
        tail = tail_test(base_bins, new_bins, q)
        rank_p, rank_n = rank_evidence(rank, base_median, limit, tol.alpha / 2)
        tail_p = tail.p_value if tail else None
        tail_n = (
            proportion_sample_size(tail.base_share, tail.new_share, tol.alpha / 2)
            if tail is not None
            else None
        )
        d.test = f"tail {_p(tail_p) if tail_p is not None else '–'} · rank {_p(rank.p_value)}"
        if tail is not None:
            d.effect = f"{100 * tail.base_share:.1f} → {100 * tail.new_share:.1f} % above"
        change = d.change_pct
        breach = change is not None and change > limit
        evidence = Evidence((tail_p, rank_p), (tail_n, rank_n))
        out.append(decide(d, breach, evidence, tol.alpha, tol.fail_within_noise))
    return out
