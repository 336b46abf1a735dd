"""The live console view of a running test, fed by tailing ``timeline.jsonl``.

    with LiveConsole(run_dir / "timeline.jsonl", phase="smoke", duration_s=300.0):
        locust_process.wait()

On a terminal it redraws a small rich table once a second (phase, elapsed/remaining, users, RPS,
P95 with its 95 % interval, errors, agent success); when output is not a terminal or ``CI`` is
set it prints one plain line every few seconds instead. ``snapshot(lines, ...)`` computes the
figures (pure): P95 is of the successful HTTP requests of the last ``RECENT_S`` seconds, from the
exact histograms.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from agentload.metrics.intervals import quantile_interval_ms
from agentload.metrics.stats import is_http, latency_over
from agentload.report.series import success_percentiles

RECENT_S = 10.0


@dataclass
class Snapshot:
    """The figures shown at one moment of a run."""

    phase: str
    elapsed_s: float
    duration_s: float | None
    users: int
    rps: float
    p95_ms: float | None
    requests: int
    failures: int
    agent_success: float | None
    p95_ci: tuple[float | None, float | None] | None = None  # the 95 % interval of p95_ms

    @property
    def remaining_s(self) -> float | None:
        return None if self.duration_s is None else max(self.duration_s - self.elapsed_s, 0.0)

    def line(self) -> str:
        """One plain line, for CI logs."""
        total = f"/{self.duration_s:.0f}s" if self.duration_s is not None else ""
        p95 = f"{fmt_ms(self.p95_ms)}ms{self._ci()}" if self.p95_ms is not None else "-"
        err = f"{100 * self.failures / self.requests:.2f}%" if self.requests else "-"
        ok = f"{100 * self.agent_success:.1f}%" if self.agent_success is not None else "-"
        return (
            f"[{self.phase}] {self.elapsed_s:.0f}s{total} users={self.users} rps={self.rps:.1f} "
            f"p95={p95} errors={self.failures} ({err}) agent_success={ok}"
        )

    def table(self) -> Table:
        """A rich table for the live view."""
        tab = Table(title=f"agentload · {self.phase}", show_header=False, min_width=44)
        tab.add_column(style="bold")
        tab.add_column(justify="right")
        remaining = self.remaining_s
        tab.add_row("elapsed", f"{self.elapsed_s:.0f} s")
        tab.add_row("remaining", f"{remaining:.0f} s" if remaining is not None else "until stopped")
        tab.add_row("users", str(self.users))
        tab.add_row("requests / s", f"{self.rps:.1f}")
        tab.add_row(
            f"P95 (last {RECENT_S:.0f} s)",
            f"{fmt_ms(self.p95_ms)} ms {self._ci()}" if self.p95_ms else "–",
        )
        err = f" ({100 * self.failures / self.requests:.2f} %)" if self.requests else ""
        style = "red" if self.failures else ""
        tab.add_row("errors", f"[{style}]{self.failures}{err}[/]" if style else f"0{err}")
        ok = self.agent_success
        tab.add_row("agent success", f"{100 * ok:.1f} %" if ok is not None else "–")
        return tab

    def _ci(self) -> str:
        """``[298–330]``: the P95's 95 % interval (``?`` for a bound not known yet)."""
        if self.p95_ci is None:
            return ""
        lo, hi = (fmt_ms(b) if b is not None else "?" for b in self.p95_ci)
        return f"[{lo}–{hi}]"


def fmt_ms(ms: float) -> str:
    """Milliseconds with the digits the histogram resolves: ``4.27``, ``42.7``, ``4950``."""
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def _http_totals(line: dict[str, Any]) -> tuple[int, int]:
    req = fail = 0
    for name, stats in (line.get("entries") or {}).items():
        if is_http(name):
            req += int(stats.get("requests", 0))
            fail += int(stats.get("failures", 0))
    return req, fail


def snapshot(
    lines: Sequence[dict[str, Any]], phase: str, duration_s: float | None, elapsed_s: float
) -> Snapshot:
    """Figures from the last timeline lines: RPS and P95 over the last ``RECENT_S`` seconds."""
    if not lines:
        return Snapshot(phase, elapsed_s, duration_s, 0, 0.0, None, 0, 0, None)
    last = lines[-1]
    t_last = float(last.get("t", elapsed_s))
    recent = [x for x in lines if float(x.get("t", 0.0)) > t_last - RECENT_S]
    requests, failures = _http_totals(last)
    before = [x for x in lines if float(x.get("t", 0.0)) <= t_last - RECENT_S]
    t0, req0 = (float(before[-1].get("t", 0.0)), _http_totals(before[-1])[0]) if before else (0, 0)
    rps = (requests - req0) / (t_last - t0) if t_last > t0 else 0.0
    latency = latency_over(recent)
    (p95,) = success_percentiles(latency, (0.95,))
    counts = [per or {} for per in (last.get("outcomes") or {}).values()]
    tasks = sum(int(v) for c in counts for v in c.values())
    success = sum(int(c.get("success", 0)) for c in counts)
    return Snapshot(
        phase=phase,
        elapsed_s=max(elapsed_s, t_last),
        duration_s=duration_s,
        users=int(last.get("users", 0)),
        rps=rps,
        p95_ms=None if math.isnan(p95) else p95,
        requests=requests,
        failures=failures,
        agent_success=success / tasks if tasks else None,
        p95_ci=None if math.isnan(p95) else quantile_interval_ms(latency.ok, 0.95),
    )


class LiveConsole:
    """Tail ``timeline`` in a daemon thread and show the run's figures until the block ends."""

    def __init__(
        self,
        timeline: Path,
        phase: str,
        duration_s: float | None = None,
        *,
        plain: bool | None = None,
        console: Console | None = None,
        plain_every_s: float = 5.0,
    ) -> None:
        self.timeline = timeline
        self.phase = phase
        self.duration_s = duration_s
        self.console = console or Console()
        in_ci = bool(os.environ.get("CI"))
        self.plain = plain if plain is not None else (in_ci or not self.console.is_terminal)
        self.plain_every_s = plain_every_s
        self._lines: deque[dict[str, Any]] = deque(maxlen=int(RECENT_S) * 4 + 4)
        self._offset = 0
        self._partial = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-console", daemon=True)
        self._t0 = time.monotonic()

    def _read_new(self) -> None:
        try:
            with self.timeline.open("r", encoding="utf-8", errors="replace") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
                self._offset = fh.tell()
        except OSError:
            return
        text = self._partial + chunk
        *complete, self._partial = text.split("\n")
        for raw in complete:
            try:
                row = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                self._lines.append(row)

    def current(self) -> Snapshot:
        """The figures now (reads what the timeline gained since the last call)."""
        self._read_new()
        elapsed = time.monotonic() - self._t0
        return snapshot(list(self._lines), self.phase, self.duration_s, elapsed)

    def _run(self) -> None:
        if self.plain:
            while not self._stop.wait(self.plain_every_s):
                self.console.print(
                    self.current().line(), highlight=False, markup=False, soft_wrap=True
                )
            return
        with Live(self.current().table(), console=self.console, refresh_per_second=2) as live:
            while not self._stop.wait(1.0):
                live.update(self.current().table())
            live.update(self.current().table())

    def __enter__(self) -> LiveConsole:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self.plain:
            self.console.print(self.current().line(), highlight=False, markup=False, soft_wrap=True)
