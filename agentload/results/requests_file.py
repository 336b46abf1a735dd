"""``requests.jsonl.gz``: one JSON line per request of a run, its cap and its seeded sample. Pure.

The Locust processes write *parts* (:mod:`agentload.locust.request_log`): each load-generating
process one gzip file under ``<run folder>/requests.parts/`` (a line per flush: a JSON array of
rows, each the schema's fields in order then a random ``key`` from a generator seeded with the
run's seed and the process), and a small JSON beside it
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

from agentload.errors import AgentloadError

FILE_NAME = "requests.jsonl.gz"
PARTS_DIR = "requests.parts"
DEFAULT_CAP = 200_000
FIELDS = (
    "scenario", "part", "entry", "worker", "intended_start", "start", "ttft_ms", "e2e_ms",
    "input_tokens", "output_tokens", "token_source", "status", "failed", "outcome", "reason",
    "in_window",
)  # fmt: skip


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
        if self.seen <= self.cap:  # a plain list until the cap, then a heap
            heap.append(-key)
            if self.seen == self.cap:
                heapq.heapify(heap)
            return key
        if key < -heap[0]:
            heapq.heapreplace(heap, -key)
            return key
        return None


def part_batch(rows: list[list[Any]]) -> str:
    """One part line: a batch of rows, each the schema's fields in order and its key last (one
    ``json.dumps`` call per batch keeps the load generator's cost low)."""
    return json.dumps(rows, separators=(",", ":")) + "\n"


def line_text(row: list[Any], sampled: bool) -> str:
    """The file's line for one part row (its key dropped, times rounded to the microsecond)."""
    line = dict(zip(FIELDS, row, strict=False))
    for name in ("intended_start", "start"):
        if line[name] is not None:
            line[name] = round(line[name], 6)
    for name in ("ttft_ms", "e2e_ms"):
        if line[name] is not None:
            line[name] = round(line[name], 3)
    line["sampled"] = sampled
    return json.dumps(line, separators=(",", ":")) + "\n"


def read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a gzip JSONL file; a torn end (a killed writer) ends the iteration."""
    return (line for line in _json_lines(path) if isinstance(line, dict))


def _json_lines(path: Path) -> Iterator[Any]:
    """The JSON value of each line of a gzip file (an unreadable line is skipped; a torn end or
    an unreadable file ends the iteration)."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as file:
            for text in file:
                try:
                    yield json.loads(text)
                except json.JSONDecodeError:
                    continue
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
    kept: list[tuple[float, float, str]] = []  # (-key, start, row) of the cap smallest keys
    requests = 0
    for part in sorted(parts_dir.glob("*.jsonl.gz")):
        rows = 0
        for row in _part_rows(part):
            rows += 1
            item = (-float(row[-1]), _sort_start(row), json.dumps(row[:-1]))
            if len(kept) < cap:
                heapq.heappush(kept, item)
            elif item[0] > kept[0][0]:
                heapq.heapreplace(kept, item)
        seen = next((int(m.get("seen") or 0) for m in metas if m.get("part") == part.name), 0)
        requests += max(rows, seen)
    sampled = requests > cap
    target = folder / FILE_NAME
    tmp = folder / f".{FILE_NAME}.tmp"
    try:
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=6) as out:
            for _key, _start, text in sorted(kept, key=lambda k: k[1]):
                out.write(line_text(json.loads(text), sampled))
        os.replace(tmp, target)
    except OSError as exc:  # a full disk: no half-written file, one line
        tmp.unlink(missing_ok=True)
        raise AgentloadError(f"cannot write {target}: {exc.strerror or exc}") from None
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


def _part_rows(path: Path) -> Iterator[list[Any]]:
    """The complete rows of a part (a torn last batch of a killed process is left out)."""
    for batch in _json_lines(path):
        for row in batch if isinstance(batch, list) else ():
            if isinstance(row, list) and len(row) == len(FIELDS) + 1:
                yield row


def _sort_start(row: list[Any]) -> float:
    start = row[5] if row[5] is not None else row[4]
    return float(start) if isinstance(start, int | float) else 0.0


def _meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}
