"""The stress stop criteria, the knee, and the load phase's degradation point."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentload.metrics.knee import (
    Knee,
    Step,
    degradation_point,
    find_knee,
    no_knee_finding,
    not_saturated,
    stop_reason,
    stress_section,
)
from agentload.profiles.model import StressParams

PARAMS = StressParams(max_error_rate=0.05, p95_limit_ms=60_000, min_rps_gain=0.05, max_steps=40)


def closed_loop(users, slots, ttft_s, tokens, tokens_per_s, noise=0.0, seed=0, queue=None):
    """A closed-loop, zero-think-time load on an engine with ``slots`` and an optional queue:
    rps grows with users up to the slots, then plateaus while latency grows; past slots + queue
    the extra users get fast 429s (errors that inflate the raw rps)."""
    rng = random.Random(seed)
    service_s = ttft_s + tokens / tokens_per_s
    capacity = slots / service_s
    steps = []
    for u in users:
        jitter = 1 + rng.uniform(-noise, noise)
        good = min(u, slots) / service_s * jitter
        rejected = 0.0
        if queue is not None and u > slots + queue:
            rejected = (u - slots - queue) / 0.005  # a 429 takes 5 ms
        rps = good + rejected
        p95 = service_s * 1000 * max(1.0, u / slots) * (1 + rng.uniform(-noise, noise))
        steps.append(Step(users=u, rps=rps, p95_ms=p95, error_rate=rejected / rps))
    return steps, capacity


def run_until_stop(start, step, slots, ttft_s, tokens, tps, noise=0.0, seed=0, queue=None):
    """Step the load as the stress shape does, until ``stop_reason`` says stop."""
    steps = []
    for index in range(PARAMS.max_steps):
        users = start + index * step
        [measured], capacity = closed_loop(
            [users], slots, ttft_s, tokens, tps, noise, seed * 1000 + index, queue
        )
        steps.append(measured)
        if stop_reason(steps, PARAMS):
            break
    return steps, capacity


ENGINES = [  # slots, ttft_s, tokens, tokens_per_s
    (4, 0.2, 64, 100.0),
    (8, 0.1, 128, 200.0),
    (16, 0.5, 256, 50.0),
    (32, 0.05, 32, 400.0),
]


@pytest.mark.parametrize(("slots", "ttft", "tokens", "tps"), ENGINES)
@pytest.mark.parametrize(("start", "step"), [(1, 1), (2, 2), (2, 3), (4, 4)])
def test_knee_lands_on_the_analytic_capacity_for_clean_curves(
    slots, ttft, tokens, tps, start, step
):
    steps, capacity = run_until_stop(start, step, slots, ttft, tokens, tps)
    knee = find_knee(steps)
    assert knee is not None
    assert abs(knee.rps - capacity) / capacity <= 0.10
    assert slots * 0.95 - 1 <= knee.users < slots + step


@pytest.mark.parametrize(("slots", "ttft", "tokens", "tps"), ENGINES)
@pytest.mark.parametrize("seed", range(12))
def test_knee_stays_within_10_percent_of_capacity_on_noisy_curves(slots, ttft, tokens, tps, seed):
    step = max(1, slots // 4)
    steps, capacity = run_until_stop(1, step, slots, ttft, tokens, tps, noise=0.04, seed=seed)
    knee = find_knee(steps)
    assert knee is not None
    assert abs(knee.rps - capacity) / capacity <= 0.10


def test_fast_rejections_past_the_queue_do_not_move_the_knee():
    steps, capacity = closed_loop(
        range(2, 41, 2), slots=8, ttft_s=0.1, tokens=128, tokens_per_s=200, queue=8
    )
    assert max(s.rps for s in steps) > 10 * capacity  # raw rps is dominated by 429s
    knee = find_knee(steps)
    assert knee == Knee(users=8, rps=pytest.approx(capacity), p95_ms=pytest.approx(740))


def test_no_knee_while_throughput_keeps_growing():
    steps, _ = closed_loop([2, 4, 6, 8], slots=16, ttft_s=0.1, tokens=64, tokens_per_s=100)
    assert find_knee(steps) is None
    assert find_knee(steps[:1]) is None and find_knee([]) is None


def test_knee_accepts_the_mappings_the_stress_shape_writes():
    steps = [
        {"users": u, "rps": min(u, 6) * 2.0, "p95_ms": 500.0, "error_rate": 0.0}
        for u in (2, 4, 6, 8, 10)
    ]
    assert find_knee(steps) == Knee(users=6, rps=12.0, p95_ms=500.0)


def test_stop_reason_on_errors_p95_and_stalled_throughput():
    grow = [Step(2, 10, 100, 0), Step(4, 20, 100, 0)]
    assert stop_reason(grow, PARAMS) is None
    assert "error rate 10.0% > 5.0%" in stop_reason([*grow, Step(6, 30, 100, 0.1)], PARAMS)
    assert "p95 70000ms > limit" in stop_reason([*grow, Step(6, 30, 70_000, 0)], PARAMS)
    stalled = stop_reason([*grow, Step(6, 20.5, 150, 0), Step(8, 20.6, 200, 0)], PARAMS)
    assert stalled is not None and "throughput stopped growing" in stalled
    assert stop_reason([*grow, Step(6, 30, 100, 0)], PARAMS) is None
    limited = StressParams(max_steps=2)
    assert "max_steps (2)" in stop_reason(grow, limited)
    assert stop_reason([], PARAMS) is None


def test_stop_reason_reads_mapping_criteria_and_steps():
    steps = [
        {"users": 2, "rps": 10.0, "p95_ms": 90, "error_rate": 0.0},
        {"users": 4, "rps": 10.1, "p95_ms": 180, "error_rate": 0.0},
        {"users": 6, "rps": 10.2, "p95_ms": 270, "error_rate": 0.0},
    ]
    assert "+2.0% over the last 2 steps" in stop_reason(steps, {"min_rps_gain": 0.05})
    assert "p95 270ms > limit 200ms" in stop_reason(steps, {"p95_limit_ms": 200})


def test_degradation_point_is_where_p95_rises_and_stays_up():
    p95s = [200, 210, 205, 215, 400, 650, 900]
    steps = [Step(20 * (i + 1), 10.0 * (i + 1), p, 0) for i, p in enumerate(p95s)]
    assert degradation_point(steps) == steps[4]


def test_degradation_point_ignores_a_single_spike_and_flat_curves():
    spiky = [
        Step(u, u, p, 0)
        for u, p in zip(range(10, 70, 10), [200, 200, 900, 210, 205, 220], strict=True)
    ]
    assert degradation_point(spiky) is None
    assert degradation_point([Step(10, 1, 200, 0)]) is None


def test_stress_section_has_the_contract_keys_and_no_nan():
    steps = [Step(2, 4.0, float("nan"), 0.0)]
    section = stress_section(steps, Knee(2, 4.0, 100.0), "done", "engine slots")
    assert section == {
        "steps": [{"users": 2, "rps": 4.0, "p95_ms": None, "error_rate": 0.0}],
        "knee": {"users": 2, "rps": 4.0, "p95_ms": 100.0},
        "not_saturated": None,
        "stop_reason": "done",
        "saturated": "engine slots",
    }


def ramp(users, rps_per_user, noise=0.0, seed=0):
    rng = random.Random(seed)
    return [Step(u, u * rps_per_user * (1 + rng.uniform(-noise, noise)), 100.0, 0.0) for u in users]


def test_a_linear_ramp_cut_by_max_steps_has_no_knee_and_says_how_far_it_went():
    """The issue's case: 2, 4, ... 24 rps over 12 steps once read as a knee at 22 users."""
    steps = ramp(range(2, 25, 2), 1.0)
    assert "max_steps (12)" in stop_reason(steps, StressParams(max_steps=12))
    assert find_knee(steps) is None
    section = stress_section(steps, None, "reached max_steps (12)", None, PARAMS)
    assert section["knee"] is None
    assert section["not_saturated"] == {"users": 24, "rps": 24.0}
    expected = "not saturated up to 24 users (24.0 rps): raise --users"
    assert no_knee_finding(section).startswith(expected)
    assert "[stress] max_steps or step_users" in no_knee_finding(section, phase="profile")


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    start=st.integers(1, 200),
    step=st.integers(1, 50),
    count=st.integers(2, 40),
    slope=st.floats(0.01, 100.0),
)
def test_no_linear_ramp_ever_stalls_or_has_a_knee(start, step, count, slope):
    """Whatever its start, step, length and slope, a linear ramp neither stops the search as
    stalled nor yields a knee (throughput grows as fast as the users)."""
    steps = ramp(range(start, start + step * count, step), slope)
    params = StressParams(max_steps=40)
    for end in range(1, len(steps) + 1):
        reason = stop_reason(steps[:end], params)
        assert reason is None or "max_steps" in reason
    assert find_knee(steps) is None
    assert not_saturated(steps, None, params) == {
        "users": steps[-1].users,
        "rps": round(steps[-1].rps, 3),
    }


