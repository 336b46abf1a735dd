"""The over-saturation stop of an open-model run (a rate run, each rate of a sweep): the I/O side;
the rule is :mod:`agentload.metrics.saturation`'s.

:class:`OverSaturationWatch` is ``drive()``'s ``on_tick``: it reads the new lines of the run's
``timeline.jsonl`` as they come (once a second, the master's with ``--workers``), makes each a
:class:`~agentload.metrics.saturation.Sample` of the arrival scenario (calls sent: the
arrivals' ``sent``; finished: the scenario's outcomes; the median E2E of its entry and TTFT of
the calls that finished in that second) and stops the run once the rule finds the target
over-saturated, keeping the evidence (``evidence``, with ``held_s``: how long the run had gone).
Profiles turn it off with ``[rate] stop_over_saturated = false`` (``[sweep]`` the same).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentload.metrics.latency import EntryLatency
from agentload.metrics.saturation import (
    Sample,
    SaturationRule,
    SaturationWatch,
    saturation_finding,
)
from agentload.results.reading import TimelineTail

if TYPE_CHECKING:
    from agentload.run.context import PhaseContext

log = logging.getLogger("agentload")
Tick = Callable[[float], bool]


class OverSaturationWatch:
    """Watches one Locust run's timeline (see the module docstring)."""

    def __init__(
        self, timeline: Path, scenario: str, entry: str, rule: SaturationRule | None = None
    ) -> None:
        self.tail, self.scenario, self.entry = TimelineTail(timeline), scenario, entry
        self.watch = SaturationWatch(rule or SaturationRule())
        self.evidence: dict[str, Any] | None = None

    @classmethod
    def for_run(cls, ctx: PhaseContext, folder: Path) -> OverSaturationWatch | None:
        """The watch of an open-model run whose results go to ``folder``; None when the profile
        turns it off, or without a description (no arrival scenario to watch)."""
        profile, api = ctx.profile, ctx.api_plan
        params = profile.sweep if profile.shape == "sweep" else profile.rate
        if api is None or params is None or not getattr(params, "stop_over_saturated", True):
            return None
        scenario = api.open_model.scenario or api.active()[0].name
        return cls(folder / "timeline.jsonl", scenario, api.entry_of(scenario))

    def tick(self, elapsed: float) -> bool:
        """True (stop the run) once the target is over-saturated."""
        if self.evidence is not None:
            return True
        for line in self.tail.new_lines():
            evidence = self.watch.update(self._sample(line))
            if evidence is not None:
                self.evidence = {**evidence, "held_s": round(elapsed, 3)}
                log.warning("%s; ending the run", saturation_finding(evidence))
                return True
        return False

    def _sample(self, line: dict[str, Any]) -> Sample:
        entries = line.get("entries") or {}
        outcomes = (line.get("outcomes") or {}).get(self.scenario) or {}
        return Sample(
            t=float(line["t"]),
            sent=int((line.get("open_model") or {}).get("sent") or 0),
            finished=sum(int(n) for n in outcomes.values()),
            e2e_ms=_median(entries.get(self.entry)),
            ttft_ms=_median(entries.get(f"TTFT {self.scenario}")),
        )


def _median(stats: Any) -> float | None:
    """The median of the successes of one line's entry (None: none finished in that second)."""
    if not isinstance(stats, dict) or "hdr" not in stats:
        return None
    value = EntryLatency.from_json(stats).figures().get("p50_ms")
    return float(value) if isinstance(value, int | float) else None


def either(*ticks: Tick | None) -> Tick | None:
    """One ``on_tick`` of several (each called every time; True when one is), None for none."""
    chosen = [tick for tick in ticks if tick is not None]
    if not chosen:
        return None
    if len(chosen) == 1:
        return chosen[0]

    def tick(elapsed: float) -> bool:
        stops = [one(elapsed) for one in chosen]  # every one of them, each time
        return any(stops)

    return tick
