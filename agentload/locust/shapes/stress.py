"""Growing steps of users until the stress criteria say stop (or the last step ends).

``AGENTLOAD_SHAPE`` = ``{"stress": <profiles.StressParams as JSON>, "steps_path": "..."}``.
Each step is measured over a window of whole wall-clock seconds, from the end of its
``warmup_s`` to its end (``[ceil(warm-up end), floor(step end))``), from the exact per-second
latency histograms of :data:`agentload.locust.histograms.RECORDER`: the requests that *finished*
in that window, on every process. ``rps`` = those requests / the window's seconds; ``rps`` and
``error_rate`` are over the HTTP entries (not timing entries such as TTFT), ``p95_ms`` is of the
params' ``entry``'s successful requests (of all HTTP entries' when it is empty or absent).

On a master the workers' requests arrive with their reports, every 3 s
(``WORKER_REPORT_INTERVAL``), so a step's figures are computed once every live worker has
reported past the window's end: a few seconds into the next step, which runs meanwhile (its
users are spawned on time), and the stop decision comes then. A worker that has not reported
``MAX_WAIT_S`` after the window's end is not waited for: the step is computed without its
latest seconds and its line says so (``complete: false``, ``waiting_for``). A local runner's
steps are computed at once.

Steps are appended to ``steps_path`` (stress_steps.jsonl), one line each: ``step, users, rps,
p95_ms, error_rate, requests, t`` (run time of the step's end), ``window {start, end}`` (epoch
seconds), ``seconds``, ``decided_t`` (run time of the computation), ``complete``,
``waiting_for`` (the workers not waited for) and ``stop_reason``, from
``agentload.metrics.knee.stop_reason``; the step that stops the test carries it.
"""

from __future__ import annotations

from locust import LoadTestShape
from locust.runners import WORKER_REPORT_INTERVAL

import json
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from agentload.locust.histograms import RECORDER, Latencies
from agentload.metrics.knee import Step, stop_reason
from agentload.metrics.second_buckets import whole_seconds
from agentload.metrics.stats import step_from_latencies

MAX_WAIT_S = 2 * WORKER_REPORT_INTERVAL + 2  # two reports missed, and time for one in transit
log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class _Window:
    """A step whose figures are yet to be computed."""

    index: int
    users: int
    start: int  # epoch seconds, the window [start, end)
    end: int
    end_t: float  # run time of the step's end


class StressShape(LoadTestShape):
    """start_users, then + step_users every step_duration_s, until stop_reason says stop."""

    params, steps_path = _table()

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.steps: list[Step] = []
        self._step = 0
        self._pending: list[_Window] = []
        self._done = False
        RECORDER.windows.retain(float(self.params.step_duration_s) + 2 * MAX_WAIT_S)

    def _users(self, step: int) -> int:
        return int(self.params.start_users + step * self.params.step_users)

    def _window(self, index: int, run_time: float) -> _Window:
        """Step ``index``'s measurement window, in wall-clock seconds."""
        duration, warmup = float(self.params.step_duration_s), float(self.params.warmup_s)
        zero = time.time() - run_time  # the test's start, wall clock
        end_t = (index + 1) * duration
        start, end = whole_seconds(zero + index * duration + warmup, zero + end_t)
        return _Window(index, self._users(index), start, end, end_t)

    def _decide(self) -> str | None:
        """Compute the pending steps whose windows every worker has reported past (or that
        waited ``MAX_WAIT_S``), in order; the first stop reason, or None."""
        while self._pending:
            window = self._pending[0]
            waiting = RECORDER.waiting_for(window.end)
            if waiting and time.time() < window.end + MAX_WAIT_S:
                return None
            self._pending.pop(0)
            if waiting:
                log.warning("stress step %d: no report past its window from %s after %gs; "
                            "computed without them", window.index, waiting, MAX_WAIT_S)  # fmt: skip
            reason = self._finish(window, RECORDER.window(window.start, window.end), waiting)
            if reason is not None:
                return reason
        return None

    def _finish(self, window: _Window, entries: Latencies, waiting: list[str]) -> str | None:
        seconds = window.end - window.start
        step, requests = step_from_latencies(entries, window.users, seconds, self.params.entry)
        self.steps.append(step)
        reason = stop_reason(self.steps, self.params)
        if self.steps_path is not None:
            p95 = step.p95_ms if math.isfinite(step.p95_ms) else None
            line = {
                "step": window.index, "users": step.users, "rps": round(step.rps, 3),
                "p95_ms": p95, "error_rate": round(step.error_rate, 4),
                "requests": requests, "t": round(window.end_t, 2),
                "window": {"start": window.start, "end": window.end}, "seconds": seconds,
                "decided_t": round(self.get_run_time(), 2),  # type: ignore[no-untyped-call]
                "complete": not waiting, "waiting_for": waiting, "stop_reason": reason,
            }  # fmt: skip
            with self.steps_path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")
        return reason

    def tick(self) -> tuple[int, float] | None:
        if self._done:
            return None
        run_time = self.get_run_time()  # type: ignore[no-untyped-call]
        last = int(self.params.max_steps) - 1
        step = int(run_time // self.params.step_duration_s)
        if step != self._step and self._step <= last:
            self._pending.append(self._window(self._step, run_time))
            self._step = step
        if self._decide() is not None or (step > last and not self._pending):
            self._done = True
            return None
        # past the last step, its users stay until its figures are in
        return self._users(min(step, last)), float(self.params.spawn_rate)
