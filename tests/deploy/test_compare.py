"""Client and server figures are judged by the server's bucket (pure functions)."""

from __future__ import annotations

import math

import pytest

from agentload.prometheus.compare import (
    AGREES,
    ARTEFACT,
    CLIENT_ABOVE,
    CLIENT_BELOW,
    RANKS_APART,
    Ranks,
    bound_keys,
    bucket_distance,
    bucket_range,
    compare,
    judge,
    quantile_bucket,
    ranks,
    split_entry,
)
from agentload.prometheus.query import window_delta

BOUNDS = [0.1, 0.25, 0.5, 1.0]
INF = math.inf


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


def test_quantile_bucket_is_where_histogram_quantile_interpolates() -> None:
    """The rank q * total falls in the first bucket whose cumulative count reaches it."""
    cumulative = [(0.1, 10.0), (0.25, 50.0), (0.5, 90.0), (1.0, 100.0), (INF, 100.0)]
    assert quantile_bucket(cumulative, 0.5) == (
        0.1,
        0.25,
    )  # rank 50: exactly the top of (0.1, 0.25]
    assert quantile_bucket(cumulative, 0.95) == (0.5, 1.0)
    assert quantile_bucket(cumulative, 0.05) == (0.0, 0.1)
    assert quantile_bucket(list(reversed(cumulative)), 0.9) == (0.25, 0.5)  # any order


def test_quantile_bucket_in_the_inf_bucket_has_no_upper_bound() -> None:
    """Past the last finite bound the bucket is (last, +Inf), not the last finite bucket."""
    assert quantile_bucket([(0.1, 1.0), (1.0, 2.0), (INF, 100.0)], 0.95) == (1.0, INF)
    assert bound_keys("p95", (1.0, INF)) == {"p95_lo_ms": 1000.0, "p95_hi_ms": None}


def test_quantile_bucket_without_observations_is_none() -> None:
    """No observations (or no +Inf bucket): no bucket."""
    assert quantile_bucket([(0.1, 0.0), (INF, 0.0)], 0.95) is None
    assert quantile_bucket([(0.1, 3.0)], 0.95) is None
    assert bound_keys("p99", None) == {}


def test_quantile_bucket_makes_counts_monotonic_as_prometheus_does() -> None:
    """A cumulative count that dips (window deltas of reset counters) does not move the bucket
    back."""
    assert quantile_bucket([(0.1, 5.0), (0.25, 4.0), (0.5, 10.0), (INF, 10.0)], 0.45) == (0.0, 0.1)


def test_client_inside_the_bucket_and_above_the_server_agrees() -> None:
    """Client 950 ms, server estimate 930 ms, bucket (912, 1000]: agreement."""
    verdict, note = judge(950.0, 930.0, 912.0, 1000.0)
    assert verdict == AGREES and note == "client inside the server's bucket (912, 1000] ms"


def test_server_above_the_client_in_the_same_bucket_is_an_interpolation_artefact() -> None:
    """Server 986 ms above client 930 ms, both in (912, 1000]: an artefact, never agreement."""
    verdict, note = judge(930.0, 986.0, 912.0, 1000.0)
    assert verdict == ARTEFACT
    assert note == "server above client: interpolation artefact, both in bucket (912, 1000] ms"


def test_client_below_the_servers_bucket_is_a_real_discrepancy() -> None:
    """Client 810 ms under the server's bucket (912, 1000]: the client cannot be faster than the
    server for the same requests, so this is a real disagreement."""
    verdict, note = judge(810.0, 986.0, 912.0, 1000.0)
    assert verdict == CLIENT_BELOW
    assert note.startswith(
        "client below the server's bucket (912, 1000] ms: faster than the server"
    )
    assert judge(912.0, 950.0, 912.0, 1000.0)[0] == CLIENT_BELOW  # lo itself is outside (lo, hi]


def test_ranks_are_the_clients_nearest_rank_and_the_request_prometheus_interpolates_at() -> None:
    """P95 of 15 requests: the client's is the 14th (round(14.25)), the server's bucket holds the
    15th (the first to reach 14.25); of 1,000 both are the 950th."""
    assert ranks(0.95, 15, 15) == Ranks(client=14, client_n=15, server=15, server_n=15)
    assert ranks(0.95, 1000, 1000) == Ranks(950, 1000, 950, 1000)
    assert ranks(0.99, 1, 1) == Ranks(1, 1, 1, 1)


