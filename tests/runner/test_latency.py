"""Exact latency histograms (agentload.metrics.latency): precision, encoding, exact merging, the
split of successes and failures. Pure: no Locust, no server."""

from __future__ import annotations

import math
import random

import pytest
from hdrh.histogram import HdrHistogram

from agentload.metrics import latency
from agentload.metrics.latency import EntryLatency


def _exact(values: list[float], q: float) -> float:
    """The nearest-rank order statistic the histogram reads: rank max(1, round(q * n))."""
    ordered = sorted(values)
    return ordered[max(1, int(q * len(ordered) + 0.5)) - 1]


def _distributions() -> dict[str, list[float]]:
    rng = random.Random(11)
    return {
        "lognormal": [rng.lognormvariate(4.0, 1.2) for _ in range(20_000)],
        "uniform 20..200 ms": [rng.uniform(20.0, 200.0) for _ in range(20_000)],
        "bimodal 10/1000 ms": [
            rng.gauss(1000.0, 5.0) if rng.random() < 0.1 else rng.gauss(10.0, 0.5)
            for _ in range(20_000)
        ],
        "sub-millisecond": [rng.uniform(0.05, 0.9) for _ in range(5_000)],
    }


@pytest.mark.parametrize("name", list(_distributions()))
def test_percentiles_are_within_a_tenth_of_a_percent_above_the_exact_order_statistic(name):
    """For every quantile the histogram's value is never below the true one and at most 0.1 %
    (or the 1 µs resolution) above it."""
    values = _distributions()[name]
    hist = latency.new()
    for ms in values:
        latency.record(hist, ms)
    quantiles = [0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0]
    for q, got in zip(quantiles, latency.percentiles_ms(hist, quantiles), strict=True):
        truth = _exact(values, q)
        assert got is not None
        assert got >= round(truth, 3) - 0.001, (q, got, truth)
        assert got <= truth * 1.001 + 0.001, (q, got, truth)


def test_a_percentile_is_never_above_the_max_and_the_max_is_within_a_tenth_of_a_percent():
    rng = random.Random(3)
    for _ in range(200):
        values = [rng.expovariate(1 / 50.0) for _ in range(rng.randint(1, 60))]
        hist = latency.new()
        for ms in values:
            latency.record(hist, ms)
        figures = latency.figures(hist)
        assert max(values) - 0.001 <= figures["max_ms"] <= max(values) * 1.001 + 0.001
        for key in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms"):
            assert figures[key] <= figures["max_ms"]


def test_the_mean_is_within_a_tenth_of_a_percent():
    values = _distributions()["lognormal"]
    hist = latency.new()
    for ms in values:
        latency.record(hist, ms)
    assert latency.mean_ms(hist) == pytest.approx(sum(values) / len(values), rel=1e-3)


def test_merging_decoded_parts_is_exactly_the_histogram_of_the_whole():
    """Values spread over three 'workers', sent as text and added up, read as if recorded once."""
    rng = random.Random(5)
    values = [rng.lognormvariate(3.0, 1.0) for _ in range(9_000)]
    whole, parts = latency.new(), [latency.new() for _ in range(3)]
    for i, ms in enumerate(values):
        latency.record(whole, ms)
        latency.record(parts[i % 3], ms)
    merged = latency.merge(latency.decode(latency.encode(p)) for p in parts)
    assert latency.count(merged) == len(values)
    assert latency.figures(merged) == latency.figures(whole)
    assert latency.encode(merged) == latency.encode(whole)


def test_the_encoding_is_compact_for_a_window():
    """A second's worth of one entry's latencies is a few hundred characters."""
    hist = latency.new()
    rng = random.Random(1)
    for _ in range(200):
        latency.record(hist, rng.uniform(80.0, 120.0))
    assert len(latency.encode(hist)) < 800


