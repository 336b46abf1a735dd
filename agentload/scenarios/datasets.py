"""Datasets: JSON Lines files, one object per line, whose fields fill a scenario's templates.

``load_dataset(path) -> Dataset`` reads every non-blank line as a JSON object (a line that is not
one raises :class:`DatasetError` naming the line); ``Dataset.pick(rng)`` draws one row
deterministically from a seeded ``random.Random``; ``Dataset.fields`` are the fields every row
has (what a template may use). Pure: no Locust import.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class DatasetError(ValueError):
    """A dataset that is missing, empty or malformed; the message says which line and why."""


@dataclass(frozen=True)
class Dataset:
    """The rows of one dataset, in file order."""

    path: Path
    rows: tuple[dict[str, Any], ...]

    def pick(self, rng: random.Random) -> dict[str, Any]:
        """One row, drawn with ``rng`` (so a seeded generator gives a repeatable sequence)."""
        return self.rows[rng.randrange(len(self.rows))]

    @property
    def fields(self) -> frozenset[str]:
        """The fields that every row has."""
        common = set(self.rows[0])
        for row in self.rows[1:]:
            common &= set(row)
        return frozenset(common)

    def describe(self) -> dict[str, Any]:
        """What the rows are, for a run's metadata: the file and its row count."""
        return {"kind": "jsonl", "path": str(self.path), "rows": len(self.rows)}

    def __len__(self) -> int:
        return len(self.rows)


def load_dataset(path: Path) -> Dataset:
    """Read a JSON Lines dataset: each non-blank line a JSON object."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DatasetError(f"dataset {path} not found, expected a JSON Lines file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"dataset {path} is not readable: {exc}") from None
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise DatasetError(f"{path.name} line {number}: not JSON, expected an object") from None
        if not isinstance(record, dict) or not record:
            raise DatasetError(f"{path.name} line {number}: expected a non-empty JSON object")
        rows.append(record)
    if not rows:
        raise DatasetError(f"dataset {path} is empty, expected at least one JSON object line")
    return Dataset(path=path, rows=tuple(rows))
