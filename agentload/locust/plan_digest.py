"""The plan check's common ground: the digest of a resolved plan that a master and its remote
workers must share, the one line that says how two differ, and the JSON state files both sides
write (see :mod:`agentload.locust.remote`)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from agentload.stock.lookup import find


def file_digest(path: Path | None) -> str | None:
    if path is None:
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plan_digest(
    description: Path, scenario_config: Path | None, model: str, phase: str
) -> dict[str, Any]:
    """The parts of a resolved plan that must agree between a master and its workers, and their
    one digest: ``{"digest", "parts": {"description", "scenario_config", "model", "phase"}}``."""
    parts = {
        "description": file_digest(description),
        "scenario_config": file_digest(scenario_config),
        "model": model,
        "phase": phase,
    }
    blob = json.dumps(parts, sort_keys=True).encode()
    return {"digest": hashlib.sha256(blob).hexdigest(), "parts": parts}


_PART_NAMES = {
    "description": "API description",
    "scenario_config": "scenario config",
    "model": "model",
    "phase": "phase",
}


def refusal(mine: dict[str, Any], master: dict[str, Any], names: dict[str, str]) -> str | None:
    """None when the digests agree; else one line naming what differs and both digests."""
    if mine["digest"] == master["digest"]:
        return None
    differ = [k for k in _PART_NAMES if mine["parts"].get(k) != master["parts"].get(k)]
    what = ", ".join(f"{_PART_NAMES[k]} ({names.get(k, '?')})" for k in differ) or "plan"
    return (
        f"plan digest {mine['digest'][:12]} differs from the master's {master['digest'][:12]}: "
        f"{what} not the same as the master's"
    )


def scenario_config_file(option: str) -> Path | None:
    return find("scenarios", option).resolve() if option else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """`data` as JSON at `path`, replaced whole (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)
