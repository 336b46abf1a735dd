"""Histogram percentiles (as Locust computes them), timeline windows and stress steps."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from agentload.stats import (
    merge_histograms,
    percentile,
    read_timeline,
    steps_from_timeline,
    window_stats,
)
from tests.support import ROOT

_LOCUST_PERCENTILES = """
import json, sys
from locust.stats import calculate_response_time_percentile as pct
cases = json.load(sys.stdin)
out = [[pct({int(k): v for k, v in h.items()}, sum(h.values()), p) for p in ps] for h, ps in cases]
json.dump(out, sys.stdout)
"""


def test_percentile_matches_locusts_own_function_on_random_histograms():
    """Locust runs in a subprocess (never imported here): same answers on 300 histograms."""
    rng = random.Random(7)
    percents = [0.0, 0.01, 0.5, 0.66, 0.9, 0.95, 0.99, 0.999, 1.0]
    cases = []
    for _ in range(300):
        buckets = rng.randint(1, 40)
        hist = {
            str(
                rng.choice([rng.randint(0, 100), rng.randint(100, 10_000) // 10 * 10])
            ): rng.randint(1, 50)
            for _ in range(buckets)
        }
        cases.append((hist, percents))
    done = subprocess.run(
        [sys.executable, "-c", _LOCUST_PERCENTILES],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=True,
    )
    expected = json.loads(done.stdout)
    ours = [[percentile(hist, p) for p in ps] for hist, ps in cases]
    assert ours == expected


def test_merge_sums_buckets_and_accepts_json_string_keys():
    assert merge_histograms([{"12": 3, "13": 1}, {12: 2, 40: 1}]) == {12: 5, 13: 1, 40: 1}


def test_percentile_of_an_empty_histogram_is_zero_as_in_locust():
    assert percentile({}, 0.95) == 0


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


TIMELINE = [
    _line(1.0, 2, 10, {"10": 10}),
    _line(2.0, 2, 20, {"10": 5, "20": 5}),
    _line(3.0, 4, 40, {"30": 20}, 4, {"500": 4}),
    _line(4.0, 4, 60, {"30": 10, "100": 10}, 8, {"700": 4}, fails=2),
]


def test_window_stats_subtracts_cumulative_counts_and_merges_delta_histograms():
    stats = window_stats(TIMELINE, start_t=2.0, end_t=4.0)
    status = stats["GET /v1/status"]
    assert (status["requests"], status["failures"]) == (40, 2)
    assert status["rps"] == pytest.approx(20.0)
    assert status["p50_ms"] == 30 and status["p95_ms"] == 100 and status["max_ms"] == 100
    codegen = stats["POST /v1/agents/codegen"]
    # Locust walks from the slowest bucket: with 4 + 4 samples its median is the upper one.
    assert codegen["requests"] == 8 and codegen["p50_ms"] == 700 and codegen["max_ms"] == 700


def test_window_stats_over_the_whole_timeline_starts_from_zero():
    stats = window_stats(TIMELINE)
    assert stats["GET /v1/status"]["requests"] == 60
    assert stats["GET /v1/status"]["rps"] == pytest.approx(15.0)


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
    assert second.p95_ms == 700


def test_steps_leave_out_each_steps_warmup():
    steps = steps_from_timeline(TIMELINE, warmup_s=1.0)
    assert [s.users for s in steps] == [2, 4]
    assert steps[1].rps == pytest.approx((20 + 4) / 1.0)
