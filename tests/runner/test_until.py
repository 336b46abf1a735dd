"""`agentload run --until "p95(ENTRY) ±2%"`: hold the load until each named figure's 95 %
interval is that narrow, then stop the run normally; `--duration` is the cap.

The pure part (agentload/metrics/until.py: the grammar, the checks before load, the readings,
the console lines) is tested on plain data. End to end, against tests/servers/latency_truth.py
(GET /uniform: uniform over [20, 200] ms, P95 191 ms; the server reports the times it served)
through tests/servers/latency_truth.toml: the open-model rate phase stops once P95 is ±2 %
(about 400 samples), well before its cap, with an interval inside the asked precision that
holds the server's own P95 (the client's lower bound may sit up to a transport's 3 ms above it);
a closed-loop run with workers and a cap too short for ±0.5 % says it stopped on the cap, not
precise, and how many samples would do; bad targets stop with exit 2 before a single request.
Load goes to 127.0.0.1 only, bounded (40 arrivals/s for at most 60 s; 2 users for 5 s).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentload.errors import ConfigError
from agentload.metrics.latency import EntryLatency
from agentload.metrics.until import (
    CAP,
    PRECISE,
    Observed,
    Target,
    all_precise,
    check_targets,
    parse_target,
    read_targets,
    stop_lines,
    until_section,
)
from tests.runner.agentload_run import alive, all_child_pids, run_agentload, summary
from tests.support import ROOT, latency_truth_server

API = ROOT / "tests/servers/latency_truth.toml"
ENTRIES = ["GET /uniform", "GET /fixed"]
# A client's latency is the server's time plus the loopback and both sides' HTTP handling (and,
# in the open model, the send's lag): tests/latency/test_ground_truth.py's stated allowance.
TRANSPORT_MS = 3.0


@pytest.fixture(scope="module")
def truth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tests/servers/latency_truth.py on a free loopback port, ended by its PID."""
    with latency_truth_server(tmp_path_factory.mktemp("truth") / "server.log") as url:
        yield url


def served(url: str, path: str = "/uniform") -> dict[str, Any]:
    """What the server served on ``path`` (successes): count, P95 of the planned sleeps, times."""
    answer = httpx.get(f"{url}/truth", params={"path": path}, timeout=10).json()
    return dict(answer["ok"])


def run_until(url: str, out: Path, phase: str, *extra: str) -> tuple[int, str]:
    args = ["run", phase, "--api", str(API), "--host", url, "--no-prometheus", "--out", str(out)]
    done = run_agentload([*args, *extra], timeout=120)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output[-3000:]
    return done.returncode, output


# -- the pure part -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "metric", "entry", "precision"),
    [
        ("p95(GET /uniform) ±2%", "p95", "GET /uniform", 0.02),
        ("  p999( GET   /uniform ) +-0.5 % ", "p999", "GET /uniform", 0.005),
        ("rps(*) +/-5%", "rps", "*", 0.05),
        ("error_rate(/fixed) ±.5%", "error_rate", "/fixed", 0.005),
    ],
)
def test_a_target_reads_metric_entry_and_precision_with_plus_minus_written_either_way(
    expr: str, metric: str, entry: str, precision: float
) -> None:
    """`±` and `+-` (or `+/-`) both read; spaces are free; the precision is a fraction."""
    target = parse_target(expr)
    assert (target.metric, target.entry) == (metric, entry)
    assert target.precision == pytest.approx(precision)


