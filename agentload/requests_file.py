"""``requests.jsonl.gz``: one JSON line per request of a run, its cap and its seeded sample. Pure.

The Locust processes write *parts* (:mod:`agentload.locust.request_log`): each load-generating
process one gzip JSONL file under ``<run folder>/requests.parts/``, its lines carrying a random
``key`` from a generator seeded with the run's seed and the process, and a small JSON beside it
(``{"worker", "cap", "seed", "seen"}``, rewritten as it goes). At the end of the run
:func:`merge_parts` turns them into ``requests.jsonl.gz`` sorted by actual start (a dropped
arrival, never sent, by its intended start) and removes the parts.

The cap (``DEFAULT_CAP`` lines per Locust run unless ``--requests-cap`` says otherwise): when a
run makes more requests than ``cap``, the file keeps the ``cap`` requests with the smallest keys,
a uniform random sample without replacement (bottom-k sampling), and every line says
``"sampled": true``. A process skips a line that cannot be among its own ``cap`` smallest keys
(:class:`Sampler`), so the global ``cap`` smallest are always among the parts: a part holds at
most about ``cap * (1 + ln(requests / cap))`` lines, the merged file exactly ``min(requests, cap)``.

Exceptions: none of its own; an unreadable part counts as far as it can be read (a killed process
leaves a gzip stream without its end: its lines up to the last flush are kept).
"""

from __future__ import annotations

import gzip
import heapq
import json
import os
import random
import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FILE_NAME = "requests.jsonl.gz"
PARTS_DIR = "requests.parts"
DEFAULT_CAP = 200_000
FIELDS = (
    "scenario", "part", "entry", "worker", "intended_start", "start", "ttft_ms", "e2e_ms",
    "input_tokens", "output_tokens", "token_source", "status", "outcome", "reason",
)  # fmt: skip
_KEY_TAIL = ',"key":'


class Sampler:
    """Seeded keys for one process' requests; ``offer()`` is None for a request that cannot be
    among the ``cap`` smallest keys this process has drawn (so never among the run's)."""

    def __init__(self, cap: int, seed: str) -> None:
        if cap < 1:
            raise ValueError(f"cap {cap!r}: expected a whole number of lines >= 1")
        self.cap = cap
        self.seen = 0
        self._rng = random.Random(seed)
        self._heap: list[float] = []  # the negated keys kept, largest kept key on top

    def offer(self) -> float | None:
        self.seen += 1
        key = self._rng.random()
        heap = self._heap
        if len(heap) < self.cap:
            heapq.heappush(heap, -key)
            return key
        if key < -heap[0]:
            heapq.heapreplace(heap, -key)
            return key
        return None


def part_line(values: tuple[Any, ...], key: float) -> str:
    """One part line: the schema's fields in order, then the sampling key last."""
    text = json.dumps(dict(zip(FIELDS, values, strict=True)), separators=(",", ":"))
    return f"{text[:-1]}{_KEY_TAIL}{key!r}}}\n"


def read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a gzip JSONL file; a torn end (a killed writer) ends the iteration."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as file:
            for text in file:
                try:
                    line = json.loads(text)
                except json.JSONDecodeError:
                    continue
                if isinstance(line, dict):
                    yield line
    except (OSError, EOFError, zlib.error):
        return


def merge_parts(folder: Path) -> dict[str, Any] | None:
    """Merge ``folder/requests.parts`` into ``folder/requests.jsonl.gz`` (see the module
    docstring); summary.json's ``requests_file``, or None when the folder has no parts."""
    parts_dir = folder / PARTS_DIR
    if not parts_dir.is_dir():
        return None
    metas = [_meta(p) for p in sorted(parts_dir.glob("*.json"))]
    cap = max((int(m.get("cap") or 0) for m in metas), default=0) or DEFAULT_CAP
    kept: list[tuple[float, float, str]] = []  # (-key, start, line) of the cap smallest keys
    requests = 0
    for part in sorted(parts_dir.glob("*.jsonl.gz")):
        lines = 0
        for text in _part_texts(part):
            kept_line = _parsed(text)
            if kept_line is None:
                continue
            lines += 1
            if len(kept) < cap:
                heapq.heappush(kept, kept_line)
            elif kept_line[0] > kept[0][0]:
                heapq.heapreplace(kept, kept_line)
        seen = next((int(m.get("seen") or 0) for m in metas if m.get("part") == part.name), 0)
        requests += max(lines, seen)
    sampled = requests > cap
    tail = ',"sampled":true}\n' if sampled else ',"sampled":false}\n'
    target = folder / FILE_NAME
    tmp = folder / f".{FILE_NAME}.tmp"
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=6) as out:
        for _key, _start, text in sorted(kept, key=lambda k: k[1]):
            out.write(text[: text.rindex(_KEY_TAIL)] + tail)
    os.replace(tmp, target)
    shutil.rmtree(parts_dir, ignore_errors=True)
    seed = next((m.get("seed") for m in metas if m.get("seed") is not None), None)
    return {
        "path": FILE_NAME,
        "lines": len(kept),
        "requests": requests,
        "sampled": sampled,
        "cap": cap,
        "seed": seed,
    }


def _part_texts(path: Path) -> Iterator[str]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as file:
            yield from file
    except (OSError, EOFError, zlib.error):
        return


def _parsed(text: str) -> tuple[float, float, str] | None:
    """``(-key, sort start, text)`` of a complete part line, None for a torn one."""
    if not text.endswith("}\n") or _KEY_TAIL not in text:
        return None
    try:
        line = json.loads(text)
        start = line["start"] if line["start"] is not None else line["intended_start"]
        return -float(line["key"]), float(start), text
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}
