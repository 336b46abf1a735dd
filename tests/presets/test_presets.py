"""The shipped presets against real servers: ``openai-chat`` against the embedded engine; and the
async-job machinery against a runs API of our own whose every path is known
(tests/servers/runs_api.py, described by tests/servers/runs.toml)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

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


@pytest.fixture
def engine(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The embedded engine alone (``python -m target_service.engine``) on a free port."""
    port = free_port()
    extra = dict(ENGINE, **getattr(request, "param", {}))
    cmd = [sys.executable, "-m", "target_service.engine", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    process = _serve(cmd, f"{url}/healthz", extra, tmp_path / "engine.log")
    try:
        yield url
    finally:
        stop_process(process)


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def test_openai_chat_preset_passes_on_a_healthy_engine_with_true_ttft(
    engine: str, tmp_path: Path
) -> None:
    """smoke --api openai-chat against the engine passes; TTFT P50 is the engine's within 10 %."""
    out = tmp_path / "run"
    args = ["run", "smoke", "--api", "openai-chat", "--host", engine, "--duration", "30s"]
    done = run_agentload([*args, "--no-prometheus", "--out", str(out)])
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    endpoints = _summary(out)["endpoints"]
    ttft = endpoints["TTFT chat"]["p50_ms"]
    assert abs(ttft - 200) <= 20, f"TTFT P50 {ttft} ms, engine's {ENGINE['ENGINE_TTFT_MS']} ms"
    assert endpoints["TPOT chat"]["requests"] > 0
    assert _summary(out)["agent_outcomes"]["chat"]["success_rate"] == 1.0


def _engine_tokens(url: str) -> dict[str, float]:
    """The engine's own ``engine_tokens_total`` by kind (prompt, completion)."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    out = {}
    for line in text.splitlines():
        if line.startswith("engine_tokens_total{"):
            kind = line.split('kind="', 1)[1].split('"', 1)[0]
            out[kind] = float(line.rsplit(" ", 1)[1])
    return out


def test_llm_metrics_match_the_engine_ttft_decode_rate_and_token_counts(
    engine: str, tmp_path: Path
) -> None:
    """Every call streamed, degradation 0, fixed output length: llm.chat's TTFT P50 is the
    engine's ENGINE_TTFT_MS within 5 % + 5 ms, TPOT P50 1000 / ENGINE_TOKENS_PER_S within 5 %,
    token counts equal the engine's own counters, output tokens/s the engine's over the same
    window within 5 %."""
    config = tmp_path / "all-streamed.toml"
    config.write_text(
        "seed = 5\nstream_share = {chat = 1.0}\n[think_time]\nmin_s = 0.05\nmax_s = 0.2\n"
    )
    before = _engine_tokens(engine)
    out = tmp_path / "run"
    args = ["run", "smoke", "--api", "openai-chat", "--host", engine, "--duration", "15s"]
    done = run_agentload([*args, "--scenario-config", str(config), "--no-prometheus",
                          "--out", str(out)])  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    after = _engine_tokens(engine)
    result = _summary(out)
    assert result["totals"]["cut_off"] == 0
    llm = result["llm"]["chat"]
    ttft, tpot = llm["ttft_ms"]["p50"], llm["tpot_ms"]["p50"]
    assert abs(ttft - 200.0) <= 200.0 * 0.05 + 5.0, f"TTFT P50 {ttft} ms vs 200 ms"
    assert tpot == pytest.approx(1000.0 / 100.0, rel=0.05), f"TPOT P50 {tpot} ms vs 10 ms"
    assert llm["token_source"] == "usage"
    engine_out = after["completion"] - before["completion"]
    engine_in = after["prompt"] - before["prompt"]
    assert llm["output_tokens"] == engine_out == llm["requests"] * 20
    assert llm["input_tokens"] == engine_in
    seconds = result["window"]["seconds"]
    assert llm["output_tokens_per_s"] == pytest.approx(engine_out / seconds, rel=0.05)
    assert llm["itl_ms"]["p50"] == pytest.approx(10.0, rel=0.05)
    report = (out / "report.html").read_text()
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
