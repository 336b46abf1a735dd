"""The stock locustfile with the per-chunk LLM bookkeeping (inter-token gaps, TTFT/TPOT/E2E
histograms and token counts of agentload.locust.llm_metrics) switched off: a benchmark's
"without"."""

from agentload.data.locustfiles.agents import *  # noqa: F403 (the same user classes)
from agentload.locust import llm_metrics

llm_metrics.stop_recording()
