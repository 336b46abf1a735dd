"""Time series from ``timeline.jsonl`` lines (pure functions over plain data).

Each timeline line holds cumulative ``requests``/``failures`` per entry and the exact latency
histograms of the requests since the previous line (successes and failures apart), so a window's
percentiles are those of the merge of its lines' histograms; they are over successful requests.
"HTTP" entries are those whose request type is an HTTP method; timing entries such as ``TTFT``
are latencies, not requests, and stay out of RPS and errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentload.metrics.latency import EntryLatency, count, merge_entries, percentiles_ms
from agentload.metrics.stats import HTTP_METHODS, is_http, line_latency

__all__ = ["HTTP_METHODS", "is_http"]

MAX_POINTS = 150


def success_percentiles(latency: EntryLatency, quantiles: Sequence[float]) -> list[float]:
    """The ``quantiles`` (0..1) of the successful requests in ms; NaN when there is none."""
    if latency.ok is None or not count(latency.ok):
        return [math.nan for _ in quantiles]
    return [math.nan if v is None else v for v in percentiles_ms(latency.ok, quantiles)]


@dataclass
class Window:
    """One interval of a run: its end time, users, and HTTP requests and failures per second."""

    t: float
    users: int
    rps: float
    errors_per_s: float


@dataclass
class Percentiles:
    """P50/P95/P99 of one entry per window of ``width`` timeline lines."""

    entry: str
    width: int
    t: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p95_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)


def _totals(line: Mapping[str, Any], entry: str | None = None) -> tuple[int, int]:
    entries: Mapping[str, Any] = line.get("entries") or {}
    requests = failures = 0
    for name, stats in entries.items():
        if (entry is None and is_http(name)) or name == entry:
            requests += int(stats.get("requests", 0))
            failures += int(stats.get("failures", 0))
    return requests, failures


def _per_line(timeline: Sequence[Mapping[str, Any]], entry: str) -> list[EntryLatency]:
    """``entry``'s latencies in each line (decoded once; empty where the line has none)."""
    return [line_latency(line, entry) or EntryLatency() for line in timeline]


def _successes(latency: EntryLatency) -> int:
    return count(latency.ok)


def coalesce(timeline: Sequence[Mapping[str, Any]], min_gap_s: float = 0.5) -> list[dict[str, Any]]:
    """Fold lines written less than ``min_gap_s`` after the previous one into it.

    Locust's stop writes a last line or two milliseconds after the previous one; as windows of
    their own they would show absurd rates. Counts are cumulative, so the folded line keeps the
    later counts, the sum of both lines' histograms and the earlier line's users.
    """
    out: list[dict[str, Any]] = []
    for line in timeline:
        if out and float(line.get("t", 0.0)) - float(out[-1].get("t", 0.0)) < min_gap_s:
            prev = out[-1]
            entries = {name: dict(stats) for name, stats in (prev.get("entries") or {}).items()}
            for name, stats in (line.get("entries") or {}).items():
                entries[name] = _fold(entries.get(name) or {}, stats)
            out[-1] = {**line, "users": prev.get("users", 0), "entries": entries}
        else:
            out.append(dict(line))
    return out


