"""Figures of timeline windows and whole runs, from the exact latency histograms (pure).

Timeline lines follow docs/architecture.md: cumulative ``requests``/``failures`` per entry and
the HdrHistograms of the successful (``hdr``) and failed (``hdr_failed``) requests since the
previous line, so a window's latencies are the exact merge of its lines'. Lines of runs recorded
before the histograms carry Locust's rounded ``hist`` (ms -> count) of all requests instead: they
still read, with percentiles over every request and ``failed`` unknown (None).

Reading them from the files is :mod:`agentload.results.reading`'s job. API:
``is_http(entry)``, ``line_latency(line, entry)``, ``latency_over(lines, entry=None)`` (None: all
HTTP entries merged),
``entry_stats(requests, failures, latency, seconds)``, ``window_stats(lines, start_t, end_t)``
-> ``{entry: {requests, failures, error_rate, rps, p50_ms, p90_ms, p95_ms, p99_ms, p999_ms,
max_ms, avg_ms, failed}}`` and the intervals ``p50_ci_ms`` ... ``p999_ci_ms``, ``rps_ci``,
``error_rate_ci``, ``http_totals(entries)``, ``histogram_meta(final, lines)``,
``steps_from_timeline(lines, warmup_s, entry) -> list[Step]``,
``step_from_latencies(entries, users, seconds, entry) -> (Step, requests)`` (the stress shape).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from agentload.metrics.knee import Step
from agentload.metrics.latency import LEGACY_META, META, EntryLatency, merge_entries
from agentload.metrics.precision import latency_cis, rate_ci, share_ci

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def is_http(entry: str) -> bool:
    """True for ``"GET /items"``, False for a timing entry such as ``"TTFT chat"``."""
    return entry.split(" ", 1)[0] in HTTP_METHODS


def line_latency(line: Mapping[str, Any], entry: str) -> EntryLatency | None:
    """The latencies ``entry`` recorded in one line (None when the line has no such entry)."""
    stats = (line.get("entries") or {}).get(entry)
    return EntryLatency.from_json(stats) if stats is not None else None


def latency_over(lines: Sequence[Mapping[str, Any]], entry: str | None = None) -> EntryLatency:
    """The merged latencies of ``entry`` (or of every HTTP entry when None) over ``lines``."""
    chosen = []
    for line in lines:
        for name, stats in (line.get("entries") or {}).items():
            if (entry is None and is_http(name)) or name == entry:
                chosen.append(EntryLatency.from_json(stats))
    return merge_entries(chosen) if chosen else EntryLatency()


def entry_stats(
    requests: int, failures: int, latency: EntryLatency | None, seconds: float
) -> dict[str, Any]:
    """The summary's per-entry keys for one window: counts, rates, and the latency figures of
    the successful requests with the failed ones' under ``failed`` (None when not known), each
    percentile, rate and share with its 95 % interval (:mod:`agentload.metrics.precision`)."""
    latency = latency if latency is not None else EntryLatency()
    return {
        "requests": requests,
        "failures": failures,
        "error_rate": failures / requests if requests else None,
        "rps": requests / seconds if seconds > 0 else 0.0,
        **latency.figures(),
        **latency_cis(latency.ok),
        "rps_ci": rate_ci(requests, seconds),
        "error_rate_ci": share_ci(failures, requests),
    }


def window_stats(
    lines: Sequence[Mapping[str, Any]], start_t: float = -math.inf, end_t: float = math.inf
) -> dict[str, dict[str, Any]]:
    """Per-entry stats of the lines with ``start_t < t <= end_t``; counts are the difference of the
    cumulative values against the last line before the window, latencies merge the lines'."""
    before = [ln for ln in lines if ln["t"] <= start_t]
    inside = [ln for ln in lines if start_t < ln["t"] <= end_t]
    if not inside:
        return {}
    base = before[-1] if before else None
    t0 = float(base["t"]) if base else 0.0
    seconds = float(inside[-1]["t"]) - t0
    names = {name for ln in inside for name in (ln.get("entries") or {})}
    out = {}
    for name in sorted(names):
        last = _last_entry(inside, name)
        first = (base.get("entries") or {}).get(name, {}) if base else {}
        requests = max(0, int(last.get("requests", 0)) - int(first.get("requests", 0)))
        failures = max(0, int(last.get("failures", 0)) - int(first.get("failures", 0)))
        out[name] = entry_stats(requests, failures, latency_over(inside, name), seconds)
    return out


