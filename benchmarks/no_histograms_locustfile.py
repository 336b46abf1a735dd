"""The stock locustfile with agentload's exact-histogram recorder switched off (a benchmark's
"without"): everything else, outcomes and the timeline included, stays as in agents.py."""

import runpy

from agentload.locust.histograms import RECORDER
from agentload.stock.lookup import stock_dir

_AGENTS = runpy.run_path(str(stock_dir("locustfiles") / "agents.py"))  # the same user classes
globals().update({name: _AGENTS[name] for name in _AGENTS["__all__"]})

RECORDER.stop_listening()
