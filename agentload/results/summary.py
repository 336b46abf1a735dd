"""``summary.json``: the run's contract (issue 4), built from final.json, timeline and outcomes.

Keys: ``phase``, ``verdict`` (pass|fail|aborted), ``exit_code``, ``started_at``, ``duration_s``,
``target``, ``users``, ``totals`` {requests, failures, rps, error_rate, agent_success_rate,
in_flight_at_stop, cut_off, aborted_at_stop}, ``window`` {start, end, steady_start, seconds}
(unix seconds: the first request's start to the last response's end, and when all users were
first spawned; every rate is over ``seconds``, which is also ``duration_s``; with ``--warmup`` or
``--cooldown`` also ``warmup_s`` and ``cooldown_s``, and ``start``/``end`` bound the send times
of the calls the figures count: :func:`agentload.metrics.measurement.send_window`), ``load_model``
(closed|open) and, for the
open model, ``arrivals`` {scheduled, sent, late, dropped}, ``llm`` per streamed scenario
(:func:`agentload.metrics.llm.llm_section`), ``goodput`` per scenario when the run had SLOs
(:func:`agentload.metrics.slo.goodput_section`),
``endpoints`` {"<type> <name>": {requests, failures, error_rate, rps, p50_ms, p90_ms, p95_ms,
p99_ms, p999_ms, max_ms, avg_ms, failed}}, ``gates`` [{name, expr, observed, passed, ...}],
``abort_reason``, ``stress``, ``profile``; extras: ``agent_outcomes`` per scenario, ``load`` (phase
load: the degradation point), ``server_side``, ``meta.histogram`` (which histogram the latencies
come from, :func:`agentload.metrics.stats.histogram_meta`), ``not_measured`` (a run given its
planned length, ``planned_s``: the rate phase, a sweep's runs; why its figures are not a
measurement, or None: :func:`agentload.metrics.measurement.not_measured`), ``until`` (with
``--until``: its targets read, why the run stopped and when;
:func:`agentload.metrics.until.until_section`).
An endpoint's latencies are over its successful requests; ``failed`` {requests, p50_ms, p95_ms,
p99_ms, max_ms, avg_ms} has the failed ones' (None for runs recorded before the split).
Totals count HTTP entries only (timing entries such as TTFT would count requests twice).

Each percentile, rate and share has its 95 % interval as a sibling ``[lo, hi]`` (``p95_ci_ms``,
``rps_ci``, ``error_rate_ci``, ``success_rate_ci``, ``llm``'s ``p95_ci``; a bound None when not
known; where: :mod:`agentload.metrics.precision`); ``precision`` {confidence, thin_above,
precise_at, figures, thin: [{figure, value, ci, samples, samples_for_5pct}]} lists the thin
ones (wider than ±10 %) by the gates' names. A gate result has ``status`` (pass|fail|
inconclusive), ``ci`` and ``samples_needed``; ``passed`` is False only when it counts against
the run (inconclusive passes with ``allow_inconclusive``).

API: ``build_summary(phase=, started_at=, target=, final=, timeline=, outcomes=, gates=,
abort_reason=, users=, duration_s=, stress=, profile=, server_side=, extra=, strict_gates=,
load_entry=, planned_s=, allow_inconclusive=)`` (gates
evaluated, verdict and exit_code set), ``verdict_for(results, aborted) -> (verdict, ExitCode)``,
``write_json_atomic(path, obj)`` / ``write_bytes_atomic(path, data)`` (AgentloadError on OSError).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentload.errors import AgentloadError, ExitCode
from agentload.gates import Gate, GateResult, evaluate
from agentload.metrics.knee import degradation_point
from agentload.metrics.latency import FAILED_KEYS, EntryLatency
from agentload.metrics.llm import llm_section
from agentload.metrics.measurement import not_measured, send_window
from agentload.metrics.precision import LATENCY_CI, precision_section, rate_ci, share_ci
from agentload.metrics.slo import goodput_section
from agentload.metrics.stats import (
    entry_stats,
    histogram_meta,
    http_totals,
    is_http,
    steps_from_timeline,
    window_stats,
)

_ENTRY_KEYS = (
    "requests", "failures", "error_rate", "rps",
    "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms", "avg_ms", "failed",
    *LATENCY_CI.values(), "rps_ci", "error_rate_ci",
)  # fmt: skip


def verdict_for(results: Sequence[GateResult], aborted: bool) -> tuple[str, ExitCode]:
    """``aborted`` (exit 3) wins over a failed gate (exit 1); otherwise ``pass`` (exit 0)."""
    if aborted:
        return "aborted", ExitCode.ABORTED
    if any(not r.passed for r in results):
        return "fail", ExitCode.GATE_FAILED
    return "pass", ExitCode.OK


def build_summary(
    *,
    phase: str,
    started_at: datetime | str,
    target: str,
    final: Mapping[str, Any] | None = None,
    timeline: Sequence[Mapping[str, Any]] = (),
    outcomes: Mapping[str, Mapping[str, int]] | None = None,
    gates: Sequence[Gate] = (),
    abort_reason: str | None = None,
    users: int | None = None,
    duration_s: float | None = None,
    stress: Mapping[str, Any] | None = None,
    profile: Mapping[str, Any] | None = None,
    server_side: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    strict_gates: bool | None = None,
    load_entry: str | None = None,
    planned_s: float | None = None,
    allow_inconclusive: bool = False,
) -> dict[str, Any]:
    """The summary dict, gates evaluated on it. Without final.json (interrupted run) the figures
    come from the timeline. Unknown gate entries raise ConfigError when ``strict_gates`` (default:
    unless the run was aborted); otherwise they are reported as not evaluable (failed)."""
    final = final or {}
    window = measurement_window(final)
    duration = window["seconds"] if window else _duration(duration_s, final, timeline)
    endpoints = _endpoints(final, timeline, duration)
    counts = outcomes or final.get("outcomes") or (timeline[-1].get("outcomes") if timeline else {})
    agent = _agent_outcomes(counts or {})
    requests, failures = http_totals(endpoints)
    successes = sum(s.get("success", 0) for s in agent.values())
    judged = sum(s["total"] for s in agent.values())
    summary: dict[str, Any] = {
        "phase": phase,
        "verdict": None,
        "exit_code": None,
        "started_at": started_at.isoformat() if isinstance(started_at, datetime) else started_at,
        "duration_s": round(duration, 3),
        "target": target,
        "users": users if users is not None else _peak_users(timeline),
        "totals": {
            "requests": requests,
            "failures": failures,
            "rps": _round(requests / duration) if duration > 0 else 0.0,
            "error_rate": _round(failures / requests) if requests else None,
            "agent_success_rate": _round(successes / judged) if judged else None,
            "in_flight_at_stop": window["in_flight_at_stop"] if window else None,
            "cut_off": window["cut_off"] if window else None,
            "aborted_at_stop": window["aborted_at_stop"] if window else None,
            "rps_ci": rate_ci(requests, duration),
            "error_rate_ci": share_ci(failures, requests),
            "agent_success_rate_ci": share_ci(successes, judged),
        },
        "window": _window_times(window),
        "endpoints": endpoints,
        "agent_outcomes": agent,
        "gates": [],
        "abort_reason": abort_reason,
        "stress": dict(stress) if stress is not None else None,
        "profile": dict(profile) if profile is not None else None,
    }
    summary.update(load_model_section(final))
    if planned_s is not None:
        summary["not_measured"] = not_measured(summary, planned_s)
    seconds = window["seconds"] if window else duration
    if final.get("llm"):
        summary["llm"] = llm_section(final["llm"], seconds)
    if final.get("slo"):
        summary["goodput"] = goodput_section(final.get("llm") or {}, final["slo"], seconds)
    if server_side is not None:
        summary["server_side"] = dict(server_side)
    if phase == "load" and timeline:
        summary["load"] = _load_section(timeline, load_entry)
    summary.update(extra or {})
    meta = histogram_meta(final, timeline)
    if meta is not None:
        summary["meta"] = {**(summary.get("meta") or {}), "histogram": meta}
    summary["precision"] = precision_section(summary)
    strict = abort_reason is None if strict_gates is None else strict_gates
    results = evaluate(gates, summary, strict=strict, allow_inconclusive=allow_inconclusive)
    verdict, code = verdict_for(results, abort_reason is not None)
    summary["gates"] = [r.to_dict() for r in results]
    summary["verdict"], summary["exit_code"] = verdict, int(code)
    return summary


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write JSON (NaN/inf as null) through a temporary file and a rename, so readers never see
    half a file; AgentloadError with one line when the folder is not writable or the disk full."""
    text = json.dumps(_clean(obj), indent=2, ensure_ascii=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    target = Path(path)
    tmp_name = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, target)
        tmp_name = None
    except OSError as exc:
        raise AgentloadError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)


