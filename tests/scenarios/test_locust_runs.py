"""Locust as a real subprocess against the real target service: entries, outcomes, metrics."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agentload.metrics.latency import EntryLatency
from agentload.results.summary import build_summary
from tests.scenarios.conftest import LOCUSTFILE, run_locust, start_locust, write_config
from tests.support import ROOT, RunningService, free_port, stop_process

ALL_SCENARIOS = """
seed = 7
weights = {status = 1, codegen = 1, research = 1}
vars = {max_tokens = 32, depth = 1}
stream_share = {codegen = 0.5}
deadline_s = {research = 30}
[think_time]
min_s = 0.05
max_s = 0.2
"""

ENTRIES = {
    "GET /v1/status",
    "POST /v1/agents/codegen",
    "POST /v1/agents/research",
    "GET /v1/jobs/{job_id}",
    "TTFT codegen",
    "TPOT codegen",
    "TTC research",
}


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict, metric: str, **labels: str) -> float:
    return samples.get((metric, tuple(sorted(labels.items()))), 0.0)


def _scrape_while_running(process, port: int) -> dict:
    """Scrape until the TTFT and TTC histograms have samples or Locust ends; the last scrape."""
    samples: dict = {}
    while process.poll() is None:
        try:
            samples = _scrape(port)
        except httpx.HTTPError:
            pass
        if _value(samples, "loadtest_ttft_seconds_count", scenario="codegen") and _value(
            samples, "loadtest_ttc_seconds_count", scenario="research"
        ):
            break
        time.sleep(0.5)
    return samples


def test_each_user_class_records_the_contract_entries_outcomes_and_metrics(
    service: RunningService, tmp_path: Path
) -> None:
    """A run of A, B, C and the mixed user writes every entry, outcome, file and metric."""
    config = write_config(tmp_path / "all.toml", ALL_SCENARIOS)
    port = free_port()
    out = tmp_path / "run"
    args = [
        "-u", "4", "-r", "4", "-t", "9s", "--host", service.url, "--csv", str(out / "locust"),
        "--scenario-config", str(config), "--client-metrics-port", str(port),
        "StatusUser", "CodegenUser", "ResearchUser", "MixedAgentUser",
    ]  # fmt: skip
    process = start_locust(args, out)
    try:
        samples = _scrape_while_running(process, port)
        process.wait(timeout=60)
    finally:
        stop_process(process)
    output = (out / "locust.log").read_text()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert "agentload-dev-key" not in output
    assert {name.replace(",", " ") for name in _csv_names(out)} >= ENTRIES

    final = json.loads((out / "final.json").read_text())
    entries, counts = final["entries"], final["outcomes"]
    assert set(entries) >= ENTRIES
    status = entries["GET /v1/status"]
    assert counts["status"]["success"] == status["requests"] - status["failures"] > 0
    codegen = entries["POST /v1/agents/codegen"]
    assert codegen["failures"] == 0
    assert sum(counts["codegen"].values()) == codegen["requests"] > 0
    assert counts["codegen"].get("invalid", 0) > 0  # the engine writes invalid code half the time
    assert sum(counts["research"].values()) == entries["TTC research"]["requests"] > 0
    assert counts["research"]["success"] > 0
    keys = {"requests", "failures", "p50_ms", "p95_ms", "p99_ms", "max_ms", "avg_ms", "rps"}
    assert all(keys <= set(figures) for figures in entries.values())
    assert 0 < final["success_rate"]["overall"] < 1 and final["duration_s"] > 8

    lines = [json.loads(line) for line in (out / "timeline.jsonl").read_text().splitlines()]
    assert len(lines) >= 8 and max(line["users"] for line in lines) == 4
    assert [line["t"] for line in lines] == sorted(line["t"] for line in lines)
    for key in ("GET /v1/status", "TTFT codegen"):
        windows = [EntryLatency.from_json(line["entries"].get(key, {})) for line in lines]
        merged = sum(window.requests for window in windows)
        assert merged == entries[key]["requests"]  # the deltas add up to the cumulative count
    assert lines[-1]["outcomes"] == counts and lines[-1]["open_model"]["dropped"] == 0

    assert _value(samples, "loadtest_users") == 4
    assert _value(samples, "loadtest_requests_total", request_type="GET", name="/v1/status",
                  result="success") > 0  # fmt: skip
    assert _value(samples, "loadtest_agent_outcomes_total", scenario="status", outcome="success")
    assert _value(samples, "loadtest_request_duration_seconds_bucket", request_type="GET",
                  name="/v1/status", le="+Inf") > 0  # fmt: skip
    assert _value(samples, "loadtest_ttft_seconds_count", scenario="codegen") > 0
    assert _value(samples, "loadtest_ttc_seconds_count", scenario="research") > 0


def _csv_names(out: Path) -> set[str]:
    rows = (out / "locust_stats.csv").read_text().splitlines()[1:]
    return {",".join(row.split(",")[:2]) for row in rows}


def test_invalid_code_is_an_agent_failure_and_a_missed_deadline_a_ttc_failure(
    service: RunningService, tmp_path: Path
) -> None:
    """A 200 with invalid code counts as ``invalid`` (no HTTP failure); late jobs are timeouts."""
    config = write_config(
        tmp_path / "judging.toml",
        """
        weights = {codegen = 1, research = 1}
        vars = {max_tokens = 16}
        deadline_s = {research = 0.05}
        [think_time]
        min_s = 0
        max_s = 0.05
        """.replace("        ", ""),
    )
    out = tmp_path / "run"
    args = ["-u", "3", "-r", "3", "-t", "5s", "--host", service.url, "--csv", str(out / "locust"),
            "--scenario-config", str(config), "CodegenUser", "ResearchUser"]  # fmt: skip
    run = run_locust(args, out)
    assert run.returncode == 1 and "Traceback" not in run.output, run.output  # 1: failures
    final = run.final()
    codegen = final["entries"]["POST /v1/agents/codegen"]
    assert codegen["failures"] == 0
    assert final["outcomes"]["codegen"]["invalid"] > 0 and final["outcomes"]["codegen"]["success"]
    ttc = final["entries"]["TTC research"]
    assert final["outcomes"]["research"]["timeout"] == ttc["failures"] == ttc["requests"] > 0
    assert "DELETE /v1/jobs/{job_id}" in final["entries"]  # the late job was cancelled
    failures = (out / "locust_failures.csv").read_text()
    assert "0.05s deadline" in failures


def test_outcomes_from_two_worker_processes_add_up_on_the_master(
    service: RunningService, tmp_path: Path
) -> None:
    """With --processes 2 the master's outcome totals match its merged request counts."""
    config = write_config(
        tmp_path / "status.toml",
        "weights = {status = 1}\n[think_time]\nmin_s = 0.05\nmax_s = 0.1\n",
    )
    out = tmp_path / "run"
    args = ["--processes", "2", "-u", "4", "-r", "4", "-t", "5s", "--host", service.url,
            "--scenario-config", str(config), "StatusUser"]  # fmt: skip
    run = run_locust(args, out)
    assert run.returncode == 0 and "Traceback" not in run.output, run.output
    assert "2 workers connected" in run.output
    final = run.final()
    status = final["entries"]["GET /v1/status"]
    assert final["outcomes"]["status"]["success"] == status["requests"] - status["failures"] > 0
    assert run.timeline()[-1]["outcomes"] == final["outcomes"]


