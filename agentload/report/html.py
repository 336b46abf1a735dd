"""Small HTML helpers: escaped tables and number formatting shared by the report's sections."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from html import escape
from typing import Any


def fmt_num(value: Any, digits: int = 1) -> str:
    """``1234.5`` -> ``"1,234.5"``; ints stay whole; None/NaN -> ``"–"``."""
    if value is None or isinstance(value, bool):
        return "–" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:,.{digits}f}"
    return str(value)


def fmt_ms(value: Any) -> str:
    """Milliseconds with the 3 significant digits the histograms keep (``4.27 ms``, ``42.7 ms``,
    ``427 ms``, ``4,271 ms``), shown as seconds from 10 s up (``12.35 s``)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "–" if value is None else str(value)
    if math.isnan(value):
        return "–"
    if value >= 10_000:
        return f"{value / 1000:,.2f} s"
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{fmt_num(float(value), digits)} ms"


def fmt_pct(fraction: Any, digits: int = 2) -> str:
    """A 0..1 fraction as a percentage; None -> ``"–"``."""
    if not isinstance(fraction, int | float) or isinstance(fraction, bool):
        return "–"
    return "–" if math.isnan(fraction) else f"{100 * fraction:.{digits}f} %"


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, row_classes: Sequence[str] = ()
) -> str:
    """An HTML table; cells are escaped unless they are ``Raw``."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if i < len(row_classes) and row_classes[i] else ""
        cells = "".join(
            f"<td>{cell if isinstance(cell, Raw) else escape(str(cell))}</td>" for cell in row
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class Raw(str):
    """Already-safe HTML that ``table`` inserts as is."""

    __slots__ = ()


def section(title: str, body: str, anchor: str) -> str:
    """A titled ``<section>`` with an anchor for the page's table of contents."""
    return f'<section id="{escape(anchor)}"><h2>{escape(title)}</h2>{body}</section>'


_STDLIB = re.compile(r".*/lib/python3\.\d+/(?!site-packages/)")


def short_path(path: str) -> str:
    """A source path as a reader knows it: ``uvicorn/protocols/http/httptools_impl.py``,
    ``asyncio/runners.py`` (standard library), or relative to the working directory."""
    if "site-packages/" in path:
        return path.rsplit("site-packages/", 1)[1]
    stdlib = _STDLIB.match(path)
    if stdlib:
        return path[stdlib.end() :]
    cwd = os.getcwd().rstrip("/") + "/"
    return path.removeprefix(cwd)


def fmt_any(value: Any) -> str:
    """A JSON value in one line: numbers formatted, dicts as ``key: value, ...``."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {fmt_any(v)}" for k, v in value.items())
    return fmt_num(value, 2) if isinstance(value, int | float) else str(value)
