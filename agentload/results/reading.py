"""Reading a run folder's JSON files as the run, its phases and the tests do: final.json and the
other single objects (``read_json``), and the line files, timeline.jsonl (``read_timeline``) and
stress_steps.jsonl (``read_jsonl``), tolerant of an interrupted run's half-written last line;
``TimelineTail`` reads timeline.jsonl as it grows (the live watches of a phase)."""

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


class TimelineTail:
    """timeline.jsonl read as it grows: ``new_lines()`` parses only the complete lines written
    since the last call (a line being written waits); ``restarted`` is set when the file was
    rewritten (a new Locust run) and reading began again from its start."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.restarted = False

    def new_lines(self) -> list[dict[str, Any]]:
        self.restarted = False
        try:
            with self.path.open("rb") as file:
                if file.seek(0, 2) < self.offset:
                    self.offset, self.restarted = 0, True
                file.seek(self.offset)
                chunk = file.read()
        except OSError:
            return []
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        lines = []
        for raw in complete.splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict) and isinstance(line.get("t"), int | float):
                lines.append(line)
        return lines
