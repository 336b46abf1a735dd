"""95 % intervals of the figures, checked against known truths, and gates decided on them.

- Pure: the order-statistic ranks against the exact binomial; seeded draws from a distribution
  of known P95 (the interval holds it in 36 to 40 of 40 runs of 100, and at a 95 % rate over
  many); Wilson and Poisson against tabulated values.
- Real: one `agentload run` against tests/servers/latency_truth.py (``GET /uniform``: uniform
  over [20, 200] ms, so its true P95 is 191 ms) records over 4,000 calls; cut into 40
  consecutive groups of 100, each group's exact histogram gives the interval of its P95 through
  the suite's own function, and 36 to 40 of them hold the true P95. The run's summary.json
  interval holds it too (the client sees the server's time plus the loopback, a few ms at most),
  and a gate that 60 calls cannot decide (``p95(GET /uniform) < 198ms``: 60 calls give no upper
  bound) is inconclusive with exit 1, allowed with --allow-inconclusive, and decided (pass) by
  the long run.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentload.gates import evaluate, parse_gates, should_abort
from agentload.metrics import latency
from agentload.metrics.intervals import (
    poisson_interval,
    quantile_interval_ms,
    quantile_ranks,
    wilson_interval,
)
from tests.runner.agentload_run import CLI, env_with, summary
from tests.support import ROOT, latency_truth_server

LOCUSTFILE = ROOT / "tests" / "latency" / "truth_locustfile.py"
TRUE_P95_MS = 20.0 + 180.0 * 0.95  # GET /uniform: uniform over [20, 200] ms
TRANSPORT_MS = 3.0  # what a client sees above the server's time on loopback (test_ground_truth)
GATE = "p95(GET /uniform) < 198ms"
PROFILE = """\
phase = "smoke"
description = "the truth server's uniform path, closed loop, gated by --gate"
users = 2
spawn_rate = 100
duration = "3s"
scenario_config = "smoke"
user_classes = ["UniformUser"]
"""


def _binomial_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


@pytest.mark.parametrize(("n", "q"), [(20, 0.5), (100, 0.95), (100, 0.99), (250, 0.9), (600, 0.5)])
def test_ranks_bound_the_quantile_with_95_percent_and_are_the_tightest(n: int, q: float) -> None:
    """P(B < lo) and P(B >= hi) are each at most 2.5 % for B ~ Binomial(n, q), and one rank
    closer on either side would break that."""
    lo, hi = quantile_ranks(n, q)
    assert _binomial_cdf(lo - 1, n, q) <= 0.025 < _binomial_cdf(lo, n, q)
    if hi <= n:
        assert 1 - _binomial_cdf(hi - 1, n, q) <= 0.025 < 1 - _binomial_cdf(hi - 2, n, q)
    else:
        assert 1 - _binomial_cdf(n - 1, n, q) > 0.025  # even the max is not high enough


def _p95_interval(values: list[float]) -> tuple[float | None, float | None]:
    hist = latency.new()
    for ms in values:
        latency.record(hist, ms)
    return quantile_interval_ms(hist, 0.95)


def _holds(interval: tuple[float | None, float | None], truth: float) -> bool:
    lo, hi = interval
    return (lo is None or lo <= truth) and (hi is None or truth <= hi)


def test_seeded_runs_of_100_draws_hold_the_true_p95_in_36_to_40_of_40() -> None:
    """Exponential latencies of mean 100 ms (true P95 = 100 ln 20 ms): 40 seeded runs of 100
    calls each, their exact histograms' P95 interval; and over 2,000 runs the rate is ~95 % or
    above (the discrete ranks make it conservative), never far above."""
    truth = 100.0 * math.log(20.0)
    rng = random.Random(20)
    runs = [[rng.expovariate(1 / 100.0) for _ in range(100)] for _ in range(2000)]
    held = [_holds(_p95_interval(run), truth) for run in runs]
    assert 36 <= sum(held[:40]) <= 40
    assert 0.94 <= sum(held) / len(held) <= 0.995


def test_wilson_and_poisson_match_tabulated_intervals() -> None:
    """Wilson's score interval and the exact Poisson interval, as published tables give them."""
    lo, hi = wilson_interval(0, 200)
    assert lo == 0.0 and hi == pytest.approx(3.8415 / 203.8415, rel=1e-3)  # z² / (n + z²)
    lo, hi = wilson_interval(10, 100)
    assert (lo, hi) == (pytest.approx(0.0552, abs=5e-4), pytest.approx(0.1744, abs=5e-4))
    lo, hi = poisson_interval(10, 1.0)  # Garwood: 4.795, 18.390
    assert (lo, hi) == (pytest.approx(4.795, rel=2e-3), pytest.approx(18.390, rel=2e-3))
    lo, hi = poisson_interval(0, 10.0)  # 0 events in 10 s: at most 3.689 / 10 per s
    assert lo == 0.0 and hi == pytest.approx(0.3689, rel=2e-3)


