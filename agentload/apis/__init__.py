"""Describing APIs: the typed model of an API description (``apis/<name>.toml``) and the pure
pieces that interpret it: templates, JSON paths, stream dialects, success judges, outcomes.

Modules: ``model`` (Description, Scenario, Job, Stream, Check, Overlay), ``lengths`` (synthetic
token lengths), ``base`` (the strict pydantic base), ``load`` (find and validate a description),
``templates``, ``jsonpath``, ``dialects`` (stream parsers yielding timed events), ``judges``,
``verdicts``. No module names a particular API: that is what the description files say.

May import: ``agentload.errors``, ``agentload.validation``, ``agentload.stock``. Never the
runner, the CLI or Locust (the Locust users in ``agentload.locust`` interpret what is here).
"""
