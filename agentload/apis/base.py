"""The base of every model of a description or a scenario config: unknown keys are errors
(``extra="forbid"``, so a typo is named, not ignored) and a loaded model is frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
