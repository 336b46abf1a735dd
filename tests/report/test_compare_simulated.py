"""The comparison's goals on simulated runs (seeded, stored as real runs store them): a true 2×
slowdown at 100 requests per run is a regression in at least 19 of 20 pairs, and two runs of the
same distribution are flagged in at most 1 of 20."""

from __future__ import annotations

import random
from pathlib import Path

from agentload.report.compare import compare, compare_runs
from agentload.report.compare_render import to_markdown
from agentload.report.comparison import INCONCLUSIVE, REGRESSION, WITHIN_NOISE, Delta, Tolerances
from agentload.report.verdicts import Evidence, decide
from tests.report.simulated_runs import ENTRY, simulated_run

PAIRS = 20
FIXTURES = Path(__file__).with_name("fixtures")


def _pairs(slowdown: float, seed: int) -> list[tuple[bool, bool, set[str]]]:
    """(regressed, failed, regressed metrics of the entry) of 20 seeded pairs."""
    out = []
    for i in range(PAIRS):
        rng = random.Random(seed + i)
        result = compare(simulated_run(rng, 100), simulated_run(rng, 100, slowdown))
        metrics = {d.metric for d in result.regressions if d.entry == ENTRY}
        out.append((result.regressed, result.failed, metrics))
    return out


def test_a_true_2x_slowdown_at_100_requests_is_a_regression_in_19_of_20_pairs() -> None:
    """Every latency 2× (so P95 2×), 100 requests per run: P95 flagged a regression (confirmed
    by a test, not only by its point estimate) in at least 19 of 20 pairs."""
    results = _pairs(2.0, seed=100)
    p95 = sum("P95" in metrics for _, _, metrics in results)
    regressed = sum(r for r, _, _ in results)
    assert p95 >= 19, f"P95 regression in {p95}/20"
    assert regressed >= 19, f"regressed {regressed}/20"


def test_two_runs_of_the_same_distribution_are_flagged_in_at_most_1_of_20_pairs() -> None:
    """Same lognormal on both sides: a regression in at most 1 of 20 pairs, and the comparison
    fails (regression, or inconclusive without --allow-inconclusive) in at most 2 of 20."""
    results = _pairs(1.0, seed=200)
    regressed = sum(r for r, _, _ in results)
    failed = sum(f for _, f, _ in results)
    assert regressed <= 1, f"regressed {regressed}/20"
    assert failed <= 2, f"failed {failed}/20"


def test_an_unconfirmed_breach_that_a_test_leans_to_is_inconclusive_with_a_sample_size() -> None:
    """P95 +30 %, tests at p 0.015 and 0.4: inconclusive, settled by the smaller n; it fails the
    comparison unless inconclusive is allowed; --fail-within-noise makes it a regression."""
    evidence = Evidence((0.015, 0.4), (900, 2500))
    d = decide(Delta(ENTRY, "P95", 100.0, 130.0, "ms"), True, evidence, 0.01)
    assert (d.status, d.needed_n) == (INCONCLUSIVE, 900)
    strict = decide(Delta(ENTRY, "P95", 100.0, 130.0, "ms"), True, evidence, 0.01, True)
    assert strict.status == REGRESSION
    calm = decide(
        Delta(ENTRY, "P95", 100.0, 130.0, "ms"), True, Evidence((0.3, None), (None,)), 0.01
    )
    assert calm.status == WITHIN_NOISE
    rng = random.Random(0)
    base, slow = simulated_run(rng, 12), simulated_run(rng, 12, 1.6)
    for allow in (False, True):
        result = compare(base, slow, Tolerances(allow_inconclusive=allow))
        unsure = [d for d in result.inconclusive if d.metric == "P95"]
        assert unsure and not result.regressed
        assert result.failed is not allow
        # truth: ×1.6 on sigma 0.5 is P(slower) = Φ(ln 1.6 / (0.5·√2)) = 0.75, for which
        # Noether's n at 0.005 and 80 % power is 32 per run
        assert unsure[0].needed_n is not None and 15 <= unsure[0].needed_n <= 60
        assert "requests per run would settle it" in to_markdown(result)


def test_a_small_significant_shift_under_the_tolerance_does_not_fail() -> None:
    """20,000 requests per run, every latency 3 % longer: the rank test is sure (p < 0.001) but
    the shift is under the 10 % tolerance, and nothing regresses."""
    rng = random.Random(5)
    result = compare(simulated_run(rng, 20_000), simulated_run(rng, 20_000, 1.03))
    by_metric = {d.metric: d for d in result.deltas if d.entry == ENTRY}
    assert "rank p<0.001" in by_metric["P50"].test
    assert not result.failed, [(d.metric, d.status) for d in result.deltas]


def test_recorded_runs_without_histograms_fall_back_to_tolerances_and_say_so() -> None:
    """The recorded fixtures predate the exact histograms: the comparison still runs, judges the
    percentiles by tolerance and noise band (no test named) and says why in its notes."""
    result = compare_runs(FIXTURES / "smoke-run", FIXTURES / "smoke-run")
    assert not result.failed
    assert any("no exact latency histograms" in note for note in result.notes)
    p95 = [d for d in result.deltas if d.metric == "P95"]
    assert p95 and all(d.test == "" and d.status in ("same", "n/a") for d in p95)
    mixed = compare_runs(FIXTURES / "smoke-run", FIXTURES / "profile-run")
    assert "BASE" in mixed.notes[0] and "NEW" in mixed.notes[0]
