"""What a comparison is made of: tolerances, one delta per metric, the result (plain data,
stored as ``comparison.json`` in the NEW run's folder)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

REGRESSION = "regression"
INCONCLUSIVE = "inconclusive"
WITHIN_NOISE = "within noise"


@dataclass(frozen=True)
class Tolerances:
    """How much worse NEW may be than BASE before it is a regression, and how sure to be.

    A breach is a regression when a test confirms it at significance ``alpha``; an unconfirmed
    breach that a test leans towards is *inconclusive*, which fails the comparison unless
    ``allow_inconclusive``; ``fail_within_noise`` makes every breach a regression, confirmed or
    not (``verdicts.py``).
    """

    p95_pct: float = 10.0
    p99_pct: float = 10.0
    success_points: float = 1.0
    knee_rps_pct: float = 10.0
    error_rate_points: float = 1.0
    rps_pct: float = 10.0
    alpha: float = 0.01
    allow_inconclusive: bool = False
    fail_within_noise: bool = False


@dataclass
class Delta:
    """One metric of one entry in both runs."""

    entry: str
    metric: str
    base: float | None
    new: float | None
    unit: str = ""
    higher_is_better: bool = False
    tolerance: str = ""
    noise: float | None = None
    status: str = "n/a"
    test: str = ""  # the test(s) and p-value(s), e.g. "tail p=0.002 · rank p<0.001"
    effect: str = ""  # the effect size the test saw, e.g. "P(slower) 0.83, +210 ms"
    needed_n: int | None = None  # inconclusive: requests per run that would settle it

    @property
    def change(self) -> float | None:
        if self.base is None or self.new is None:
            return None
        return self.new - self.base

    @property
    def change_pct(self) -> float | None:
        change = self.change
        if change is None or not self.base:
            return None
        return 100.0 * change / abs(self.base)

    @property
    def within_noise(self) -> bool:
        change = self.change
        return change is not None and self.noise is not None and abs(change) <= self.noise


@dataclass
class FunctionDelta:
    """A function among either run's top functions, with its self time in each."""

    function: str
    where: str
    base_self_pct: float | None
    new_self_pct: float | None


@dataclass
class Comparison:
    """The result of comparing NEW with BASE."""

    base_dir: str
    new_dir: str
    base_phase: str
    new_phase: str
    tolerances: Tolerances
    deltas: list[Delta] = field(default_factory=list)
    functions: list[FunctionDelta] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[Delta]:
        return [d for d in self.deltas if d.status == REGRESSION]

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    @property
    def inconclusive(self) -> list[Delta]:
        return [d for d in self.deltas if d.status == INCONCLUSIVE]

    @property
    def failed(self) -> bool:
        """The comparison fails (exit 1): a regression, or an inconclusive breach that the
        tolerances do not allow."""
        return self.regressed or bool(self.inconclusive and not self.tolerances.allow_inconclusive)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"regressed": self.regressed, "failed": self.failed}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Comparison:
        return cls(
            base_dir=str(data["base_dir"]),
            new_dir=str(data["new_dir"]),
            base_phase=str(data.get("base_phase", "?")),
            new_phase=str(data.get("new_phase", "?")),
            tolerances=Tolerances(**data.get("tolerances", {})),
            deltas=[Delta(**d) for d in data.get("deltas", [])],
            functions=[FunctionDelta(**f) for f in data.get("functions", [])],
            notes=[str(n) for n in data.get("notes", [])],
        )