@pytest.mark.parametrize("seed", range(40))
def test_a_noisy_ramp_in_the_stock_step_table_has_no_knee(seed):
    """±2 % noise on a ramp of the stock steps (2, 4, ... 24 users) invents no knee."""
    assert find_knee(ramp(range(2, 25, 2), 2.0, noise=0.02, seed=seed)) is None


def test_throughput_that_falls_past_its_peak_has_its_knee_at_the_peak():
    """Goodput climbs to 40 rps at 8 users, then falls as contention grows: the knee is the
    peak, not the last (largest) step."""
    goodput = {2: 10, 4: 20, 6: 30, 8: 40, 10: 36, 12: 30, 14: 24}
    steps = [Step(u, rps, 50.0 * u, 0.0) for u, rps in goodput.items()]
    assert "throughput stopped growing" in stop_reason(steps[:6], PARAMS)
    knee = find_knee(steps[:6])
    assert knee is not None and knee.users == 8 and knee.rps == 40


def test_a_search_that_broke_a_limit_while_growing_is_not_called_not_saturated():
    """Errors past the limit while throughput still grew: no knee, and no advice to add users."""
    steps = [Step(2, 10, 100, 0.0), Step(4, 20, 100, 0.0), Step(6, 33, 100, 0.08)]
    reason = stop_reason(steps, PARAMS)
    assert reason is not None and reason.startswith("error rate 8.0%")
    assert find_knee(steps) is None
    section = stress_section(steps, None, reason, None, PARAMS)
    assert section["not_saturated"] is None
    assert (
        no_knee_finding(section)
        == f"no knee: throughput still grew when a limit stopped the search ({reason})"
    )


