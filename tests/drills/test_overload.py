"""Drill: bursts far past the limits are shed with 429 + Retry-After, and memory stays bounded.

A 2-slot engine with a 2-deep queue behind an agent API that admits 8 calls at a time. Each burst
sends 48 concurrent code-gen calls (half streamed); the API must answer every one with 200 or
429 + Retry-After (never a 5xx or a client timeout), and over a sustained series of bursts the API
process's RSS must not grow past a generous bound.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import psutil

from tests.drills.helpers import AUTH, CODEGEN, child_pid, service_env
from tests.support import run_target_service

BURST = 48
WARMUP_BURSTS = 2
SUSTAINED_BURSTS = 12
RSS_BOUND_MB = 50
OVERLOAD_ENV = service_env(
    ENGINE_SLOTS="2",
    ENGINE_QUEUE_MAX="2",
    ENGINE_TTFT_MS="50",
    ENGINE_OUTPUT_TOKENS="20",
    ENGINE_TOKENS_PER_S="200",
    AGENT_MAX_IN_FLIGHT="8",
    AGENT_ENGINE_RETRY_ATTEMPTS="1",
    AGENT_ENGINE_TIMEOUT_S="30",
)


async def _one(client: httpx.AsyncClient, n: int, tally: Counter[str]) -> None:
    body = {"prompt": f"burst call {n}", "max_tokens": 32, "stream": n % 2 == 1}
    try:
        response = await client.post(CODEGEN, headers=AUTH, json=body)
    except httpx.TimeoutException:
        tally["client timeout"] += 1
        return
    if response.status_code == 429:
        retry_after = response.headers.get("retry-after", "")
        kind = "engine" if "engine saturated" in response.json()["detail"] else "in-flight"
        tally[f"429 {kind}" if retry_after.isdigit() and int(retry_after) >= 1 else "429 bare"] += 1
    elif response.status_code == 200 and b"event: error" in response.content:
        tally["stream error"] += 1
    else:
        tally[str(response.status_code)] += 1


async def _bursts(url: str, count: int, tally: Counter[str]) -> None:
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
    async with httpx.AsyncClient(base_url=url, timeout=20, limits=limits) as client:
        for _ in range(count):
            await asyncio.gather(*(_one(client, n, tally) for n in range(BURST)))


def test_bursts_past_the_limits_get_429_and_rss_stays_bounded(tmp_path: Path) -> None:
    """48-call bursts against 8 admitted calls and 4 engine places: only 200s and 429s with
    Retry-After, both shedding points used, nothing left in flight, API RSS growth < 50 MB."""
    with run_target_service(tmp_path, env=OVERLOAD_ENV) as target:
        api = psutil.Process(child_pid(target, "api"))
        tally: Counter[str] = Counter()
        asyncio.run(_bursts(target.url, WARMUP_BURSTS, tally))
        rss_warm = api.memory_info().rss
        asyncio.run(_bursts(target.url, SUSTAINED_BURSTS, tally))
        rss_end = api.memory_info().rss
        status = httpx.get(f"{target.url}/v1/status", headers=AUTH, timeout=10).json()

    total = BURST * (WARMUP_BURSTS + SUSTAINED_BURSTS)
    assert sum(tally.values()) == total
    assert set(tally) <= {"200", "429 engine", "429 in-flight"}, tally
    assert tally["200"] > 0 and tally["429 in-flight"] > 0 and tally["429 engine"] > 0, tally
    assert status["agent_calls_in_flight"] == 0 and status["engine"]["queue_depth"] == 0
    growth_mb = (rss_end - rss_warm) / 2**20
    assert growth_mb < RSS_BOUND_MB, f"API RSS grew {growth_mb:.1f} MB over {total} calls"
