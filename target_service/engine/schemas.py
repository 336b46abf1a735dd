"""Request bodies of the engine's OpenAI-compatible API (unknown fields are ignored)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Role = Literal["system", "developer", "user", "assistant", "tool"]
LongText = Annotated[str, StringConstraints(max_length=1_000_000)]


class TextPart(BaseModel):
    """One `{"type": "text", "text": ...}` part of a message's content."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["text"] = "text"
    text: LongText


class ChatMessage(BaseModel):
    """One message of the conversation."""

    model_config = ConfigDict(extra="ignore")

    role: Role
    content: LongText | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(part.text for part in self.content)
        return self.content or ""


class ChatRequest(BaseModel):
    """`POST /v1/chat/completions`; `temperature` and other sampling fields are accepted, unused."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field("agentload-sim", max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=512)
    max_tokens: int | None = Field(None, ge=1, le=32_768)
    max_completion_tokens: int | None = Field(None, ge=1, le=32_768)
    stream: bool = False
    temperature: float | None = Field(None, ge=0, le=2)
    seed: int | None = None

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class FaultsUpdate(BaseModel):
    """`POST /admin/faults`."""

    model_config = ConfigDict(extra="forbid")

    outage: bool
