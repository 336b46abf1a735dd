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
    [phases.PHASE]                           # the same overlay as a scenario config file
    weights, think_time, vars, stream_share, timeout_s, gates

Templates (path, query, headers, body) take ``{name}`` from the dataset row, the scenario's
``vars`` and the built-ins ``{model}`` and ``{unique}`` (a seeded 12-hex-digit request tag); a
string that is exactly ``"{name}"`` keeps the value's type (``max_tokens = "{max_tokens}"`` stays
an integer). ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from agentload.apis.base import StrictModel as _Model
from agentload.apis.lengths import Synthetic

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
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


class Check(_Model):
    """One success check on the answer (a JSON object), at the JSON path ``path``
    (dots and list indexes: ``choices.0.message.content``). Exactly one test:
    ``exists``, ``equals``, ``matches`` (a regex, searched in the string), ``min_items``,
    ``python_parses`` or ``function`` (``module:function`` taking the answer and returning
    ``None``/``True`` for success or a reason string / ``False`` for failure). A failed check
    gives ``outcome`` (``invalid`` by default; ``error`` marks a broken API contract, which is
    also an HTTP failure of the entry) and ``reason``."""

    path: str = ""
    exists: bool | None = None
    equals: Any = None
    matches: str | None = None
    min_items: int | None = Field(default=None, ge=0)
    python_parses: bool | None = None
    function: str | None = None
    outcome: Literal["invalid", "error"] = "invalid"
    reason: str = ""

    @model_validator(mode="after")
    def _one_test(self) -> Check:
        tests = [
            name
            for name in ("exists", "equals", "matches", "min_items", "python_parses", "function")
            if getattr(self, name) is not None
        ]
        if len(tests) != 1:
            raise ValueError(
                "expected exactly one of exists, equals, matches, min_items, python_parses, "
                f"function; got {', '.join(tests) or 'none'}"
            )
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"matches {self.matches!r} is not a regex: {exc}") from None
        if self.function is not None and not re.match(r"^[\w.]+:[\w.]+$", self.function):
            raise ValueError(f'function "{self.function}" must be in format "<module>:<function>"')
        return self


class Stream(_Model):
    """How a streamed call reads: ``dialect`` ``openai-chat`` (``choices[].delta.content``
    chunks, ``[DONE]``, a usage chunk), ``events`` (named SSE events: ``token_event``,
    ``result_event``, ``error_event``) or ``ndjson`` (one JSON object a line, text at
    ``token_path``, last line where ``done_path`` is true). ``share`` of the scenario's calls are
    streamed, with ``body`` merged into the request body (e.g. ``{stream = true}``)."""

    share: float = Field(default=1.0, ge=0, le=1)
    dialect: Literal["openai-chat", "events", "ndjson"] = "openai-chat"
    body: dict[str, Any] = Field(default_factory=dict)
    token_event: str = "token"
    result_event: str = "result"
    error_event: str = "error"
    token_path: str = "message.content"
    done_path: str = "done"


class Cancel(_Model):
    """The request that cancels a job past its deadline (``path`` a template with the id)."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "DELETE"
    path: str


class Job(_Model):
    """An asynchronous job: the submit's answer carries an id at ``id_path``; ``poll`` (a path
    template, the id bound to the name of ``id_path``'s last part, e.g. ``{job_id}``) is read
    every ``interval_s`` growing by ``backoff`` up to ``max_interval_s`` (a ``Retry-After``
    wins when longer) until the state at ``status_path`` is in one of the state lists, or the
    ``deadline_s`` passes (then ``cancel``, and a ``timeout`` outcome). Success checks apply to
    the final poll answer. A ``TTC <scenario>`` entry times submit to end."""

    id_path: str
    poll: str
    poll_method: Literal["GET", "POST"] = "GET"
    status_path: str = "status"
    success_states: list[str] = Field(min_length=1)
    failure_states: list[str] = Field(default_factory=list)
    cancelled_states: list[str] = Field(default_factory=list)
    error_path: str = "error"
    deadline_s: PositiveSeconds = 120.0
    interval_s: PositiveSeconds = 0.25
    max_interval_s: PositiveSeconds = 4.0
    backoff: float = Field(default=1.5, ge=1.0, le=10.0)
    cancel: Cancel | None = None

    @property
    def id_name(self) -> str:
        """The template name the id is bound to (``job_id`` for ``id_path = "job_id"``)."""
        return self.id_path.split(".")[-1]


class Scenario(_Model):
    """One kind of call to the API (see the module docstring for the template rules)."""

    method: str = "GET"
    path: str
    query: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] | list[Any] | None = None
    dataset: str = ""
    synthetic: Synthetic | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    weight: Weight = 1.0
    think_time: ThinkTime | None = None
    timeout_s: PositiveSeconds = 60.0
    expect_status: list[int] = Field(default_factory=lambda: [200])
    response: Literal["json", "none"] = "json"
    stream: Stream | None = None
    success: list[Check] = Field(default_factory=list)
    job: Job | None = None

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        if value.upper() not in METHODS:
            raise ValueError(f"one of {', '.join(METHODS)}")
        return value.upper()

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("a path starting with /")
        return value

    @model_validator(mode="after")
    def _job_or_stream(self) -> Scenario:
        if self.job is not None and self.stream is not None:
            raise ValueError("a scenario is a job or a stream, not both")
        if self.dataset and self.synthetic is not None:
            raise ValueError("dataset or synthetic, not both: a scenario's rows come from one")
        return self

    @property
    def entry(self) -> str:
        """The Locust entry of its (submit) request: ``POST /v1/things/{id}``."""
        return f"{self.method} {self.path}"


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
