"""Agent API overhead and code-gen capacity, measured side by side in one run.

1. Requests/s of `GET /v1/status` on the agent API against a bare FastAPI app returning a
   constant, both on the same uvicorn settings (uvloop, httptools, access log off, one worker).
   The load comes from a separate process: keep-alive HTTP/1.1 connections on uvloop with
   pre-built requests, cheap enough that the server is the bottleneck (its own CPU share is
   printed: near 100 % of a core, the figures are capped by the client). Rounds interleave
   the two servers (bare/agent, then agent/bare, ...), so a burst of load from elsewhere on a
   shared machine hits one round's pair, not one server. Printed: the median and the best of
   the rounds' ratios, the ratio of the best runs, and each server's CPU time per request
   (psutil on the server process, median of the rounds), which the load generator's share of
   the cores does not skew. Goal: >= 0.85.
2. Code-gen capacity: closed-loop clients (2 x SLOTS) on `POST /v1/agents/codegen` with the
   cache off, against the engine with degradation 0 and a fixed output of N tokens, beside the
   formula SLOTS / (TTFT + N / TOKENS_PER_S).

    python benchmarks/bench_target.py [--only status|capacity] [--seconds 2] [--rounds 8]
                                      [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import API_KEY, free_port, stop_process, wait_ready  # noqa: E402

UVICORN = {"loop": "uvloop", "http": "httptools", "access_log": False, "log_level": "warning"}
CAPACITY_ENGINE = {
    "ENGINE_SLOTS": "4",
    "ENGINE_QUEUE_MAX": "64",
    "ENGINE_TTFT_MS": "100",
    "ENGINE_TOKENS_PER_S": "200",
    "ENGINE_OUTPUT_TOKENS": "40",
    "ENGINE_OUTPUT_DIST": "fixed",
    "ENGINE_DEGRADATION": "0",
}


def serve_bare(port: int) -> None:
    """A bare FastAPI app with one constant route, on the agent API's uvicorn settings."""
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/v1/status")
    async def status() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=port, **UVICORN)  # type: ignore[arg-type]