def test_values_outside_the_range_are_clamped_into_it():
    hist = latency.new()
    for ms in (0.0, -3.0, math.nan, 7_200_000.0, math.inf):
        latency.record(hist, ms)
    assert latency.count(hist) == 5
    low, high = latency.percentiles_ms(hist, [0.01, 1.0])
    assert low == 0.001
    assert high is not None and 3_600_000 <= high <= 3_600_000 * 1.001


def test_decode_refuses_text_that_is_not_one_of_agentloads_histograms():
    with pytest.raises(ValueError, match="not an HdrHistogram"):
        latency.decode("not base64 at all")
    other = HdrHistogram(1, 60_000, 2)
    other.record_value(5)
    with pytest.raises(ValueError, match="histogram settings"):
        latency.decode(other.encode().decode())


def test_an_empty_histogram_has_no_figures():
    figures = latency.figures(None)
    assert figures["requests"] == 0
    assert all(figures[k] is None for k in figures if k.endswith("_ms"))


def test_fast_failures_do_not_pull_the_success_percentiles_down():
    """90 successes at 100 ms and 10 fast 429s at 1 ms: P95 is 100 ms, the failures have theirs."""
    entry = EntryLatency()
    for _ in range(90):
        entry.record(100.0)
    for _ in range(10):
        entry.record(1.0, failed=True)
    figures = entry.figures()
    assert figures["p50_ms"] == pytest.approx(100.0, rel=1e-3)
    assert figures["p95_ms"] == pytest.approx(100.0, rel=1e-3)
    assert set(figures["failed"]) == set(latency.FAILED_KEYS)
    assert figures["failed"]["requests"] == 10
    assert figures["failed"]["p95_ms"] == pytest.approx(1.0, rel=1e-3)
    assert (entry.requests, entry.failures) == (100, 10)


def test_entry_latencies_travel_as_text_and_add_up():
    a, b = EntryLatency(), EntryLatency()
    a.record(10.0)
    b.record(20.0)
    b.record(500.0, failed=True)
    sent = a.to_json(), b.to_json(), EntryLatency().to_json()
    assert set(sent[0]) == {"hdr"} and set(sent[1]) == {"hdr", "hdr_failed"} and sent[2] == {}
    merged = latency.merge_entries(EntryLatency.from_json(s) for s in sent)
    assert (merged.requests, merged.failures) == (3, 1)
    assert merged.figures()["max_ms"] == pytest.approx(20.0, rel=1e-3)


def test_an_old_rounded_histogram_reads_with_its_failures_unknown():
    """Lines recorded before the split carry Locust's ``hist`` over all requests."""
    old = EntryLatency.from_json({"requests": 4, "failures": 1, "hist": {"810": 3, "12": 1}})
    assert not old.split
    figures = old.figures()
    assert figures["failed"] is None
    assert figures["p50_ms"] == pytest.approx(810.0, rel=1e-3)
    assert figures["max_ms"] == pytest.approx(810.0, rel=1e-3)


def test_the_fast_bucket_index_is_hdrhistograms_own():
    rng = random.Random(9)
    hist = latency.new()
    edges = [1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, 10**6, latency.HIGHEST_US]
    for us in edges + [rng.randint(1, latency.HIGHEST_US) for _ in range(20_000)]:
        assert latency.bucket_index(us) == hist.get_counts_array_index(us), us


def test_a_recording_reads_out_as_the_histogram_of_the_same_values():
    """What the load generator records per request (bucket counts) is the same histogram as
    recording each value with HdrHistogram itself, successes and failures apart."""
    rng = random.Random(4)
    recording, direct = latency.Recording(), EntryLatency()
    for _ in range(5_000):
        ms, failed = rng.lognormvariate(3.0, 1.5), rng.random() < 0.1
        recording.record(ms, failed)
        direct.record(ms, failed)
    for ms in (0.0, 0.0004, -1.0, math.nan, 9e9, math.inf, -math.inf):
        recording.record(ms)
        direct.record(ms)
    read = recording.latency()
    assert (read.requests, read.failures) == (direct.requests, direct.failures)
    assert read.to_json() == direct.to_json()
    assert read.figures() == direct.figures()
