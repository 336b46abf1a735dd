"""The over-saturation rule (pure): the Theil-Sen trend and its interval, and the rule over the
samples of simulated queues whose capacity is known (c servers of a fixed service time, FIFO):
it finds every rate well above capacity soon after the grace, never one well under it, nor the
ramp-up at the start. And ``--warmup``/``--cooldown`` as written, checked before any load."""

from __future__ import annotations

import heapq
import math
import random
import statistics
from dataclasses import replace

import pytest

from agentload.durations import parse_portion
from agentload.errors import ConfigError
from agentload.metrics.saturation import (
    Sample,
    SaturationRule,
    SaturationWatch,
    saturation_finding,
    trend,
)
from agentload.profiles.load import load_profile
from agentload.run.config import RunConfig
from agentload.run.phases.send_window import check_window, trims


def queue_samples(
    rate: float,
    servers: int,
    service_s: float,
    seconds: int,
    seed: int,
    poisson: bool = True,
    spread: float = 0.0,
) -> list[Sample]:
    """One sample a second of a FIFO queue with ``servers`` servers of ``service_s`` each
    (uniform within ±``spread`` of it) fed ``rate`` arrivals a second: calls sent and finished
    so far, the median latency (ms) of the calls that finished in that second (as the timeline
    gives them)."""
    rng = random.Random(seed)
    arrivals, t = [], rng.uniform(0, 1 / rate)
    while t < seconds:
        arrivals.append(t)
        t += rng.expovariate(rate) if poisson else 1 / rate
    free = [0.0] * servers
    done = []
    for sent in arrivals:
        start = max(sent, heapq.heappop(free))
        end = start + service_s * rng.uniform(1 - spread, 1 + spread)
        heapq.heappush(free, end)
        done.append((end, end - sent))
    samples = []
    for second in range(1, seconds + 1):
        finished = [lat for end, lat in done if second - 1 < end <= second]
        samples.append(
            Sample(
                t=float(second),
                sent=sum(1 for a in arrivals if a <= second),
                finished=sum(1 for end, _ in done if end <= second),
                e2e_ms=statistics.median(finished) * 1000 if finished else None,
            )
        )
    return samples


def first_alarm(samples: list[Sample], rule: SaturationRule | None = None) -> dict | None:
    watch = SaturationWatch(rule or SaturationRule())
    for sample in samples:
        if (evidence := watch.update(sample)) is not None:
            return evidence
    return None


def test_theil_sen_gives_the_slope_of_a_line_and_an_interval_that_narrows_with_points():
    xs = [float(x) for x in range(10)]
    exact = trend(xs, [3.0 + 2.0 * x for x in xs])
    assert exact is not None and exact.slope == 2.0 and exact.lo == exact.hi == 2.0
    assert exact.at(4.0) == pytest.approx(11.0)
    rng = random.Random(1)
    noisy = trend(xs, [2.0 * x + rng.gauss(0, 1) for x in xs])
    wider = trend(xs[:6], [2.0 * x + rng.gauss(0, 1) for x in xs[:6]])
    assert noisy is not None and wider is not None
    assert noisy.lo < 2.0 < noisy.hi and (wider.hi - wider.lo) > (noisy.hi - noisy.lo)
    short = trend([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0])
    assert short is not None and short.lo == -math.inf  # 4 points bound no 95 % interval
    assert trend([0.0, 1.0], [0.0, 1.0]) is None


def test_the_intervals_cover_the_true_slope_about_95_times_in_100():
    """Pure noise around a slope of 1: the 95 % interval holds it in 90 to 100 of 100 draws."""
    rng = random.Random(7)
    xs = [float(x) for x in range(20)]
    held = 0
    for _ in range(100):
        fit = trend(xs, [x + rng.gauss(0, 3) for x in xs])
        assert fit is not None
        held += fit.lo <= 1.0 <= fit.hi
    assert 90 <= held <= 100


@pytest.mark.parametrize("load", [1.3, 1.6, 2.0])
def test_a_rate_well_above_capacity_is_found_soon_after_the_grace(load: float) -> None:
    """4 servers of 200 ms (20 calls/s), Poisson arrivals at 1.3x to 2x: found within 10 s in
    each of 20 seeds, and the completion rate in the evidence is the capacity (within 15 %)."""
    for seed in range(20):
        samples = queue_samples(20 * load, 4, 0.2, 30, seed)
        evidence = first_alarm(samples)
        assert evidence is not None, (load, seed)
        assert evidence["detected_at_s"] <= 10, evidence
        assert evidence["completion_rate"] == pytest.approx(20, rel=0.15), evidence
        assert evidence["in_flight"]["slope_ci"][0] > 0 and evidence["e2e_ms"]["slope_ci"][0] > 0


@pytest.mark.parametrize(("load", "poisson"), [(0.5, True), (0.75, True), (0.85, True),
                                               (0.95, False)])  # fmt: skip
def test_a_rate_the_target_keeps_up_with_is_never_marked(load: float, poisson: bool) -> None:
    """Under capacity, 40 seeds of 60 s each: no alarm, however the queue fluctuates."""
    for seed in range(40):
        assert first_alarm(queue_samples(20 * load, 4, 0.2, 60, seed, poisson)) is None, seed


def test_the_ramp_up_of_slow_calls_is_no_trend():
    """Calls of 5 s at 4/s on 100 servers: in flight climbs from 0 to 20 over the first 5 s
    and nothing finishes until then; the grace (2 latencies) keeps it out. Calls of 1 to 9 s
    (the first to finish are the short ones: each second's median climbs for 9 s): at most one
    alarm in 40 runs of 60 s, where the latest half of the window must grow too."""
    samples = queue_samples(4.0, 100, 5.0, 40, seed=3)
    assert samples[3].sent - samples[3].finished > 10 and samples[3].e2e_ms is None
    assert first_alarm(samples) is None
    assert first_alarm(samples, replace(SaturationRule(), grace_latencies=0)) is None
    spread = [first_alarm(queue_samples(4.0, 200, 5.0, 60, seed, spread=0.8)) for seed in range(40)]
    assert sum(alarm is not None for alarm in spread) <= 1


def test_the_evidence_reads_as_one_sentence():
    evidence = first_alarm(queue_samples(30.0, 4, 0.2, 20, seed=1, poisson=False))
    assert evidence is not None
    said = saturation_finding(evidence)
    assert said.startswith(f"over-saturated {evidence['detected_at_s']:.0f}s into the run")
    assert "calls in flight grew" in said and "E2E +" in said and "completed about" in said


def test_warmup_and_cooldown_are_a_duration_or_a_share_checked_before_load():
    assert parse_portion("10s", what="--warmup") == (10.0, False)
    assert parse_portion("5%", what="--warmup") == (0.05, True)
    for bad in ("10x", "100%", "-5%", "%", "nan%"):
        with pytest.raises(ConfigError, match=r"--warmup '.*': expected a duration such as"):
            parse_portion(bad, what="--warmup")
    rate = load_profile("rate")  # 1 minute
    config = RunConfig(phase="rate", warmup="10%", cooldown="5s")
    check_window(config, rate)
    assert trims(config, 60.0) == (6.0, 5.0)
    with pytest.raises(ConfigError, match="leave nothing of the 60s run to measure"):
        check_window(RunConfig(phase="rate", warmup="50s", cooldown="10s"), rate)
    with pytest.raises(ConfigError, match="only rate, sweep and replay runs have a planned"):
        check_window(RunConfig(phase="smoke", warmup="5s"), load_profile("smoke"))
