"""requests.jsonl.gz end to end: real `agentload run smoke` runs, one process or two workers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from agentload.results.requests_file import FIELDS, read_lines
from tests.runner.agentload_run import all_child_pids, end_all, run_agentload, summary

SMOKE = ["run", "smoke", "--duration", "8s", "--no-prometheus"]


def http_counts(result: dict) -> dict[str, int]:
    return {
        name: stats["requests"]
        for name, stats in result["endpoints"].items()
        if name.split(" ", 1)[0] not in ("TTFT", "TPOT", "TTC")
    }


def call_outcomes(lines: list[dict]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {}
    for line in lines:
        if line["part"] == "call" and line["outcome"] != "dropped":
            counts.setdefault(line["scenario"], Counter())[line["outcome"]] += 1
    return {scenario: dict(c) for scenario, c in counts.items()}


DERIVED = ("total", "success_rate", "success_rate_ci")  # an outcomes row's keys that count none


def summary_outcomes(result: dict) -> dict[str, dict[str, int]]:
    return {
        scenario: {k: v for k, v in counts.items() if k not in DERIVED and v}
        for scenario, counts in result["agent_outcomes"].items()
    }


@pytest.fixture
def run_dir(tmp_path: Path):
    out = tmp_path / "run"
    try:
        yield out
    finally:
        end_all(all_child_pids(out))


def assert_matches_summary(out: Path) -> tuple[dict, list[dict]]:
    result = summary(out)
    lines = list(read_lines(out / "requests.jsonl.gz"))
    assert not (out / "requests.parts").exists()
    assert result["requests_file"] == {
        "path": "requests.jsonl.gz", "lines": len(lines), "requests": len(lines),
        "sampled": False, "cap": 200_000, "seed": result["requests_file"]["seed"],
    }  # fmt: skip
    assert len(lines) == result["totals"]["requests"] > 0
    assert dict(Counter(line["entry"] for line in lines)) == http_counts(result)
    assert call_outcomes(lines) == summary_outcomes(result)
    failed = Counter(line["entry"] for line in lines if line["failed"])
    assert dict(failed) == {k: v["failures"] for k, v in result["endpoints"].items() if k in failed}
    for line in lines:
        assert list(line) == [*FIELDS, "sampled"] and line["sampled"] is False
    starts = [line["start"] for line in lines]
    assert starts == sorted(starts)
    streamed = [line for line in lines if line["ttft_ms"] is not None]
    assert streamed and all(0 < s["ttft_ms"] <= s["e2e_ms"] for s in streamed)
    assert all(s["output_tokens"] == 20 and s["token_source"] == "usage" for s in streamed)
    return result, lines


def test_smoke_writes_one_line_per_http_request_matching_the_summary(run_dir: Path):
    """A smoke run's requests.jsonl.gz has one line per HTTP request: per-entry counts equal the
    summary's, call outcomes equal agent_outcomes, streams carry TTFT and the engine's tokens;
    report.html draws it and `agentload compare` reads it."""
    done = run_agentload([*SMOKE, "--out", str(run_dir)])
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + (run_dir / "runner.log").read_text()
    _, lines = assert_matches_summary(run_dir)
    assert {line["worker"] for line in lines} == {"local"}
    assert all(line["intended_start"] == line["start"] for line in lines)  # the closed loop
    assert 'id="requests"' in (run_dir / "report.html").read_text()  # the per-request scatter
    file = str(run_dir / "requests.jsonl.gz")
    compared = run_agentload(["compare", file, file])  # the lines' histograms: no regression
    assert compared.returncode == 0, compared.stdout + compared.stderr


def test_two_workers_parts_merge_into_one_file_matching_the_summary(run_dir: Path):
    """--workers 2: both workers' parts are merged (the worker field shows both) and the counts
    still equal the summary's."""
    done = run_agentload([*SMOKE, "--workers", "2", "--out", str(run_dir)])
    assert done.returncode == 0, done.stderr
    _, lines = assert_matches_summary(run_dir)
    assert {line["worker"] for line in lines} == {0, 1}


def test_a_tiny_cap_keeps_a_sample_of_cap_lines_flagged_sampled(run_dir: Path):
    """--requests-cap 50: exactly 50 lines, each "sampled": true, and summary.json says so with
    the number of requests the sample was drawn from."""
    done = run_agentload([*SMOKE, "--requests-cap", "50", "--out", str(run_dir)])
    assert done.returncode == 0, done.stderr
    result = summary(run_dir)
    lines = list(read_lines(run_dir / "requests.jsonl.gz"))
    total = result["totals"]["requests"]
    assert total > 50
    assert result["requests_file"]["sampled"] is True
    assert result["requests_file"]["cap"] == 50 and result["requests_file"]["lines"] == 50
    assert result["requests_file"]["requests"] == total
    assert len(lines) == 50 and all(line["sampled"] is True for line in lines)
    assert set(Counter(line["entry"] for line in lines)) <= set(http_counts(result))


@pytest.mark.parametrize("cap", ["0", "lots"])
def test_a_bad_cap_is_one_line_and_exit_2(cap: str, tmp_path: Path):
    """--requests-cap 0 or a word: one line naming the option, exit 2, no run."""
    done = run_agentload([*SMOKE, "--requests-cap", cap, "--out", str(tmp_path / "run")])
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--requests-cap {cap!r}" in lines[0], done.stderr
    assert not (tmp_path / "run" / "summary.json").exists()
