"""The recording and alerting rules of deploy/prometheus/rules, copied into a run's folder.

A run's Prometheus loads a copy so that alerts evaluate during the run; the copy may shorten the
rules' `for:` durations (a short smoke run would otherwise end before any alert could fire).
"""

from __future__ import annotations

import re
from pathlib import Path

_FOR = re.compile(r"^(?P<indent>\s*)for:\s*\S+\s*$", re.MULTILINE)
_DURATION = re.compile(r"^\d+(ms|s|m|h)$")


def default_rules_dir() -> Path | None:
    """`deploy/prometheus/rules` of the source checkout agentload runs from, if there is one."""
    folder = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules"
    return folder if folder.is_dir() else None


def render_rules(text: str, for_duration: str | None = None) -> str:
    """The rule file `text`, with every `for:` set to `for_duration` when given (e.g. "2s")."""
    if for_duration is None:
        return text
    if not _DURATION.match(for_duration):
        raise ValueError(f'for duration "{for_duration}" must look like "2s", "500ms" or "1m"')
    return _FOR.sub(lambda m: f"{m.group('indent')}for: {for_duration}", text)


def copy_rules(src_dir: Path, dst_dir: Path, for_duration: str | None = None) -> list[Path]:
    """Copy `src_dir/*.yml` to `dst_dir` (rendered by `render_rules`); the copied paths."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for src in sorted(src_dir.glob("*.yml")):
        dst = dst_dir / src.name
        dst.write_text(render_rules(src.read_text(), for_duration))
        copied.append(dst)
    return copied