def now_utc() -> datetime:
    return datetime.now(UTC)


def _duration(
    given: float | None, final: Mapping[str, Any], timeline: Sequence[Mapping[str, Any]]
) -> float:
    if given is not None:
        return float(given)
    if isinstance(final.get("duration_s"), int | float):
        return float(final["duration_s"])
    return float(timeline[-1]["t"]) if timeline else 0.0


def _endpoints(
    final: Mapping[str, Any], timeline: Sequence[Mapping[str, Any]], duration: float
) -> dict[str, dict[str, Any]]:
    """Per-entry figures: from final.json's cumulative histograms when it has them; else (a run
    recorded before them) Locust's figures over the timeline's; else (no final.json, an
    interrupted run) from the timeline alone."""
    entries: Mapping[str, Any] = final.get("entries") or final.get("stats") or {}
    if entries and final.get("histogram"):
        out = {}
        for name, raw in entries.items():
            requests, failures = int(raw.get("requests", 0)), int(raw.get("failures", 0))
            stats = entry_stats(requests, failures, EntryLatency.from_json(raw), duration)
            out[name] = _tidy(stats)
        return out
    from_timeline = window_stats(timeline) if timeline else {}
    for stats in from_timeline.values():
        stats["rps"] = stats["requests"] / duration if duration > 0 else 0.0
        stats["rps_ci"] = rate_ci(stats["requests"], duration)
    if not entries:
        return {name: _tidy(s) for name, s in from_timeline.items()}
    out = {}
    for name, raw in entries.items():
        stats = dict(from_timeline.get(name) or entry_stats(0, 0, None, duration))
        stats.update({k: v for k, v in raw.items() if k in _ENTRY_KEYS})
        requests = int(stats["requests"])
        stats["error_rate"] = int(stats["failures"]) / requests if requests else None
        if "rps" not in raw:
            stats["rps"] = requests / duration if duration > 0 else 0.0
        out[name] = _tidy(stats)
    return out


