"""The rate sweep: its pure rules, and a real sweep against the embedded engine, whose capacity
follows from its settings (slots / (TTFT + output tokens / decode rate))."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentload.metrics.sweep import (
    breakdown,
    max_rate_under_slo,
    row,
    sweep_finding,
    sweep_rates,
)
from agentload.results.requests_file import read_lines
from tests.runner.agentload_run import alive, all_child_pids, run_agentload, summary
from tests.support import ROOT, start_server, stop_process

# 4 slots, each request 100 ms prefill + 20 tokens at 200 tokens/s = 200 ms: 20 requests/s.
ENGINE = {
    "ENGINE_SLOTS": "4",
    "ENGINE_TTFT_MS": "100",
    "ENGINE_TOKENS_PER_S": "200",
    "ENGINE_OUTPUT_TOKENS": "20",
    "ENGINE_DEGRADATION": "0",
    "ENGINE_SEED": "5",
    "ENGINE_QUEUE_MAX": "1000",  # past capacity the calls queue (and in flight grow), none is shed
}
CAPACITY_RPS = 4 / (0.100 + 20 / 200)


def test_rates_are_spaced_evenly_strictly_between_synchronous_and_throughput():
    assert sweep_rates(5.0, 20.0, 4) == [8.0, 11.0, 14.0, 17.0]
    assert sweep_rates(5.0, 5.0, 4) == [] and sweep_rates(5.0, 20.0, 0) == []


def test_max_rate_under_slo_interpolates_where_goodput_crosses_the_target():
    rows = [
        {"achieved_rate": 5.0, "goodput": 1.0},
        {"achieved_rate": 10.0, "goodput": 0.95},
        {"achieved_rate": 15.0, "goodput": 0.75},
        {"achieved_rate": 20.0, "goodput": 0.2},
    ]
    found = max_rate_under_slo(rows, 0.9)
    assert found == {"rate": 11.25, "interpolated": True, "between": [10.0, 15.0],
                     "goodput": 0.9, "goodput_target": 0.9}  # fmt: skip
    assert max_rate_under_slo(rows, 0.1)["rate"] == 20.0  # the last rate meets it: no crossing
    assert max_rate_under_slo(rows, 1.01) is None
    assert max_rate_under_slo([{"achieved_rate": 5.0, "goodput": None}], 0.9) is None


def test_a_rate_breaks_down_on_errors_or_a_p95_far_above_the_synchronous_one():
    sync = {"e2e_ms": {"p95": 200.0}}
    assert breakdown({"target_rate": 9, "error_rate": 0.06, "e2e_ms": {}}, sync, 0.05, 10) == (
        "error rate 6.0% > 5% at 9 req/s"
    )
    slow = {"target_rate": 9, "error_rate": 0.0, "e2e_ms": {"p95": 2500.0}}
    assert "P95 E2E 2500 ms > 10 x the synchronous 200 ms" in str(breakdown(slow, sync, 0.05, 10))
    fine = {"target_rate": 9, "error_rate": 0.01, "e2e_ms": {"p95": 1900.0}}
    assert breakdown(fine, sync, 0.05, 10) is None


def test_the_finding_says_the_rates_and_what_was_interpolated():
    section = {
        "synchronous": {"achieved_rate": 4.9},
        "throughput": {"achieved_rate": 19.9},
        "goodput_target": 0.9,
        "max_rate_under_slo": {"rate": 11.25, "interpolated": True, "between": [10.0, 15.0]},
        "stopped": None,
    }
    assert sweep_finding(section) == (
        "synchronous 4.90 req/s, throughput 19.90 req/s; max rate under SLO 11.25 req/s "
        "(interpolated between 10.00 req/s and 15.00 req/s) at goodput >= 90%"
    )


def test_a_run_not_measured_never_sets_the_max_rate_under_slo():
    """The issue's sweep against a stalling server: throughput '311 req/s' from 3 requests in a
    window of milliseconds, goodput 1.0. Not measured: no max rate, and the finding says so."""
    rows = [
        {"achieved_rate": 196.81, "goodput": 1.0, "not_measured": "its measurement window ..."},
        {"achieved_rate": 311.03, "goodput": 1.0, "not_measured": "its measurement window ..."},
        {"achieved_rate": 45.7, "goodput": 1.0, "not_measured": "457 of the 927 calls sent ..."},
    ]
    assert max_rate_under_slo(rows, 0.9) is None
    measured = {"achieved_rate": 4.0, "goodput": 1.0, "not_measured": None}
    assert max_rate_under_slo([*rows, measured], 0.9)["rate"] == 4.0
    section = {
        "synchronous": rows[0],
        "throughput": rows[1],
        "rates": [],
        "goodput_target": 0.9,
        "max_rate_under_slo": None,
        "stopped": "the synchronous run was not measured: no rates between",
    }
    assert sweep_finding(section) == (
        "synchronous not measured, throughput not measured; no max rate: no measured rate met "
        "goodput >= 90%; stopped early: the synchronous run was not measured: no rates between"
    )


def test_a_row_carries_whether_its_run_was_measured():
    summary = {"totals": {"rps": 3.0, "requests": 30}, "not_measured": "why"}
    assert row("rate", 3.0, summary, "chat", "POST /chat")["not_measured"] == "why"
    assert row("rate", 3.0, {"totals": {}}, "chat", "POST /chat")["not_measured"] is None


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[str]:
    """The embedded engine alone on a free port, ended by its PID at teardown."""
    process, url = start_server(
        "target_service.engine", [], "/healthz", tmp_path / "engine.log", env=ENGINE
    )
    try:
        yield url
    finally:
        stop_process(process)


def _run(tmp_path: Path, name: str, engine: str, *args: str) -> tuple[dict, str, int]:
    out = tmp_path / name
    cmd = ["run", *args, "--api", "openai-chat", "--host", engine, "--no-prometheus"]
    done = run_agentload([*cmd, "--out", str(out)], timeout=240)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output[-3000:]
    assert alive(all_child_pids(out)) == []
    return summary(out), output, done.returncode


@pytest.mark.slow
def test_sweep_finds_the_engines_capacity_and_a_max_rate_under_slo_a_rate_run_confirms(
    tmp_path: Path, engine: str
) -> None:
    """Synchronous, throughput (16 users) and 2 rates of 5 s, the first second of each left out
    of its figures (--warmup 1s), against a 20 req/s engine: the throughput run is within 10 %
    of 20 req/s; no rate (both under it) is marked over-saturated;
    max_rate_under_slo (E2E <= 300 ms for 90 % of calls) lies below it; a separate rate run at
    that rate, its first 2 s and last 20 % left out (--warmup, --cooldown), meets the goodput
    target: the calls sent outside its window are in requests.jsonl.gz flagged, and its
    counts are those of the calls inside."""
    profile = tmp_path / "sweep.toml"
    stock = (ROOT / "profiles/sweep.toml").read_text()
    profile.write_text(stock.replace('arrival = "poisson"', 'arrival = "constant"'))
    args = [str(profile), "--steps", "2", "--step-duration", "5s", "--users", "16"]
    args += ["--warmup", "1s"]
    result, output, code = _run(tmp_path, "sweep", engine, *args, "--slo", "e2e=300ms")
    assert code == 0, output[-3000:]
    sweep = result["sweep"]
    throughput = sweep["throughput"]["achieved_rate"]
    assert throughput == pytest.approx(CAPACITY_RPS, rel=0.10)
    assert sweep["synchronous"]["users"] == 1 and len(sweep["rates"]) >= 1
    assert all(r["over_saturated"] is None for r in sweep["rates"]), sweep["rates"]
    first = next((tmp_path / "sweep" / "sweep").glob("03-rate-*"))  # each run has its window
    lines = list(read_lines(first / "requests.jsonl.gz"))
    inside = [x for x in lines if x["in_window"]]
    assert 0 < len(inside) < len(lines) and sweep["rates"][0]["requests"] == len(inside)
    found = sweep["max_rate_under_slo"]
    assert found is not None and found["rate"] < throughput, sweep
    assert "max rate under SLO" in output
    report = (tmp_path / "sweep" / "report.html").read_text()
    assert 'id="sweep"' in report and "Goodput vs rate" in report
    gate = next(g for g in result["gates"] if g["expr"] == "max_rate_under_slo > 0")
    assert gate["passed"] and gate["observed"] == pytest.approx(found["rate"])
    rate = f"{found['rate']:.2f}"
    confirm, output, code = _run(
        tmp_path, "confirm", engine, "rate", "--rate", rate, "--arrival", "constant",
        "--duration", "10s", "--slo", "e2e=300ms", "--gate", "goodput(chat) >= 90%",
        "--warmup", "2s", "--cooldown", "20%",
    )  # fmt: skip
    assert confirm["goodput"]["chat"]["share"] >= 0.9, confirm["goodput"]
    window = confirm["window"]
    assert (window["warmup_s"], window["cooldown_s"]) == (2.0, 2.0)
    assert window["seconds"] == pytest.approx(6.0, abs=0.01) and confirm["over_saturated"] is None
    lines = list(read_lines(tmp_path / "confirm" / "requests.jsonl.gz"))
    inside = [x for x in lines if x["in_window"]]
    assert len(inside) < len(lines) and not any(x["sampled"] for x in lines)
    assert all(window["start"] <= x["intended_start"] < window["end"] for x in inside)
    assert not any(window["start"] <= x["intended_start"] < window["end"]
                   for x in lines if not x["in_window"])  # fmt: skip
    call = "POST /v1/chat/completions"
    assert confirm["endpoints"][call]["requests"] == sum(x["entry"] == call for x in inside)
    assert confirm["arrivals"]["sent"] == confirm["agent_outcomes"]["chat"]["total"] == len(inside)
    assert confirm["goodput"]["chat"]["requests"] == len(inside)


@pytest.mark.slow
def test_a_sweep_past_capacity_stops_at_the_first_rate_the_engine_cannot_keep_up_with(
    tmp_path: Path, engine: str
) -> None:
    """Synchronous, throughput (16 users), then rates up to 2.35 x the throughput run's
    (``max_rate_factor``), 10 s each, against the 20 req/s engine: the first rate (about 0.95 x
    capacity) keeps up, the second (about 1.6 x) is over-saturated: ended early, marked with
    the evidence (calls in flight, E2E and TTFT growing, each slope's 95 % interval above 0;
    the completion rate the engine's capacity), and the sweep stops there; the max rate under
    SLO is within 10 % of the capacity."""
    profile = tmp_path / "sweep.toml"
    stock = (ROOT / "profiles/sweep.toml").read_text()
    profile.write_text(
        stock.replace('arrival = "poisson"', 'arrival = "constant"').replace(
            "max_rate_factor = 1.0", "max_rate_factor = 2.35"
        )
    )
    args = [str(profile), "--steps", "2", "--step-duration", "10s", "--users", "16"]
    result, output, code = _run(tmp_path, "past", engine, *args, "--slo", "e2e=500ms")
    assert code == 0, output[-3000:]
    sweep = result["sweep"]
    kept_up, over = sweep["rates"]
    assert kept_up["target_rate"] < CAPACITY_RPS < over["target_rate"], sweep
    assert kept_up["over_saturated"] is None and not kept_up["not_measured"], kept_up
    evidence = over["over_saturated"]
    assert evidence is not None, over
    assert evidence["held_s"] < 10 and evidence["in_flight"]["slope_ci"][0] > 0, evidence
    assert evidence["e2e_ms"]["slope_ci"][0] > 0 and evidence["ttft_ms"]["slope_ci"][0] > 0
    assert evidence["completion_rate"] == pytest.approx(CAPACITY_RPS, rel=0.15), evidence
    assert sweep["stopped"].startswith(f"{over['target_rate']:g} req/s over-saturated: ")
    assert "over-saturated" in output
    found = sweep["max_rate_under_slo"]
    assert found is not None and found["rate"] == pytest.approx(CAPACITY_RPS, rel=0.10), sweep


STALLING = """name = "stalling"
[readiness]
path = "/ok"
[scenarios.stall]   # two events, then nothing: each call a timeout after 1 s of silence
path = "/stall"
timeout_s = 3
idle_timeout_s = 1
stream = { dialect = "events" }
"""


@pytest.mark.slow
def test_a_sweep_on_a_stalling_server_reports_no_max_rate(tmp_path: Path) -> None:
    """Synchronous, throughput (4 users) and one rate of 2 s against a stream that stalls after
    two events: every call a timeout, counted in each run, each run measured (a window over half
    its step, the rate's outcomes for at least 90 % of the calls it sent); no max rate under
    SLO, so the sweep's gate fails (exit 1) and the console says no rate met the goodput
    target."""
    api = tmp_path / "stalling.toml"
    api.write_text(STALLING)
    process, url = start_server("tests.servers.hostile", [], "/ok", tmp_path / "server.log")
    try:
        out = tmp_path / "sweep"
        done = run_agentload(
            ["run", "sweep", "--api", str(api), "--host", url, "--steps", "1",
             "--step-duration", "2s", "--users", "4", "--slo", "e2e=2s", "--no-prometheus",
             "--out", str(out)],
            timeout=120,
        )  # fmt: skip
    finally:
        stop_process(process)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert "Traceback" not in output and alive(all_child_pids(out)) == []
    sweep = summary(out)["sweep"]
    assert sweep["max_rate_under_slo"] is None, sweep
    runs = [sweep["synchronous"], sweep["throughput"], *sweep["rates"]]
    assert len(runs) == 3, sweep
    for run in runs:
        assert run["not_measured"] is None, run
        assert run["requests"] > 0 and run["error_rate"] == 1.0 and run["goodput"] == 0.0, run
    assert "no rate met goodput >= 90%" in output
    gate = next(g for g in summary(out)["gates"] if g["expr"] == "max_rate_under_slo > 0")
    assert not gate["passed"] and gate["observed"] is None
