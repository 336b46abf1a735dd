"""k6-style pass/fail gates over a run's summary.

Grammar (one expression per gate)::

    gate   := ["server."] metric ["(" entry ")"] op number [unit]
            | flag                                        the flag is true
    metric := p50 | p90 | p95 | p99 | max | avg          latency of an entry, unit ms (default) or s
            | error_rate | agent_success_rate            a share, unit % (or a fraction 0..1)
            | rps | requests | failures                  plain numbers
            | knee_rps | max_rps                         the stress search (no entry, no server.):
            | peak_error_rate                            rps, and a share (unit %) at the peak step
            | dropped_rate                               open model: dropped / scheduled arrivals,
                                                         unit % (or a fraction); no entry
            | knee_found                                 a flag: 1 (true) or 0 (false)
            | goodput                                    share of calls meeting every SLO, unit %
            | output_tokens_per_s | total_tokens_per_s   streamed tokens over the window
            | max_rate_under_slo                         the sweep's highest rate under SLO
    flag   := knee_found
    op     := < | <= | > | >= | == | !=

Examples: ``p95(POST /v1/chat/completions) < 800ms``, ``p99(TTC report) < 30s``,
``error_rate < 1%``, ``agent_success_rate(chat) >= 95%``, ``rps(GET /health) > 50``,
``server.p95(/v1/chat/completions) < 900ms`` (from ``summary["server_side"]``, routes as the
server's ``route`` label; its reason says the value is a histogram-bucket estimate, with the
bucket's bounds when the view has them), ``knee_rps >= 50``, ``max_rps > 0`` (the best step's
successful rps), ``peak_error_rate < 5%`` (at the knee, or the largest step when not saturated),
``knee_found`` (from ``summary["stress"]``: the stress phase's search, or the profile phase's
own; a search without a knee fails ``knee_rps`` and ``knee_found`` with ``no knee: not saturated
up to N users (X rps)``), ``dropped_rate < 1%`` (from ``summary["arrivals"]``; a closed-loop
run fails it with ``no arrivals: the run was closed-loop``); LLM figures (``llm``):
``p95(ttft:chat) < 500ms`` (also ``itl:``, ``tpot:``, ``e2e:``; p50/p90/p95/p99/avg),
``output_tokens_per_s >= 200`` (or ``(SCENARIO)``), ``goodput(chat) >= 90%`` (``summary
["goodput"]``; no entry: over all scenarios; ``*``: each), ``max_rate_under_slo >= 5``.

The entry ``*`` means each one: ``p95(*) < 5s`` and ``error_rate(*) < 1%`` are evaluated for
every HTTP entry of the run (request type an HTTP method; not the TTFT/TPOT/TTC timings),
``agent_success_rate(*) >= 95%`` for every scenario with outcomes; each gives its own result
(``p95(GET /health)``). With no such entry in the run, one failed result says so. This is how the
stock profiles gate any API without naming its routes.

Modules: ``grammar`` (metrics, ``Gate``, ``parse_gate``, ``format_value``), ``evaluate``
(``evaluate``, ``expand``, ``should_abort``, ``shown_expr``), ``entries`` (``check_entries``:
the gates' entries against the plan's, before any load), and one observer per family of
figures: ``client`` (totals, endpoints, agent outcomes), ``server`` (the Prometheus view),
``stress`` (the knee search), ``arrivals`` (the open model), ``llm`` (streams, goodput, the
sweep); ``evidence``: a gate on a figure with a 95 % interval (percentiles, ``rps``, shares)
passes when the whole interval is on the right side of the threshold, fails when it is all on
the wrong side, and is ``inconclusive`` when the threshold lies inside it.

API: ``parse_gate(expr) -> Gate`` (ConfigError), ``parse_gates(exprs)``,
``evaluate(gates, summary, strict=True, allow_inconclusive=False) -> list[GateResult]``
(GateResult: name, expr, observed, passed, reason, threshold, op, status, ci, samples_needed;
``to_dict()`` for summary.json; ``passed`` is False for a fail, and for an inconclusive result
unless allowed),
``should_abort(results, elapsed_s, grace_s) -> str | None`` (the reason; only a gate that
failed, never an inconclusive one), ``format_value``,
``shown_expr(name, expr)`` (a ``*`` gate's result as the expression of its entry),
``check_entries(gates, entries, scenarios)`` (ConfigError for an entry the plan does not have).
Evaluation is a pure function of the summary dict (see ``agentload.results.summary``).

May import: ``agentload.errors``, and ``agentload.metrics`` for the intervals' arithmetic
(``intervals``, ``precision``); pure functions of the summary dict. Never the runner, the CLI
or Locust.
"""

from agentload.gates.entries import check_entries
from agentload.gates.evaluate import (
    HTTP_METHODS,
    GateResult,
    evaluate,
    expand,
    should_abort,
    shown_expr,
)
from agentload.gates.grammar import (
    COUNT_METRICS,
    EVERY,
    EXPECTED_FORM,
    FLAG_METRICS,
    LATENCY_METRICS,
    METRICS,
    RATE_METRICS,
    RUN_METRICS,
    STRESS_METRICS,
    Gate,
    format_value,
    parse_gate,
    parse_gates,
)
from agentload.gates.server import INTERNAL_ROUTES

__all__ = [
    "COUNT_METRICS",
    "EVERY",
    "EXPECTED_FORM",
    "FLAG_METRICS",
    "HTTP_METHODS",
    "INTERNAL_ROUTES",
    "LATENCY_METRICS",
    "METRICS",
    "RATE_METRICS",
    "RUN_METRICS",
    "STRESS_METRICS",
    "Gate",
    "GateResult",
    "check_entries",
    "evaluate",
    "expand",
    "format_value",
    "parse_gate",
    "parse_gates",
    "should_abort",
    "shown_expr",
]
