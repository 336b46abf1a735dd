"""Per-second latency buckets: exact merges across workers, the wire form, windows of whole
seconds, when a window is complete, and bounded memory (agentload/second_buckets.py)."""

from __future__ import annotations

import ast
import importlib.util
import random
from pathlib import Path
from typing import Any

import pytest

from agentload.errors import ConfigError
from agentload.metrics import latency
from agentload.metrics.latency import EntryLatency, Recording
from agentload.metrics.second_buckets import (
    LAYOUT,
    PerSecond,
    SecondBuckets,
    decode,
    encode,
    merge_seconds,
    whole_seconds,
)
from agentload.profiles.model import (
    MIN_REPORT_INTERVALS,
    WORKER_REPORT_INTERVAL_S,
    Profile,
    StressParams,
    check_worker_steps,
)

T0 = 1_700_000_000  # a wall-clock second


def _recorded(values: list[tuple[int, str, float, bool]]) -> PerSecond:
    """What one process records: (second, entry, ms, failed) per request."""
    out: PerSecond = {}
    for second, entry, ms, failed in values:
        out.setdefault(second, {}).setdefault(entry, Recording()).record(ms, failed)
    return out


def _requests(rng: random.Random, n: int) -> list[tuple[int, str, float, bool]]:
    entries = ["GET /a", "POST /b", "TTFT chat"]
    return [
        (T0 + rng.randrange(10), rng.choice(entries), rng.lognormvariate(4, 1), rng.random() < 0.1)
        for _ in range(n)
    ]


def _wire(seconds: PerSecond, through: float) -> tuple[PerSecond, float, PerSecond]:
    return decode(encode(seconds, through))


def _direct(values: list[tuple[int, str, float, bool]], start: int, end: int) -> dict[str, Any]:
    """The figures of the same requests recorded straight into HdrHistograms."""
    out: dict[str, EntryLatency] = {}
    for second, entry, ms, failed in values:
        if start <= second < end:
            out.setdefault(entry, EntryLatency()).record(ms, failed)
    return {name: (lat.requests, lat.failures, lat.figures()) for name, lat in out.items()}


def test_two_workers_reports_merge_into_exactly_the_histogram_of_all_their_requests() -> None:
    """A window over two workers' reports (each in several pieces, over the wire) has the same
    counts and the same percentiles, to the bucket, as all their requests recorded in one
    histogram."""
    rng = random.Random(11)
    one, two = _requests(rng, 3000), _requests(rng, 2000)
    buckets = SecondBuckets()
    for source, values in (("w1", one), ("w2", two)):
        for part in range(3):  # three reports each
            seconds, through, _ = _wire(_recorded(values[part::3]), T0 + 3.0 * (part + 1))
            buckets.add(source, seconds, through)
    for start, end in ((T0, T0 + 10), (T0 + 2, T0 + 7), (T0 + 9, T0 + 10)):
        got = {
            name: (lat.requests, lat.failures, lat.figures())
            for name, lat in buckets.window(start, end).items()
        }
        assert got == _direct(one + two, start, end)
        assert buckets.requests(start, end) == sum(n for n, _, _ in got.values())


def test_a_window_holds_exactly_the_requests_that_finished_in_its_seconds() -> None:
    buckets = SecondBuckets()
    buckets.add("w1", _recorded([(T0 + s, "GET /a", 10.0, False) for s in range(5)]), T0 + 5)
    assert buckets.requests(T0 + 1, T0 + 3) == 2
    assert buckets.window(T0 + 5, T0 + 9) == {}


def test_a_window_is_complete_once_every_live_worker_has_reported_past_its_end() -> None:
    """waiting_for names the sources whose latest report was taken before the window's end,
    including one that never reported; a report taken exactly at the end completes it."""
    buckets = SecondBuckets()
    buckets.add("w1", {}, T0 + 9.5)
    buckets.add("w2", {}, T0 + 10.0)
    assert buckets.waiting_for(T0 + 10, ["w1", "w2", "w3"]) == ["w1", "w3"]
    buckets.add("w1", {}, T0 + 12.5)
    assert buckets.waiting_for(T0 + 10, ["w1", "w2"]) == []
    buckets.add("w1", {}, T0 + 11.0)  # an older through (out of order) does not go back
    assert buckets.waiting_for(T0 + 12, ["w1"]) == []
    assert buckets.waiting_for(T0 + 10, []) == []  # a local runner waits for nobody


