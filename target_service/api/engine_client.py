"""The agent API's client for any OpenAI-compatible engine (`EngineCaller`).

One pooled `httpx.AsyncClient`; every call streams the completion (to measure time to first
token) within a deadline of `engine_timeout_s`, retries 429/5xx/connection errors with jittered
exponential backoff (tenacity) until a token has been passed on, goes through the circuit
breaker, and answers identical prompts from a TTL+LRU cache (cachetools).

    complete(messages, max_tokens, use_cache=True, on_token=None) -> Completion
    ready() -> bool                       the engine answers GET /v1/models
    state() -> dict | None                GET /v1/engine/state, refreshed in the background
    set_outage(outage, admin_key)         POST the engine's /admin/faults
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from cachetools import TTLCache
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from target_service.api.breaker import CircuitBreaker, Outcome
from target_service.api.engine_protocol import (
    Completion,
    EngineError,
    EngineSaturated,
    EngineTimeout,
    EngineUnavailable,
)
from target_service.api.metrics import AgentMetrics
from target_service.api.openai_stream import parse_chunk
from target_service.api.settings import AgentSettings

TokenCallback = Callable[[str], Awaitable[None]]
CacheKey = tuple[str, tuple[tuple[str, str], ...], int]
STATE_KEYS = ("slots_busy", "slots_total", "queue_depth", "queue_max")


class _Transient(Exception):
    """An attempt failed in a way worth retrying; `error` is what the caller sees at the end."""

    def __init__(self, error: EngineError) -> None:
        super().__init__(error.reason)
        self.error = error


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


class EngineClient:
    """Calls the engine with deadline, retries, breaker and cache; see the module docstring."""

    def __init__(
        self,
        settings: AgentSettings,
        metrics: AgentMetrics,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._http = http or httpx.AsyncClient(
            base_url=settings.engine_url,
            timeout=httpx.Timeout(
                settings.engine_timeout_s, connect=settings.engine_connect_timeout_s
            ),
            limits=httpx.Limits(
                max_connections=settings.engine_max_connections,
                max_keepalive_connections=settings.engine_max_keepalive,
            ),
        )
        self.breaker = CircuitBreaker(settings.breaker_threshold, settings.breaker_reset_s)
        # Read when scraped, so an open breaker past its reset time shows as half-open (2).
        metrics.breaker_state.set_function(lambda: int(self.breaker.state))
        self._cache: TTLCache[CacheKey, Completion] | None = None
        if settings.cache_size > 0 and settings.cache_ttl_s > 0:
            self._cache = TTLCache(maxsize=settings.cache_size, ttl=settings.cache_ttl_s)
        self._cache_hit = metrics.cache_requests.labels(result="hit")
        self._cache_miss = metrics.cache_requests.labels(result="miss")
        self._state: dict[str, int] | None = None
        self._state_at = float("-inf")
        self._state_task: asyncio.Task[None] | None = None

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._state_task is not None:
            self._state_task.cancel()
        await self._http.aclose()

    async def complete(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        *,
        use_cache: bool = True,
        on_token: TokenCallback | None = None,
    ) -> Completion:
        """One chat completion; raises `EngineSaturated`, `EngineUnavailable` or `EngineTimeout`."""
        key: CacheKey | None = None
        if use_cache and self._cache is not None:
            key = (
                self._settings.engine_model,
                tuple((m.get("role", ""), m.get("content", "")) for m in messages),
                max_tokens,
            )
            cached = self._cache.get(key)
            if cached is not None:
                self._cache_hit.inc()
                if on_token is not None:
                    await on_token(cached.text)
                return cached
            self._cache_miss.inc()
        probe = self.breaker.acquire()
        outcome: Outcome = "neutral"
        started = time.perf_counter()
        label = "error"
        try:
            completion = await self._call(messages, max_tokens, on_token, started)
            outcome, label = "success", "ok"
        except EngineSaturated:
            label = "saturated"
            raise
        except EngineTimeout:
            outcome, label = "failure", "timeout"
            raise
        except EngineUnavailable:
            outcome, label = "failure", "unavailable"
            raise
        except asyncio.CancelledError:
            label = "cancelled"
            raise
        finally:
            self.breaker.release(outcome, probe)
            self._metrics.engine_duration.labels(outcome=label).observe(
                time.perf_counter() - started
            )
        self._metrics.engine_ttft.observe(completion.ttft_s)
        self._metrics.engine_tokens.labels(kind="prompt").inc(completion.prompt_tokens)
        self._metrics.engine_tokens.labels(kind="completion").inc(completion.completion_tokens)
        if key is not None and self._cache is not None:
            self._cache[key] = dataclasses.replace(completion, cached=True)
        return completion

    async def _call(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        on_token: TokenCallback | None,
        started: float,
    ) -> Completion:
        settings = self._settings
        payload: dict[str, Any] = {
            "model": settings.engine_model,
            "messages": messages,
            "max_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        emitted: list[bool] = [False]
        retrying = AsyncRetrying(
            stop=stop_after_attempt(settings.engine_retry_attempts),
            wait=wait_exponential_jitter(
                initial=settings.engine_retry_initial_s,
                max=settings.engine_retry_max_s,
                jitter=settings.engine_retry_initial_s,
            ),
            retry=retry_if_exception_type(_Transient),
            reraise=True,
        )
        try:
            async with asyncio.timeout(settings.engine_timeout_s):
                async for attempt in retrying:
                    with attempt:
                        return await self._attempt(payload, on_token, started, emitted)
        except _Transient as exc:
            raise exc.error from None
        except TimeoutError:
            raise EngineTimeout(
                f"engine gave no complete answer within {settings.engine_timeout_s:g}s"
            ) from None
        raise EngineUnavailable("engine call made no attempt")  # unreachable: stop >= 1 attempt

    async def _attempt(
        self,
        payload: dict[str, Any],
        on_token: TokenCallback | None,
        started: float,
        emitted: list[bool],
    ) -> Completion:
        parts: list[str] = []
        ttft: float | None = None
        usage: dict[str, int] = {}
        finish_reason = "stop"
        try:
            async with self._http.stream("POST", "/v1/chat/completions", json=payload) as resp:
                if resp.status_code == 429:
                    await resp.aread()
                    raise _Transient(
                        EngineSaturated("engine queue full", retry_after_s=_retry_after(resp))
                    )
                if resp.status_code >= 500:
                    await resp.aread()
                    raise _Transient(EngineUnavailable(f"engine answered {resp.status_code}"))
                if resp.status_code != 200:
                    await resp.aread()
                    raise EngineUnavailable(f"engine rejected the request ({resp.status_code})")
                async for line in resp.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        continue  # read the body to its end, so the connection is kept alive
                    deltas, chunk_usage, finish = parse_chunk(data)
                    usage = chunk_usage or usage
                    finish_reason = finish or finish_reason
                    for delta in deltas:
                        if ttft is None:
                            ttft = time.perf_counter() - started
                        parts.append(delta)
                        emitted[0] = True
                        if on_token is not None:
                            await on_token(delta)
        except httpx.ConnectTimeout:
            raise _Transient(EngineUnavailable("engine unreachable (ConnectTimeout)")) from None
        except httpx.TimeoutException as exc:
            raise EngineTimeout(f"engine timed out ({type(exc).__name__})") from None
        except (httpx.TransportError, ValueError) as exc:
            what = "sent a malformed stream" if isinstance(exc, ValueError) else "unreachable"
            error = EngineUnavailable(f"engine {what} ({type(exc).__name__})")
            if emitted[0]:
                raise error from None
            raise _Transient(error) from None
        text = "".join(parts)
        prompt_words = sum(len(m["content"].split()) for m in payload["messages"])
        return Completion(
            text=text,
            prompt_tokens=int(usage.get("prompt_tokens", prompt_words)),
            completion_tokens=int(usage.get("completion_tokens", len(parts))),
            finish_reason=finish_reason,
            ttft_s=ttft if ttft is not None else time.perf_counter() - started,
            duration_s=time.perf_counter() - started,
        )

    async def ready(self) -> bool:
        """True when the engine answers `GET /v1/models` with 200."""
        try:
            response = await self._http.get("/v1/models", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def state(self) -> dict[str, int] | None:
        """The engine's slots and queue (None if it does not say), at most `status_cache_s` old.

        A stale value is returned while a background refresh runs, so callers never wait on
        the engine except for the very first read.
        """
        if time.monotonic() - self._state_at < self._settings.status_cache_s:
            return self._state
        if self._state_task is None or self._state_task.done():
            self._state_task = asyncio.create_task(self._refresh_state())
        if self._state_at == float("-inf"):
            await asyncio.shield(self._state_task)
        return self._state

    async def _refresh_state(self) -> None:
        value: dict[str, int] | None = None
        try:
            response = await self._http.get("/v1/engine/state", timeout=1.0)
            if response.status_code == 200:
                body = response.json()
                value = {k: int(body[k]) for k in STATE_KEYS if isinstance(body.get(k), int)}
        except (httpx.HTTPError, ValueError):
            value = None
        self._state, self._state_at = value, time.monotonic()

    async def set_outage(self, outage: bool, admin_key: str) -> None:
        """Switch the engine's simulated outage through its `/admin/faults`."""
        try:
            response = await self._http.post(
                "/admin/faults",
                json={"outage": outage},
                headers={"Authorization": f"Bearer {admin_key}"},
                timeout=5.0,
            )
        except httpx.HTTPError as exc:
            raise EngineUnavailable(f"engine unreachable ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise EngineUnavailable(f"engine refused the fault change ({response.status_code})")
