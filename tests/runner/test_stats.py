"""Timeline windows and stress steps over the exact histograms; old timelines still read."""

from __future__ import annotations

import json
import math

import pytest

from agentload.metrics.latency import LEGACY_META, META, EntryLatency
from agentload.metrics.stats import (
    histogram_meta,
    latency_over,
    step_from_latencies,
    steps_from_timeline,
    window_stats,
)
from agentload.results.reading import read_timeline


def _hdr(ok=(), failed=()):
    entry = EntryLatency()
    for ms in ok:
        entry.record(ms)
    for ms in failed:
        entry.record(ms, failed=True)
    return entry


def _hdr_line(t, users, entries):
    """``entries``: {name: (cumulative requests, cumulative failures, ok ms, failed ms)}."""
    out = {}
    for name, (req, fail, ok, failed) in entries.items():
        out[name] = {"requests": req, "failures": fail, **_hdr(ok, failed).to_json()}
    return {"t": t, "users": users, "entries": out, "outcomes": {}}


HDR_TIMELINE = [
    _hdr_line(1.0, 2, {"GET /a": (10, 0, [10.0] * 10, [])}),
    _hdr_line(2.0, 2, {"GET /a": (20, 2, [10.0] * 4 + [20.0] * 4, [1.0, 1.0])}),
    _hdr_line(
        3.0,
        4,
        {
            "GET /a": (40, 2, [30.0] * 20, []),
            "POST /b": (4, 0, [500.0] * 4, []),
            "TTFT b": (4, 0, [5.0] * 4, []),
        },
    ),
    _hdr_line(
        4.0,
        4,
        {
            "GET /a": (60, 4, [30.0] * 8 + [100.0] * 10, [2.0, 3.0]),
            "POST /b": (8, 0, [700.0] * 4, []),
            "TTFT b": (8, 0, [5.0] * 4, []),
        },
    ),
]


def test_window_stats_merge_the_lines_histograms_successes_and_failures_apart():
    """Counts are differences of the cumulative ones; latencies are the successes' of the
    window's lines, the failures' under ``failed``; error_rate is failures / requests."""
    stats = window_stats(HDR_TIMELINE, start_t=2.0, end_t=4.0)
    a = stats["GET /a"]
    assert (a["requests"], a["failures"], a["rps"]) == (40, 2, pytest.approx(20.0))
    assert a["error_rate"] == pytest.approx(0.05)
    assert a["p50_ms"] == pytest.approx(30.0, rel=1e-3)
    assert a["p95_ms"] == pytest.approx(100.0, rel=1e-3)
    assert a["max_ms"] == pytest.approx(100.0, rel=1e-3)
    assert a["failed"]["requests"] == 2
    assert a["failed"]["max_ms"] == pytest.approx(3.0, rel=1e-3)
    b = stats["POST /b"]
    assert b["requests"] == 8 and b["failed"]["requests"] == 0 and b["failed"]["p95_ms"] is None
    # nearest rank: with 4 + 4 samples the median is the 4th, the upper one is the 5th.
    assert b["p50_ms"] == pytest.approx(500.0, rel=1e-3)
    assert b["p90_ms"] == pytest.approx(700.0, rel=1e-3)


def test_every_percentile_of_a_window_is_at_most_its_max():
    for stats in window_stats(HDR_TIMELINE).values():
        for key in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms"):
            assert stats[key] <= stats["max_ms"]


def test_window_stats_over_the_whole_timeline_starts_from_zero():
    stats = window_stats(HDR_TIMELINE)
    assert stats["GET /a"]["requests"] == 60
    assert stats["GET /a"]["rps"] == pytest.approx(15.0)
    assert stats["GET /a"]["failed"]["requests"] == 4


def test_latency_over_without_an_entry_merges_the_http_entries_only():
    merged = latency_over(HDR_TIMELINE)
    assert merged.requests == 60 + 8  # TTFT b is a timing entry, not a request
    assert merged.failures == 4


def test_steps_from_hdr_lines_group_by_users_and_take_the_entrys_successes_p95():
    steps = steps_from_timeline(HDR_TIMELINE, entry="POST /b")
    assert [s.users for s in steps] == [2, 4]
    assert steps[1].rps == pytest.approx(24.0)
    assert steps[1].error_rate == pytest.approx(2 / 48)
    assert steps[1].p95_ms == pytest.approx(700.0, rel=1e-3)


