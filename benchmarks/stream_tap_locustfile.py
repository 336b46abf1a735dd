"""The stock locustfile with a tap on the stream metrics, for bench_concurrency.py.

The user classes are the stock ones, unchanged. Each stream's metrics, as agentload records them
(:func:`agentload.locust.llm_metrics.record`: the TTFT and every inter-token gap, from the line
arrival times its reader kept), are also kept with the stream's number (the truth server reports
it as the usage's ``prompt_tokens``) and written at Locust's ``quitting`` to the file named by
``BENCH_STREAMS_OUT`` (:func:`benchmarks.stream_server.write_records`: number, TTFT ms, gaps ms).
The tap costs one tuple append per finished stream.
"""

import locust  # noqa: F401  (first: gevent's patching)

import os
import runpy
import sys
from pathlib import Path
from typing import Any

from agentload.locust import llm_metrics
from agentload.locust.hooks import listen
from agentload.metrics.llm import StreamMetrics
from agentload.stock.lookup import stock_dir

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.stream_server import TAP_ENV, write_records  # noqa: E402

_AGENTS = runpy.run_path(str(stock_dir("locustfiles") / "agents.py"))  # the same user classes
globals().update({name: _AGENTS[name] for name in _AGENTS["__all__"]})

_kept: list[tuple[int, float, tuple[float, ...]]] = []
_record = llm_metrics.record


def _tap(scenario: str, metrics: StreamMetrics) -> None:
    _record(scenario, metrics)
    if metrics.input_tokens is not None and metrics.ttft_ms is not None:
        _kept.append((metrics.input_tokens, metrics.ttft_ms, metrics.itl_ms))


llm_metrics.record = _tap


def _write(**_kw: Any) -> None:
    out = os.environ.get(TAP_ENV)
    if out:
        write_records(Path(out), _kept)


listen("quitting", _write)
