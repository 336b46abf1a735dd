"""Injected faults for drills: a share of agent calls answered 500, and added latency.

Set at start from `AGENT_FAULT_ERROR_RATE` / `AGENT_FAULT_LATENCY_MS`, changed at run time
through `/admin/faults`. A fault 500 is the only 5xx the agent API answers on purpose.
"""

from __future__ import annotations

import asyncio
import random

from target_service.api.settings import AgentSettings


class FaultInjected(Exception):
    """An agent call chosen to fail by `AGENT_FAULT_ERROR_RATE` (answered 500)."""

    def __init__(self, agent: str) -> None:
        super().__init__(f"injected fault ({agent})")
        self.agent = agent


class FaultState:
    """The current fault settings and the seeded draw that applies them."""

    def __init__(self, settings: AgentSettings) -> None:
        self.error_rate = settings.fault_error_rate
        self.latency_ms = settings.fault_latency_ms
        self.engine_outage = False
        self._random = random.Random(settings.fault_seed)

    async def apply(self, agent: str) -> None:
        """Sleep the injected latency, then raise `FaultInjected` for a share of calls."""
        if self.latency_ms > 0:
            await asyncio.sleep(self.latency_ms / 1000)
        if self.error_rate > 0 and self._random.random() < self.error_rate:
            raise FaultInjected(agent)
