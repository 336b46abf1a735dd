"""Errors of the Prometheus session and queries.

PrometheusError            base: a failed start, a bad URL, a query error
└── PrometheusUnavailable  no binary, or the server does not answer
"""

from __future__ import annotations


class PrometheusError(Exception):
    """Something about Prometheus failed; the message says what and where."""


class PrometheusUnavailable(PrometheusError):
    """No Prometheus to use: the binary is missing or the server does not answer."""