def test_open_model_user_follows_the_arrival_rate(service: RunningService, tmp_path: Path) -> None:
    """The open-model shape runs the pool for the runner's duration and counts the arrivals."""
    toml = "weights = {status = 1}\n[open_model]\nrate_per_s = 5\n"
    config = write_config(tmp_path / "open.toml", toml)
    out = tmp_path / "run"
    shape = json.dumps({"rate_per_s": 25, "duration_s": 4, "arrival": "constant", "users": 5})
    args = ["-f", f"{LOCUSTFILE},{ROOT / 'agentload/locust/shapes/open_model.py'}",
            "--host", service.url, "--scenario-config", str(config), "OpenModelUser"]  # fmt: skip
    run = run_locust(args, out, env={"AGENTLOAD_SHAPE": shape})
    assert run.returncode == 0 and "Traceback" not in run.output, run.output
    final = run.final()
    sent = final["open_model"]["sent"]
    requests = final["entries"]["GET /v1/status"]["requests"]
    assert final["open_model"]["dropped"] == 0
    assert 50 <= sent <= 110 and sent - 5 <= requests <= sent  # about 25/s for 4 s
    assert max(line["users"] for line in run.timeline()) == 5


def test_dropped_arrivals_are_failures_of_their_entry_and_in_the_summary(
    service: RunningService, tmp_path: Path
) -> None:
    """One user cannot keep 20,000 arrivals/s (a call costs it well over 50 us): those more than
    max_lag_s late are dropped, each a failure of the scenario's entry (as is a call cut off at
    stop); the summary says open model with its arrivals."""
    config = write_config(tmp_path / "open.toml", "weights = {status = 1}\n")
    out = tmp_path / "run"
    shape = json.dumps(
        {
            "rate_per_s": 20000,
            "duration_s": 1,
            "arrival": "constant",
            "users": 1,
            "max_users": 1,
            "max_lag_s": 0.05,
        }
    )
    args = ["-f", f"{LOCUSTFILE},{ROOT / 'agentload/locust/shapes/open_model.py'}",
            "--host", service.url, "--scenario-config", str(config), "OpenModelUser"]  # fmt: skip
    run = run_locust(args, out, env={"AGENTLOAD_SHAPE": shape})
    assert run.returncode in (0, 1) and "Traceback" not in run.output, run.output
    final = run.final()
    counts, status = final["open_model"], final["entries"]["GET /v1/status"]
    assert counts["dropped"] > 0
    window = final["window"]  # cut off at stop: a failure; started as it stopped: not counted
    assert status["failures"] == counts["dropped"] + window["cut_off"]
    assert status["requests"] + window["aborted_at_stop"] == counts["sent"] + counts["dropped"]
    summary = build_summary(phase="smoke", started_at="t", target=service.url, final=final)
    assert summary["load_model"] == "open"
    assert summary["arrivals"]["scheduled"] == counts["sent"] + counts["dropped"]
    failed = summary["endpoints"]["GET /v1/status"]["failed"]
    assert failed["requests"] == counts["dropped"] + window["cut_off"]


