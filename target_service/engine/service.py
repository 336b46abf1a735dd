"""One completion end to end: admission, text, timing, and the OpenAI answer or SSE stream."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import count

from target_service.engine.codegen import (
    generate_code,
    generate_prose,
    requested_language,
    wants_plan,
)
from target_service.engine.metrics import EngineMetrics
from target_service.engine.scheduler import CapacityModel, Schedule
from target_service.engine.schemas import ChatRequest
from target_service.engine.settings import EngineSettings
from target_service.engine.tokens import count_tokens, pieces, topic_words


@dataclass(slots=True)
class Generation:
    """A completion admitted to a slot, with its text and timing."""

    id: str
    created: int
    model: str
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    schedule: Schedule

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


class Engine:
    """The simulated engine: capacity model, text generation, faults and metrics."""

    def __init__(
        self, settings: EngineSettings, model: CapacityModel, metrics: EngineMetrics
    ) -> None:
        self.settings = settings
        self.model = model
        self.metrics = metrics
        self.outage = settings.fault_outage
        self._ids = count(1)
        self._id_prefix = f"chatcmpl-{os.urandom(4).hex()}"

    def state(self) -> dict[str, int | bool]:
        pool = self.model.pool
        return {
            "slots_busy": pool.busy,
            "slots_total": pool.slots,
            "queue_depth": pool.queue_depth,
            "queue_max": pool.queue_max,
            "outage": self.outage,
        }

    async def admit(self, request: ChatRequest) -> Generation:
        """Wait for a slot (may raise `QueueFull`) and write the answer."""
        n, finish_reason = self.model.draw_output_tokens(request.token_limit)
        invalid = self.model.rng.random() < self.settings.invalid_rate
        salt = request.seed if request.seed is not None else self.model.rng.getrandbits(32)
        schedule = await self.model.admit(n)
        system = " ".join(m.text for m in request.messages if m.role in ("system", "developer"))
        user = " ".join(m.text for m in request.messages if m.role == "user")
        prompt_tokens = sum(count_tokens(m.text) for m in request.messages)
        rng = random.Random(f"{self.settings.seed}:{salt}:{system}:{user}")
        words = topic_words(user)
        language = requested_language(system)
        if language is not None:
            text = generate_code(language, n, words, rng, invalid=invalid)
        else:
            text = generate_prose(n, words, rng, plan=wants_plan(system))
        self.metrics.queue_wait.observe(schedule.start - schedule.arrival)
        self.metrics.prompt_tokens.inc(prompt_tokens)
        return Generation(
            id=f"{self._id_prefix}{next(self._ids)}",
            created=int(time.time()),
            model=request.model,
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=n,
            finish_reason=finish_reason,
            schedule=schedule,
        )

    def _finished(self, gen: Generation) -> None:
        self.metrics.outcome["success"].inc()
        self.metrics.ttft.observe(gen.schedule.ttft_s)
        self.metrics.duration.observe(gen.schedule.finish - gen.schedule.arrival)
        self.metrics.completion_tokens.inc(gen.completion_tokens)

    async def complete(self, gen: Generation) -> dict[str, object]:
        """Sleep until the generation's finish time; return the `chat.completion` object."""
        loop = asyncio.get_running_loop()
        delay = gen.schedule.finish - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        self._finished(gen)
        return {
            "id": gen.id,
            "object": "chat.completion",
            "created": gen.created,
            "model": gen.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": gen.text},
                    "finish_reason": gen.finish_reason,
                }
            ],
            "usage": gen.usage(),
        }

    async def stream(self, gen: Generation) -> AsyncIterator[bytes]:
        """SSE chunks, each token sent at its due time; tokens due together (late, or within
        `ENGINE_STREAM_INTERVAL_MS` of the previous chunk) share one chunk."""
        loop = asyncio.get_running_loop()
        sched = gen.schedule
        head = (
            f'data: {{"id":"{gen.id}","object":"chat.completion.chunk","created":{gen.created},'
            f'"model":{json.dumps(gen.model)},"choices":[{{"index":0,"delta":{{'
        )
        parts = pieces(gen.text)
        total = len(parts)
        interval = self.settings.stream_interval_ms / 1000
        sent = 0
        last = -interval
        done = False
        try:
            while sent < total:
                due = min(max(sched.due(sent), last + interval), sched.finish)
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                ready = int((loop.time() - sched.first_due) / sched.token_time) + 1
                upto = min(total, max(sent + 1, ready))
                role = '"role":"assistant",' if sent == 0 else ""
                content = json.dumps("".join(parts[sent:upto]))
                yield f'{head}{role}"content":{content}}},"finish_reason":null}}]}}\n\n'.encode()
                sent = upto
                last = loop.time()
            delay = sched.finish - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            usage = json.dumps(gen.usage(), separators=(",", ":"))
            reason = gen.finish_reason
            yield f'{head}}},"finish_reason":"{reason}"}}],"usage":{usage}}}\n\n'.encode()
            yield b"data: [DONE]\n\n"
            done = True
            self._finished(gen)
        finally:
            if not done:
                self.metrics.outcome["cancelled"].inc()
