"""`agentload run replay --trace FILE` against the real embedded engine (``python -m
target_service.engine`` on a free port, ``--api openai-chat``), Locust as a real subprocess.

A 200-row Mooncake trace over 10 s at ``--speed 1``: every row is one call at its time (p99 of
the send-time error within 5 ms, from summary.json and from requests.jsonl.gz against the
trace), the engine counts the rows' prompt and output tokens; an Azure CSV with a session
replays on two workers, every row once, the session's rows one after the other on one of them;
the first run's requests.jsonl.gz replays at
``--speed 4`` with the same calls, scenarios and start offsets; a bad trace stops before any
load with exit 2. Load goes to 127.0.0.1 only, bounded by the traces.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runner.agentload_run import alive, all_child_pids, run_agentload, summary
from tests.support import start_server, stop_process

# A quick engine whose own length (600) is above every row's output, so max_tokens decides it.
ENGINE = {
    "ENGINE_TTFT_MS": "5",
    "ENGINE_TOKENS_PER_S": "5000",
    "ENGINE_OUTPUT_TOKENS": "600",
    "ENGINE_SLOTS": "32",
    "ENGINE_DEGRADATION": "0",
    "ENGINE_SEED": "1",
}
FIDELITY_MS = 5.0


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The embedded engine alone on a free port, ended by its PID."""
    process, url = start_server(
        "target_service.engine",
        [],
        "/healthz",
        tmp_path_factory.mktemp("engine") / "engine.log",
        env=ENGINE,
    )
    try:
        yield url
    finally:
        stop_process(process)


def engine_tokens(url: str) -> dict[str, float]:
    """The engine's own ``engine_tokens_total`` by kind (prompt, completion)."""
    out = {}
    for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith("engine_tokens_total{"):
            out[line.split('kind="', 1)[1].split('"', 1)[0]] = float(line.rsplit(" ", 1)[1])
    return out


@dataclass(frozen=True)
class Replayed:
    """One `agentload run replay` and the engine's token counts during it."""

    code: int
    output: str
    out: Path
    tokens: dict[str, float]

    @property
    def summary(self) -> dict[str, Any]:
        return summary(self.out)

    def calls(self) -> list[dict[str, Any]]:
        """requests.jsonl.gz's call lines, by scheduled start."""
        with gzip.open(self.out / "requests.jsonl.gz", "rt") as lines:
            rows = [json.loads(line) for line in lines]
        return sorted((r for r in rows if r["part"] == "call"), key=lambda r: r["intended_start"])


def replay(engine: str, out: Path, trace: Path, *args: str) -> Replayed:
    before = engine_tokens(engine)
    cmd = ["run", "replay", "--trace", str(trace), "--api", "openai-chat", "--host", engine]
    cmd += ["--no-prometheus", "--allow-inconclusive", "--out", str(out), *args]
    done = run_agentload(cmd, timeout=120)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output[-3000:]
    assert alive(all_child_pids(out)) == []
    after = engine_tokens(engine)
    return Replayed(done.returncode, output, out, {k: after[k] - before[k] for k in after})


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.99 * len(ordered)) - 1)]


