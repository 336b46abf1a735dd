"""Reading an API description: ``load_description(name_or_path) -> (Description, Path)``.

A bare name (``agent-v1``, ``openai-chat``, ``runs``) is looked up as ``apis/<name>.toml`` in the
current folder, then among the descriptions shipped in the package; a path is read as given. Any
problem raises :class:`DescriptionError` (exit 2) in one line naming the file and the field.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from agentload.apis.model import Description
from agentload.errors import ConfigError
from agentload.stock.lookup import find
from agentload.validation import describe

DEFAULT_API = "agent-v1"


class DescriptionError(ConfigError):
    """An API description that cannot be used; the message names the file and the field."""


def description_path(name_or_path: str | Path) -> Path:
    """Where the description named ``name_or_path`` is (ConfigError if nowhere)."""
    return find("apis", str(name_or_path)).resolve()


def load_description(name_or_path: str | Path = DEFAULT_API) -> tuple[Description, Path]:
    """Find, read and validate a description; DescriptionError in one line."""
    path = description_path(name_or_path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DescriptionError(f"{path}: not a readable file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DescriptionError(f"{path}: invalid TOML: {exc}") from None
    try:
        return Description.model_validate(raw), path
    except ValidationError as exc:
        raise DescriptionError(f"{path}: {describe(exc)}") from None
