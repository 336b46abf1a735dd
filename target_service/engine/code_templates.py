"""Code templates per language; markers `@f@` (function), `@C@` (class), `@N@` (constant),
`@w@`/`@v@`/`@u@` (topic words) and `@k@` (a number) are filled in by `codegen`.

Every template is a complete, valid top-level unit; a filler makes a valid line of exactly `k`
tokens (k >= 1), so any token budget can be met without breaking the syntax.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

Filler = Callable[[int, str, random.Random], str]


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    """What `codegen` needs to write one language."""

    name: str
    comment: str
    header: tuple[str, ...]
    units: tuple[str, ...]
    filler: Filler


def _python_filler(k: int, name: str, rng: random.Random) -> str:
    if k == 1:
        return "pass"
    if k == 2:
        return "import " + rng.choice(("math", "os", "re", "json", "itertools", "functools"))
    items = ", ".join(str(rng.randint(1, 999)) for _ in range(k - 2))
    return f"{name.upper()} = [{items}]"


def _js_filler(k: int, name: str, rng: random.Random) -> str:
    if k == 1:
        return "null;"
    return "var " + ", ".join(f"{name}_{i}" for i in range(1, k)) + ";"


def _bash_filler(k: int, name: str, rng: random.Random) -> str:
    items = " ".join(str(rng.randint(1, 999)) for _ in range(k))
    return f"{name.upper()}=({items})"


PYTHON = LanguageSpec(
    name="python",
    comment="#",
    header=('"""@W@ helpers for @w@ and @v@."""', ""),
    filler=_python_filler,
    units=(
        '''def @f@(values: list[float]) -> float:
    """Return the total of the @w@ values."""
    total = 0.0
    for value in values:
        total += value
    return total''',
        '''def @f@(items: list[str], needle: str = "@w@") -> list[str]:
    """Keep the items that mention @w@."""
    return [item for item in items if needle in item.lower()]''',
        '''def @f@(text: str) -> dict[str, int]:
    """Count how often each word of the @w@ text appears."""
    counts: dict[str, int] = {}
    for word in text.split():
        counts[word] = counts.get(word, 0) + 1
    return counts''',
        '''class @C@:
    """Keep a running @w@ tally."""

    def __init__(self, start: int = 0) -> None:
        self.count = start

    def add(self, step: int = @k@) -> int:
        self.count += step
        return self.count''',
        '''def @f@(items: list[int], target: int) -> int:
    """Find the @w@ target in sorted items; return -1 when absent."""
    low, high = 0, len(items) - 1
    while low <= high:
        mid = (low + high) // 2
        if items[mid] == target:
            return mid
        if items[mid] < target:
            low = mid + 1
        else:
            high = mid - 1
    return -1''',
        '''def @f@(n: int) -> int:
    """Return the @w@ factorial of n."""
    return 1 if n <= 1 else n * @f@(n - 1)''',
        '''def @f@(raw: str, default: int = @k@) -> int:
    """Parse a @w@ number, falling back to a default."""
    try:
        return int(raw.strip())
    except ValueError:
        return default''',
        """def @f@(x: float, low: float = 0.0, high: float = @k@.0) -> float:
    return max(low, min(x, high))""",
        '''def @f@(rows: list[dict[str, str]], key: str = "@w@") -> dict[str, list[str]]:
    """Group the @v@ rows by the value of one key."""
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(row.get(key, ""), []).append(row.get("@u@", ""))
    return groups''',
        "@N@ = @k@",
    ),
)

JAVASCRIPT = LanguageSpec(
    name="javascript",
    comment="//",
    header=('"use strict";', ""),
    filler=_js_filler,
    units=(
        """function @f@(values) {
  let total = 0;
  for (const value of values) {
    total += value;
  }
  return total;
}""",
        """const @f@ = (items, needle = "@w@") =>
  items.filter((item) => item.toLowerCase().includes(needle));""",
        """class @C@ {
  constructor(start = 0) {
    this.count = start;
  }

  add(step = @k@) {
    this.count += step;
    return this.count;
  }
}""",
        """async function @f@(url) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`@w@ request failed: ${response.status}`);
  }
  return response.json();
}""",
        """function @f@(text) {
  const counts = new Map();
  for (const word of text.split(/\\s+/)) {
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}""",
        """function @f@(items, target) {
  let low = 0;
  let high = items.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (items[mid] === target) return mid;
    if (items[mid] < target) low = mid + 1;
    else high = mid - 1;
  }
  return -1;
}""",
        """const @f@ = (x, low = 0, high = @k@) => Math.min(Math.max(x, low), high);""",
        """const @N@ = Object.freeze({ name: "@w@", limit: @k@, tags: ["@v@", "@u@"] });""",
    ),
)

BASH = LanguageSpec(
    name="bash",
    comment="#",
    header=("#!/usr/bin/env bash", "set -euo pipefail", ""),
    filler=_bash_filler,
    units=(
        """@f@() {
  local dir="${1:-.}"
  find "$dir" -type f -name '*@w@*' | wc -l
}""",
        """for item in @w@ @v@ @u@; do
  printf 'processing %s\\n' "$item"
done""",
        """if [[ -d "${TMPDIR:-/tmp}" ]]; then
  echo "@w@: temp dir ready"
else
  echo "@w@: no temp dir" >&2
  exit 1
fi""",
        """@f@() {
  local count=0
  while read -r line; do
    [[ -n "$line" ]] && count=$((count + 1))
  done
  echo "$count"
}""",
        """case "${1:-@w@}" in
  start) echo "starting @w@" ;;
  stop) echo "stopping @v@" ;;
  *) echo "usage: $0 start|stop" >&2 ;;
esac""",
        """@f@() {
  local -a parts=("$@")
  echo "${#parts[@]} @w@ parts"
}""",
        """@N@="${@N@:-@k@}\"""",
    ),
)

LANGUAGES: dict[str, LanguageSpec] = {
    "python": PYTHON,
    "python3": PYTHON,
    "py": PYTHON,
    "javascript": JAVASCRIPT,
    "js": JAVASCRIPT,
    "node": JAVASCRIPT,
    "typescript": JAVASCRIPT,
    "ts": JAVASCRIPT,
    "bash": BASH,
    "sh": BASH,
    "shell": BASH,
}
