"""The engine's tokenizer: a token is a maximal run of non-whitespace characters.

`count_tokens(text) == len(text.split())`, for prompts and outputs alike. Streaming sends pieces
made of a token with the whitespace before it, so joining the pieces gives the text back.
"""

from __future__ import annotations

import re

_PIECE = re.compile(r"\s*\S+")
_WORD = re.compile(r"\b[a-z]{3,14}\b")
_STOPWORDS = frozenset(
    "the and for with that this from into what which when where have has had are was were "
    "will would should could can not but you your our their them they its his her write code "
    "about than then also just only over under very some such each other more most any all "
    "how why who whom does did done been being return returns function language".split()
)
FALLBACK_WORDS = ("data", "record", "value", "item", "batch", "signal", "metric", "report")


def count_tokens(text: str) -> int:
    """Number of whitespace-separated pieces of `text`."""
    return len(text.split())


def pieces(text: str) -> list[str]:
    """The text cut into tokens, each with the whitespace that precedes it."""
    return _PIECE.findall(text)


def topic_words(text: str, limit: int = 32) -> list[str]:
    """Distinct lowercase words of `text` (3-14 letters, no stopwords), in order of appearance."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if word not in _STOPWORDS:
            seen.setdefault(word, None)
            if len(seen) >= limit:
                break
    return list(seen) or list(FALLBACK_WORDS)
