"""A small client for Prometheus' HTTP API (instant and range queries) on httpx."""

from __future__ import annotations

import math
from typing import Any

import httpx

from agentload.prometheus.errors import PrometheusError, PrometheusUnavailable

#: One sample of an instant vector: its labels and value.
Sample = tuple[dict[str, str], float]


class PromClient:
    """Instant and range queries against one Prometheus server."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, params: dict[str, str]) -> Any:
        try:
            response = self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise PrometheusUnavailable(f"Prometheus at {self.url} does not answer: {exc}") from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise PrometheusError(f"{self.url}{path} answered {response.status_code}") from exc
        if body.get("status") != "success":
            raise PrometheusError(f"query {params.get('query')!r} failed: {body.get('error')}")
        return body["data"]

    def instant(self, expr: str, at: float) -> list[Sample]:
        """An instant vector at `at` (unix seconds), NaN samples dropped."""
        data = self._get("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})
        if data["resultType"] == "scalar":
            value = float(data["result"][1])
            return [] if math.isnan(value) else [({}, value)]
        samples = [(item["metric"], float(item["value"][1])) for item in data["result"]]
        return [(labels, value) for labels, value in samples if not math.isnan(value)]

    def range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        """A range query: [{"metric": {...}, "values": [[t, "v"], ...]}, ...]."""
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        result: list[dict[str, Any]] = self._get("/api/v1/query_range", params)["result"]
        return result
