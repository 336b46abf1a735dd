"""BM25 retrieval over the corpus (rank-bm25's Okapi BM25).

index = Bm25Index(passages)
index.search("parse a csv file", k=3, exclude={"csv.reader"}) -> list[Hit]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rank_bm25 import BM25Okapi

from target_service.api.research.corpus import Passage

_WORD = re.compile(r"[a-z][a-z0-9_]*")
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from has have how i if in into is it its of on or "
    "that the their then there these this to use used uses using was what when where which while "
    "who why will with you your return returns object value".split()
)
SNIPPET_CHARS = 280


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with its BM25 score."""

    passage: Passage
    score: float

    @property
    def snippet(self) -> str:
        """The passage text, whitespace folded and cut to about `SNIPPET_CHARS` characters."""
        text = " ".join(self.passage.text.split())
        if len(text) <= SNIPPET_CHARS:
            return text
        return text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " ..."


def tokenize(text: str) -> list[str]:
    """Lower-case words without stop words; `snake_case` names also yield their parts."""
    tokens: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word in _STOPWORDS or len(word) < 2:
            continue
        tokens.append(word)
        if "_" in word:
            tokens.extend(part for part in word.split("_") if len(part) > 1)
    return tokens


class Bm25Index:
    """An immutable BM25 index over passages (source, title and text are all indexed)."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        if not passages:
            raise ValueError("cannot index an empty corpus")
        self._passages = list(passages)
        self._bm25 = BM25Okapi([_document_tokens(p) for p in self._passages])

    def __len__(self) -> int:
        return len(self._passages)

    def search(self, query: str, k: int = 3, exclude: Iterable[str] = ()) -> list[Hit]:
        """The `k` best passages for `query` with a positive score, best first."""
        terms = list(dict.fromkeys(tokenize(query)))
        if not terms or k <= 0:
            return []
        scores = self._bm25.get_scores(terms)  # a numpy array, one score per passage
        skip = set(exclude)
        hits: list[Hit] = []
        for i in (-scores).argsort(kind="stable").tolist():
            if scores[i] <= 0.0 or len(hits) >= k:
                break
            if self._passages[i].source not in skip:
                hits.append(Hit(self._passages[i], round(float(scores[i]), 4)))
        return hits


def _document_tokens(passage: Passage) -> list[str]:
    name = passage.source.replace(".", " ")
    return tokenize(f"{name} {name} {passage.title} {passage.text}")
