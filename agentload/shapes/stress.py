"""Growing steps of users until the stress criteria say stop (or the last step ends).

``AGENTLOAD_SHAPE`` = ``{"stress": <profiles.StressParams as JSON>, "steps_path": "..."}``.
Each step is measured from ``runner.stats`` deltas after its ``warmup_s``: ``rps`` and
``error_rate`` over the HTTP entries (not the TTFT/TPOT/TTC custom entries), ``p95_ms`` of the
params' ``entry``. Steps are appended to ``steps_path`` (stress_steps.jsonl) and judged by
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
from agentload.stats import percentile

_HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
_DEFAULTS = {
    "start_users": 2, "step_users": 2, "step_duration_s": 30.0, "warmup_s": 5.0, "max_steps": 12,
    "spawn_rate": 10.0, "max_error_rate": 0.05, "p95_limit_ms": 30_000.0, "min_rps_gain": 0.05,
    "entry": "POST /v1/agents/codegen",
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
        self._snapshot: tuple[float, int, int, dict[int, int]] | None = None
        self._done = False
        method, _, name = str(self.params.entry).partition(" ")
        self._entry = (name, method)

    def _users(self, step: int) -> int:
        return int(self.params.start_users + step * self.params.step_users)

    def _read(self) -> tuple[float, int, int, dict[int, int]]:
        requests = failures = 0
        hist: dict[int, int] = {}
        assert self.runner is not None
        for key, entry in self.runner.stats.entries.items():
            if key[1] not in _HTTP_METHODS:
                continue
            requests += entry.num_requests
            failures += entry.num_failures
            if key == self._entry:
                hist = dict(entry.response_times)
        return time.monotonic(), requests, failures, hist

    def _finish_step(self) -> str | None:
        if self._snapshot is None:
            return None
        t0, req0, fail0, hist0 = self._snapshot
        t1, req1, fail1, hist1 = self._read()
        requests, elapsed = req1 - req0, max(t1 - t0, 1e-6)
        delta = {ms: n - hist0.get(ms, 0) for ms, n in hist1.items() if n > hist0.get(ms, 0)}
        step = Step(
            users=self._users(self._step),
            rps=requests / elapsed,
            p95_ms=float(percentile(delta, 0.95)) if delta else math.nan,
            error_rate=(fail1 - fail0) / requests if requests else 0.0,
        )
        self.steps.append(step)
        reason = stop_reason(self.steps, self.params)
        if self.steps_path is not None:
            now = self.get_run_time()  # type: ignore[no-untyped-call]
            line = {
                "step": self._step, "users": step.users, "rps": round(step.rps, 3),
                "p95_ms": step.p95_ms if delta else None, "error_rate": round(step.error_rate, 4),
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
            self._step, self._snapshot = step, None
        in_step = run_time - step * self.params.step_duration_s
        if self._snapshot is None and in_step >= self.params.warmup_s:
            self._snapshot = self._read()
        return self._users(step), float(self.params.spawn_rate)
