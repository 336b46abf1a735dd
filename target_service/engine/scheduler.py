"""The capacity model: a pool of generation slots, a bounded FIFO wait queue, and timing.

A request takes a slot (or waits in the queue, or is refused when the queue is full), holds it
for `TTFT + n * token_time` and gives it back on a timer set when it started, so a slot is never
held longer than the model says, whatever the client does. A waiting request is handed the slot
at the exact finish time of its predecessor, so back-to-back requests do not drift.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import deque
from dataclasses import dataclass

from target_service.engine.settings import EngineSettings


class QueueFull(Exception):
    """Every slot is busy and the wait queue is full."""

    def __init__(self, queue_depth: int) -> None:
        super().__init__(f"engine queue full ({queue_depth} waiting)")
        self.queue_depth = queue_depth


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a generation started, when its first token is due, and the time between tokens."""

    arrival: float
    start: float
    first_due: float
    token_time: float
    n_tokens: int

    def due(self, i: int) -> float:
        """Loop time at which token `i` (0-based) is out."""
        return self.first_due + i * self.token_time

    @property
    def finish(self) -> float:
        return self.first_due + (self.n_tokens - 1) * self.token_time

    @property
    def ttft_s(self) -> float:
        return self.first_due - self.arrival


class SlotPool:
    """`slots` concurrent generations and at most `queue_max` waiters, served in FIFO order."""

    def __init__(self, slots: int, queue_max: int) -> None:
        self.slots = slots
        self.queue_max = queue_max
        self.busy = 0
        self._waiters: deque[asyncio.Future[float]] = deque()

    @property
    def queue_depth(self) -> int:
        return len(self._waiters)

    async def acquire(self, loop: asyncio.AbstractEventLoop) -> float:
        """Take a slot; return the loop time the slot became ours. Raise `QueueFull`."""
        if self.busy < self.slots and not self._waiters:
            self.busy += 1
            return loop.time()
        if len(self._waiters) >= self.queue_max:
            raise QueueFull(len(self._waiters))
        waiter: asyncio.Future[float] = loop.create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release(loop.time())
            else:
                self._waiters.remove(waiter)
            raise

    def release(self, at: float) -> None:
        """Give a slot back at loop time `at`: hand it to the first waiter, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(at)
                return
        self.busy -= 1


class CapacityModel:
    """Draws output lengths and plans each generation's timing on a `SlotPool`."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self.pool = SlotPool(settings.slots, settings.queue_max)
        self.rng = random.Random(settings.seed)
        self._token_time = 1.0 / settings.tokens_per_s
        self._ttft = settings.ttft_ms / 1000.0
        sigma = settings.output_spread
        self._lognormal_mu = math.log(settings.output_tokens) - sigma * sigma / 2

    def draw_output_tokens(self, max_tokens: int | None) -> tuple[int, str]:
        """Output length for one request and its finish reason (`stop`, or `length` if capped)."""
        s = self.settings
        n = s.output_tokens
        if s.output_dist == "uniform":
            half = round(n * s.output_spread)
            n = self.rng.randint(max(1, n - half), n + half)
        elif s.output_dist == "lognormal":
            n = max(1, round(self.rng.lognormvariate(self._lognormal_mu, s.output_spread)))
        if max_tokens is not None and n > max_tokens:
            return max_tokens, "length"
        return n, "stop"

    def retry_after_s(self) -> int:
        """Whole seconds until a slot is likely free for a newcomer behind the full queue."""
        waves = (self.pool.queue_depth + 1) / self.settings.slots
        return max(1, math.ceil(waves * self.settings.service_time_s))

    async def admit(self, n_tokens: int) -> Schedule:
        """Wait for a slot and plan the generation; the slot is released at its finish time."""
        loop = asyncio.get_running_loop()
        arrival = loop.time()
        start = await self.pool.acquire(loop)
        token_time = self._token_time
        if self.settings.degradation:
            token_time *= 1 + self.settings.degradation * self.pool.busy / self.pool.slots
        first_due = start + self._ttft + token_time
        schedule = Schedule(arrival, start, first_due, token_time, n_tokens)
        finish = schedule.finish
        loop.call_at(finish, self.pool.release, finish)
        return schedule
