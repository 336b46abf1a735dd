"""Option values of `agentload run` that need more than typer's parsing (pure)."""

from __future__ import annotations

import sys
from typing import Any

from agentload.errors import ConfigError
from agentload.redaction import redact, shown_url


def requests_cap_lines(value: str) -> int:
    try:
        cap = int(value.replace("_", ""))
    except ValueError:
        cap = 0
    if cap < 1:
        raise ConfigError(f"--requests-cap {value!r}: expected a whole number of lines >= 1")
    return cap


def given_options() -> dict[str, Any]:
    """The options as typed on the command line (for summary meta), a URL's user-info and
    anything like a credential masked."""
    return {"argv": [redact(shown_url(arg)) for arg in sys.argv[1:]]}


def template_variables(given: list[str]) -> dict[str, str]:
    """``--var NAME=VALUE`` options as a mapping (ConfigError for one without ``=``)."""
    found: dict[str, str] = {}
    for item in given:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--var {item}: expected NAME=VALUE, e.g. --var assistant_id=agent")
        found[name.strip()] = value
    return found