@pytest.mark.parametrize(
    ("expr", "needle"),
    [
        ("p95(GET /x) < 2%", 'expected "<metric>(<entry>) ±<number>%"'),
        ("p95(GET /x) ±2ms", 'expected "<metric>(<entry>) ±<number>%"'),
        ("p95 ±2%", 'expected "<metric>(<entry>) ±<number>%"'),
        ("max(GET /x) ±2%", "unknown metric 'max', expected"),
        ("p95() ±2%", "empty entry in parentheses, expected"),
        ("p95(GET /x) ±0%", "out of range, expected 0-100%"),
    ],
)
def test_a_malformed_target_is_one_line_quoting_it_and_the_expected_form(
    expr: str, needle: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_target(expr)
    message = str(caught.value)
    assert message.startswith(f"--until {expr!r}: ") and needle in message and "\n" not in message


def test_targets_are_checked_against_the_phase_the_ui_and_the_plans_entries() -> None:
    """A path alone names the plan's entry; an unknown one, a phase that cannot stop early and
    the web UI are refused; a locustfile of your own (entries None) is not checked."""
    check = {"phase": "rate", "shape": "open_model", "entries": ENTRIES, "web": False}
    assert check_targets(["p95(/fixed) ±2%"], **check)[0].entry == "GET /fixed"  # type: ignore[arg-type]
    assert check_targets(["p95(GET /x) ±2%"], **{**check, "entries": None})[0].entry == "GET /x"  # type: ignore[arg-type]
    refused = {
        "'GET /nope' is not an entry of the plan, expected one of GET /uniform, GET /fixed, *": (
            ["p95(GET /nope) ±2%"],
            check,
        ),
        "the load phase (shape stages) cannot stop early": (
            ["p95(*) ±2%"],
            {**check, "phase": "load", "shape": "stages"},
        ),
        "expected a headless run (without --web)": (["p95(*) ±2%"], {**check, "web": True}),
    }
    for needle, (exprs, kwargs) in refused.items():
        with pytest.raises(ConfigError, match=r"^--until .*expected") as caught:
            check_targets(exprs, **kwargs)  # type: ignore[arg-type]
        assert needle in str(caught.value)


def _observed(n: int, failures: int = 0) -> Observed:
    """``n`` successes spread evenly over [20, 200] ms on GET /a and on GET /b, over 10 s."""
    observed = Observed(seconds=10.0)
    for entry in ("GET /a", "GET /b", "TTFT chat"):
        latency = EntryLatency()
        for k in range(n):
            latency.record(20.0 + 180.0 * (k + 0.5) / n)
        observed.latencies[entry] = latency
        observed.counts[entry] = (n + failures, failures)
    return observed


def test_readings_narrow_with_samples_and_a_star_target_reads_every_http_entry() -> None:
    """P95 of 100 samples is not ±2 %, of 2,000 it is (about 400 are needed); `*` reads each
    HTTP entry (not the TTFT timing); a share's precision is in points; the section and the
    console lines say why the run stopped."""
    target = parse_target("p95(*) ±2%")
    thin = read_targets([target], _observed(100))
    assert [r.entry for r in thin] == ["GET /a", "GET /b"] and not all_precise(thin)
    assert all(300 <= (r.needed or 0) <= 700 for r in thin), thin
    wide = read_targets([target], _observed(2000))
    assert all_precise(wide) and all(abs((r.value or 0) - 191) < 1 for r in wide)
    share = read_targets([Target("e", "error_rate", "GET /a", 0.01)], _observed(2000, 20))[0]
    assert share.value == pytest.approx(20 / 2020) and share.precise, share  # ±0.45 points
    rate = read_targets([Target("r", "rps", "GET /a", 0.05)], _observed(2000))[0]
    assert rate.value == pytest.approx(200.0) and rate.precise  # Poisson ±4.4 %
    nothing = read_targets([Target("x", "p95", "GET /c", 0.02)], Observed())
    assert nothing[0].samples == 0 and not all_precise(nothing)

    kwargs = {"seconds": 23.4, "cap_s": 60.0, "every_s": 2, "checks": 11, "figures_from": "-"}
    done = until_section(wide, stopped_because=PRECISE, **kwargs)  # type: ignore[arg-type]
    assert done["precise"] and done["targets"][0]["half_width"] <= 0.02
    assert stop_lines(done)[0].startswith("stopped: p95(GET /a) 191")
    assert stop_lines(done)[0].endswith(" % after 23 s")
    capped = until_section(thin[:1], stopped_because=CAP, **kwargs)  # type: ignore[arg-type]
    (line,) = stop_lines(capped)
    assert line.startswith("stopped on the cap (60 s), not precise: p95(GET /a) 19"), line
    assert "still ±" in line and "(100 samples), about " in line and "make it ±2 %" in line
    both = stop_lines(until_section(thin, stopped_because=CAP, **kwargs))  # type: ignore[arg-type]
    assert both[0] == "stopped on the cap (60 s), not precise: 2 of 2 targets", both
    assert both[1].startswith("p95(GET /a) 19") and both[2].startswith("p95(GET /b) 19"), both


# -- end to end ----------------------------------------------------------------------------


def test_rate_run_stops_once_p95_is_precise_before_its_cap_and_its_interval_holds_the_truth(
    truth: str, tmp_path: Path
) -> None:
    """40 arrivals/s on GET /uniform until P95 is ±2 %: it stops before the 60 s cap with
    `stopped_because: precise`, a half-width within 2 %, an interval that holds the P95 the
    server itself served (less the transport: `TRANSPORT_MS`), and says so; a normal stop: the
    gates pass, the figures measured."""
    httpx.get(f"{truth}/reset", timeout=10).raise_for_status()
    out = tmp_path / "run"
    until = "p95(GET /uniform) ±2%"
    code, output = run_until(
        truth, out, "rate", "--rate", "40", "--duration", "60s", "--until", until
    )
    try:
        assert code == 0, output[-3000:]
        result = summary(out)
        section = result["until"]
        assert section["stopped_because"] == "precise" and section["precise"], section
        assert section["seconds"] < 45 and section["cap_s"] == 60, section
        (target,) = section["targets"]
        assert target["expr"] == until and target["entry"] == "GET /uniform", target
        assert target["half_width"] <= 0.02 and target["samples"] >= 300, target
        lo, hi = target["interval"]
        assert lo <= target["value"] <= hi and (hi - lo) / 2 <= 0.02 * target["value"], target
        times = sorted(served(truth)["served_ms"])
        truth_p95 = times[max(1, round(0.95 * len(times))) - 1]  # as the server timed them
        assert lo - TRANSPORT_MS <= truth_p95 <= hi, (target, truth_p95)
        assert result["not_measured"] is None, result["not_measured"]
        assert f"stopped: p95(GET /uniform) {target['value']:.4g} ms ±" in output, output[-2000:]
    finally:
        assert alive(all_child_pids(out)) == []


def test_closed_loop_run_with_workers_stops_on_a_too_short_cap_and_says_it_is_not_precise(
    truth: str, tmp_path: Path
) -> None:
    """2 closed-loop users on a master and a worker for 5 s cannot make P95 ±0.5 %: the run
    stops on the cap, summary.json says `cap`, not precise, and about how many samples would
    do, and so do the console's last lines; the exit code is the gates' verdict alone."""
    out = tmp_path / "run"
    args = ["--users", "2", "--duration", "5s", "--workers", "1", "--scenario-config", "stress"]
    args += ["--until", "p95(GET /uniform) ±0.5%"]
    code, output = run_until(truth, out, "smoke", *args)
    try:
        result = summary(out)
        gates_failed = any(not gate["passed"] for gate in result["gates"])
        assert code == result["exit_code"] == (1 if gates_failed else 0), output[-3000:]
        section = result["until"]
        assert section["stopped_because"] == "cap" and not section["precise"], section
        assert section["figures_from"] == "final" and 4 <= section["seconds"] < 20, section
        (target,) = section["targets"]
        assert target["samples"] > 0 and target["samples_needed"] > target["samples"], target
        assert target["half_width"] is None or target["half_width"] > 0.005, target
        assert "stopped on the cap (5 s), not precise: p95(GET /uniform) " in output, output
        assert "would make it ±0.5 %" in output, output[-2000:]
    finally:
        assert alive(all_child_pids(out)) == []


BEFORE_LOAD = {
    "malformed": (
        "rate",
        "p95(GET /uniform) < 2%",
        "--until 'p95(GET /uniform) < 2%': expected \"<metric>(<entry>) ±<number>%\"",
    ),
    "unknown entry": (
        "rate",
        "p95(GET /nope) ±2%",
        "--until 'p95(GET /nope) ±2%': 'GET /nope' is not an entry of the plan, expected one of "
        "GET /uniform, GET /fixed, *",
    ),
    "a phase that cannot stop early": (
        "stress",
        "p95(GET /uniform) ±2%",
        "--until 'p95(GET /uniform) ±2%': the stress phase (shape stress) cannot stop early",
    ),
}


@pytest.mark.parametrize(("phase", "until", "needle"), BEFORE_LOAD.values(), ids=list(BEFORE_LOAD))
def test_a_bad_until_stops_before_load_with_exit_2_in_one_line(
    truth: str, tmp_path: Path, phase: str, until: str, needle: str
) -> None:
    """Exit 2, one `agentload: error: --until ...: ... expected ...` line, no results folder,
    and the server saw no request."""
    httpx.get(f"{truth}/reset", timeout=10).raise_for_status()
    out = tmp_path / "run"
    code, output = run_until(truth, out, phase, "--until", until)
    assert code == 2, output
    errors = [line for line in output.splitlines() if line.startswith("agentload: error:")]
    assert len(errors) == 1 and needle in errors[0] and "expected" in errors[0], output
    assert not out.exists()
    assert served(truth)["count"] == 0 == served(truth, "/fixed")["count"]
