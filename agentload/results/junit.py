"""``junit.xml``: one test case per gate, plus one for the run itself (failed when aborted).

A gate that failed is a ``<failure type="gate">``; an inconclusive one (its 95 % interval holds
the threshold) is a ``<failure type="inconclusive">`` naming the interval and the samples that
would decide it, or, when allowed (``--allow-inconclusive``, the profile's key), a ``<skipped>``
with that message: CI tools show it as neither passed nor failed, with the reason.

API: ``write_junit(path, summary)``, ``junit_xml(summary) -> bytes``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentload.errors import ConfigError
from agentload.gates import format_value, parse_gate, shown_expr
from agentload.results.summary import write_bytes_atomic


def junit_xml(summary: Mapping[str, Any]) -> bytes:
    """The JUnit XML document for a summary dict (see ``agentload.results.summary``)."""
    phase = str(summary.get("phase", "run"))
    gates = list(summary.get("gates") or [])
    aborted = summary.get("verdict") == "aborted"
    failures = sum(1 for g in gates if not g.get("passed")) + (1 if aborted else 0)
    skipped = sum(1 for g in gates if g.get("passed") and g.get("status") == "inconclusive")
    suite = ET.Element(
        "testsuite",
        name=f"agentload.{phase}",
        tests=str(len(gates) + 1),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{float(summary.get('duration_s') or 0):.3f}",
        timestamp=str(summary.get("started_at") or ""),
    )
    props = ET.SubElement(suite, "properties")
    for key in ("verdict", "exit_code", "target", "users"):
        ET.SubElement(props, "property", name=key, value=str(summary.get(key)))
    run = ET.SubElement(suite, "testcase", classname=f"agentload.{phase}", name="run completed")
    if aborted:
        reason = str(summary.get("abort_reason") or "aborted")
        ET.SubElement(
            run, "failure", message=f"run aborted: {reason}", type="aborted"
        ).text = reason
    for gate in gates:
        case = ET.SubElement(
            suite, "testcase", classname=f"agentload.{phase}.gates", name=_shown(gate)
        )
        inconclusive = gate.get("status") == "inconclusive"
        if not gate.get("passed"):
            message = _failure_message(gate)
            kind = "inconclusive" if inconclusive else "gate"
            ET.SubElement(case, "failure", message=message, type=kind).text = message
        elif inconclusive:
            message = f"inconclusive, allowed: {_failure_message(gate)}"
            ET.SubElement(case, "skipped", message=message).text = message
    ET.indent(suite)
    body: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def write_junit(path: str | Path, summary: Mapping[str, Any]) -> None:
    """Write junit.xml atomically (AgentloadError with one line when it cannot be written)."""
    write_bytes_atomic(path, junit_xml(summary))


def _shown(gate: Mapping[str, Any]) -> str:
    """The gate as evaluated: a ``*`` gate's names its entry or scenario."""
    return shown_expr(str(gate.get("name") or ""), str(gate.get("expr")))


def _failure_message(gate: Mapping[str, Any]) -> str:
    expr = _shown(gate)
    observed = gate.get("observed")
    try:
        parsed = parse_gate(expr)
        shown = format_value(parsed.metric, observed)
        limit = f"{parsed.op} {format_value(parsed.metric, parsed.threshold)}"
    except ConfigError:  # a summary from elsewhere: show the raw values
        shown, limit = str(observed), expr
    reason = gate.get("reason") or ""
    text = f"{expr}: observed {shown}, expected {limit}"
    if gate.get("status") == "inconclusive":
        return f"{expr}: {reason}"  # the reason names the interval and the samples needed
    return f"{text} ({reason})" if observed is None and reason else text
