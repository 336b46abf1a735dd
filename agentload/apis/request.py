"""One request of an API description and how its answer is judged: the typed model. Pure.

:class:`Call` is what a single-call scenario and every step of a session share: method, path,
query, headers, body, timeout, expected statuses, the answer's form, a :class:`Stream`, a
:class:`Job` and the success :class:`Check` list. See :mod:`agentload.apis.model` for the file.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from agentload.apis.base import StrictModel as _Model

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
CHECK_TESTS = (
    "exists", "equals", "not_equals", "matches", "min_items", "python_parses", "function",
)  # fmt: skip
PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
DEFAULT_IDLE_S = 30.0
DEFAULT_MAX_BODY = 4 * 1024 * 1024


class Check(_Model):
    """One success check on the answer (a JSON object), at the JSON path ``path``
    (dots and list indexes: ``choices.0.message.content``). Exactly one test:
    ``exists``, ``equals``, ``matches`` (a regex, searched in the string), ``min_items``,
    ``not_equals`` (passes when the value is missing or differs), ``python_parses`` or
    ``function`` (``module:function`` taking the answer and returning ``None``/``True`` for
    success or a reason string / ``False`` for failure). A failed check gives ``outcome``
    (``invalid`` by default; ``error`` marks a broken API contract, which is also an HTTP
    failure of the entry) and ``reason``, followed by ``: <value>`` when the answer has a string
    or number at ``detail`` (an error's message: ``detail = "error.message"``)."""

    path: str = ""
    exists: bool | None = None
    equals: Any = None
    not_equals: Any = None
    matches: str | None = None
    min_items: int | None = Field(default=None, ge=0)
    python_parses: bool | None = None
    function: str | None = None
    outcome: Literal["invalid", "error"] = "invalid"
    reason: str = ""
    detail: str = ""

    @model_validator(mode="after")
    def _one_test(self) -> Check:
        tests = [name for name in CHECK_TESTS if getattr(self, name) is not None]
        if len(tests) != 1:
            raise ValueError(
                f"expected exactly one of {', '.join(CHECK_TESTS)}; "
                f"got {', '.join(tests) or 'none'}"
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
    ``result_event``, ``error_event``; a token's text at ``token_path`` of its JSON when set),
    ``ndjson`` (one JSON object a line, text at ``token_path``, last line where ``done_path`` is
    true) or ``json-events`` (unnamed SSE events of JSON objects: tokens at any of
    ``token_paths``, an error at ``error_path``, the last event the result; with ``done_path``
    the last event must hold ``done_value`` there). ``share`` of the scenario's calls are
    streamed, with ``body`` merged into the request body (e.g. ``{stream = true}``)."""

    share: float = Field(default=1.0, ge=0, le=1)
    dialect: Literal["openai-chat", "events", "ndjson", "json-events"] = "openai-chat"
    body: dict[str, Any] = Field(default_factory=dict)
    token_event: str = "token"
    result_event: str = "result"
    error_event: str = "error"
    token_path: str | None = None
    token_paths: list[str] = Field(default_factory=list)
    error_path: str = "error"
    done_path: str | None = None
    done_value: Any = True

    @model_validator(mode="after")
    def _json_events_tokens(self) -> Stream:
        if self.dialect == "json-events" and not self.token_paths:
            raise ValueError('dialect "json-events" needs token_paths, where a token\'s text is')
        return self


class Cancel(_Model):
    """The request that cancels a job past its deadline (``path`` a template with the id; a
    JSON ``body`` template for APIs that cancel with a POST body, e.g. JSON-RPC)."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "DELETE"
    path: str
    body: dict[str, Any] | list[Any] | None = None


class Job(_Model):
    """An asynchronous job: the submit's answer carries an id at ``id_path``; ``poll`` (a path
    template, the id bound to the name of ``id_path``'s last part, e.g. ``{job_id}``) is read
    every ``interval_s`` growing by ``backoff`` up to ``max_interval_s`` (a ``Retry-After``
    wins when longer) until the state at ``status_path`` is in one of the state lists, or the
    ``deadline_s`` passes (then ``cancel``, and a ``timeout`` outcome); a ``POST`` poll sends
    ``poll_body`` (a template), its entry named ``poll_entry_name`` when set. A submit or poll
    answer with a value at ``answer_error`` (a JSON-RPC ``error.message``) ends the job as an
    ``error`` with that text. Success checks apply to the final poll answer. A
    ``TTC <scenario>`` entry times submit to end."""

    id_path: str
    poll: str
    poll_method: Literal["GET", "POST"] = "GET"
    poll_body: dict[str, Any] | list[Any] | None = None
    poll_entry_name: str = ""
    answer_error: str = ""
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
    def poll_entry(self) -> str:
        """The Locust entry of its polls: ``GET /jobs/{job_id}``."""
        return f"{self.poll_method} {self.poll_entry_name or self.poll}"

    @property
    def id_name(self) -> str:
        """The template name the id is bound to (``job_id`` for ``id_path = "job_id"``)."""
        return self.id_path.split(".")[-1]


class Call(_Model):
    """One request and how its answer is judged (a single-call scenario, or a session's step).
    ``path`` is a template starting with ``/``; with the method it names the Locust entry
    (``entry_name`` instead of the path when several calls share one path, e.g. JSON-RPC).
    ``timeout_s`` caps the whole call, first byte to last; a stream also ends when no data comes
    for ``idle_timeout_s`` (default 30 s, at most ``timeout_s``); a body (a stream's total) over
    ``max_body_bytes`` is not read further. A 3xx answer is judged by its status like any
    other (list it in ``expect_status`` to accept it), unless ``follow_redirects``: then a
    plain call follows it to the same origin only (up to 5 hops)."""

    method: str = "GET"
    path: str = ""
    entry_name: str = ""
    query: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] | list[Any] | None = None
    timeout_s: PositiveSeconds = 60.0
    idle_timeout_s: PositiveSeconds | None = None
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY, ge=1)
    follow_redirects: bool = False
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
        if value and not value.startswith("/"):
            raise ValueError("a path starting with /")
        return value

    @model_validator(mode="after")
    def _job_or_stream(self) -> Call:
        if self.job is not None and self.stream is not None:
            raise ValueError("a call is a job or a stream, not both")
        return self

    @property
    def entry(self) -> str:
        """The Locust entry of its (submit) request: ``POST /v1/things/{id}``."""
        return f"{self.method} {self.entry_name or self.path}"

    @property
    def idle_s(self) -> float:
        """A stream's idle limit: ``idle_timeout_s``, else 30 s, never over ``timeout_s``."""
        return min(self.idle_timeout_s or DEFAULT_IDLE_S, self.timeout_s)
