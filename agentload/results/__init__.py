"""The results contract: the files of a run folder that others read.

- ``summary``: summary.json (``build_summary`` from final.json and timeline.jsonl, gates
  evaluated; ``write_json_atomic``);
- ``junit``: junit.xml, one test case per gate;
- ``requests_file``: requests.jsonl.gz, one line per request (each Locust process writes its
  part, the run merges them);
- ``reading``: reading the run folder's JSON files (final.json, timeline.jsonl, ...);
- ``replay``: summary.json's ``replay`` section (a trace replay's rows and its fidelity).

Written by the run (``agentload.run.finish``) and the Locust processes, read by the report and
``agentload compare``.

May import: ``agentload.gates``, ``agentload.metrics``, ``agentload.errors``. Never the runner,
the CLI or Locust.
"""