def _totals(requests: int, failures: int) -> dict:
    return {"totals": {"requests": requests, "failures": failures,
                       "error_rate": failures / requests,
                       "error_rate_ci": list(wilson_interval(failures, requests))}}  # fmt: skip


def test_a_gate_passes_fails_or_is_inconclusive_on_its_interval_and_only_a_fail_aborts() -> None:
    """0 errors in 200 calls: < 5 % passes, < 1 % is inconclusive (Wilson allows 1.9 %) unless
    allowed; 20 in 200: < 5 % fails. The early abort stops on the fail, never on inconclusive."""
    calm, failing = _totals(200, 0), _totals(200, 20)
    passing, unsure = evaluate(parse_gates(["error_rate < 5%", "error_rate < 1%"]), calm)
    assert (passing.status, passing.passed) == ("pass", True)
    assert (unsure.status, unsure.passed) == ("inconclusive", False)
    assert unsure.samples_needed == 381  # 0 in 381 calls: Wilson's upper bound under 1 %
    [allowed] = evaluate(parse_gates(["error_rate < 1%"]), calm, allow_inconclusive=True)
    assert (allowed.status, allowed.passed) == ("inconclusive", True)
    [failed] = evaluate(parse_gates(["error_rate < 5%"]), failing)
    assert (failed.status, failed.passed) == ("fail", False)
    assert should_abort([unsure], elapsed_s=100, grace_s=10) is None
    assert should_abort([failed], elapsed_s=100, grace_s=10) is not None
    [plain] = evaluate(parse_gates(["requests > 100"]), calm)  # no interval: as before
    assert (plain.status, plain.ci) == ("pass", None)


@pytest.fixture(scope="module")
def truth_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with latency_truth_server(tmp_path_factory.mktemp("truth") / "server.log") as url:
        yield url