def test_a_stress_step_is_measured_from_the_latencies_of_its_window():
    """rps and errors over HTTP entries; P95 of the entry's successes, of all HTTP entries'
    when the entry is absent, NaN when it has no success."""
    entries = {
        "POST /b": _hdr([200.0] * 19 + [900.0], [5.0] * 5),
        "GET /a": _hdr([1.0] * 75),
        "TTFT b": _hdr([50.0] * 20),
    }
    step, requests = step_from_latencies(entries, users=6, seconds=10.0, entry="POST /b")
    assert requests == 100 and step.users == 6
    assert step.rps == pytest.approx(10.0) and step.error_rate == pytest.approx(0.05)
    assert step.p95_ms == pytest.approx(200.0, rel=1e-3)
    step, _ = step_from_latencies(entries, 6, 10.0, entry="POST /missing")
    assert step.p95_ms == pytest.approx(200.0, rel=1e-3)  # 95th of 95 successes over both
    step, _ = step_from_latencies({"POST /b": _hdr([], [5.0])}, 6, 10.0, entry="POST /b")
    assert math.isnan(step.p95_ms) and step.error_rate == 1.0


def test_histogram_meta_says_which_histogram_the_figures_come_from():
    assert histogram_meta({"histogram": META}) == META
    assert histogram_meta(None, HDR_TIMELINE) == META
    assert histogram_meta(None, TIMELINE) == LEGACY_META
    assert histogram_meta({"entries": {"GET /a": {"requests": 1}}}) == LEGACY_META
    assert histogram_meta(None, []) is None


def _line(t, users, status_cum, status_hist, codegen_cum=None, codegen_hist=None, fails=0):
    entries = {"GET /v1/status": {"requests": status_cum, "failures": fails, "hist": status_hist}}
    if codegen_cum is not None:
        entries["POST /v1/agents/codegen"] = {
            "requests": codegen_cum,
            "failures": 0,
            "hist": codegen_hist or {},
        }
        entries["TTFT codegen"] = {"requests": codegen_cum, "failures": 0, "hist": {"5": 1}}
    return {"t": t, "users": users, "entries": entries, "outcomes": {}}


# A timeline recorded before the exact histograms: Locust's rounded ``hist`` per line.
TIMELINE = [
    _line(1.0, 2, 10, {"10": 10}),
    _line(2.0, 2, 20, {"10": 5, "20": 5}),
    _line(3.0, 4, 40, {"30": 20}, 4, {"500": 4}),
    _line(4.0, 4, 60, {"30": 10, "100": 10}, 8, {"700": 4}, fails=2),
]


def test_old_lines_read_with_percentiles_over_all_requests_and_failed_unknown():
    stats = window_stats(TIMELINE, start_t=2.0, end_t=4.0)
    status = stats["GET /v1/status"]
    assert (status["requests"], status["failures"]) == (40, 2)
    assert status["rps"] == pytest.approx(20.0)
    assert status["p50_ms"] == pytest.approx(30, rel=1e-3)
    assert status["p95_ms"] == pytest.approx(100, rel=1e-3)
    assert status["max_ms"] == pytest.approx(100, rel=1e-3)
    assert status["failed"] is None
    codegen = stats["POST /v1/agents/codegen"]
    assert codegen["requests"] == 8 and codegen["max_ms"] == pytest.approx(700, rel=1e-3)
    assert window_stats(TIMELINE)["GET /v1/status"]["requests"] == 60


def test_read_timeline_skips_a_truncated_last_line(tmp_path):
    path = tmp_path / "timeline.jsonl"
    text = "\n".join(json.dumps(line) for line in TIMELINE)
    path.write_text(text + "\n" + json.dumps(TIMELINE[0])[:25], encoding="utf-8")
    assert read_timeline(path) == TIMELINE
    assert read_timeline(tmp_path / "missing.jsonl") == []


def test_steps_group_lines_by_user_count_and_leave_out_custom_entries():
    steps = steps_from_timeline(TIMELINE, entry="POST /v1/agents/codegen")
    assert [s.users for s in steps] == [2, 4]
    first, second = steps
    assert first.rps == pytest.approx(10.0) and first.error_rate == 0
    assert second.rps == pytest.approx(24.0)  # 40 status + 8 codegen over 2 s, TTFT left out
    assert second.error_rate == pytest.approx(2 / 48)
    assert second.p95_ms == pytest.approx(700, rel=1e-3)


def test_steps_leave_out_each_steps_warmup():
    steps = steps_from_timeline(TIMELINE, warmup_s=1.0)
    assert [s.users for s in steps] == [2, 4]
    assert steps[1].rps == pytest.approx((20 + 4) / 1.0)
