"""The stock locustfile with the per-chunk LLM bookkeeping (inter-token gaps, TTFT/TPOT/E2E
histograms and token counts of agentload.locust.llm_metrics) switched off: a benchmark's
"without"."""

import runpy

from agentload.locust import llm_metrics
from agentload.stock.lookup import stock_dir

_AGENTS = runpy.run_path(str(stock_dir("locustfiles") / "agents.py"))  # the same user classes
globals().update({name: _AGENTS[name] for name in _AGENTS["__all__"]})

llm_metrics.stop_recording()
