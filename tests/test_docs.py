"""The README is a front page and docs/ a site that builds strictly, with an honest reference."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from agentload.apis import model
from tests.support import ROOT

DOCS = ROOT / "docs"
README = ROOT / "README.md"
REFERENCE = DOCS / "apis.md"


def _nav_pages(nav: list[Any]) -> list[str]:
    """Every page file named in mkdocs.yml's nav, sections flattened."""
    pages: list[str] = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def _headings(text: str, level: str) -> list[str]:
    """The headings of ``level`` (``"## "``) outside fenced code blocks."""
    found, in_code = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith(level):
            found.append(line[len(level) :].strip())
    return found


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    """`mkdocs build --strict` passes: no broken link or anchor, no page outside the nav."""
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "apis" / "index.html").is_file()


def test_every_docs_page_is_in_the_nav() -> None:
    """Each docs/*.md page is reachable from mkdocs.yml's nav, and the nav names no missing page."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config.get("strict") is True
    nav = _nav_pages(config["nav"])
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(nav) == pages


def test_readme_is_a_front_page_of_at_most_250_lines() -> None:
    """The README stays short: the reference lives in docs/."""
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines"


def test_readme_opens_with_the_two_commands_a_new_user_needs() -> None:
    """`make smoke` then `make test`, before the first section."""
    head = README.read_text(encoding="utf-8").split("\n## ", 1)[0]
    assert "make smoke" in head and "make test" in head
    assert head.index("make smoke") < head.index("make test")


def test_no_readme_section_appears_twice() -> None:
    """Every `## ` heading of the README is unique."""
    headings = _headings(README.read_text(encoding="utf-8"), "## ")
    twice = [name for name, n in Counter(headings).items() if n > 1]
    assert headings and not twice, twice


def test_readme_links_into_docs_resolve() -> None:
    """Every relative link of the README points at a file of the checkout."""
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link]
    assert local
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, missing


def _description_models() -> list[type[BaseModel]]:
    return [
        cls
        for name, cls in inspect.getmembers(model, inspect.isclass)
        if issubclass(cls, BaseModel)
        and cls.__module__ == model.__name__
        and not name.startswith("_")
    ]


def _documented(name: str, text: str) -> bool:
    """``name`` in backticks, or as a key in a TOML example (``name =``, ``{ name =``)."""
    key = re.escape(name)
    return re.search(rf"`{key}`|^\s*{key}\s*=|[{{,]\s*{key}\s*=", text, re.M) is not None


@pytest.mark.parametrize("cls", _description_models(), ids=lambda cls: cls.__name__)
def test_the_description_reference_names_every_field(cls: type[BaseModel]) -> None:
    """Each field of agentload/apis/model.py's models appears in docs/apis.md, as code."""
    text = REFERENCE.read_text(encoding="utf-8")
    missing = [name for name in cls.model_fields if not _documented(name, text)]
    assert not missing, f"{cls.__name__}: {missing} not documented in {REFERENCE.name}"
