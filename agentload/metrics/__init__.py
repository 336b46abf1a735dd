"""The pure figures of a run: exact latency histograms (``latency``) and their per-second buckets
(``second_buckets``), window and step statistics over timeline lines (``stats``), LLM stream
metrics (``llm``: TTFT, ITL, TPOT, E2E, tokens), SLOs and goodput (``slo``), the knee of a stress
run (``knee``), the sweep's rules (``sweep``) and the sentences that say how a run measured
(``measurement``).

Pure functions over plain data: unit-testable without a server, used alike by the Locust
processes, the runner, the results and the report.

May import: ``agentload.errors``, ``agentload.durations``, hdrhistogram. Never the runner, the
CLI or Locust.
"""
