"""Warm-up and cool-down: which calls count in a run's figures (``--warmup``, ``--cooldown``).

The runner gives a Locust run its window in ``AGENTLOAD_WINDOW`` (JSON ``{"warmup_s",
"cooldown_s", "duration_s"}``, the run's planned length; unset: every call counts). A call
counts when it is sent (its intended start in the open model; a dropped arrival's too) inside
``[start + warmup_s, start + duration_s - cooldown_s)``, ``start`` being when the test started
on its process. Every call is made, whatever its send time, and the calls outside keep the load
on the target as it is in steady state; they are recorded in ``requests.jsonl.gz``
(``in_window: false``) and left out of every figure of ``final.json``: the latency histograms
(the entries, ``TTFT``/``TPOT``/``TTC``, so also the timeline's per-line histograms), the LLM
metrics and goodput (:mod:`agentload.locust.llm_metrics`), and the outcomes, arrivals and counts
of final.json (:func:`in_window`: the live counts less those of the calls outside). The live
counts (the timeline's ``requests``, ``outcomes`` and ``open_model``, Locust's own statistics)
keep every call: the console and the over-saturation watch read them.

A task marks its greenlet outside (:meth:`SendWindow.enter` ... :meth:`SendWindow.leave`), so the
recorders, which run in the greenlet that fires the request, ask :func:`outside` (a set lookup,
only when a window is set). ``to_json()`` gives final.json's ``window.send``: ``{"start",
"end", "warmup_s", "cooldown_s"}`` (unix seconds), None without a window.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from gevent import getcurrent

from agentload.locust.counters import Counts, DistributedCounters
from agentload.locust.hooks import listen

ENV = "AGENTLOAD_WINDOW"
#: The greenlets running a call sent outside the window (empty without a window).
OUTSIDE: set[Any] = set()
#: The counts of the calls outside, to take from the live ones (final.json).
COUNTS = DistributedCounters("agentload_out_of_window")


class SendWindow:
    """This process' window of send times (unix seconds), set when its test starts."""

    def __init__(self) -> None:
        self.warmup_s = self.cooldown_s = self.duration_s = 0.0
        self.active = False
        self.start = self.end = 0.0

    def configure(self, text: str | None) -> None:
        """Read ``AGENTLOAD_WINDOW`` (the runner checked it: a bad one is no window)."""
        try:
            given = json.loads(text) if text else {}
        except ValueError:
            given = {}
        values = [given.get(k) if isinstance(given, dict) else None
                  for k in ("warmup_s", "cooldown_s", "duration_s")]  # fmt: skip
        numbers = [float(v) for v in values if isinstance(v, int | float) and v >= 0]
        if len(numbers) != len(values):
            self.active = False
            return
        self.warmup_s, self.cooldown_s, self.duration_s = numbers
        self.active = self.warmup_s > 0 or self.cooldown_s > 0

    def open(self, now: float) -> None:
        self.start = now + self.warmup_s
        self.end = now + self.duration_s - self.cooldown_s

    def contains(self, sent: float) -> bool:
        """Whether a call sent at ``sent`` (unix s) counts."""
        return not self.active or self.start <= sent < self.end

    def enter(self, sent: float) -> bool:
        """This greenlet runs a call sent at ``sent``: marked outside when it is; whether it
        counts."""
        if self.contains(sent):
            return True
        OUTSIDE.add(getcurrent())
        return False

    def leave(self) -> None:
        if OUTSIDE:
            OUTSIDE.discard(getcurrent())

    def to_json(self) -> dict[str, Any] | None:
        if not self.active:
            return None
        return {"start": self.start, "end": self.end, "warmup_s": self.warmup_s,
                "cooldown_s": self.cooldown_s}  # fmt: skip

    def _on_init(self, **_kw: Any) -> None:
        self.configure(os.environ.get(ENV))

    def _on_test_start(self, **_kw: Any) -> None:
        OUTSIDE.clear()
        self.open(time.time())


WINDOW = SendWindow()
listen("init", WINDOW._on_init)
listen("test_start", WINDOW._on_test_start)


def outside() -> bool:
    """Whether the current greenlet runs a call sent outside the window."""
    return bool(OUTSIDE) and getcurrent() in OUTSIDE


def unix_of(perf: float) -> float:
    """A ``time.perf_counter()`` instant as unix seconds."""
    return time.time() - (time.perf_counter() - perf)


def count_outside(group: str, name: str, n: int = 1) -> None:
    """Count ``n`` ``name`` of ``group`` for a call outside the window (see :func:`in_window`)."""
    COUNTS.add(group, name, n)


def in_window(live: Counts, prefix: str = "") -> Counts:
    """``live`` counts less those of the calls outside the window (their groups ``prefix +
    group``)."""
    out = COUNTS.totals()
    return {
        group: {name: n - out.get(prefix + group, {}).get(name, 0) for name, n in names.items()}
        for group, names in live.items()
    }
