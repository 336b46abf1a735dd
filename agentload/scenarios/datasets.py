"""Datasets of prompts and questions: JSON Lines files, one object per line with a text field.

``load_dataset(path, key)`` returns a :class:`Dataset` of the ``key`` field of every line
(``prompt`` for code generation, ``question`` for research); ``Dataset.pick(rng)`` draws one
deterministically from a seeded ``random.Random``. Pure: no Locust import.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path


class DatasetError(ValueError):
    """A dataset that is missing, empty or malformed; the message says which line and why."""


@dataclass(frozen=True)
class Dataset:
    """The texts of one dataset, in file order."""

    path: Path
    items: tuple[str, ...]

    def pick(self, rng: random.Random) -> str:
        """One item, drawn with ``rng`` (so a seeded generator gives a repeatable sequence)."""
        return self.items[rng.randrange(len(self.items))]

    def __len__(self) -> int:
        return len(self.items)


def load_dataset(path: Path, key: str) -> Dataset:
    """Read a JSON Lines dataset: each non-blank line an object with a non-empty ``key``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DatasetError(f"dataset {path} not found, expected a JSON Lines file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"dataset {path} is not readable: {exc}") from None
    items: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise DatasetError(
                f"{path.name} line {number}: not JSON, expected an object with {key!r}"
            ) from None
        text = record.get(key) if isinstance(record, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise DatasetError(
                f"{path.name} line {number}: expected an object with a non-empty {key!r} string"
            )
        items.append(text)
    if not items:
        raise DatasetError(f"dataset {path} is empty, expected at least one {key!r} line")
    return Dataset(path=path, items=tuple(items))