def http_totals(entries: Mapping[str, Mapping[str, Any]]) -> tuple[int, int]:
    """Requests and failures over the HTTP entries (timing entries such as TTFT left out)."""
    http = [s for name, s in entries.items() if is_http(name)]
    return sum(int(s["requests"]) for s in http), sum(int(s["failures"]) for s in http)


def histogram_meta(
    final: Mapping[str, Any] | None, lines: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any] | None:
    """Which histogram the figures come from: agentload's HdrHistogram (``META``), Locust's
    rounded one for runs recorded before it, or None without any data."""
    if final and isinstance(final.get("histogram"), Mapping):
        return dict(final["histogram"])
    for line in lines:
        for stats in (line.get("entries") or {}).values():
            if "hdr" in stats or "hdr_failed" in stats:
                return dict(META)
            if "hist" in stats:
                return dict(LEGACY_META)
    return dict(LEGACY_META) if final and final.get("entries") else None


def steps_from_timeline(
    lines: Sequence[Mapping[str, Any]], warmup_s: float = 0.0, entry: str | None = None
) -> list[Step]:
    """Stress steps: consecutive lines at the same user count form a step; its first ``warmup_s``
    are left out. ``rps`` and ``error_rate`` are over the HTTP entries, ``p95_ms`` is of
    ``entry``'s successful requests (or of all HTTP entries' when None or absent)."""
    steps: list[Step] = []
    for users, start, end in _plateaus(lines):
        stats = window_stats(lines, start + warmup_s, end)
        if not stats or users <= 0:
            continue
        requests, failures = http_totals(stats)
        seconds = end - _prev_t(lines, start + warmup_s)
        if entry and entry in stats:
            p95 = stats[entry]["p95_ms"]
        else:
            window = [ln for ln in lines if start + warmup_s < ln["t"] <= end]
            p95 = latency_over(window).figures()["p95_ms"]
        steps.append(
            Step(
                users=users,
                rps=requests / seconds if seconds > 0 else 0.0,
                p95_ms=float(p95) if p95 is not None else math.nan,
                error_rate=failures / requests if requests else 0.0,
            )
        )
    return steps


def step_from_latencies(
    entries: Mapping[str, EntryLatency], users: int, seconds: float, entry: str | None = None
) -> tuple[Step, int]:
    """A stress step from the latencies that arrived in its window, and its request count:
    requests and failures over the HTTP entries, ``p95_ms`` of ``entry``'s successful requests
    (of all HTTP entries' when ``entry`` is None or absent; NaN without any success)."""
    http = [latency for name, latency in entries.items() if is_http(name)]
    requests = sum(latency.requests for latency in http)
    failures = sum(latency.failures for latency in http)
    chosen = entries.get(entry) if entry else None
    p95 = (chosen if chosen is not None else merge_entries(http)).figures()["p95_ms"]
    step = Step(
        users=users,
        rps=requests / seconds if seconds > 0 else 0.0,
        p95_ms=float(p95) if p95 is not None else math.nan,
        error_rate=failures / requests if requests else 0.0,
    )
    return step, requests


def _plateaus(lines: Sequence[Mapping[str, Any]]) -> list[tuple[int, float, float]]:
    """(users, t before the first line, t of the last line) of each run of equal user counts."""
    out: list[tuple[int, float, float]] = []
    prev_t = 0.0
    for line in lines:
        users, t = int(line.get("users", 0)), float(line["t"])
        if out and out[-1][0] == users:
            out[-1] = (users, out[-1][1], t)
        else:
            out.append((users, prev_t, t))
        prev_t = t
    return out


def _prev_t(lines: Sequence[Mapping[str, Any]], t: float) -> float:
    earlier = [float(ln["t"]) for ln in lines if ln["t"] <= t]
    return earlier[-1] if earlier else 0.0


def _last_entry(lines: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any]:
    for line in reversed(lines):
        entry = (line.get("entries") or {}).get(name)
        if entry is not None:
            return entry  # type: ignore[no-any-return]
    return {}