def test_no_finding_for_a_knee_or_a_run_without_steps():
    assert no_knee_finding({"knee": {"users": 8, "rps": 10.0, "p95_ms": 1.0}}) is None
    assert no_knee_finding({"knee": None, "not_saturated": None, "steps": []}) is None
    failing = {"knee": None, "not_saturated": None, "stop_reason": "error rate 100.0% > 5.0%",
               "steps": [{"users": 2, "rps": 50.0, "p95_ms": None, "error_rate": 1.0}]}  # fmt: skip
    assert no_knee_finding(failing).startswith("no knee: no step served a successful request")


def test_the_last_console_lines_and_the_report_say_not_saturated_and_what_was_profiled():
    """No knee: the console's findings and the report's stress section say how far the search
    went and the knob; the profile's line says it held the largest step."""
    from agentload.report.phase_sections import profile, stress
    from agentload.report.rundata import RunData
    from agentload.run.finish import _findings

    steps = ramp(range(2, 25, 2), 1.0)
    section = stress_section(steps, None, "reached max_steps (12)", None, PARAMS)
    summary = {"phase": "profile", "stress": section,
               "profile": {"users": 24, "users_from": "not_saturated"}}  # fmt: skip
    no_knee, held = _findings(summary)
    assert no_knee == (
        "not saturated up to 24 users (24.0 rps): raise [stress] max_steps or step_users in the "
        "profile"
    )
    assert held == "profiled 24 users: the largest step, as the search found no knee"
    run = RunData(Path("."), {**summary, "phase": "stress"}, stress_steps=section["steps"])
    assert "<b>No knee</b>: not saturated up to 24 users (24.0 rps): raise --users" in stress(run)
    assert "the largest stress step: the search found no knee" in profile(run)
