"""Resource time series of the target: from Prometheus when exported, else the runner's sampling.

Both give ``(t, value)`` lines grouped into three charts: CPU %, memory (MB), and the engine's
queue depth and busy slots. ``prometheus_series.json`` is described in
``agentload.prometheus.series``; ``resources.jsonl`` in ``agentload.run.resources``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Line = tuple[list[float], list[float]]
_MB = 1024 * 1024


@dataclass
class ResourceSeries:
    """Lines per chart and where they came from."""

    source: str
    cpu: dict[str, Line] = field(default_factory=dict)
    memory_mb: dict[str, Line] = field(default_factory=dict)
    engine: dict[str, Line] = field(default_factory=dict)

    def empty(self) -> bool:
        return not (self.cpu or self.memory_mb or self.engine)


def _prom_lines(
    entry: Mapping[str, Any], scale: float = 1.0, label: str = "job"
) -> dict[str, Line]:
    lines: dict[str, Line] = {}
    for item in entry.get("series") or []:
        points = [p for p in item.get("points") or [] if len(p) == 2]
        if not points:
            continue
        name = str((item.get("labels") or {}).get(label, "total"))
        lines[name] = ([float(p[0]) for p in points], [float(p[1]) * scale for p in points])
    return lines


def from_prometheus(data: Mapping[str, Any]) -> ResourceSeries:
    """Series out of ``prometheus_series.json``."""
    series: Mapping[str, Any] = data.get("series") or {}
    out = ResourceSeries(source=f"Prometheus ({data.get('source', '?')})")
    out.cpu = _prom_lines(series.get("cpu_pct") or {})
    out.memory_mb = _prom_lines(series.get("rss_bytes") or {}, 1 / _MB)
    for name in ("engine_queue_depth", "engine_slots_busy"):
        for _, line in _prom_lines(series.get(name) or {}).items():
            out.engine[name.removeprefix("engine_")] = line
    return out


def _column(rows: Sequence[Mapping[str, Any]], get: Any) -> Line:
    t, y = [], []
    for row in rows:
        value = get(row)
        if isinstance(value, int | float) and not isinstance(value, bool) and "t" in row:
            t.append(float(row["t"]))
            y.append(float(value))
    return t, y


def from_samples(rows: Sequence[Mapping[str, Any]]) -> ResourceSeries:
    """Series out of ``resources.jsonl`` (the runner's psutil sampling)."""
    out = ResourceSeries(source="the runner's sampling (resources.jsonl)")
    procs = sorted({name for row in rows for name in (row.get("procs") or {})})
    for proc in procs:
        out.cpu[proc] = _column(
            rows, lambda r, p=proc: (r.get("procs") or {}).get(p, {}).get("cpu_pct")
        )
        rss = _column(rows, lambda r, p=proc: (r.get("procs") or {}).get(p, {}).get("rss_bytes"))
        out.memory_mb[proc] = (rss[0], [v / _MB for v in rss[1]])
    out.cpu["total"] = _column(rows, lambda r: r.get("cpu_pct"))
    rss = _column(rows, lambda r: r.get("rss_bytes"))
    out.memory_mb["total"] = (rss[0], [v / _MB for v in rss[1]])
    for key in ("engine_queue_depth", "engine_slots_busy", "engine_slots_total"):
        out.engine[key.removeprefix("engine_")] = _column(rows, lambda r, k=key: r.get(k))
    out.cpu = {k: v for k, v in out.cpu.items() if v[0]}
    out.memory_mb = {k: v for k, v in out.memory_mb.items() if v[0]}
    out.engine = {k: v for k, v in out.engine.items() if v[0]}
    return out


def resource_series(
    prometheus: Mapping[str, Any], samples: Sequence[Mapping[str, Any]]
) -> ResourceSeries:
    """Prometheus' series when they hold data, else the runner's samples."""
    if prometheus:
        prom = from_prometheus(prometheus)
        if not prom.empty():
            if not prom.engine:
                prom.engine = from_samples(samples).engine
            return prom
    return from_samples(samples)
