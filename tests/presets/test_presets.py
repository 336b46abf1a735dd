"""The shipped presets against real servers: ``openai-chat`` against the embedded engine; and the
async-job machinery against a runs API of our own whose every path is known
(tests/servers/runs_api.py, described by tests/servers/runs.toml)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agentload.results.requests_file import read_lines
from tests.runner.agentload_run import run_agentload
from tests.support import ROOT, free_port, stop_process, wait_ready

pytestmark = pytest.mark.slow
RUNS_API = ROOT / "tests" / "servers" / "runs.toml"
ENGINE = {
    "ENGINE_TTFT_MS": "200",
    "ENGINE_TOKENS_PER_S": "100",
    "ENGINE_OUTPUT_TOKENS": "20",
    "ENGINE_SEED": "3",
    "ENGINE_DEGRADATION": "0",
}


def _serve(cmd: list[str], ready: str, env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    with log.open("w") as out:
        process = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
    try:
        wait_ready(ready, process)
    except BaseException:
        stop_process(process)
        raise
    return process


@contextmanager
def _engine(log_dir: Path, extra: dict[str, str]) -> Iterator[str]:
    """The embedded engine alone (``python -m target_service.engine``) on a free port."""
    port = free_port()
    cmd = [sys.executable, "-m", "target_service.engine", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    process = _serve(cmd, f"{url}/healthz", {**ENGINE, **extra}, log_dir / "engine.log")
    try:
        yield url
    finally:
        stop_process(process)


@pytest.fixture
def engine(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An engine of the test's own, with the test's settings over ENGINE."""
    with _engine(tmp_path, getattr(request, "param", {})) as url:
        yield url


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def _engine_tokens(url: str) -> dict[str, float]:
    """The engine's own ``engine_tokens_total`` by kind (prompt, completion)."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    out = {}
    for line in text.splitlines():
        if line.startswith("engine_tokens_total{"):
            kind = line.split('kind="', 1)[1].split('"', 1)[0]
            out[kind] = float(line.rsplit(" ", 1)[1])
    return out


@dataclass(frozen=True)
class SmokeRun:
    """One ``smoke --api openai-chat`` run with the stock configs against an engine of its own,
    and the engine's token counters around it."""

    returncode: int
    output: str
    out: Path
    engine_tokens: dict[str, float]  # during the run, by kind

    @property
    def summary(self) -> dict:
        return _summary(self.out)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    """The preset as shipped (no scenario config of ours): 20 s of the stock smoke phase."""
    folder = tmp_path_factory.mktemp("openai-chat")
    with _engine(folder, {}) as url:
        before = _engine_tokens(url)
        out = folder / "run"
        args = ["run", "smoke", "--api", "openai-chat", "--host", url, "--duration", "20s"]
        done = run_agentload([*args, "--no-prometheus", "--out", str(out)])
        after = _engine_tokens(url)
    used = {kind: after[kind] - before.get(kind, 0.0) for kind in after}
    return SmokeRun(done.returncode, done.stdout + done.stderr, out, used)


def test_openai_chat_preset_passes_on_a_healthy_engine_with_true_ttft(
    smoke_run: SmokeRun,
) -> None:
    """smoke --api openai-chat against the engine passes; TTFT P50 is the engine's within 10 %."""
    assert smoke_run.returncode == 0, smoke_run.output[-3000:]
    assert "Traceback" not in smoke_run.output
    endpoints = smoke_run.summary["endpoints"]
    ttft = endpoints["TTFT chat"]["p50_ms"]
    assert abs(ttft - 200) <= 20, f"TTFT P50 {ttft} ms, engine's {ENGINE['ENGINE_TTFT_MS']} ms"
    assert endpoints["TPOT chat"]["requests"] > 0
    assert smoke_run.summary["agent_outcomes"]["chat"]["success_rate"] == 1.0


def test_openai_chat_streams_every_call_by_default_each_with_a_ttft(smoke_run: SmokeRun) -> None:
    """With the stock configs every call of the preset is streamed: as many TTFT and TPOT
    entries and llm.chat requests as chat calls, and each line of requests.jsonl.gz has its TTFT
    and the engine's token counts; the token rates name their base, streamed calls."""
    result = smoke_run.summary
    calls = result["endpoints"]["POST /v1/chat/completions"]["requests"]
    assert calls > 50 and result["totals"]["cut_off"] == 0
    assert result["endpoints"]["TTFT chat"]["requests"] == calls
    assert result["endpoints"]["TPOT chat"]["requests"] == calls
    assert result["agent_outcomes"]["chat"]["success"] == calls
    llm = result["llm"]["chat"]
    assert llm["requests"] == calls and llm["tokens_base"] == "streamed calls"
    lines = [
        line for line in read_lines(smoke_run.out / "requests.jsonl.gz")
        if line["entry"] == "POST /v1/chat/completions"
    ]  # fmt: skip
    assert len(lines) == calls
    assert all(line["ttft_ms"] is not None and line["ttft_ms"] > 0 for line in lines)
    assert {(line["token_source"], line["output_tokens"]) for line in lines} == {("usage", 20)}
    assert f"chat: {llm['output_tokens_per_s']:.1f} output tokens/s" in smoke_run.output
    assert f"counted over its {calls} streamed calls (tokens from usage)" in smoke_run.output
    report = (smoke_run.out / "report.html").read_text()
    assert f"tokens of {calls} streamed calls" in report


