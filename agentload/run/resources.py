"""Sample the target's resources once a second into `resources.jsonl`.

Each line: ``{"t", "ts" (unix), "cpu_pct", "rss_bytes", "procs": {"api": {"cpu_pct", ...}, ...},
"engine_queue_depth", "engine_slots_busy", "engine_slots_total"}``; CPU from psutil over the
target's processes (supervisor, API, engine), engine gauges scraped from the engine's `/metrics`
(falling back to its `/v1/engine/state`). `saturated_first(samples)` (pure) says what
saturated first.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families

_GAUGES = {
    "queue_depth": "engine_queue_depth",
    "slots_busy": "engine_slots_busy",
    "slots_total": "engine_slots_total",
}
CPU_SATURATED_PCT = 85.0
SLOTS_SATURATED = 0.95


def scrape_engine(client: httpx.Client, engine_url: str) -> dict[str, float]:
    """The engine's queue and slot gauges, from /metrics or else /v1/engine/state."""
    found: dict[str, float] = {}
    try:
        text = client.get(f"{engine_url}/metrics").text
        for family in text_string_to_metric_families(text):
            if family.name in _GAUGES.values() and family.type == "gauge" and family.samples:
                found[family.name] = sum(s.value for s in family.samples)
    except (httpx.HTTPError, ValueError):
        pass
    if len(found) < len(_GAUGES):
        try:
            state = client.get(f"{engine_url}/v1/engine/state").json()
            for suffix, key in _GAUGES.items():
                if key not in found and isinstance(state.get(suffix), int | float):
                    found[key] = float(state[suffix])
        except (httpx.HTTPError, ValueError, AttributeError):
            pass
    return found


class ResourceSampler:
    """A daemon thread writing one sample a second until `stop()`."""

    def __init__(
        self,
        path: Path,
        pids: Callable[[], Mapping[str, int]],
        engine_url: str | None,
        interval: float = 1.0,
    ) -> None:
        self.path = path
        self._pids = pids
        self.engine_url = engine_url
        self.interval = interval
        self._procs: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="resources", daemon=True)
        self._t0 = time.monotonic()

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _proc(self, pid: int) -> psutil.Process | None:
        if pid not in self._procs:
            try:
                self._procs[pid] = psutil.Process(pid)
                self._procs[pid].cpu_percent(None)
            except psutil.Error:
                return None
        return self._procs[pid]

    def sample(self, client: httpx.Client) -> dict[str, Any]:
        """One sample of every known target process and the engine gauges."""
        line: dict[str, Any] = {
            "t": round(time.monotonic() - self._t0, 2),
            "ts": round(time.time(), 3),
        }
        procs: dict[str, dict[str, float]] = {}
        for name, pid in dict(self._pids()).items():
            proc = self._proc(pid)
            if proc is None:
                continue
            try:
                with proc.oneshot():
                    cpu, rss = proc.cpu_percent(None), proc.memory_info().rss
                procs[name] = {"cpu_pct": cpu, "rss_bytes": rss}
            except psutil.Error:
                continue
        line["cpu_pct"] = round(sum(p["cpu_pct"] for p in procs.values()), 1)
        line["rss_bytes"] = int(sum(p["rss_bytes"] for p in procs.values()))
        line["procs"] = procs
        if self.engine_url:
            line.update(scrape_engine(client, self.engine_url))
        return line

    def _run(self) -> None:
        with httpx.Client(timeout=0.8) as client, self.path.open("a", encoding="utf-8") as out:
            while not self._stop.wait(self.interval):
                out.write(json.dumps(self.sample(client)) + "\n")
                out.flush()


def read_samples(path: Path) -> list[dict[str, Any]]:
    """The samples of a resources.jsonl (skipping a torn last line)."""
    samples = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                samples.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return samples


def saturated_first(samples: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """What saturated first: a target process' CPU (>= 85 % of a core) or the engine's slots
    (>= 95 % busy, or a queue). Returns {"resource", "t", "detail"} or None when nothing did."""
    for s in samples:
        busy, total = s.get("engine_slots_busy"), s.get("engine_slots_total")
        queue = s.get("engine_queue_depth") or 0
        if total and busy is not None and (busy / total >= SLOTS_SATURATED or queue > 0):
            detail = f"{busy:g}/{total:g} engine slots busy, queue depth {queue:g}"
            return {"resource": "engine slots/queue", "t": s.get("t"), "detail": detail}
        for name, proc in (s.get("procs") or {}).items():
            if proc.get("cpu_pct", 0) >= CPU_SATURATED_PCT:
                detail = f"target {name} process at {proc['cpu_pct']:.0f}% CPU (one core = 100%)"
                return {"resource": f"target CPU ({name})", "t": s.get("t"), "detail": detail}
    return None
