"""The per-request file's pure parts: the seeded sampler, the parts' format and their merge."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest

from agentload.results.requests_file import (
    FIELDS,
    PARTS_DIR,
    Sampler,
    merge_parts,
    part_batch,
    read_lines,
)


def row(start: float | None, entry: str = "GET /v1/status", **fields: Any) -> list[Any]:
    values: dict[str, Any] = dict.fromkeys(FIELDS)
    values.update(entry=entry, worker=0, intended_start=start, start=start, e2e_ms=12.34567,
                  status=200, outcome="success", part="call", scenario="status")  # fmt: skip
    values.update(fields)
    return [values[name] for name in FIELDS]


def write_part(folder: Path, name: str, rows: list[list[Any]], cap: int, seed: str = "s",
               batch: int = 3, seen: int | None = None) -> None:  # fmt: skip
    parts = folder / PARTS_DIR
    parts.mkdir(parents=True, exist_ok=True)
    sampler = Sampler(cap, seed)
    kept = []
    for r in rows:
        key = sampler.offer()
        if key is not None:
            kept.append([*r, key])
    with gzip.open(parts / f"{name}.jsonl.gz", "wt") as file:
        for i in range(0, len(kept), batch):
            file.write(part_batch(kept[i : i + batch]))
    meta = {"part": f"{name}.jsonl.gz", "cap": cap, "seed": 42,
            "seen": sampler.seen if seen is None else seen}  # fmt: skip
    (parts / f"{name}.json").write_text(json.dumps(meta))


def test_sampler_keeps_every_request_up_to_the_cap():
    """Up to the cap every request gets a key (all are written)."""
    sampler = Sampler(100, "seed")
    assert all(sampler.offer() is not None for _ in range(100))


def test_sampler_writes_about_cap_times_one_plus_log_and_keeps_the_smallest_keys():
    """Past the cap a process writes only keys that can still be among its cap smallest: about
    cap * (1 + ln(n / cap)) lines, and the cap smallest keys of all are among them."""
    cap, n = 200, 20_000
    sampler = Sampler(cap, "seed")
    offered = [sampler.offer() for _ in range(n)]
    written = [k for k in offered if k is not None]
    assert len(written) < 2 * cap * (1 + 4.61)  # ln(100) = 4.61
    all_keys = random.Random("seed")
    smallest = sorted(all_keys.random() for _ in range(n))[:cap]
    assert set(smallest) <= set(written)


def test_sampler_is_seeded_and_refuses_a_cap_below_one():
    """The same seed draws the same keys; a cap of 0 is a ValueError naming it."""
    a, b = Sampler(5, "x"), Sampler(5, "x")
    assert [a.offer() for _ in range(50)] == [b.offer() for _ in range(50)]
    with pytest.raises(ValueError, match="cap 0"):
        Sampler(0, "x")


def test_merge_sorts_by_actual_start_rounds_and_removes_the_parts(tmp_path: Path):
    """Two parts merge into one file sorted by start (a dropped arrival by its intended start),
    times rounded, keys dropped, sampled false, and requests_file says so."""
    write_part(tmp_path, "0-1", [row(10.0), row(12.0), row(14.1234567)], cap=10)
    dropped = row(None, outcome="dropped", intended_start=13.0, status=None)
    write_part(tmp_path, "1-2", [row(11.0), dropped, row(15.0)], cap=10)
    info = merge_parts(tmp_path)
    assert info == {"path": "requests.jsonl.gz", "lines": 6, "requests": 6, "sampled": False,
                    "cap": 10, "seed": 42}  # fmt: skip
    lines = list(read_lines(tmp_path / "requests.jsonl.gz"))
    assert [x["start"] or x["intended_start"] for x in lines] == [10, 11, 12, 13, 14.123457, 15]
    assert all(list(x) == [*FIELDS, "sampled"] and x["sampled"] is False for x in lines)
    assert lines[0]["e2e_ms"] == 12.346
    assert not (tmp_path / PARTS_DIR).exists()
    assert merge_parts(tmp_path) is None  # nothing left to merge


def test_merge_past_the_cap_keeps_exactly_cap_lines_flagged_sampled(tmp_path: Path):
    """Three processes of 1,000 requests each with a cap of 100: exactly 100 lines, all sampled,
    drawn from every process, and the 3,000 requests counted."""
    for worker in range(3):
        rows = [row(worker * 1000 + i, worker=worker) for i in range(1000)]
        write_part(tmp_path, f"{worker}-9", rows, cap=100, seed=f"s:{worker}")
    info = merge_parts(tmp_path)
    assert info is not None
    assert (info["lines"], info["requests"], info["sampled"]) == (100, 3000, True)
    lines = list(read_lines(tmp_path / "requests.jsonl.gz"))
    assert len(lines) == 100 and all(x["sampled"] is True for x in lines)
    assert {x["worker"] for x in lines} == {0, 1, 2}


def test_a_torn_part_keeps_its_complete_batches(tmp_path: Path):
    """A part whose writer was killed (no gzip end, a half line) keeps every complete batch."""
    write_part(tmp_path, "0-1", [row(float(i)) for i in range(9)], cap=100)
    part = tmp_path / PARTS_DIR / "0-1.jsonl.gz"
    data = part.read_bytes()
    part.write_bytes(data[: len(data) - 12])  # the trailer and some of the last batch
    info = merge_parts(tmp_path)
    assert info is not None and 0 < info["lines"] <= 9
    assert info["requests"] == 9  # the meta's count of requests seen


def test_compare_histograms_from_lines_count_only_requests_not_failed(tmp_path: Path):
    """The comparison's per-entry histograms from the lines hold the E2E of requests not failed;
    an entry with only failures has None."""
    from agentload.metrics import latency
    from agentload.report.requests_chart import histograms_from_lines

    rows = [row(1.0), row(2.0, failed=False), row(3.0, failed=True),
            row(4.0, entry="POST /x", failed=True)]  # fmt: skip
    write_part(tmp_path, "0-1", [[*r[:12], bool(r[12]), *r[13:]] for r in rows], cap=10)
    merge_parts(tmp_path)
    hists = histograms_from_lines(tmp_path / "requests.jsonl.gz")
    assert latency.count(hists["GET /v1/status"]) == 2 and hists["POST /x"] is None
