"""Answers of an exact token count: code of the asked language, or prose from the prompt's words."""

from __future__ import annotations

import random
import re

from target_service.engine.code_templates import LANGUAGES, LanguageSpec
from target_service.engine.tokens import count_tokens

_ASK_CODE = re.compile(r"\bwrite\s+([a-z][a-z0-9+#]*)\s+code\b", re.IGNORECASE)
_ASK_PLAN = re.compile(r"\bplan\b", re.IGNORECASE)
_VOCAB = (
    "the of and to in for with on by from which that is are can should we it this each more "
    "then also because when how results evidence sources analysis step question approach method "
    "data shows suggests compare review summarize examine identify measure explain context "
    "findings details overall key important relevant support"
).split()
_SMALL_UNIT = 8  # units shorter than this are used only when no longer one fits
_OPENERS = ("The", "This", "Each", "Our", "A", "First,", "Next,", "Then", "Finally,", "Overall,")


def requested_language(system: str) -> str | None:
    """The language named by `Write <language> code` in the system text, if it is one we write."""
    match = _ASK_CODE.search(system)
    if match is None:
        return None
    spec = LANGUAGES.get(match.group(1).lower())
    return spec.name if spec else None


def wants_plan(system: str) -> bool:
    """Whether the system text asks for a plan (then prose comes as numbered steps)."""
    return _ASK_PLAN.search(system) is not None


class _Namer:
    """Fresh identifiers and topic words for one answer."""

    def __init__(self, words: list[str], rng: random.Random) -> None:
        self.words = words
        self.rng = rng
        self.serial = 0

    def word(self) -> str:
        return self.rng.choice(self.words)

    def ident(self) -> str:
        self.serial += 1
        return f"{self.word()}_{self.serial}"

    def render(self, template: str) -> str:
        out = template
        if "@f@" in out:
            out = out.replace("@f@", self.ident())
        if "@C@" in out:
            self.serial += 1
            out = out.replace("@C@", f"{self.word().capitalize()}Tally{self.serial}")
        if "@N@" in out:
            out = out.replace("@N@", self.ident().upper())
        if "@W@" in out:
            out = out.replace("@W@", self.word().capitalize())
        for marker in ("@w@", "@v@", "@u@"):
            if marker in out:
                out = out.replace(marker, self.word())
        if "@k@" in out:
            out = out.replace("@k@", str(self.rng.randint(2, 99)))
        return out


def generate_code(
    language: str, n: int, words: list[str], rng: random.Random, invalid: bool = False
) -> str:
    """`n` tokens of `language` code; valid unless `invalid` (then a stray `)` breaks it)."""
    spec = LANGUAGES[language]
    namer = _Namer(words, rng)
    header = [namer.render(line) for line in spec.header]
    used = sum(count_tokens(line) for line in header)
    if used * 3 > n:
        header, used = [], 0
    units: list[str] = []
    big = [t for t in spec.units if count_tokens(t) >= _SMALL_UNIT]
    small = [t for t in spec.units if count_tokens(t) < _SMALL_UNIT]
    while used < n:
        rng.shuffle(big)
        for template in big + small:
            unit = namer.render(template)
            size = count_tokens(unit)
            if used + size <= n:
                units.append(unit)
                used += size
                break
        else:
            break
    fillers = _fill(spec, n - used, namer)
    gap = [""] if fillers and units else []
    lines = header + fillers + gap + "\n\n\n".join(units).split("\n")
    if invalid:
        _break(lines, spec)
    return "\n".join(lines).strip("\n")


def _fill(spec: LanguageSpec, remaining: int, namer: _Namer) -> list[str]:
    lines = []
    while remaining > 0:
        k = min(remaining, namer.rng.randint(3, 9))
        lines.append(spec.filler(k, namer.ident(), namer.rng))
        remaining -= k
    return lines


def _break(lines: list[str], spec: LanguageSpec) -> None:
    """Put an unmatched `)` before the first code line: a syntax error in every language here."""
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped and not stripped.startswith(spec.comment):
            lines[i] = line[: len(line) - len(stripped)] + ")" + stripped
            return


def generate_prose(n: int, words: list[str], rng: random.Random, plan: bool = False) -> str:
    """`n` tokens of sentences mixing the prompt's words with common ones; numbered if `plan`."""
    sentences: list[str] = []
    remaining = n
    while remaining > 0:
        size = min(remaining, rng.randint(7, 14))
        if remaining - size < 4:
            size = remaining
        parts: list[str] = [f"{len(sentences) + 1}."] if plan else []
        if size - len(parts) >= 3:
            parts.append(rng.choice(_OPENERS))
        while len(parts) < size:
            parts.append(rng.choice(words) if rng.random() < 0.45 else rng.choice(_VOCAB))
        if not plan:
            parts[0] = parts[0][0].upper() + parts[0][1:]
        parts[-1] += "."
        sentences.append(" ".join(parts))
        remaining -= size
    return ("\n" if plan else " ").join(sentences)