def measurement_window(final: Mapping[str, Any]) -> dict[str, Any] | None:
    """final.json's ``window`` with its length (``seconds``: first request start to last response
    end), or None for a run without requests or recorded before the window existed."""
    raw = final.get("window") or {}
    start, end = raw.get("start"), raw.get("end")
    if not isinstance(start, int | float) or not isinstance(end, int | float) or end <= start:
        return None
    steady = raw.get("steady_start")
    window = {
        "start": float(start),
        "end": float(end),
        "steady_start": float(steady) if isinstance(steady, int | float) else None,
        "seconds": float(end) - float(start),
        "in_flight_at_stop": int(raw.get("in_flight_at_stop") or 0),
        "cut_off": int(raw.get("cut_off") or 0),
        "aborted_at_stop": int(raw.get("aborted_at_stop") or 0),
    }
    trimmed = send_window(raw)
    if trimmed is not None:  # warm-up, cool-down: the calls sent in it, over its length
        window.update(trimmed, seconds=max(0.0, trimmed["end"] - trimmed["start"]))
    return window


def _window_times(window: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if window is None:
        return None
    keys = ("start", "end", "steady_start", "seconds", "warmup_s", "cooldown_s")
    return {k: round(window[k], 3) if window[k] is not None else None for k in keys if k in window}


def load_model_section(final: Mapping[str, Any]) -> dict[str, Any]:
    """``load_model`` (``open`` when arrivals were scheduled, else ``closed``) and, for the open
    model, ``arrivals {scheduled, sent, late, dropped}`` (scheduled = sent + dropped)."""
    counts = final.get("open_model") or {}
    sent, late, dropped = (int(counts.get(k) or 0) for k in ("sent", "late", "dropped"))
    if not sent and not dropped:
        return {"load_model": "closed"}
    arrivals = {"scheduled": sent + dropped, "sent": sent, "late": late, "dropped": dropped}
    return {"load_model": "open", "arrivals": arrivals}


def _tidy(stats: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: _round(stats.get(k)) for k in _ENTRY_KEYS}
    failed = stats.get("failed")
    out["failed"] = {k: _round(failed.get(k)) for k in FAILED_KEYS} if failed else None
    return out


def _agent_outcomes(counts: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, Any]]:
    out = {}
    for scenario, by_outcome in sorted(counts.items()):
        total = sum(int(v) for v in by_outcome.values())
        row: dict[str, Any] = {k: int(v) for k, v in sorted(by_outcome.items())}
        row["total"] = total
        row["success_rate"] = _round(int(by_outcome.get("success", 0)) / total) if total else None
        row["success_rate_ci"] = share_ci(int(by_outcome.get("success", 0)), total)
        out[scenario] = row
    return out


def _load_section(timeline: Sequence[Mapping[str, Any]], entry: str | None) -> dict[str, Any]:
    """Where P95 starts to degrade: of ``entry``, else of the HTTP entry slowest over the run
    (the agent call, which fast status calls would otherwise dilute)."""
    if entry is None:
        slowest = [
            (stats["p95_ms"], name)
            for name, stats in window_stats(timeline).items()
            if is_http(name) and stats["p95_ms"] is not None
        ]
        entry = max(slowest)[1] if slowest else None
    steps = steps_from_timeline(timeline, warmup_s=5.0, entry=entry)
    point = degradation_point(steps)
    return {
        "entry": entry or "all HTTP entries",
        "steps": [_clean(asdict(s)) for s in steps],
        "degradation": _clean(asdict(point)) if point else None,
    }


def _peak_users(timeline: Sequence[Mapping[str, Any]]) -> int | None:
    counts = [int(ln.get("users", 0)) for ln in timeline]
    return max(counts) if counts else None


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    return value


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj
