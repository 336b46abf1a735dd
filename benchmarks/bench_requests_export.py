"""Benchmark (not a test): the cost of the per-request export, requests.jsonl.gz.

Requests/s of scenario A's ``StatusUser`` (``GET /v1/status`` against the tiny server, no think
time) with ``--agentload-requests`` (every request a line) and without it, runs alternated;
prints the best req/s and the requests per CPU-second of each side by side with their ratios
(goal: the export costs at most 3 %), the listener's own time per request timed alone, and the
size of the merged file per 1,000 requests.

Run: ``.venv/bin/python benchmarks/bench_requests_export.py`` (about 60 s; loads only 127.0.0.1).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agentload.results.requests_file import FILE_NAME, merge_parts  # noqa: E402
from benchmarks.bench_scenarios import AGENTS, BIN, NO_THINK, aggregated, locust, tiny_server  # noqa: E402

USERS, SECONDS, ROUNDS = 8, 6, 3


def bench_ratio(work: Path) -> None:
    config = work / "no_think.toml"
    config.write_text(NO_THINK)
    runs: dict[str, list[tuple[float, int, float]]] = {"export": [], "off": []}
    common = ["-u", str(USERS), "-r", str(USERS), "-t", f"{SECONDS}s",
              "--scenario-config", str(config)]  # fmt: skip
    sizes: list[tuple[int, int]] = []
    with tiny_server({"STALL_S": "0"}) as url:
        for i in range(ROUNDS):
            for key in ("export", "off"):
                out = work / f"{key}{i}"
                extra = ["--agentload-requests", str(out)] if key == "export" else []
                cpu = locust(AGENTS, [*common, "--host", url, "--agentload-out", str(out), *extra,
                                      "StatusUser"], out)  # fmt: skip
                runs[key].append((*aggregated(out), cpu))
                if key == "export":
                    info = merge_parts(out)
                    assert info is not None
                    sizes.append(((out / FILE_NAME).stat().st_size, int(info["lines"])))
    best = {k: max(r[0] for r in v) for k, v in runs.items()}
    per_cpu = {k: sum(r[1] for r in v) / sum(r[2] for r in v) for k, v in runs.items()}
    for key, label in (("export", "with requests.jsonl.gz"), ("off", "without")):
        walls = ", ".join(f"{r[0]:.0f}" for r in runs[key])
        print(f"{label + ':':25s} {best[key]:8.0f} req/s best of [{walls}]; "
              f"{per_cpu[key]:6.0f} req per CPU-second")  # fmt: skip
    print(f"export ratio, best req/s:     {best['export'] / best['off']:8.3f}  (goal >= 0.97)")
    print(
        f"export ratio, req/CPU-second: {per_cpu['export'] / per_cpu['off']:8.3f}  (goal >= 0.97)"
    )
    us = listener_us_per_request()
    share = us / (1e6 / per_cpu["off"])
    print(f"listener + writer per request: {us:7.2f} us  ({share:.2%} of a request's CPU time)")
    size, lines = sum(s for s, _ in sizes), sum(n for _, n in sizes)
    print(f"requests.jsonl.gz: {1000 * size / lines / 1024:.1f} KiB per 1,000 requests "
          f"({lines} lines over {len(sizes)} runs)")  # fmt: skip


LISTENER_TIMING = """
import tempfile, time
from pathlib import Path
from agentload.apis.verdicts import SUCCESS
from agentload.locust.request_log import RequestLog

class Resp:
    status_code = 200

log, resp = RequestLog(), Resp()
log.folder = Path(tempfile.mkdtemp())
log._on_test_start()
log._stop_loop()
n, best = 100_000, float("inf")
for _ in range(3):
    start = time.perf_counter()
    for i in range(n):
        call = log.begin("status", None)
        log._on_request("GET", "/v1/status", 1.5, resp, None, 1.7e9 + i)
        log.end(call, SUCCESS, None)
    log.flush()
    best = min(best, (time.perf_counter() - start) / n)
log._on_quitting()
print(best * 1e6)
"""


def listener_us_per_request() -> float:
    """Microseconds per request of a call's ``begin``/``end``, the ``request`` listener and the
    flush that encodes and gzips its line (all lines kept), in a subprocess (importing Locust
    patches the process with gevent)."""
    done = subprocess.run(
        [str(BIN / "python"), "-c", LISTENER_TIMING],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="agentload-bench-") as tmp:
        bench_ratio(Path(tmp))


if __name__ == "__main__":
    main()
