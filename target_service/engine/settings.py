"""Engine settings, read from `ENGINE_*` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

OutputDist = Literal["fixed", "uniform", "lognormal"]


class EngineSettings(BaseSettings):
    """The capacity model, text generation and faults of the simulated engine."""

    model_config = SettingsConfigDict(env_prefix="ENGINE_", extra="ignore")

    slots: int = Field(8, ge=1, le=4096, description="concurrent generations (the batch)")
    queue_max: int = Field(64, ge=0, le=100_000, description="waiting requests before 429")
    ttft_ms: float = Field(150.0, ge=0, le=600_000, description="prefill time, holding a slot")
    tokens_per_s: float = Field(100.0, gt=0, le=1_000_000, description="decode rate per sequence")
    output_tokens: int = Field(64, ge=1, le=32_768, description="output length (mean)")
    output_dist: OutputDist = Field("fixed", description="fixed | uniform | lognormal")
    output_spread: float = Field(0.5, ge=0, le=3, description="uniform ±share; lognormal sigma")
    degradation: float = Field(0.0, ge=0, le=100, description="decode slowdown at full batch")
    invalid_rate: float = Field(0.02, ge=0, le=1, description="share of invalid code answers")
    stream_interval_ms: float = Field(
        0.0, ge=0, le=10_000, description="least time between stream chunks (0: one per token)"
    )
    seed: int = Field(0, description="seed of every random draw")
    model_name: str = Field("agentload-sim", min_length=1, max_length=200)
    fault_outage: bool = Field(False, description="answer 503 on completions")
    admin_key: SecretStr | None = Field(None, description="enables /admin/faults")

    @field_validator("admin_key", mode="before")
    @classmethod
    def _empty_key_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("admin_key")
    @classmethod
    def _key_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 8:
            raise ValueError("must be at least 8 characters")
        return value

    @model_validator(mode="after")
    def _spread_fits_dist(self) -> EngineSettings:
        if self.output_dist == "uniform" and self.output_spread > 1:
            raise ValueError(
                f"ENGINE_OUTPUT_SPREAD={self.output_spread} must be <= 1 with "
                "ENGINE_OUTPUT_DIST=uniform (it is the ± share of ENGINE_OUTPUT_TOKENS)"
            )
        return self

    @property
    def service_time_s(self) -> float:
        """Slot time of one request of the mean length with degradation off."""
        return self.ttft_ms / 1000 + self.output_tokens / self.tokens_per_s

    @property
    def capacity_rps(self) -> float:
        """Requests per second at saturation: SLOTS / (TTFT + N / TOKENS_PER_S)."""
        return self.slots / self.service_time_s
