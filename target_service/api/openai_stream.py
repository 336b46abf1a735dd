"""Reading OpenAI-compatible streamed chat completions (`data: {chunk}` lines of SSE)."""

from __future__ import annotations

import json


def parse_chunk(data: str) -> tuple[list[str], dict[str, int] | None, str | None]:
    """Text deltas, usage and finish reason of one streamed chunk; ValueError if malformed."""
    chunk = json.loads(data)
    if not isinstance(chunk, dict):
        raise ValueError("chunk is not an object")
    usage = chunk.get("usage")
    if usage is not None and not isinstance(usage, dict):
        raise ValueError("usage is not an object")
    deltas: list[str] = []
    finish: str | None = None
    for choice in chunk.get("choices") or ():
        if not isinstance(choice, dict):
            raise ValueError("choice is not an object")
        delta = choice.get("delta") or {}
        content = delta.get("content") if isinstance(delta, dict) else None
        if isinstance(content, str) and content:
            deltas.append(content)
        finish = choice.get("finish_reason") or finish
    counts = {k: v for k, v in (usage or {}).items() if isinstance(v, int)}
    return deltas, counts or None, finish