def _fold(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """``new``'s counts with the sum of both lines' latencies."""
    counts = {k: v for k, v in new.items() if k not in ("hdr", "hdr_failed", "hist")}
    if "hist" in old or "hist" in new:  # lines recorded before the exact histograms
        merged: dict[str, int] = {}
        for hist in (old.get("hist") or {}, new.get("hist") or {}):
            for ms, n in hist.items():
                merged[str(ms)] = merged.get(str(ms), 0) + int(n)
        return {**counts, "hist": merged}
    latency = merge_entries([EntryLatency.from_json(old), EntryLatency.from_json(new)])
    return {**counts, **latency.to_json()}


def entry_names(timeline: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every entry seen in the timeline, HTTP entries first, each group sorted."""
    names: set[str] = set()
    for line in timeline:
        names.update((line.get("entries") or {}).keys())
    return sorted(names, key=lambda n: (not is_http(n), n))


def default_width(timeline: Sequence[Mapping[str, Any]]) -> int:
    """Lines per window so that a chart has at most ``MAX_POINTS`` points."""
    return max(1, math.ceil(len(timeline) / MAX_POINTS))


def windows(timeline: Sequence[Mapping[str, Any]], width: int | None = None) -> list[Window]:
    """Group consecutive timeline lines ``width`` at a time into windows."""
    width = width or default_width(timeline)
    out: list[Window] = []
    prev_t, prev_req, prev_fail = 0.0, 0, 0
    for start in range(0, len(timeline), width):
        last = timeline[min(start + width, len(timeline)) - 1]
        t = float(last.get("t", prev_t))
        req, fail = _totals(last)
        span = t - prev_t
        out.append(
            Window(
                t=t,
                users=int(last.get("users", 0)),
                rps=(req - prev_req) / span if span > 0 else 0.0,
                errors_per_s=(fail - prev_fail) / span if span > 0 else 0.0,
            )
        )
        prev_t, prev_req, prev_fail = t, req, fail
    return out


def entry_percentiles(
    timeline: Sequence[Mapping[str, Any]], entry: str, min_requests: int = 10
) -> Percentiles:
    """``entry``'s percentiles (of its successful requests) over time, in windows wide enough to
    hold about ``min_requests`` requests each (but at least 8 windows, and at most
    ``MAX_POINTS``); NaN where a window has none."""
    per_line = _per_line(timeline, entry)
    total = sum(_successes(latency) for latency in per_line)
    mean = total / len(timeline) if timeline else 0.0
    width = math.ceil(min_requests / mean) if mean else 1
    width = max(default_width(timeline), min(width, max(1, len(timeline) // 8)))
    out = Percentiles(entry, width)
    for start in range(0, len(timeline), width):
        chunk = timeline[start : start + width]
        p50, p95, p99 = success_percentiles(
            merge_entries(per_line[start : start + width]), (0.50, 0.95, 0.99)
        )
        out.t.append(float(chunk[-1].get("t", 0.0)))
        out.p50_ms.append(p50)
        out.p95_ms.append(p95)
        out.p99_ms.append(p99)
    return out


def agent_success(line: Mapping[str, Any]) -> dict[str, float]:
    """Cumulative agent success rate (0..1) per scenario from a line's ``outcomes``."""
    rates: dict[str, float] = {}
    for scenario, counts in (line.get("outcomes") or {}).items():
        total = sum(int(v) for v in counts.values())
        if total:
            rates[scenario] = int(counts.get("success", 0)) / total
    return rates


def window_quantiles(
    timeline: Sequence[Mapping[str, Any]],
    entry: str,
    q: float,
    n_windows: int = 10,
    min_requests: int = 20,
) -> list[float]:
    """The ``q`` percentile of ``entry`` in each of up to ``n_windows`` equal slices of the run.

    There are fewer slices when the entry has fewer than ``min_requests`` successful requests per
    slice, and slices short of it are left out: their percentile is noise of its own. The spread
    of these values is the drift within a run that the comparison reports as noise.
    """
    per_line = _per_line(timeline, entry)
    total = sum(_successes(latency) for latency in per_line)
    slices = min(n_windows, total // min_requests, len(timeline))
    if slices < 1:
        return []
    width = max(1, len(timeline) // slices)
    values = []
    for start in range(0, len(timeline) - width + 1, width):
        latency = merge_entries(per_line[start : start + width])
        if _successes(latency) >= min_requests:
            values.append(success_percentiles(latency, (q,))[0])
    return values


def window_rps(
    timeline: Sequence[Mapping[str, Any]], entry: str | None = None, n_windows: int = 10
) -> list[float]:
    """Requests per second (of ``entry``, else of all HTTP entries) in ``n_windows`` slices."""
    if len(timeline) < 2:
        return []
    width = max(1, len(timeline) // n_windows)
    values = []
    prev_t, prev_req = 0.0, 0
    for start in range(0, len(timeline) - width + 1, width):
        last = timeline[start + width - 1]
        t, req = float(last.get("t", 0.0)), _totals(last, entry)[0]
        if t > prev_t:
            values.append((req - prev_req) / (t - prev_t))
        prev_t, prev_req = t, req
    return values