def test_llm_metrics_match_the_engine_ttft_decode_rate_and_token_counts(
    smoke_run: SmokeRun,
) -> None:
    """Degradation 0, fixed output length: llm.chat's TTFT P50 is the engine's ENGINE_TTFT_MS
    within 5 % + 5 ms, TPOT P50 1000 / ENGINE_TOKENS_PER_S within 5 %, token counts equal the
    engine's own counters, output tokens/s the engine's over the same window within 5 %."""
    assert smoke_run.returncode == 0, smoke_run.output[-3000:]
    result = smoke_run.summary
    assert result["totals"]["cut_off"] == 0
    llm = result["llm"]["chat"]
    ttft, tpot = llm["ttft_ms"]["p50"], llm["tpot_ms"]["p50"]
    assert abs(ttft - 200.0) <= 200.0 * 0.05 + 5.0, f"TTFT P50 {ttft} ms vs 200 ms"
    assert tpot == pytest.approx(1000.0 / 100.0, rel=0.05), f"TPOT P50 {tpot} ms vs 10 ms"
    assert llm["token_source"] == "usage"
    engine_out, engine_in = smoke_run.engine_tokens["completion"], smoke_run.engine_tokens["prompt"]
    assert llm["output_tokens"] == engine_out == llm["requests"] * 20
    assert llm["input_tokens"] == engine_in
    seconds = result["window"]["seconds"]
    assert llm["output_tokens_per_s"] == pytest.approx(engine_out / seconds, rel=0.05)
    assert llm["itl_ms"]["p50"] == pytest.approx(10.0, rel=0.05)
    report = (smoke_run.out / "report.html").read_text()
    assert 'id="llm"' in report and "TPOT = (E2E" in report


@pytest.mark.parametrize("engine", [{"ENGINE_FAULT_OUTAGE": "true"}], indirect=True)
def test_openai_chat_preset_fails_its_gates_on_an_engine_outage(
    engine: str, tmp_path: Path
) -> None:
    """With the engine answering 503, the stock smoke gates fail: exit 1, not a crash."""
    out = tmp_path / "run"
    args = ["run", "smoke", "--api", "openai-chat", "--host", engine, "--duration", "8s"]
    done = run_agentload([*args, "--no-prometheus", "--out", str(out)])
    assert done.returncode == 1, done.stderr[-3000:]
    failed = [g for g in _summary(out)["gates"] if not g["passed"]]
    assert any(g["name"] == "error_rate(POST /v1/chat/completions)" for g in failed)


@pytest.fixture
def runs_api(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "tests.servers.runs_api", str(port)]
    url = f"http://127.0.0.1:{port}"
    process = _serve(cmd, f"{url}/ok", {}, tmp_path / "runs.log")
    try:
        yield url
    finally:
        stop_process(process)


def test_async_jobs_reach_success_failure_deadline_cancel_and_retry_after(
    runs_api: str, tmp_path: Path
) -> None:
    """Every path of a runs API: success, error, a run cancelled at its deadline (as often as
    the client counts timeouts) and a 429 whose Retry-After the client waits out."""
    config = tmp_path / "runs-smoke.toml"
    config.write_text(
        "seed = 1\n[think_time]\nmin_s = 0.1\nmax_s = 0.2\n[deadline_s]\nrun = 2.5\n",
        encoding="utf-8",
    )
    out = tmp_path / "run"
    args = ["run", "smoke", "--api", str(RUNS_API), "--host", runs_api, "--duration", "15s"]
    args += ["--users", "4", "--scenario-config", str(config), "--no-prometheus"]
    done = run_agentload([*args, "--out", str(out)])
    assert done.returncode == 1, done.stderr[-3000:]  # errors and timeouts fail the gates
    assert "Traceback" not in done.stderr
    counts = _summary(out)["agent_outcomes"]["run"]
    truth = httpx.get(f"{runs_api}/truth").json()
    assert counts["success"] > 0 and counts["error"] > 0 and counts["timeout"] > 0, counts
    assert truth["cancels"] == counts["timeout"], (truth, counts)
    assert truth["retry_gaps"] and min(truth["retry_gaps"]) >= 1.0, truth
    ttc = _summary(out)["endpoints"]["TTC run"]
    assert ttc["requests"] == sum(counts.get(k, 0) for k in ("success", "error", "timeout"))
