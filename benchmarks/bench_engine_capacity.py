"""Measured saturation throughput of the simulated engine beside its formula.

capacity = ENGINE_SLOTS / (ENGINE_TTFT_MS/1000 + ENGINE_OUTPUT_TOKENS / ENGINE_TOKENS_PER_S)

Starts the real engine (default settings unless ENGINE_* are set) on a free port, keeps
2 x SLOTS closed-loop clients busy (plain, then streamed), and counts completions in a steady
window. Prints measured, formula and their ratio (goal: within 0.90-1.10).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from target_service.engine.settings import EngineSettings  # noqa: E402
from tests.support import free_port, stop_process, wait_ready  # noqa: E402

WARMUP_S = 2.0
WINDOW_S = float(os.environ.get("BENCH_WINDOW_S", "8"))
BODY = {
    "model": "agentload-sim",
    "messages": [
        {"role": "system", "content": "Write python code. Answer with code only."},
        {"role": "user", "content": "Parse a CSV file of invoices and total the amounts."},
    ],
}


async def _client(
    client: httpx.AsyncClient, stream: bool, stop_at: float, done: list[float]
) -> None:
    while time.monotonic() < stop_at:
        if stream:
            async with client.stream(
                "POST", "/v1/chat/completions", json={**BODY, "stream": True}
            ) as response:
                async for _ in response.aiter_lines():
                    pass
                ok = response.status_code == 200
        else:
            ok = (await client.post("/v1/chat/completions", json=BODY)).status_code == 200
        if ok:
            done.append(time.monotonic())


async def _measure(url: str, clients: int, stream: bool) -> float:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        start = time.monotonic()
        stop_at = start + WARMUP_S + WINDOW_S
        done: list[float] = []
        await asyncio.gather(*(_client(client, stream, stop_at, done) for _ in range(clients)))
    in_window = [t for t in done if start + WARMUP_S <= t < stop_at]
    return len(in_window) / WINDOW_S


def main() -> None:
    settings = EngineSettings()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "target_service.engine", "--port", str(port)],
        cwd=ROOT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/healthz", process)
        formula = settings.capacity_rps
        clients = 2 * settings.slots
        print(
            f"engine capacity: slots={settings.slots} ttft_ms={settings.ttft_ms:g} "
            f"tokens={settings.output_tokens} tokens_per_s={settings.tokens_per_s:g} "
            f"clients={clients} window={WINDOW_S:g}s"
        )
        for stream in (False, True):
            measured = asyncio.run(_measure(url, clients, stream))
            kind = "stream" if stream else "plain "
            print(
                f"  {kind}: measured {measured:6.2f} req/s  formula {formula:6.2f} req/s  "
                f"ratio {measured / formula:.3f}"
            )
    finally:
        stop_process(process)


if __name__ == "__main__":
    main()
