"""API descriptions: the typed model of one ``apis/<name>.toml`` file (validated, pure).

An API description says *what* to send and how to judge the answer; the Locust users in
``agentload.locust`` interpret it. One file per API::

    name = "my-agent"
    model = "gpt-x"                          # {model} in templates (--model overrides)
    [auth]      kind = "bearer" | "header" | "none", header = "x-api-key", env = "MY_KEY"
    [readiness] path = "/healthz", status = 200   (path = "" waits for a TCP connect)
    [scenarios.NAME]                         # free names: outcomes and gates follow them
    method, path, query, headers, body, dataset, vars, weight, think_time, timeout_s,
    expect_status, response = "json" | "none"
    [scenarios.NAME.synthetic]  rows made up instead of a dataset: prompt_tokens, output_tokens
                                (512, or {dist = "uniform" | "normal", ...}), seed, samples,
                                corpus, tokenizer = "auto" | "words" | "tiktoken", encoding
    [scenarios.NAME.stream]  share, dialect = "openai-chat" | "events" | "ndjson", body
    [[scenarios.NAME.success]]  path + one of exists, equals, matches, min_items,
                                python_parses, function = "module:function"
    [scenarios.NAME.job]     id_path, poll, status_path, state lists, deadline, cancel
    a session instead of one call: [[scenarios.NAME.steps]] (each a call: method, path, ...,
    name, capture = {VAR = "json.path" | {header = "Name"}}), [[...setup]], [[...teardown]],
    turns = N, [scenarios.NAME.conversation] user, answer
    [phases.PHASE]                           # the same overlay as a scenario config file
    weights, think_time, vars, stream_share, timeout_s, gates

Templates (path, query, headers, body) take ``{name}`` from the dataset row, the scenario's
``vars`` and the built-ins ``{model}`` and ``{unique}`` (a seeded 12-hex-digit request tag); in
a session also ``{turn}``, the captures of earlier steps and ``{messages}``/``{history}``; a
string that is exactly ``"{name}"`` keeps the value's type (``max_tokens = "{max_tokens}"`` stays
an integer). ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from agentload.apis.base import StrictModel as _Model
from agentload.apis.lengths import Synthetic
from agentload.apis.request import Call

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CALL_FIELDS = frozenset(Call.model_fields)
SESSION_FIELDS = frozenset({"setup", "teardown", "turns", "conversation"})
Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class ThinkTime(_Model):
    """Uniform wait after a task of the scenario, in seconds (0 and 0: none)."""

    min_s: Seconds = 0.5
    max_s: Seconds = 1.5

    @model_validator(mode="after")
    def _ordered(self) -> ThinkTime:
        if self.max_s < self.min_s:
            raise ValueError(f"max_s ({self.max_s:g}) must be >= min_s ({self.min_s:g})")
        return self


class Auth(_Model):
    """How requests authenticate: ``bearer`` (``Authorization: Bearer <secret>``), ``header``
    (``<header>: <secret>``) or ``none``. The secret is read from the environment variable
    ``env`` at run time (never stored, never printed); ``default`` is used when it is unset (for a
    documented local development key only)."""

    kind: Literal["bearer", "header", "none"] = "none"
    header: str = "Authorization"
    env: str = ""
    default: str = ""

    @model_validator(mode="after")
    def _needs_env(self) -> Auth:
        if self.kind != "none" and not self.env:
            raise ValueError(f'auth kind "{self.kind}" needs "env", the variable with the secret')
        if self.kind == "header" and self.header == "Authorization":
            raise ValueError('auth kind "header" needs "header", e.g. header = "x-api-key"')
        return self


class Readiness(_Model):
    """When the target is ready: ``path`` answers ``status`` (``path = ""``, the default: a TCP
    connect to the host's port)."""

    path: str = ""
    status: int = Field(default=200, ge=100, le=599)


class Capture(_Model):
    """Where a step finds a value for later steps: ``path``, a JSON path of the answer (what
    the checks judge), or ``header``, a response header (case-insensitive). Exactly one."""

    path: str | None = None
    header: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Capture:
        if (self.path is None) == (self.header is None):
            raise ValueError("expected exactly one of path (a JSON path) or header (a name)")
        return self

    def describe(self) -> str:
        """``header Mcp-Session-Id`` or ``path thread_id``, for a reason."""
        return f"header {self.header}" if self.header is not None else f"path {self.path!r}"


class Step(Call):
    """One request of a session (``setup``, ``steps`` or ``teardown``): a call, its ``name``
    (default: its position) and the values it captures for the steps after it
    (``VAR = "json.path"`` or ``VAR = { header = "Name" }``)."""

    name: str = ""
    capture: dict[str, Capture] = Field(default_factory=dict)

    @field_validator("capture", mode="before")
    @classmethod
    def _capture_forms(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"path": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("capture")
    @classmethod
    def _capture_names(cls, value: dict[str, Capture]) -> dict[str, Capture]:
        for name in value:
            if not VAR_NAME.match(name):
                raise ValueError(f"capture name {name!r}: expected a template name ([A-Za-z_]\\w*)")
        return value

    @model_validator(mode="after")
    def _has_path(self) -> Step:
        if not self.path:
            raise ValueError("a step needs a path, a template starting with /")
        return self


class Conversation(_Model):
    """A chat carried across a session's turns: each turn adds ``user`` (a template) and the
    reply found at ``answer`` (a JSON path of the answer of the turn's last step) to
    ``{messages}`` (every message so far, this turn's user message last) and ``{history}``
    (the earlier turns' only)."""

    user: str
    answer: str


class Scenario(Call):
    """One kind of user task: a single call (``path`` and the call's fields), or a session of
    ``steps`` with optional ``setup``, ``teardown``, ``turns`` and ``conversation`` (see the
    module docstring for the template rules)."""

    dataset: str = ""
    synthetic: Synthetic | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    weight: Weight = 1.0
    think_time: ThinkTime | None = None
    steps: list[Step] | None = None
    setup: list[Step] = Field(default_factory=list)
    teardown: list[Step] = Field(default_factory=list)
    turns: int = Field(default=1, ge=1, le=10_000)
    conversation: Conversation | None = None

    @field_validator("steps")
    @classmethod
    def _some_steps(cls, value: list[Step] | None) -> list[Step] | None:
        if value is not None and not value:
            raise ValueError("an empty list, expected at least one [[scenarios.NAME.steps]] table")
        return value

    @model_validator(mode="after")
    def _call_or_session(self) -> Scenario:
        if self.dataset and self.synthetic is not None:
            raise ValueError("dataset or synthetic, not both: a scenario's rows come from one")
        if self.steps is None:
            session_only = SESSION_FIELDS & self.model_fields_set
            if session_only:
                raise ValueError(f"{sorted(session_only)[0]} needs steps (a session)")
            if not self.path:
                raise ValueError("expected path (a single call) or steps (a session)")
            return self
        call_fields = CALL_FIELDS & self.model_fields_set
        if call_fields:
            field = sorted(call_fields)[0]
            raise ValueError(f"{field} belongs in each step of a session, not in the scenario")
        return self

    @property
    def session(self) -> bool:
        """True for a session of steps."""
        return self.steps is not None

    @property
    def entry(self) -> str:
        """The Locust entry of its (first) request: ``POST /v1/things/{id}``; a session's first
        step's."""
        return self.steps[0].entry if self.steps else super().entry


class Overlay(_Model):
    """Per-phase changes to the scenarios (``[phases.PHASE]`` in a description, or a scenario
    config file): ``weights`` (listed scenarios only, others 0), ``think_time`` (all),
    ``vars`` (merged into every scenario's), ``stream_share`` and ``timeout_s`` per scenario,
    ``gates`` (added to the phase's)."""

    weights: dict[str, Weight] | None = None
    think_time: ThinkTime | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    stream_share: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    timeout_s: dict[str, PositiveSeconds] = Field(default_factory=dict)
    deadline_s: dict[str, PositiveSeconds] = Field(default_factory=dict)
    gates: list[str] = Field(default_factory=list)


class Description(_Model):
    """A whole API description file."""

    name: str = ""
    description: str = ""
    model: str = ""
    auth: Auth = Auth()
    readiness: Readiness = Readiness()
    headers: dict[str, str] = Field(default_factory=dict)
    scenarios: dict[str, Scenario] = Field(min_length=1)
    phases: dict[str, Overlay] = Field(default_factory=dict)

    @field_validator("scenarios")
    @classmethod
    def _names(cls, scenarios: dict[str, Scenario]) -> dict[str, Scenario]:
        for name in scenarios:
            if not NAME.match(name):
                raise ValueError(
                    f"scenario name {name!r}: expected letters, digits, _ or -, "
                    "starting with a letter"
                )
        return scenarios

    @model_validator(mode="after")
    def _overlays_name_scenarios(self) -> Description:
        for phase, overlay in self.phases.items():
            check_overlay(overlay, self.scenarios, f"phases.{phase}.")
        return self


def check_overlay(overlay: Overlay, scenarios: dict[str, Scenario], prefix: str) -> None:
    """Every scenario an overlay names must exist; ValueError naming the field otherwise
    (``prefix`` goes before the field name, e.g. ``phases.smoke.``)."""
    known = ", ".join(scenarios)
    for field in ("weights", "stream_share", "timeout_s", "deadline_s"):
        for name in getattr(overlay, field) or {}:
            if name not in scenarios:
                raise ValueError(
                    f'field "{prefix}{field}": unknown scenario {name!r}, expected one of {known}'
                )
    if overlay.weights is not None and not any(w > 0 for w in overlay.weights.values()):
        raise ValueError(f'field "{prefix}weights": no scenario with a weight > 0')
