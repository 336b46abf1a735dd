"""Synthetic rows: prompts of a controlled number of tokens, cut from a shipped corpus. Pure.

``load_synthetic(spec, base) -> SyntheticDataset`` for a ``[scenarios.NAME.synthetic]`` table
(:class:`agentload.apis.model.Synthetic`): ``spec.samples`` rows drawn once from ``spec.seed``,
each a prompt length, an output length and a place in the corpus; ``pick(rng)`` draws one of
them with the run's generator, as :class:`agentload.scenarios.datasets.Dataset` does, and builds
its row::

    {"prompt": "<text of prompt_tokens tokens>", "prompt_tokens": 512,
     "output_tokens": 128, "max_tokens": 128}

The token rule (``token_rule``) is ``words`` (a token is a maximal run of non-whitespace
characters, ``len(text.split())``: the embedded engine's own count; the prompt is that many
corpus words joined by single spaces) or ``tiktoken:<encoding>`` (the prompt is the decoded run
of that many corpus tokens). Lengths: a fixed number, a uniform draw between ``min`` and ``max``
(both included), or a normal draw cut to [``min``, ``max``] by inverting its distribution
function over that range (one draw a row, no rejection loop), rounded.

Errors::

    DatasetError
     └── SyntheticError   .field names the bad part of the table (corpus, tokenizer, encoding)
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

from agentload.apis.lengths import Length, Synthetic
from agentload.scenarios.datasets import DatasetError
from agentload.stock.lookup import PACKAGE_DATA, is_explicit_path

CORPUS_DIR = "corpus"
CORPUS_EXT = ".txt"
FIELDS = frozenset({"prompt", "prompt_tokens", "output_tokens", "max_tokens"})
_EDGE = 1e-12  # keeps a normal draw's probability inside (0, 1), where inv_cdf is defined


class SyntheticError(DatasetError):
    """A synthetic table that cannot be used; ``field`` is the part of the table at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class _Rule:
    """A token rule over one corpus: its name, the corpus as tokens, and how tokens join."""

    name: str
    tokens: Sequence[Any]
    join: Callable[[Sequence[Any]], str]
    count: Callable[[str], int]

    def prompt(self, offset: int, length: int) -> str:
        """``length`` corpus tokens from ``offset``, wrapping round the corpus's end."""
        run = list(self.tokens[offset : offset + length])
        while len(run) < length:
            run += self.tokens[: length - len(run)]
        return self.join(run)


@dataclass(frozen=True)
class SyntheticDataset:
    """``samples`` synthetic rows: (corpus offset, prompt tokens, output tokens) each."""

    path: Path
    token_rule: str
    samples: tuple[tuple[int, int, int], ...]
    rule: _Rule

    def pick(self, rng: random.Random) -> dict[str, Any]:
        """One row, drawn with ``rng`` (so a seeded generator gives a repeatable sequence)."""
        return self.row(rng.randrange(len(self.samples)))

    def row(self, index: int) -> dict[str, Any]:
        """Row ``index``: its prompt text, ``prompt_tokens``, ``output_tokens``, ``max_tokens``."""
        offset, prompt_tokens, output_tokens = self.samples[index]
        return {
            "prompt": self.rule.prompt(offset, prompt_tokens),
            "prompt_tokens": prompt_tokens,
            "output_tokens": output_tokens,
            "max_tokens": output_tokens,
        }

    @property
    def fields(self) -> frozenset[str]:
        """The fields every row has."""
        return FIELDS

    def describe(self) -> dict[str, Any]:
        """What the rows are, for a run's metadata: the token rule, corpus and sample count."""
        return {"kind": "synthetic", "token_rule": self.token_rule, "corpus": str(self.path),
                "samples": len(self.samples)}  # fmt: skip

    def __len__(self) -> int:
        return len(self.samples)