# A description whose code-gen dataset is missing (the status scenario keeps StatusUser).
MISSING_DATASET_API = """
[scenarios.status]
path = "/v1/status"
[scenarios.codegen]
method = "POST"
path = "/v1/agents/codegen"
dataset = "missing.jsonl"
"""


@pytest.mark.parametrize(
    ("bad_file", "toml", "field"),
    [
        ("config", "weights = {search = 1}\n", "\"weights\": unknown scenario 'search'"),
        ("api", MISSING_DATASET_API, '"scenarios.codegen.dataset"'),
        ("config", "weights = {status = -2}\n", '"weights.status": got -2'),
    ],
)
def test_a_bad_config_stops_locust_before_load_with_one_line_and_exit_2(
    tmp_path: Path, bad_file: str, toml: str, field: str
) -> None:
    """Unknown scenario, missing dataset and bad weight: exit 2, one line naming the file and
    field, no traceback."""
    bad = tmp_path / "bad.toml"
    bad.write_text(toml)
    out = tmp_path / "run"
    args = ["-u", "1", "-t", "5s", "--host", f"http://127.0.0.1:{free_port()}", "StatusUser"]
    args += ["--scenario-config", str(bad)] if bad_file == "config" else ["--api", str(bad)]
    run = run_locust(args, out, timeout=30)
    assert run.returncode == 2, run.output
    lines = [line for line in run.output.splitlines() if line.startswith("agentload: ")]
    assert len(lines) == 1 and str(bad) in lines[0] and field in lines[0], run.output
    assert "Traceback" not in run.output and "Ramping" not in run.output
    assert not (out / "final.json").exists()


def test_the_web_ui_offers_the_closed_model_user_classes_in_its_picker(tmp_path: Path) -> None:
    """``locust -f locustfiles/`` (no class named) serves the web UI with its class picker
    listing the mixed and the one-scenario users; OpenModelUser is left out, as it needs the
    open-model shape (a closed-loop run started from the UI never mixes in the open model)."""
    port = free_port()
    out = tmp_path / "web"
    out.mkdir()
    with (out / "locust.log").open("w") as log:
        process = subprocess.Popen(
            [str(ROOT / ".venv/bin/locust"), "-f", str(Path(LOCUSTFILE).parent),
             "--web-host", "127.0.0.1", "--web-port", str(port), "--host", "http://127.0.0.1:9"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        page = ""
        for _ in range(100):
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=1).text
                break
            except httpx.HTTPError:
                time.sleep(0.1)
    finally:
        stop_process(process)
    for name in ("StatusUser", "CodegenUser", "ResearchUser", "MixedAgentUser"):
        assert f'"{name}"' in page
    assert "OpenModelUser" not in page
    assert '"show_userclass_picker": true' in page