@pytest.fixture(scope="module")
def mooncake(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """200 rows over ~10 s (every 50 ms, jittered; the first at 1000 ms), known lengths."""
    rng = random.Random(20)
    return [
        {"timestamp": 1000 + i * 50 + rng.randint(0, 20), "input_length": rng.randint(20, 800),
         "output_length": rng.randint(1, 40), "hash_ids": [i % 7, 100 + i]}
        for i in range(200)
    ]  # fmt: skip


@pytest.fixture(scope="module")
def mooncake_run(
    engine: str, mooncake: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Replayed:
    folder = tmp_path_factory.mktemp("mooncake")
    trace = folder / "trace.jsonl"
    trace.write_text("".join(json.dumps(row) + "\n" for row in mooncake))
    return replay(engine, folder / "run", trace, "--speed", "1")


def test_a_mooncake_trace_is_sent_on_schedule(mooncake_run, mooncake):
    """Each of the 200 rows is one call at its time: summary.json's replay section counts them
    and its send-time error p99 is within 5 ms; requests.jsonl.gz, read against the trace,
    agrees: scheduled offsets are the rows' (relative to the first), actual sends within 5 ms
    at p99."""
    assert mooncake_run.code == 0, mooncake_run.output[-3000:]
    section = mooncake_run.summary["replay"]
    assert section["trace"]["format"] == "mooncake" and section["trace"]["rows"] == 200
    assert (section["scheduled"], section["sent"], section["dropped"]) == (200, 200, 0)
    errors = section["send_error_ms"]
    assert errors["calls"] == 200 and errors["p99"] <= FIDELITY_MS, errors
    calls = mooncake_run.calls()
    assert len(calls) == 200 and {c["scenario"] for c in calls} == {"chat"}
    first = calls[0]["intended_start"]
    scheduled = [c["intended_start"] - first for c in calls]
    zero = min(row["timestamp"] for row in mooncake)
    offsets = sorted((row["timestamp"] - zero) / 1000 for row in mooncake)
    assert max(abs(a - b) for a, b in zip(scheduled, offsets, strict=True)) < 0.001
    sent_late_ms = [(c["start"] - c["intended_start"]) * 1000 for c in calls]
    assert min(sent_late_ms) >= -0.1 and _p99(sent_late_ms) <= FIDELITY_MS, sorted(sent_late_ms)[
        -5:
    ]
    assert (
        "replay of trace.jsonl (mooncake, speed 1.0): 200 of 200 rows sent" in mooncake_run.output
    )


def test_the_engine_counts_the_rows_prompt_and_output_tokens(mooncake_run, mooncake):
    """The engine's own counters grew by the trace's input and output lengths, and each call's
    usage (requests.jsonl.gz) has its row's lengths: a prompt of input_length words (the engine
    counts words), max_tokens the output_length."""
    assert mooncake_run.tokens["prompt"] == sum(row["input_length"] for row in mooncake)
    assert mooncake_run.tokens["completion"] == sum(row["output_length"] for row in mooncake)
    by_time = sorted(mooncake, key=lambda row: row["timestamp"])
    used = [(c["input_tokens"], c["output_tokens"]) for c in mooncake_run.calls()]
    assert used == [(row["input_length"], row["output_length"]) for row in by_time]


def test_an_azure_csv_replays_on_two_workers_a_session_on_one(engine, tmp_path):
    """Azure's TIMESTAMP/ContextTokens/GeneratedTokens rows replay at their times with
    ``--workers 2``: every row sent once, by one worker or the other; the three rows of session
    s1, 2 ms apart (calls of about 25 ms), go one after the other on one worker (each sent after
    the previous answered), so the later ones are late, not dropped."""
    start = datetime(2023, 11, 16, 18, 15, 46, 680590)
    lines = ["TIMESTAMP,ContextTokens,GeneratedTokens,session_id"]
    for i in range(20):
        lines.append(f"{start + timedelta(seconds=i * 0.1)}0,{100 + i},{5 + i},")
    for i in range(3):
        lines.append(f"{start + timedelta(seconds=1.0 + i * 0.002)}0,{500 + i},100,s1")
    trace = tmp_path / "AzureLLMInferenceTrace_conv.csv"
    trace.write_text("\n".join(lines) + "\n")
    run = replay(engine, tmp_path / "run", trace, "--workers", "2")
    assert run.code == 0, run.output[-3000:]
    section = run.summary["replay"]
    assert section["trace"]["format"] == "azure" and section["trace"]["sessions"] == 1
    assert (section["sent"], section["dropped"]) == (23, 0) and section["late"] >= 2
    assert run.tokens["prompt"] == sum(100 + i for i in range(20)) + 500 + 501 + 502
    assert run.tokens["completion"] == sum(5 + i for i in range(20)) + 3 * 100
    calls = run.calls()
    assert sorted(c["input_tokens"] for c in calls) == [*range(100, 120), 500, 501, 502]
    assert {c["worker"] for c in calls} == {0, 1}
    session = [c for c in calls if c["input_tokens"] >= 500]
    assert [c["input_tokens"] for c in session] == [500, 501, 502]
    assert len({c["worker"] for c in session}) == 1
    for before, after in zip(session, session[1:], strict=False):
        assert after["start"] >= before["intended_start"] + before["e2e_ms"] / 1000 - 0.001


def test_a_past_runs_requests_file_replays_its_calls_at_speed_4(engine, mooncake_run, tmp_path):
    """The Mooncake run's requests.jsonl.gz as the trace, --speed 4: the same number of calls,
    the same scenarios and token counts, start offsets a quarter of the original's. With
    --warmup and --cooldown of 0.5 s, counted from the first row to the last: every call is
    made, those due outside are flagged in requests.jsonl.gz and left out of the figures."""
    trace = mooncake_run.out / "requests.jsonl.gz"
    window = ["--warmup", "0.5s", "--cooldown", "0.5s"]
    run = replay(engine, tmp_path / "run", trace, "--speed", "4", *window)
    assert run.code == 0, run.output[-3000:]
    section = run.summary["replay"]
    assert section["trace"]["format"] == "agentload" and section["trace"]["speed"] == 4.0
    original, again = mooncake_run.calls(), run.calls()
    assert len(again) == len(original) == section["sent"] == 200
    assert [c["scenario"] for c in again] == [c["scenario"] for c in original]
    assert [c["input_tokens"] for c in again] == [c["input_tokens"] for c in original]
    first, first_again = original[0]["intended_start"], again[0]["intended_start"]
    drift = [
        abs((b["intended_start"] - first_again) * 4 - (a["intended_start"] - first))
        for a, b in zip(original, again, strict=True)
    ]
    assert max(drift) < 0.001
    offsets = [c["intended_start"] - first_again for c in again]
    end = offsets[-1]
    for call, offset in zip(again, offsets, strict=True):
        if min(abs(offset - 0.5), abs(offset - (end - 0.5))) > 0.005:  # clear of the edges
            assert call.get("in_window", True) is (0.5 <= offset < end - 0.5), (offset, call)
    inside = sum(1 for c in again if c.get("in_window", True))
    assert 0 < inside < 200
    assert sum(e["requests"] for k, e in run.summary["endpoints"].items()
               if k.startswith("POST ")) == inside  # fmt: skip
    assert run.summary["window"]["warmup_s"] == run.summary["window"]["cooldown_s"] == 0.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not a trace\n", "line 1: header 'not a trace' has no TIMESTAMP, expected Mooncake"),
        ('{"timestamp": 0, "input_length": 5, "output_length": 1}\n'
         '{"timestamp": 10, "input_length": 5, "output_length": "many"}\n',
         'line 2: field "output_length": got \'many\', expected a whole number of tokens'),
        ('{"timestamp": 0, "input_length": 5, "output_length": 1, "scenario": "nope"}\n',
         "line 1: field \"scenario\": unknown scenario 'nope', expected one of chat"),
    ],
)  # fmt: skip
def test_a_bad_trace_stops_before_any_load_with_exit_2(tmp_path, text, expected):
    """One line naming the file, the row and what was expected; no target started, no Locust."""
    trace = tmp_path / "bad.jsonl"
    trace.write_text(text)
    out = tmp_path / "run"
    cmd = ["run", "replay", "--trace", str(trace), "--api", "openai-chat", "--out", str(out)]
    done = run_agentload(cmd, timeout=60)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and str(trace) in errors[0] and expected in errors[0], done.stderr
    assert "Traceback" not in done.stderr and not out.exists()
