"""Client and server figures are judged in histogram buckets (pure functions)."""

from __future__ import annotations

import math

from agentload.prometheus.compare import bucket_distance, bucket_range, compare, split_entry
from agentload.prometheus.query import window_delta

BOUNDS = [0.1, 0.25, 0.5, 1.0]


def test_bucket_range_includes_upper_bound() -> None:
    """Buckets are (lower, upper], as Prometheus' `le`; past the last bound it is +Inf."""
    assert bucket_range(BOUNDS, 0.25) == (0.1, 0.25)
    assert bucket_range(BOUNDS, 0.26) == (0.25, 0.5)
    assert bucket_range(BOUNDS, 0.05) == (0.0, 0.1)
    assert bucket_range(BOUNDS, 7.0) == (1.0, math.inf)


def test_bucket_distance_counts_buckets_between_values() -> None:
    """Values in the same bucket are 0 apart, in neighbouring buckets 1."""
    assert bucket_distance(BOUNDS, 0.3, 0.45) == 0
    assert bucket_distance(BOUNDS, 0.2, 0.3) == 1
    assert bucket_distance(BOUNDS, 0.05, 0.9) == 3


def test_split_entry_separates_http_entries_from_custom_ones() -> None:
    """HTTP entries map to their route; TTFT/TTC entries do not."""
    assert split_entry("POST /v1/agents/codegen") == ("POST", "/v1/agents/codegen")
    assert split_entry("GET /v1/jobs/{job_id}") == ("GET", "/v1/jobs/{job_id}")
    assert split_entry("TTFT codegen") is None


def test_compare_rows_per_route_and_quantile() -> None:
    """compare gives one row per shared entry and quantile, with the delta and the verdict."""
    client = {
        "GET /v1/status": {"p95_ms": 30.0, "p99_ms": 400.0},
        "TTFT codegen": {"p95_ms": 150.0},
        "POST /v1/unknown": {"p95_ms": 1.0},
    }
    server = {"/v1/status": {"p95_ms": 24.0, "p99_ms": 90.0}}
    rows = compare(client, server, {"/v1/status": [0.01, 0.02, 0.05, 0.1, 0.25]})
    assert [(r["entry"], r["quantile"]) for r in rows] == [
        ("GET /v1/status", "p95"),
        ("GET /v1/status", "p99"),
    ]
    p95, p99 = rows
    assert p95["delta_ms"] == 6.0 and p95["within_one_bucket"] is True
    assert p95["server_bucket_ms"] == [20.0, 50.0]
    assert p99["server_bucket_ms"] == [50.0, 100.0] and p99["within_one_bucket"] is False


def test_window_delta_keeps_series_born_in_the_window() -> None:
    """The window's growth falls back to the whole value for series absent at the start."""
    expr = window_delta("x_total", "route", 12.5)
    assert expr == (
        "clamp_min((sum by (route) (x_total) - sum by (route) (x_total offset 12500ms))"
        " or sum by (route) (x_total), 0)"
    )


def test_agreement_is_judged_in_the_coarser_histogram() -> None:
    """3 fine server buckets apart but in one coarse client bucket: they agree; both are shown."""
    server_bounds = {"/v1/status": [0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03]}
    client_bounds = {"GET /v1/status": [0.005, 0.01, 0.025, 0.05]}
    rows = compare(
        {"GET /v1/status": {"p95_ms": 23.0}},
        {"/v1/status": {"p95_ms": 11.9}},
        server_bounds,
        client_bounds,
        quantiles=("p95",),
    )
    assert rows[0]["bucket_distance"] == 3
    assert rows[0]["client_bucket_distance"] == 0
    assert rows[0]["within_one_bucket"] is True
    alone = compare({"GET /v1/status": {"p95_ms": 23.0}}, {"/v1/status": {"p95_ms": 11.9}},
                    server_bounds, quantiles=("p95",))  # fmt: skip
    assert alone[0]["client_bucket_distance"] is None and alone[0]["within_one_bucket"] is False
