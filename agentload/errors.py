"""Exit codes and the runner's exception tree.

```
AgentloadError            any failure the runner reports in one line
├── ConfigError           bad usage or configuration: exit 2
└── RunAborted            the run could not go on (target unreachable or died): exit 3
```

Messages quote the bad value and the expected form, e.g.
``profiles/smoke.toml: field "users": got "ten", expected an integer >= 1``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The process exit codes of ``agentload run`` (a public contract)."""

    OK = 0
    GATE_FAILED = 1
    USAGE = 2
    ABORTED = 3


class AgentloadError(Exception):
    """Base of the runner's errors; ``str(err)`` is the one line shown to the user."""

    exit_code: ExitCode = ExitCode.USAGE


class ConfigError(AgentloadError):
    """Bad usage or configuration (exit 2)."""

    exit_code = ExitCode.USAGE


class RunAborted(AgentloadError):
    """The run was aborted (exit 3); ``reason`` (why) goes to summary.json's ``abort_reason``."""

    exit_code = ExitCode.ABORTED

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
