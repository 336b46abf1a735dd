"""Percentiles and windows over Locust's rounded response-time histograms (pure).

A histogram is ``{rounded_ms: count}`` as in Locust's ``StatsEntry.response_times``; JSON gives
string keys, which every function here accepts. Timeline lines follow docs/architecture.md:
cumulative ``requests``/``failures`` per entry and a *delta* ``hist`` since the previous line.

API: ``read_timeline(path)``, ``read_jsonl(path)`` (tolerant of a truncated last line),
``merge_histograms(hists)``, ``percentile(hist, 0.95)``, ``window_stats(lines, start_t, end_t)``
-> ``{entry: {requests, failures, rps, p50_ms, p90_ms, p95_ms, p99_ms, max_ms, avg_ms}}``,
``http_totals(entries)``, ``steps_from_timeline(lines, warmup_s, entry) -> list[Step]``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agentload.knee import Step

Hist = Mapping[int, int] | Mapping[str, int]
CUSTOM_TYPES = frozenset({"TTFT", "TPOT", "TTC"})


def merge_histograms(hists: Iterable[Hist]) -> dict[int, int]:
    """Sum histograms bucket by bucket (keys as ints)."""
    merged: dict[int, int] = {}
    for hist in hists:
        for key, count in hist.items():
            bucket = int(key)
            merged[bucket] = merged.get(bucket, 0) + int(count)
    return merged


def percentile(hist: Hist, percent: float, num_requests: int | None = None) -> int:
    """The response time that ``percent`` (0..1) of requests finished within, computed exactly as
    Locust's ``calculate_response_time_percentile`` (walks the buckets from the slowest)."""
    times = {int(k): int(v) for k, v in hist.items()}
    total = sum(times.values()) if num_requests is None else num_requests
    num_of_request = int(total * percent)
    processed = 0
    for response_time in sorted(times, reverse=True):
        processed += times[response_time]
        if total - processed <= num_of_request:
            return response_time
    return 0


def hist_max(hist: Hist) -> int | None:
    keys = [int(k) for k, v in hist.items() if int(v) > 0]
    return max(keys) if keys else None


def hist_avg(hist: Hist) -> float | None:
    count = sum(int(v) for v in hist.values())
    return sum(int(k) * int(v) for k, v in hist.items()) / count if count else None


def entry_stats(requests: int, failures: int, hist: Hist, seconds: float) -> dict[str, Any]:
    """The summary's per-entry keys for one window (percentiles None when no sample)."""
    count = sum(int(v) for v in hist.values())

    def pct(p: float) -> int | None:
        return percentile(hist, p) if count else None

    return {
        "requests": requests,
        "failures": failures,
        "rps": requests / seconds if seconds > 0 else 0.0,
        "p50_ms": pct(0.5),
        "p90_ms": pct(0.9),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": hist_max(hist),
        "avg_ms": hist_avg(hist),
    }


def read_json(path: str | Path) -> dict[str, Any] | None:
    """The JSON object in a file, or None when it is missing, unreadable or not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The JSON objects of a .jsonl file; lines that are not complete objects (an interrupted
    run's last line) are skipped. A missing file reads as empty."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    lines = []
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict):
            lines.append(line)
    return lines


def read_timeline(path: str | Path) -> list[dict[str, Any]]:
    """timeline.jsonl's lines (those with a numeric ``t``), see ``read_jsonl``."""
    return [ln for ln in read_jsonl(path) if isinstance(ln.get("t"), int | float)]


def window_stats(
    lines: Sequence[Mapping[str, Any]], start_t: float = -math.inf, end_t: float = math.inf
) -> dict[str, dict[str, Any]]:
    """Per-entry stats of the lines with ``start_t < t <= end_t``; counts are the difference of the
    cumulative values against the last line before the window, percentiles merge the deltas."""
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
        hist = merge_histograms(
            (ln.get("entries") or {}).get(name, {}).get("hist", {}) for ln in inside
        )
        out[name] = entry_stats(requests, failures, hist, seconds)
    return out


def http_totals(entries: Mapping[str, Mapping[str, Any]]) -> tuple[int, int]:
    """Requests and failures over the HTTP entries (custom TTFT/TPOT/TTC entries left out)."""
    http = [s for name, s in entries.items() if name.split(" ", 1)[0] not in CUSTOM_TYPES]
    return sum(int(s["requests"]) for s in http), sum(int(s["failures"]) for s in http)


def steps_from_timeline(
    lines: Sequence[Mapping[str, Any]], warmup_s: float = 0.0, entry: str | None = None
) -> list[Step]:
    """Stress steps: consecutive lines at the same user count form a step; its first ``warmup_s``
    are left out. ``rps`` and ``error_rate`` are over the HTTP entries, ``p95_ms`` is ``entry``'s
    (or of all HTTP entries merged when None or absent)."""
    steps: list[Step] = []
    for users, start, end in _plateaus(lines):
        stats = window_stats(lines, start + warmup_s, end)
        if not stats or users <= 0:
            continue
        requests, failures = http_totals(stats)
        seconds = end - _prev_t(lines, start + warmup_s)
        window = [ln for ln in lines if start + warmup_s < ln["t"] <= end]
        if entry and entry in stats:
            p95 = stats[entry]["p95_ms"]
        else:
            hist = merge_histograms(
                s.get("hist", {})
                for ln in window
                for name, s in (ln.get("entries") or {}).items()
                if name.split(" ", 1)[0] not in CUSTOM_TYPES
            )
            p95 = percentile(hist, 0.95) if hist else None
        steps.append(
            Step(
                users=users,
                rps=requests / seconds if seconds > 0 else 0.0,
                p95_ms=float(p95) if p95 is not None else math.nan,
                error_rate=failures / requests if requests else 0.0,
            )
        )
    return steps


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
