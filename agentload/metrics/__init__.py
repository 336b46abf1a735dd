"""The pure figures of a run: exact latency histograms (``latency``) and their per-second buckets
(``second_buckets``), window and step statistics over timeline lines (``stats``), LLM stream
metrics (``llm``: TTFT, ITL, TPOT, E2E, tokens), SLOs and goodput (``slo``), the knee of a stress
run (``knee``), the sweep's rules (``sweep``), the sentences that say how a run measured
(``measurement``), ``--until``'s targets, readings and stop lines (``until``) and the figures'
95 % intervals (``intervals``; ``precision``: where they go in summary.json, which figures are
thin; ``precision_text``: in words).

Pure functions over plain data: unit-testable without a server, used alike by the Locust
processes, the runner, the results and the report.

May import: ``agentload.errors``, ``agentload.durations``, hdrhistogram. Never the runner, the
CLI or Locust.
"""
