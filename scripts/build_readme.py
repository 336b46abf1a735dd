"""Assemble README.md from docs/readme/head.md, the parts' docs and docs/readme/tail.md.

Each part keeps its documentation next to the others in docs/; the README is their sum, with
headings shifted so every part starts at level 2. Run `make readme` after editing any of them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ["runner", "gates", "report", "scenarios", "engine", "agent-api", "research",
         "observability", "faults"]  # fmt: skip
HEADING = re.compile(r"^(#{1,6}) ")


def shifted(text: str) -> str:
    """The text with its headings moved so the highest is `##`, and image paths from the root."""
    lines, in_code, levels = text.splitlines(), False, []
    for line in lines:
        in_code ^= line.startswith("```")
        if not in_code and (match := HEADING.match(line)):
            levels.append(len(match[1]))
    shift = 2 - min(levels, default=2)
    out, in_code = [], False
    for line in lines:
        in_code ^= line.startswith("```")
        if not in_code and (match := HEADING.match(line)):
            line = "#" * (len(match[1]) + shift) + line[len(match[1]) :]
        out.append(line.replace("](img/", "](docs/img/"))
    return "\n".join(out).rstrip() + "\n"


def build() -> str:
    docs = ROOT / "docs"
    parts = [(docs / "readme/head.md").read_text().rstrip() + "\n"]
    parts += [shifted((docs / f"{name}.md").read_text()) for name in PARTS]
    parts.append((docs / "readme/tail.md").read_text().rstrip() + "\n")
    return "\n".join(parts)


def main() -> int:
    readme = ROOT / "README.md"
    text = build()
    if "--check" in sys.argv[1:]:
        if readme.read_text() != text:
            print("README.md is out of date: run `make readme`", file=sys.stderr)
            return 1
        return 0
    readme.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
