"""Settings of the agent API process: environment variables `AGENT_*`, validated at start-up.

Every field is one variable (`engine_timeout_s` -> `AGENT_ENGINE_TIMEOUT_S`). Impossible or unsafe
values fail loudly with a message naming the variable; `python -m target_service.api` prints it
as one line and exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_API_KEY = "agentload-dev-key"


class AgentSettings(BaseSettings):
    """The agent API's configuration (see docs/agent-api.md for the table)."""

    model_config = SettingsConfigDict(env_prefix="AGENT_", extra="ignore", frozen=True)

    # Auth
    api_keys: Annotated[tuple[str, ...], NoDecode] = (DEV_API_KEY,)
    admin_key: SecretStr | None = None

    # Engine and the client in front of it
    engine_url: str = "http://127.0.0.1:8001"
    engine_model: str = "agentload-sim"
    engine_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    engine_connect_timeout_s: float = Field(default=2.0, gt=0, le=60)
    engine_max_connections: int = Field(default=256, ge=1, le=10_000)
    engine_max_keepalive: int = Field(default=64, ge=0, le=10_000)
    engine_retry_attempts: int = Field(default=3, ge=1, le=10)
    engine_retry_initial_s: float = Field(default=0.05, ge=0, le=10)
    engine_retry_max_s: float = Field(default=1.0, ge=0, le=60)
    breaker_threshold: int = Field(default=5, ge=1, le=1000)
    breaker_reset_s: float = Field(default=5.0, gt=0, le=600)
    cache_ttl_s: float = Field(default=60.0, ge=0, le=86_400)
    cache_size: int = Field(default=1024, ge=0, le=1_000_000)
    status_cache_s: float = Field(default=0.25, ge=0, le=60)

    # Overload and input limits
    max_in_flight: int = Field(default=256, ge=1, le=100_000)
    overload_retry_after_s: int = Field(default=1, ge=1, le=3600)
    max_body_bytes: int = Field(default=65_536, ge=1024, le=64 * 1024 * 1024)

    # Fault injection (drills)
    fault_error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    fault_latency_ms: float = Field(default=0.0, ge=0.0, le=600_000)
    fault_seed: int | None = None

    # Research jobs (target_service/api/research/)
    db_path: Path = Path("agentload-jobs.sqlite")
    research_workers: int = Field(default=4, ge=1, le=64)
    research_queue_max: int = Field(default=1000, ge=1)
    research_job_timeout_s: float = Field(default=120.0, gt=0)
    research_passages: int = Field(default=3, ge=1, le=20)
    research_max_tokens: int = Field(default=96, ge=8)
    research_corpus_cache: Path | None = None

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(key.strip() for key in value.split(",") if key.strip())
        return value

    @field_validator("api_keys")
    @classmethod
    def _check_keys(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        if not keys:
            raise ValueError("AGENT_API_KEYS must name at least one key (comma-separated)")
        short = [key for key in keys if len(key) < 8]
        if short:
            raise ValueError("every key in AGENT_API_KEYS must be at least 8 characters long")
        return keys

    @field_validator("engine_url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"AGENT_ENGINE_URL must start with http:// or https://, got {url!r}")
        return url.rstrip("/")

    @field_validator("admin_key")
    @classmethod
    def _check_admin_key(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and not key.get_secret_value():
            return None
        if key is not None and len(key.get_secret_value()) < 8:
            raise ValueError("AGENT_ADMIN_KEY must be at least 8 characters long (or unset)")
        return key

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.engine_max_keepalive > self.engine_max_connections:
            raise ValueError(
                "AGENT_ENGINE_MAX_KEEPALIVE must not exceed AGENT_ENGINE_MAX_CONNECTIONS "
                f"({self.engine_max_keepalive} > {self.engine_max_connections})"
            )
        if self.engine_retry_initial_s > self.engine_retry_max_s:
            raise ValueError(
                "AGENT_ENGINE_RETRY_INITIAL_S must not exceed AGENT_ENGINE_RETRY_MAX_S"
            )
        return self