def test_client_below_the_bucket_as_an_earlier_request_is_ranks_apart() -> None:
    """With few requests the client's P95 may be an earlier request than the one the server's
    bucket holds: below the bucket, but not a discrepancy, and not agreement; with many requests
    (same rank) the same figures are a real discrepancy."""
    verdict, note = judge(3.339, 3.7, 3.63, 3.98, ranks(0.95, 15, 15))
    assert verdict == RANKS_APART
    assert note == (
        "client below the server's bucket (3.63, 3.98] ms, but it is request 14 of 15 and the "
        "server's bucket holds request 15 of 15: the quantile definitions pick different requests, "
        "not a discrepancy"
    )
    assert judge(3.339, 3.7, 3.63, 3.98, ranks(0.95, 1000, 1000))[0] == CLIENT_BELOW
    assert judge(3.339, 3.7, 3.63, 3.98, ranks(0.95, 1000, 1010))[0] == CLIENT_BELOW  # 50 above
    [row] = compare(
        {"GET /v1/jobs/{job_id}": {"p95_ms": 3.339, "requests": 15, "failures": 0}},
        {
            "/v1/jobs/{job_id}": {
                "p95_ms": 3.7,
                "p95_lo_ms": 3.63,
                "p95_hi_ms": 3.98,
                "requests": 15,
            }
        },
        {"/v1/jobs/{job_id}": [0.00331, 0.00363, 0.00398]},
        quantiles=("p95",),
    )
    assert row["verdict"] == RANKS_APART and row["agrees"] is False
    assert row["ranks"] == {"client": 14, "client_n": 15, "server": 15, "server_n": 15}


def test_client_far_above_the_servers_bucket_is_time_outside_the_server() -> None:
    """Client 1,800 ms over the server's (912, 1000]: 800 ms of network or queueing, said so."""
    verdict, note = judge(1800.0, 950.0, 912.0, 1000.0)
    assert verdict == CLIENT_ABOVE
    assert note == (
        "client 800 ms above the server's bucket (912, 1000] ms: time outside the server "
        "(network, queueing, the client)"
    )
    assert judge(5e6, 1000.0, 1000.0, INF)[0] == AGREES  # the +Inf bucket holds everything above


@pytest.mark.parametrize(
    ("client_ms", "server_ms", "expected"),
    [(930.0, 986.0, ARTEFACT), (810.0, 986.0, CLIENT_BELOW), (986.0, 986.0, AGREES)],
)
def test_a_server_value_above_the_clients_is_never_agreement(
    client_ms: float, server_ms: float, expected: str
) -> None:
    """Whatever the bucket, agreement needs server ≤ client."""
    [row] = compare(
        {"POST /v1/agents/codegen": {"p95_ms": client_ms}},
        {"/v1/agents/codegen": {"p95_ms": server_ms, "p95_lo_ms": 912.0, "p95_hi_ms": 1000.0}},
        {"/v1/agents/codegen": [0.832, 0.912, 1.0, 1.1]},
        quantiles=("p95",),
    )
    assert row["verdict"] == expected
    assert row["agrees"] is (expected == AGREES)


def test_compare_rows_per_route_and_quantile() -> None:
    """compare gives one row per shared entry and quantile, with the delta, the server's bucket
    and the verdict; without lo/hi keys the bucket is the one the estimate lies in."""
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
    assert p95["delta_ms"] == 6.0 and (p95["lo_ms"], p95["hi_ms"]) == (20.0, 50.0)
    assert p95["verdict"] == AGREES and p95["agrees"] is True and p95["bucket_distance"] == 0
    assert (p99["lo_ms"], p99["hi_ms"]) == (50.0, 100.0) and p99["bucket_distance"] == 2
    assert p99["verdict"] == CLIENT_ABOVE and p99["agrees"] is False
    assert p99["note"].startswith("client 300 ms above the server's bucket (50, 100] ms")


def test_compare_prefers_the_buckets_the_server_counted_in() -> None:
    """The +Inf bucket: Prometheus answers its lower bound; the row keeps hi as None (+Inf)."""
    [row] = compare(
        {"TTC research": {"p99_ms": 150_000.0}},
        {"TTC research": {"p99_ms": 120_000.0, "p99_lo_ms": 120_000.0, "p99_hi_ms": None}},
        {"TTC research": [60.0, 120.0]},
        quantiles=("p99",),
    )
    assert (row["lo_ms"], row["hi_ms"], row["verdict"]) == (120_000.0, None, AGREES)


def test_window_delta_keeps_series_born_in_the_window() -> None:
    """The window's growth falls back to the whole value for series absent at the start."""
    expr = window_delta("x_total", "route", 12.5)
    assert expr == (
        "clamp_min((sum by (route) (x_total) - sum by (route) (x_total offset 12500ms))"
        " or sum by (route) (x_total), 0)"
    )
