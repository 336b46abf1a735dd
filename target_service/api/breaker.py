"""A circuit breaker for the engine: closed -> open -> half-open -> closed.

    closed      calls pass; `threshold` consecutive failures open it
    open        calls fail fast; after `reset_s` it turns half-open
    half-open   one probe call passes (others fail fast); success closes, failure re-opens

A small class rather than a library: the agent needs exactly one probe at a time in half-open,
a "neutral" outcome for a saturated engine (429 is not a failure of the engine's health), a
`state` that turns half-open by itself when read (the `agent_circuit_breaker_state` gauge
reads it at scrape time), all without a lock on asyncio's single thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import IntEnum
from typing import Literal

from target_service.api.engine_protocol import EngineUnavailable

Outcome = Literal["success", "failure", "neutral"]


class BreakerState(IntEnum):
    """Breaker states, valued as the gauge shows them."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


class BreakerOpen(EngineUnavailable):
    """The breaker rejected the call without trying the engine."""


class CircuitBreaker:
    """Counts consecutive failures of engine calls and fails fast while the engine is down."""

    def __init__(
        self,
        threshold: int,
        reset_s: float,
        on_change: Callable[[BreakerState], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.reset_s = reset_s
        self._on_change = on_change
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker past its reset time reads as half-open)."""
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.reset_s:
            self._set(BreakerState.HALF_OPEN)
        return self._state

    def retry_after_s(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when not open)."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.reset_s - (self._clock() - self._opened_at))

    def acquire(self) -> bool:
        """Let a call through (True if it is the half-open probe) or raise `BreakerOpen`.

        Pair every call let through with one `release(outcome, probe)`.
        """
        state = self.state
        if state is BreakerState.CLOSED:
            return False
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        raise BreakerOpen("circuit breaker open: the engine failed repeatedly; retrying later")

    def release(self, outcome: Outcome, probe: bool = False) -> None:
        """Record how an acquired call ended."""
        if probe:
            self._probing = False
        if outcome == "success":
            self._failures = 0
            if self._state is not BreakerState.CLOSED:
                self._set(BreakerState.CLOSED)
        elif outcome == "failure":
            self._failures += 1
            if probe or (self._state is BreakerState.CLOSED and self._failures >= self.threshold):
                self._opened_at = self._clock()
                self._set(BreakerState.OPEN)

    def _set(self, state: BreakerState) -> None:
        self._state = state
        if self._on_change is not None:
            self._on_change(state)
