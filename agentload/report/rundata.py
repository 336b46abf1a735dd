"""Read a run folder into plain data: ``load_run(run_dir) -> RunData``.

Only ``summary.json`` is required; every other file (``timeline.jsonl``, ``final.json``,
``resources.jsonl``, ``stress_steps.jsonl``, ``prometheus_series.json``, ``flamegraph.svg``,
``comparison.json``) is optional and read when present. A missing or unreadable ``summary.json``
raises ``ConfigError`` naming the file; a torn last line of a JSONL file (an interrupted run) is
skipped, and timeline lines written a moment after the previous one are folded into it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentload.errors import ConfigError
from agentload.report.series import coalesce

JsonObj = dict[str, Any]


@dataclass
class RunData:
    """Everything the report and the comparison read from one run folder."""

    run_dir: Path
    summary: JsonObj
    timeline: list[JsonObj] = field(default_factory=list)
    final: JsonObj = field(default_factory=dict)
    resources: list[JsonObj] = field(default_factory=list)
    stress_steps: list[JsonObj] = field(default_factory=list)
    prometheus: JsonObj = field(default_factory=dict)
    flamegraph_svg: str = ""
    comparison: JsonObj = field(default_factory=dict)

    @property
    def phase(self) -> str:
        return str(self.summary.get("phase", "?"))


def read_json(path: Path) -> JsonObj:
    """The JSON object in ``path``; ConfigError when it is missing or not a JSON object."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found, expected a run folder's JSON file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: unreadable ({err}), expected a JSON object") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: got {type(data).__name__}, expected a JSON object")
    return data


def read_jsonl(path: Path) -> list[JsonObj]:
    """The JSON objects of a JSONL file, one a line; [] when it is missing; bad lines skipped."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    rows: list[JsonObj] = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _optional_json(path: Path) -> JsonObj:
    return read_json(path) if path.is_file() else {}


def load_run(run_dir: Path) -> RunData:
    """Read ``run_dir``; ConfigError (one line) when it is not a run folder."""
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: not a directory, expected a run folder with summary.json")
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        raise ConfigError(f"{run_dir}: no summary.json, expected a run folder written by agentload")
    summary = read_json(summary_path)
    svg_path = run_dir / "flamegraph.svg"
    profile = summary.get("profile")
    if isinstance(profile, dict) and profile.get("flamegraph"):
        named = run_dir / Path(str(profile["flamegraph"])).name
        svg_path = named if named.is_file() else svg_path
    return RunData(
        run_dir=run_dir,
        summary=summary,
        timeline=coalesce(read_jsonl(run_dir / "timeline.jsonl")),
        final=_optional_json(run_dir / "final.json"),
        resources=read_jsonl(run_dir / "resources.jsonl"),
        stress_steps=_stress_steps(summary, run_dir / "stress_steps.jsonl"),
        prometheus=_optional_json(run_dir / "prometheus_series.json"),
        flamegraph_svg=svg_path.read_text(errors="replace") if svg_path.is_file() else "",
        comparison=_optional_json(run_dir / "comparison.json"),
    )


def _stress_steps(summary: JsonObj, path: Path) -> list[JsonObj]:
    stress = summary.get("stress")
    if isinstance(stress, dict) and isinstance(stress.get("steps"), list) and stress["steps"]:
        return [s for s in stress["steps"] if isinstance(s, dict)]
    return read_jsonl(path)
