"""Stream benchmark (not a test): what the per-chunk LLM bookkeeping costs.

Streamed calls of the ``openai-chat`` description against the embedded engine made fast (64
slots, no prefill, 4,000 tokens/s, 256 output tokens: 256 chunks in 64 ms), so the load
generator, not the engine, is the limit. Runs alternate the stock users with the same users
whose per-chunk recording (:mod:`agentload.locust.llm_metrics`: every inter-token gap, TTFT,
TPOT, E2E, token counts) is switched off; prints requests/s (best run) and requests per CPU-second
of the Locust process side by side, and their ratios.

Run: ``.venv/bin/python benchmarks/bench_streams.py`` (about 60 s; loads only 127.0.0.1).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_scenarios import aggregated, locust  # noqa: E402
from tests.support import free_port, stop_process, wait_ready  # noqa: E402

AGENTS = str(ROOT / "locustfiles" / "agents.py")
WITHOUT = str(ROOT / "benchmarks" / "no_stream_metrics_locustfile.py")
ENGINE = {
    "ENGINE_SLOTS": "64", "ENGINE_TTFT_MS": "0", "ENGINE_TOKENS_PER_S": "4000",
    "ENGINE_OUTPUT_TOKENS": "256", "ENGINE_QUEUE_MAX": "1000", "ENGINE_SEED": "1",
}  # fmt: skip
CONFIG = "seed = 1\nstream_share = {chat = 1.0}\nvars = {max_tokens = 256}\n[think_time]\n"
CONFIG += "min_s = 0\nmax_s = 0\n"
USERS, SECONDS, ROUNDS = 8, 8, 3


def main() -> None:
    port = free_port()
    engine = subprocess.Popen(
        [sys.executable, "-m", "target_service.engine", "--port", str(port)],
        cwd=ROOT, env={**os.environ, **ENGINE}, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    runs: dict[str, list[tuple[float, int, float]]] = {"with": [], "without": []}
    try:
        wait_ready(f"{url}/healthz", engine)
        with tempfile.TemporaryDirectory(prefix="bench-streams-") as tmp:
            work = Path(tmp)
            config = work / "streamed.toml"
            config.write_text(CONFIG)
            common = ["-u", str(USERS), "-r", str(USERS), "-t", f"{SECONDS}s", "--host", url]
            common += ["--api", "openai-chat", "--scenario-config", str(config), "ChatUser"]
            for i in range(ROUNDS):
                for key, files in (("with", AGENTS), ("without", WITHOUT)):
                    out = work / f"{key}{i}"
                    cpu = locust(files, [*common, "--agentload-out", str(out)], out)
                    runs[key].append((*aggregated(out), cpu))
    finally:
        stop_process(engine)
    best = {k: max(r[0] for r in v) for k, v in runs.items()}
    per_cpu = {k: sum(r[1] for r in v) / sum(r[2] for r in v) for k, v in runs.items()}
    for key, label in (("with", "with per-chunk recording"), ("without", "without")):
        walls = ", ".join(f"{r[0]:.0f}" for r in runs[key])
        print(f"{label + ':':27s} {best[key]:8.1f} req/s best of [{walls}]; "
              f"{per_cpu[key]:6.1f} req per CPU-second")  # fmt: skip
    print("(Aggregated rows count each call's TTFT and TPOT entries too: 3 rows per call)")
    print(f"ratio, best req/s:     {best['with'] / best['without']:8.3f}")
    print(f"ratio, req/CPU-second: {per_cpu['with'] / per_cpu['without']:8.3f}")


if __name__ == "__main__":
    main()