def draw(length: Length, rng: random.Random) -> int:
    """One token count from ``length``: fixed, uniform, or normal cut to [min, max]."""
    if length.dist == "uniform":
        return rng.randint(length.low, length.high)
    if length.dist == "normal" and length.mean is not None and length.stdev is not None:
        normal = NormalDist(length.mean, length.stdev)
        low, high = normal.cdf(length.low - 0.5), normal.cdf(length.high + 0.5)
        share = min(max(low + rng.random() * (high - low), _EDGE), 1 - _EDGE)
        return min(max(round(normal.inv_cdf(share)), length.low), length.high)
    return length.low


def corpus_path(corpus: str, base: Path) -> Path:
    """The corpus file: a path (with a ``/`` or ending in ``.txt``) relative to ``base``, else
    ``./corpus/NAME.txt`` in the current folder, else the package's ``data/corpus/NAME.txt``."""
    if is_explicit_path(corpus) or corpus.endswith(CORPUS_EXT):
        return (base / corpus).resolve()
    for folder in (Path.cwd() / CORPUS_DIR, PACKAGE_DATA / CORPUS_DIR):
        if (folder / f"{corpus}{CORPUS_EXT}").is_file():
            return folder / f"{corpus}{CORPUS_EXT}"
    shipped = sorted(p.stem for p in (PACKAGE_DATA / CORPUS_DIR).glob(f"*{CORPUS_EXT}"))
    raise SyntheticError(
        "corpus",
        f"unknown corpus {corpus!r}, expected a path to a text file or one of {', '.join(shipped)}",
    )


def _words(text: str) -> _Rule:
    return _Rule("words", tuple(text.split()), " ".join, lambda prompt: len(prompt.split()))


def _import_tiktoken() -> Any | None:
    try:
        return importlib.import_module("tiktoken")
    except ImportError:
        return None


def _tiktoken(tiktoken: Any, text: str, encoding: str) -> _Rule:
    try:
        enc = tiktoken.get_encoding(encoding)
    except Exception as exc:  # an unknown name, or an encoding file it cannot download
        raise SyntheticError(
            "encoding",
            f"tiktoken encoding {encoding!r} cannot be loaded ({type(exc).__name__}: {exc}), "
            "expected a name such as cl100k_base or o200k_base",
        ) from None
    tokens = tuple(enc.encode_ordinary(text))
    return _Rule(f"tiktoken:{encoding}", tokens, enc.decode,
                 lambda prompt: len(enc.encode_ordinary(prompt)))  # fmt: skip


def token_rule(spec: Synthetic, text: str) -> _Rule:
    """The rule ``spec.tokenizer`` names over ``text`` (``auto``: tiktoken when importable, else
    words); SyntheticError for ``tiktoken`` when it is not installed."""
    tiktoken = None if spec.tokenizer == "words" else _import_tiktoken()
    if tiktoken is not None:
        return _tiktoken(tiktoken, text, spec.encoding)
    if spec.tokenizer == "tiktoken":
        raise SyntheticError(
            "tokenizer",
            'tiktoken is not installed, expected "pip install tiktoken" or tokenizer = "words"',
        )
    return _words(text)


def load_synthetic(spec: Synthetic, base: Path) -> SyntheticDataset:
    """The rows of a synthetic table (``base``: the folder of the description file)."""
    path = corpus_path(spec.corpus, base)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SyntheticError("corpus", f"corpus {path} not found, expected a text file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SyntheticError("corpus", f"corpus {path} is not readable: {exc}") from None
    rule = token_rule(spec, text)
    if not rule.tokens:
        raise SyntheticError("corpus", f"corpus {path} is empty, expected English text")
    rng = random.Random(spec.seed)
    samples = tuple(
        (rng.randrange(len(rule.tokens)), draw(spec.prompt_tokens, rng),
         draw(spec.output_tokens, rng))
        for _ in range(spec.samples)
    )  # fmt: skip
    return SyntheticDataset(path, rule.name, samples, rule)
