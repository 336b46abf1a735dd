"""What a comparison is made of: tolerances, one delta per metric, the result (plain data,
stored as ``comparison.json`` in the NEW run's folder)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

REGRESSION = "regression"
INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Tolerances:
    """How much worse NEW may be than BASE before it is a regression.

    A breach that lies within the runs' noise is *inconclusive* (it does not fail) unless
    ``fail_within_noise`` is set.
    """

    p95_pct: float = 10.0
    p99_pct: float = 10.0
    success_points: float = 1.0
    knee_rps_pct: float = 10.0
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

    @property
    def regressions(self) -> list[Delta]:
        return [d for d in self.deltas if d.status == REGRESSION]

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"regressed": self.regressed}

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
        )
