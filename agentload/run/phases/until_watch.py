"""``--until``: hold a phase's load until its figures are precise, then stop it (the I/O side;
the targets, readings and sentences are :mod:`agentload.metrics.until`'s).

``check_until(config, profile, plan)`` parses and checks the targets before any load
(ConfigError). :class:`UntilWatch` is ``drive()``'s ``on_tick``: every :data:`CHECK_EVERY_S` it
reads the new lines of ``timeline.jsonl`` (the master's, with ``--workers``: it has every
worker's histograms), adds their exact histograms to what it has, reads the targets, and stops the
run (a normal stop: users stopped, results written, gates evaluated) once all are precise. On
leaving it writes ``summary.json``'s ``until`` into the phase record: with the figures of the
check that found them precise, or, when something else stopped the run (the cap: the profile's
duration; another check of ``drive()``'s, such as the over-saturation stop; a signal, an abort),
the figures of the whole run (final.json, as the summary's own).
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from agentload.metrics.latency import EntryLatency
from agentload.metrics.until import (
    ABORTED,
    CAP,
    EARLY,
    PRECISE,
    Observed,
    Reading,
    Target,
    all_precise,
    check_targets,
    read_targets,
    shown,
    until_section,
)
from agentload.profiles.model import Profile
from agentload.results.reading import TimelineTail, read_json
from agentload.run.config import RunConfig
from agentload.scenarios.plan import ApiPlan

if TYPE_CHECKING:
    from agentload.run.context import PhaseContext

log = logging.getLogger("agentload")

CHECK_EVERY_S = 2.0


def check_until(config: RunConfig, profile: Profile, plan: ApiPlan | None) -> list[Target]:
    """The ``--until`` targets, checked against the phase and the plan's entries (ConfigError)."""
    return check_targets(
        config.until,
        phase=profile.phase,
        shape="profile" if profile.profile is not None else profile.shape,
        entries=plan.entries() if plan is not None else None,
        web=config.web,
    )


class LiveTimeline:
    """``timeline.jsonl`` read as it grows: each update parses only the new complete lines and
    adds their histograms (each line's are those since the previous line) to the totals."""

    def __init__(self, path: Path) -> None:
        self.tail = TimelineTail(path)
        self.observed = Observed()

    def update(self) -> Observed:
        lines = self.tail.new_lines()
        if self.tail.restarted:  # a new Locust run rewrote it
            self.observed = Observed()
        for line in lines:
            self._add(line)
        return self.observed

    def _add(self, line: dict[str, Any]) -> None:
        observed = self.observed
        for name, stats in (line.get("entries") or {}).items():
            observed.latencies.setdefault(name, EntryLatency()).add(EntryLatency.from_json(stats))
            requests, failures = int(stats.get("requests", 0)), int(stats.get("failures", 0))
            observed.counts[name] = (requests, failures)
        observed.seconds = float(line["t"])


def whole_run(out_dir: Path, live: LiveTimeline) -> tuple[Observed, str]:
    """The figures of the whole run: final.json's cumulative histograms (the summary's own), or
    the timeline when there is no final.json (an interrupted run)."""
    final = read_json(out_dir / "final.json") or {}
    entries = final.get("entries") or {}
    if not entries or not final.get("histogram"):
        return live.update(), "timeline"
    observed = Observed(seconds=_seconds(final))
    for name, raw in entries.items():
        observed.latencies[name] = EntryLatency.from_json(raw)
        observed.counts[name] = (int(raw.get("requests", 0)), int(raw.get("failures", 0)))
    return observed, "final"


def _seconds(final: dict[str, Any]) -> float:
    window = final.get("window") or {}
    start, end = window.get("start"), window.get("end")
    if isinstance(start, int | float) and isinstance(end, int | float) and end > start:
        return float(end) - float(start)
    return float(final.get("duration_s") or 0.0)


class UntilWatch:
    """``drive()``'s ``on_tick`` for ``--until`` (see the module docstring); a context manager
    around ``drive()`` that records the ``until`` section however the run ends."""

    def __init__(self, ctx: PhaseContext, targets: list[Target], cap_s: float) -> None:
        self.ctx, self.targets, self.cap_s = ctx, targets, cap_s
        self.live = LiveTimeline(ctx.out_dir / "timeline.jsonl")
        self.next_check = CHECK_EVERY_S
        self.checks = 0
        self.precise_at: float | None = None  # the load's seconds at the check that found it
        self.elapsed = 0.0  # drive()'s clock at the last tick
        self.readings: list[Reading] = []

    @classmethod
    def for_run(cls, ctx: PhaseContext, cap_s: float) -> UntilWatch | None:
        if not ctx.config.until:
            return None
        targets = check_until(ctx.config, ctx.profile, ctx.api_plan)
        wanted = "; ".join(t.expr for t in targets)
        log.info("until precise: %s (checked every %gs, cap %gs)", wanted, CHECK_EVERY_S, cap_s)
        return cls(ctx, targets, cap_s)

    def tick(self, elapsed: float) -> bool:
        """True (stop the run) once every target is precise; checks every few seconds."""
        self.elapsed = elapsed
        if elapsed < self.next_check:
            return False
        self.next_check = elapsed + CHECK_EVERY_S
        self.checks += 1
        observed = self.live.update()
        self.readings = read_targets(self.targets, observed)
        if not all_precise(self.readings):
            return False
        self.precise_at = observed.seconds
        figures = ", ".join(shown(r.to_dict()) for r in self.readings)
        log.info("precise after %.0fs: %s; stopping the run", observed.seconds, figures)
        return True

    def __enter__(self) -> UntilWatch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        record = self.ctx.record
        if self.precise_at is not None and exc_type is None:
            because, readings, source = PRECISE, self.readings, "check"
            seconds = self.precise_at
            if record.planned_s is not None:  # the open model: measured over what it held
                record.planned_s = seconds
        else:
            aborted = exc_type is not None or record.gate_abort is not None
            # Locust ends by itself at the cap (its clock starts after drive()'s); before it,
            # another check of drive()'s ended the run (the over-saturation stop)
            because = ABORTED if aborted else CAP if self.elapsed >= self.cap_s - 1 else EARLY
            seconds = self.live.update().seconds  # the timeline's clock: how long it ran
            observed, source = whole_run(self.ctx.out_dir, self.live)
            readings = read_targets(self.targets, observed)
        record.sections["until"] = until_section(
            readings,
            stopped_because=because,
            seconds=seconds,
            cap_s=self.cap_s,
            every_s=CHECK_EVERY_S,
            checks=self.checks,
            figures_from=source,
        )
