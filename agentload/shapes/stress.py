"""Growing steps of users until the stress criteria say stop (or the last step ends).

``AGENTLOAD_SHAPE`` = ``{"stress": <profiles.StressParams as JSON>, "steps_path": "..."}``.
Each step is measured after its ``warmup_s`` from the exact latency histograms that arrived in
that time (a tap on :data:`agentload.locust.histograms.RECORDER`; on a master, its workers'
reports): ``rps`` and ``error_rate`` over the HTTP entries (not timing entries such as TTFT),
``p95_ms`` of the params' ``entry``'s successful requests (of all HTTP entries' when it is
empty or absent). Steps are appended to ``steps_path`` (stress_steps.jsonl) and judged by
``agentload.knee.stop_reason``; the step that stops the test carries the ``stop_reason``.
"""

from __future__ import annotations

from locust import LoadTestShape

import json
import math
import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from agentload.knee import Step, stop_reason
from agentload.locust.histograms import RECORDER, Tap
from agentload.stats import step_from_latencies

_DEFAULTS = {
    "start_users": 2, "step_users": 2, "step_duration_s": 30.0, "warmup_s": 5.0, "max_steps": 12,
    "spawn_rate": 10.0, "max_error_rate": 0.05, "p95_limit_ms": 30_000.0, "min_rps_gain": 0.05,
    "entry": "",
}  # fmt: skip


def _table() -> tuple[SimpleNamespace, Path | None]:
    table: dict[str, Any] = json.loads(os.environ.get("AGENTLOAD_SHAPE") or "{}")
    params = SimpleNamespace(**{**_DEFAULTS, **(table.get("stress") or {})})
    path = table.get("steps_path")
    return params, Path(path) if path else None


class StressShape(LoadTestShape):
    """start_users, then + step_users every step_duration_s, until stop_reason says stop."""

    params, steps_path = _table()

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.steps: list[Step] = []
        self._step = 0
        self._tap: Tap | None = None
        self._since = 0.0
        self._done = False

    def _users(self, step: int) -> int:
        return int(self.params.start_users + step * self.params.step_users)

    def _finish_step(self) -> str | None:
        if self._tap is None:
            return None
        entries, elapsed = self._tap.take(), max(time.monotonic() - self._since, 1e-6)
        self._tap.close()
        self._tap = None
        users, entry = self._users(self._step), str(self.params.entry)
        step, requests = step_from_latencies(entries, users, elapsed, entry)
        self.steps.append(step)
        reason = stop_reason(self.steps, self.params)
        if self.steps_path is not None:
            now = self.get_run_time()  # type: ignore[no-untyped-call]
            p95 = step.p95_ms if math.isfinite(step.p95_ms) else None
            line = {
                "step": self._step, "users": step.users, "rps": round(step.rps, 3),
                "p95_ms": p95, "error_rate": round(step.error_rate, 4),
                "requests": requests, "t": round(now, 2), "stop_reason": reason,
            }  # fmt: skip
            with self.steps_path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")
        return reason

    def tick(self) -> tuple[int, float] | None:
        if self._done:
            return None
        run_time = self.get_run_time()  # type: ignore[no-untyped-call]
        step = int(run_time // self.params.step_duration_s)
        if step != self._step:
            if self._finish_step() is not None:
                self._done = True
                return None
            self._step = step
        in_step = run_time - step * self.params.step_duration_s
        if self._tap is None and in_step >= self.params.warmup_s:
            self._tap, self._since = RECORDER.open_tap(), time.monotonic()
        return self._users(step), float(self.params.spawn_rate)