def test_old_seconds_are_pruned_and_late_data_for_them_is_dropped() -> None:
    """Memory stays bounded: seconds more than retain_s before the newest report go, and data
    that arrives for them later is not kept; retain() only ever raises the bound."""
    buckets = SecondBuckets(retain_s=30)
    for second in range(100):
        seconds = _recorded([(T0 + second, "GET /a", 5.0, False)])
        buckets.add("w1", seconds, T0 + second + 1)
    assert min(buckets.seconds) == T0 + 100 - 30 and len(buckets.seconds) == 30
    buckets.add("w2", _recorded([(T0 + 10, "GET /a", 5.0, False)]), T0 + 100)
    assert T0 + 10 not in buckets.seconds
    buckets.retain(10)
    assert buckets.retain_s == 30
    buckets.retain(45.5)
    assert buckets.retain_s == 46
    buckets.reset()
    assert buckets.seconds == {} and buckets.waiting_for(T0, ["w1"]) == ["w1"]


def test_whole_seconds_lie_inside_the_span_and_are_at_least_one() -> None:
    assert whole_seconds(T0 + 2.3, T0 + 11.7) == (T0 + 3, T0 + 11)
    assert whole_seconds(T0 + 2.0, T0 + 11.0) == (T0 + 2, T0 + 11)
    assert whole_seconds(T0 + 2.3, T0 + 3.1) == (T0 + 2, T0 + 3)  # shorter than a whole second


def test_the_wire_form_round_trips_and_refuses_other_layouts() -> None:
    rng = random.Random(3)
    recorded = _recorded(_requests(rng, 500))
    stale = _recorded([(T0 - 1, "GET /a", 1.0, True)])
    seconds, through, window_only = decode(encode(recorded, T0 + 10.25, stale))
    assert through == T0 + 10.25
    for got, sent in ((seconds, recorded), (window_only, stale)):
        assert {s: {e: (r.ok, r.failed) for e, r in es.items()} for s, es in got.items()} == {
            s: {e: (r.ok, r.failed) for e, r in es.items()} for s, es in sent.items()
        }
    with pytest.raises(ValueError, match="layout"):
        decode({**encode(recorded, T0), "layout": [1, 60_000_000, 2]})
    with pytest.raises(ValueError, match="out of range"):
        decode({**encode({}, T0), "seconds": {str(T0): {"GET /a": {"ok": [[10**6, 1]]}}}})
    with pytest.raises(ValueError, match="malformed"):
        decode({"layout": LAYOUT, "seconds": {}})


def test_merging_seconds_adds_counts_and_leaves_the_source_alone() -> None:
    into = _recorded([(T0, "GET /a", 10.0, False)])
    more = _recorded([(T0, "GET /a", 10.0, False), (T0 + 1, "GET /a", 20.0, True)])
    merge_seconds(into, more)
    assert into[T0]["GET /a"].requests == 2 and into[T0 + 1]["GET /a"].failed
    assert more[T0]["GET /a"].requests == 1


def test_the_bucket_layout_is_the_histograms_own() -> None:
    from agentload.metrics import second_buckets

    assert latency.new().counts_len == second_buckets._COUNTS_LEN
    assert LAYOUT == [latency.LOWEST_US, latency.HIGHEST_US, latency.SIGNIFICANT_DIGITS]


def test_the_report_interval_the_check_assumes_is_locusts() -> None:
    """profiles.py does not import Locust (gevent), so it states the interval: read Locust's."""
    spec = importlib.util.find_spec("locust")  # found, not imported
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).parent / "runners.py"
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == (
            "WORKER_REPORT_INTERVAL"
        ):
            assert ast.literal_eval(node.value) == WORKER_REPORT_INTERVAL_S
            return
    pytest.fail("WORKER_REPORT_INTERVAL not found in locust/runners.py")


def _stress_profile(step: float, warmup: float, knee_users: int | None = None) -> Profile:
    data = {
        "phase": "stress", "users": 8, "spawn_rate": 8, "duration_s": step * 4,
        "scenario_config": "stress", "user_classes": ["U"], "shape": "stress",
        "stress": StressParams(step_duration_s=step, warmup_s=warmup, max_steps=4),
    }  # fmt: skip
    if knee_users is not None:
        data["phase"], data["profile"] = "profile", {"knee_users": knee_users}
    return Profile.model_validate(data)


def test_steps_shorter_than_three_report_intervals_are_refused_only_with_workers() -> None:
    needed = MIN_REPORT_INTERVALS * WORKER_REPORT_INTERVAL_S
    short = _stress_profile(step=6, warmup=2)
    with pytest.raises(ConfigError, match=r"stress: step_duration_s - warmup_s = 4s is shorter "
                       r"than 3 worker report intervals \(9 s\) with --workers"):  # fmt: skip
        check_worker_steps(short, workers=2)
    check_worker_steps(short, workers=0)  # local runs measure their own requests at once
    check_worker_steps(_stress_profile(step=needed + 2, warmup=2), workers=2)
    check_worker_steps(_stress_profile(step=6, warmup=2, knee_users=4), workers=2)  # no search
