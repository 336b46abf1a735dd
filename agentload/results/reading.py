"""Reading a run folder's JSON files as the run, its phases and the tests do: final.json and the
other single objects (``read_json``), and the line files, timeline.jsonl (``read_timeline``) and
stress_steps.jsonl (``read_jsonl``), tolerant of an interrupted run's half-written last line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json(path: str | Path) -> dict[str, Any] | None:
    """The JSON object in a file, or None when it is missing, unreadable or not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The JSON objects of a .jsonl file; lines that are not complete objects (an interrupted
    run's last line) are skipped. A missing file reads as empty."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    lines = []
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict):
            lines.append(line)
    return lines


def read_timeline(path: str | Path) -> list[dict[str, Any]]:
    """timeline.jsonl's lines (those with a numeric ``t``), see ``read_jsonl``."""
    return [ln for ln in read_jsonl(path) if isinstance(ln.get("t"), int | float)]
