"""Plain counters the hot paths update without locks (asyncio runs them on one thread)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Overloaded(Exception):
    """More agent calls in flight than `AGENT_MAX_IN_FLIGHT`: shed with 429 + Retry-After."""

    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(f"too many agent calls in flight (limit {limit}); retry later")
        self.retry_after_s = retry_after_s


class Runtime:
    """In-flight counts and the start time, read by `/v1/status`."""

    def __init__(self, max_in_flight: int, retry_after_s: int) -> None:
        self.started = time.monotonic()
        self.http_in_flight = 0
        self.agent_in_flight = 0
        self.max_in_flight = max_in_flight
        self.retry_after_s = retry_after_s

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self.started

    def enter(self) -> None:
        """Take one agent-call slot, or raise `Overloaded` when all are taken."""
        if self.agent_in_flight >= self.max_in_flight:
            raise Overloaded(self.max_in_flight, self.retry_after_s)
        self.agent_in_flight += 1

    def leave(self) -> None:
        """Give back a slot taken by `enter`."""
        self.agent_in_flight -= 1

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Hold one agent-call slot for the block (`enter` ... `leave`)."""
        self.enter()
        try:
            yield
        finally:
            self.leave()