async def _connection(
    port: int, request: bytes, stop_at: float, counts: list[int], latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            counts[0 if status == 200 else 1] += 1
    finally:
        writer.close()


async def _load(port: int, request: bytes, connections: int, seconds: float) -> dict[str, float]:
    stop_at = time.perf_counter() + seconds
    counts: list[int] = [0, 0]
    latencies: list[float] = []
    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(
        *(_connection(port, request, stop_at, counts, latencies) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    client_cpu = (time.process_time() - cpu_started) / elapsed
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95)] if latencies else 0.0
    return {"ok": counts[0], "failed": counts[1], "rps": counts[0] / elapsed, "p95_s": p95,
            "client_cpu": client_cpu}  # fmt: skip


def _request(method: str, path: str, body: dict[str, object] | None = None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


def run_load(args: argparse.Namespace) -> None:
    """The load process: print one JSON line of results."""
    import uvloop

    body = json.loads(args.body) if args.body else None
    request = _request(args.method, args.path, body)
    print(json.dumps(uvloop.run(_load(args.port, request, args.connections, args.seconds))))


def _measure(port: int, method: str, path: str, seconds: float, connections: int,
             body: dict[str, object] | None = None) -> dict[str, float]:  # fmt: skip
    command = [
        sys.executable, __file__, "--load", "--port", str(port), "--method", method,
        "--path", path, "--seconds", str(seconds), "--connections", str(connections),
    ]  # fmt: skip
    if body is not None:
        command += ["--body", json.dumps(body)]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


class _Procs:
    def __init__(self) -> None:
        self.started: list[subprocess.Popen[str]] = []

    def start(self, command: list[str], env: dict[str, str], ready_url: str) -> None:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, text=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.started.append(process)
        wait_ready(ready_url, process, timeout=60)

    def stop(self) -> None:
        for process in reversed(self.started):
            stop_process(process)


def _module(name: str, port: int) -> list[str]:
    return [sys.executable, "-m", name, "--host", "127.0.0.1", "--port", str(port)]


def bench_status(procs: _Procs, tmp: Path, args: argparse.Namespace) -> None:
    engine_port, api_port, bare_port = free_port(), free_port(), free_port()
    procs.start(_module("target_service.engine", engine_port), {},
                f"http://127.0.0.1:{engine_port}/healthz")  # fmt: skip
    procs.start(
        _module("target_service.api", api_port),
        {
            "AGENT_ENGINE_URL": f"http://127.0.0.1:{engine_port}",
            "AGENT_DB_PATH": str(tmp / "status-jobs.sqlite"),
        },
        f"http://127.0.0.1:{api_port}/readyz",
    )
    procs.start([sys.executable, __file__, "--serve-bare", "--port", str(bare_port)], {},
                f"http://127.0.0.1:{bare_port}/v1/status")  # fmt: skip
    servers = {"bare": (bare_port, procs.started[2].pid), "agent": (api_port, procs.started[1].pid)}
    for port, _ in servers.values():
        _measure(port, "GET", "/v1/status", 1.0, args.connections)  # warm-up
    runs: dict[str, list[dict[str, float]]] = {"bare": [], "agent": []}
    for round_ in range(args.rounds):
        for name in ("bare", "agent") if round_ % 2 == 0 else ("agent", "bare"):
            port, pid = servers[name]
            cpu_before = _cpu_s(pid)
            result = _measure(port, "GET", "/v1/status", args.seconds, args.connections)
            assert result["failed"] == 0, f"{name}: {result}"
            result["cpu_us"] = (_cpu_s(pid) - cpu_before) / result["ok"] * 1e6
            runs[name].append(result)
        bare, agent = runs["bare"][-1], runs["agent"][-1]
        print(f"  round {round_ + 1}: bare {bare['rps']:6.0f} req/s {bare['cpu_us']:4.0f} µs/req, "
              f"agent {agent['rps']:6.0f} req/s {agent['cpu_us']:4.0f} µs/req, "
              f"ratio {agent['rps'] / bare['rps']:.2f} "
              f"(client CPU {bare['client_cpu']:.0%}/{agent['client_cpu']:.0%})")  # fmt: skip
    _summary(runs)


def _cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _summary(runs: dict[str, list[dict[str, float]]]) -> None:
    """The status benchmark's verdict from the rounds' results (bare and agent paired)."""
    rps = {name: [r["rps"] for r in rounds] for name, rounds in runs.items()}
    cpu = {name: [r["cpu_us"] for r in rounds] for name, rounds in runs.items()}
    ratios = [a / b for a, b in zip(rps["agent"], rps["bare"], strict=True)]
    cpu_ratios = [b / a for a, b in zip(cpu["agent"], cpu["bare"], strict=True)]
    best = {name: max(values) for name, values in rps.items()}
    median = statistics.median
    print(f"GET /v1/status ({len(ratios)} rounds): agent API {best['agent']:.0f} req/s, bare "
          f"FastAPI {best['bare']:.0f} req/s (best runs: ratio "
          f"{best['agent'] / best['bare']:.2f}); ratio of rounds: median "
          f"{median(ratios):.2f}, best {max(ratios):.2f} (goal >= 0.85)")  # fmt: skip
    print(f"  server CPU per request (median of rounds): bare {median(cpu['bare']):.0f} µs, "
          f"agent {median(cpu['agent']):.0f} µs; ratio bare/agent: median "
          f"{median(cpu_ratios):.2f}, best {max(cpu_ratios):.2f} (the same comparison without "
          "the load generator's share of the cores)")  # fmt: skip
    busy = max(r["client_cpu"] for rounds in runs.values() for r in rounds)
    if busy > 0.9:
        print(f"  note: the load generator used up to {busy:.0%} of a core: the req/s figures "
              "may be capped by the client; the CPU per request is not")  # fmt: skip


def bench_capacity(procs: _Procs, tmp: Path, args: argparse.Namespace) -> None:
    engine_port, api_port = free_port(), free_port()
    env = {k: os.environ.get(k, v) for k, v in CAPACITY_ENGINE.items()}
    procs.start(_module("target_service.engine", engine_port), env,
                f"http://127.0.0.1:{engine_port}/healthz")  # fmt: skip
    procs.start(
        _module("target_service.api", api_port),
        {
            "AGENT_ENGINE_URL": f"http://127.0.0.1:{engine_port}",
            "AGENT_DB_PATH": str(tmp / "capacity-jobs.sqlite"),
            "AGENT_CACHE_SIZE": "0",
        },
        f"http://127.0.0.1:{api_port}/readyz",
    )
    slots, n = int(env["ENGINE_SLOTS"]), int(env["ENGINE_OUTPUT_TOKENS"])
    ttft_s, tps = float(env["ENGINE_TTFT_MS"]) / 1000, float(env["ENGINE_TOKENS_PER_S"])
    formula = slots / (ttft_s + n / tps)
    body = {"prompt": "Parse a CSV file of invoices and total the amounts.", "max_tokens": 512}
    _measure(api_port, "POST", "/v1/agents/codegen", 1.0, 2 * slots, body)  # warm-up
    result = _measure(api_port, "POST", "/v1/agents/codegen", args.capacity_seconds,
                      2 * slots, body)  # fmt: skip
    print(f"code-gen capacity: measured {result['rps']:.2f} req/s through the agent API "
          f"({result['failed']:.0f} non-200), formula SLOTS/(TTFT + N/TOKENS_PER_S) = "
          f"{slots}/({ttft_s:g} + {n}/{tps:g}) = {formula:.2f} req/s, "
          f"ratio {result['rps'] / formula:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("status", "capacity"), help="run one part only")
    parser.add_argument("--seconds", type=float, default=2.0, help="per server and round")
    parser.add_argument("--capacity-seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--method", default="GET", help=argparse.SUPPRESS)
    parser.add_argument("--path", default="/v1/status", help=argparse.SUPPRESS)
    parser.add_argument("--body", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.port)
        return
    if args.load:
        run_load(args)
        return
    import tempfile

    procs = _Procs()
    with tempfile.TemporaryDirectory(prefix="bench-target-") as tmp:
        try:
            if args.only in (None, "status"):
                bench_status(procs, Path(tmp), args)
                procs.stop()
                procs.started.clear()
            if args.only in (None, "capacity"):
                bench_capacity(procs, Path(tmp), args)
        finally:
            procs.stop()


if __name__ == "__main__":
    main()
