"""The target's latency histograms have bounds at most 10 % apart wherever latencies fall."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from target_service.api.metrics import AgentMetrics
from target_service.buckets import JOB_BUCKETS, LATENCY_BUCKETS, MANTISSAS, log_buckets


def widest_step(bounds: tuple[float, ...]) -> float:
    return max(b / a for a, b in zip(bounds, bounds[1:], strict=False))


def test_one_decade_is_25_bounds_at_most_10_percent_apart() -> None:
    """Each mantissa is at most 10 % above the one before, and 10 is at most 10 % above the last."""
    assert len(MANTISSAS) == 25
    assert widest_step((*MANTISSAS, 10.0)) <= 1.1 + 1e-9


@pytest.mark.parametrize(
    ("bounds", "lo", "hi"), [(LATENCY_BUCKETS, 0.001, 120.0), (JOB_BUCKETS, 0.01, 575.0)]
)
def test_bounds_cover_their_range_with_steps_of_at_most_10_percent(
    bounds: tuple[float, ...], lo: float, hi: float
) -> None:
    """Latency bounds run from 1 ms to 120 s, job bounds from 10 ms to ~10 min, ≤ 10 % apart."""
    assert bounds[0] == lo and bounds[-1] == hi
    assert list(bounds) == sorted(set(bounds))
    assert widest_step(bounds) <= 1.1 + 1e-9
    assert len(bounds) <= 130  # 25 per decade: cardinality stays sane


def test_bounds_are_short_decimals_for_readable_le_labels() -> None:
    """Bounds are exact short decimals (`le="0.00132"`), not float noise."""
    assert all(len(repr(b)) <= 8 for b in LATENCY_BUCKETS + JOB_BUCKETS)
    assert log_buckets(0.001, 0.0015) == (0.001, 0.0011, 0.0012, 0.00132, 0.00145)


def test_log_buckets_rejects_an_empty_range() -> None:
    """A range that is empty or not positive is refused, quoting the values."""
    with pytest.raises(ValueError, match=r"log_buckets\(5.0, 1.0\)"):
        log_buckets(5.0, 1.0)


def test_agent_histograms_use_the_fine_bounds() -> None:
    """The HTTP histogram exposes every fine bound as its `le` labels."""
    registry = CollectorRegistry()
    metrics = AgentMetrics(registry, process_collectors=False)
    metrics.http_duration.labels(route="/v1/status", method="GET", status="200").observe(0.0042)
    les = [
        s.labels["le"]
        for family in registry.collect()
        if family.name == "agent_http_request_duration_seconds"
        for s in family.samples
        if s.name.endswith("_bucket")
    ]
    assert [float(le) for le in les[:-1]] == list(LATENCY_BUCKETS) and les[-1] == "+Inf"
    in_bucket = registry.get_sample_value(
        "agent_http_request_duration_seconds_bucket",
        {"route": "/v1/status", "method": "GET", "status": "200", "le": "0.00437"},
    )
    under = registry.get_sample_value(
        "agent_http_request_duration_seconds_bucket",
        {"route": "/v1/status", "method": "GET", "status": "200", "le": "0.00398"},
    )
    assert (in_bucket, under) == (1.0, 0.0)  # 4.2 ms is in (3.98, 4.37] ms