def _start(url: str, out: Path, extra: list[str], load_s: float) -> subprocess.Popen[str]:
    """`agentload run PROFILE --locustfile truth_locustfile.py --gate GATE` against the server."""
    profile = out.parent / f"{out.name}.toml"
    profile.write_text(PROFILE)
    args = [str(profile), "--locustfile", str(LOCUSTFILE), "--user-class", "UniformUser"]
    args += ["--host", url, "--no-prometheus"]
    args += ["--gate", GATE, "--out", str(out), *extra]
    env = env_with({"TRUTH_LOAD_S": str(load_s)})
    return subprocess.Popen(
        [*CLI, "run", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode, output


@pytest.fixture(scope="module")
def runs(truth_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    """Three runs at once: a long one (48 users, 14 s: over 4,000 calls) and two short ones
    (2 users, 3 s: ~55 calls), with and without --allow-inconclusive."""
    base = tmp_path_factory.mktemp("interval-runs")
    started = {
        "long": _start(truth_url, base / "long", ["--users", "48", "--duration", "14s"], 14),
        "short": _start(truth_url, base / "short", [], 3),
        "allowed": _start(truth_url, base / "allowed", ["--allow-inconclusive"], 3),
    }
    return {name: (base / name, *_finish(proc)) for name, proc in started.items()}


def _uniform_calls(out: Path) -> list[dict]:
    with gzip.open(out / "requests.jsonl.gz", "rt") as lines:
        rows = [json.loads(line) for line in lines]
    return [r for r in rows if r["entry"] == "GET /uniform" and not r["failed"]]


def test_groups_of_100_real_calls_hold_the_true_p95_in_36_to_40_of_40(runs) -> None:
    """40 consecutive groups of 100 calls of one real run, each group's exact histogram through
    the suite's interval: 36 to 40 of them hold the server's true P95."""
    out, code, output = runs["long"]
    assert code == 0, output[-3000:]
    calls = _uniform_calls(out)
    assert len(calls) >= 4000, len(calls)
    calls.sort(key=lambda r: r["start"])
    groups = [calls[i * 100 : (i + 1) * 100] for i in range(40)]
    held = [_holds(_p95_interval([r["e2e_ms"] for r in group]), TRUE_P95_MS) for group in groups]
    assert 36 <= sum(held) <= 40, held


def test_a_real_runs_p95_interval_holds_the_true_p95(runs) -> None:
    """summary.json's ``p95_ci_ms`` of the entry holds the true P95, allowing the loopback's few
    ms above the server's time (the client's latency is never below it); its gate passed, decided
    by an interval wholly under the threshold."""
    out, code, output = runs["long"]
    result = summary(out)
    entry = result["endpoints"]["GET /uniform"]
    lo, hi = entry["p95_ci_ms"]
    assert lo <= TRUE_P95_MS + TRANSPORT_MS and TRUE_P95_MS <= hi, (lo, hi)
    assert lo <= entry["p95_ms"] <= hi
    [gate] = result["gates"]
    assert (gate["status"], gate["passed"], result["exit_code"]) == ("pass", True, 0)
    assert gate["ci"] == [lo, hi] and hi < 198.0


def test_a_gate_inside_a_thin_interval_is_inconclusive_and_fails_the_run(runs) -> None:
    """60 calls give the P95 no upper bound: the gate is inconclusive, exit 1, the reason names
    the interval and the samples needed, and junit.xml has it as an inconclusive failure."""
    out, code, output = runs["short"]
    assert code == 1, output[-3000:]
    assert "Traceback" not in output
    result = summary(out)
    [gate] = result["gates"]
    assert gate["status"] == "inconclusive" and not gate["passed"]
    assert result["verdict"] == "fail"
    lo, hi = gate["ci"]
    assert hi is None and lo <= TRUE_P95_MS + TRANSPORT_MS
    assert "95 % interval [" in gate["reason"] and gate["samples_needed"] > 60
    assert f"about {gate['samples_needed']:,} samples" in gate["reason"]
    verdict = next(line for line in output.splitlines() if "smoke FAIL (exit 1)" in line)
    assert "inconclusive" in verdict and GATE in verdict
    thin = {row["figure"] for row in result["precision"]["thin"]}
    assert "p95(GET /uniform)" in thin
    [case] = [c for c in ET.parse(out / "junit.xml").getroot() if c.get("name") == GATE]
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "inconclusive"
    assert "samples" in (failure.get("message") or "")


def test_allow_inconclusive_passes_the_run_and_still_shows_the_gate(runs) -> None:
    """With --allow-inconclusive the same gate is inconclusive but allowed: exit 0, the console
    says so, junit.xml has it skipped with the reason."""
    out, code, output = runs["allowed"]
    assert code == 0, output[-3000:]
    result = summary(out)
    [gate] = result["gates"]
    assert gate["status"] == "inconclusive" and gate["passed"] and result["verdict"] == "pass"
    assert f"gate {GATE!r} inconclusive (allowed by --allow-inconclusive)" in output
    [case] = [c for c in ET.parse(out / "junit.xml").getroot() if c.get("name") == GATE]
    skipped = case.find("skipped")
    assert case.find("failure") is None and skipped is not None
    assert "inconclusive" in (skipped.get("message") or "")
