"""The stock locustfile with agentload's exact-histogram recorder switched off (a benchmark's
"without"): everything else, outcomes and the timeline included, stays as in agents.py."""

from agentload.data.locustfiles.agents import *  # noqa: F403 (the same user classes)
from agentload.locust.histograms import RECORDER

RECORDER.stop_listening()
