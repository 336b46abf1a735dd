"""Where stock files are: an explicit path, else the current folder's, else the shipped ones.

``find(kind, name_or_path) -> Path`` with ``kind`` one of ``KINDS`` (``apis``, ``profiles``,
``scenarios``, ``datasets``, ``locustfiles``):

- an explicit path (it holds a path separator, or ends in a file suffix such as ``.toml``,
  ``.jsonl`` or ``.py``) is taken as given and must exist;
- a bare name (``smoke``, ``agent-v1``) is ``./<kind>/<name><ext>`` in the current folder, else
  ``stock_dir(kind)/<name><ext>``, the files shipped with agentload.

The shipped files of ``locustfiles``, ``profiles`` and ``scenarios`` live in the repository's
top-level folders of those names (the source of truth); the wheel maps them into
``agentload/data/<kind>/`` (``[tool.setuptools.package-dir]`` in pyproject.toml). So
``stock_dir`` is ``<PACKAGE_DATA>/<kind>`` in an installed wheel and ``<checkout>/<kind>`` in a
source checkout (an editable install). The other kinds (``apis``, ``datasets``) are package data
in ``agentload/data/`` in both.

Anything else raises :class:`agentload.errors.ConfigError` in one line, e.g. ``unknown profile
'x', expected a path or one of smoke, load, stress, profile, rate, replay, sweep``.
``stock_names(kind)`` lists the shipped names (``agentload init`` copies some of them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from agentload.errors import ConfigError

PACKAGE_DATA = Path(__file__).resolve().parents[1] / "data"
CHECKOUT = Path(__file__).resolve().parents[2]  # the repository root, in a source checkout
TOP_LEVEL_KINDS = ("locustfiles", "profiles", "scenarios")  # the design card's folders
PATH_SUFFIXES = (".toml", ".jsonl", ".json", ".py")


@dataclass(frozen=True)
class Kind:
    """One kind of stock file: its file extension, what it is called, its names shown first."""

    ext: str
    what: str
    first: tuple[str, ...] = ()


KINDS: dict[str, Kind] = {
    "apis": Kind(".toml", "API description", ("agent-v1",)),
    "profiles": Kind(".toml", "profile", ("smoke", "load", "stress", "profile")),
    "scenarios": Kind(".toml", "scenario config", ("default", "smoke", "load", "stress")),
    "datasets": Kind(".jsonl", "dataset"),
    "locustfiles": Kind(".py", "locustfile"),
}


def stock_dir(kind: str) -> Path:
    """The folder of the shipped files of ``kind``: ``agentload/data/<kind>`` where it exists
    (an installed wheel; always for apis and datasets), else the checkout's ``<kind>/``."""
    _kind(kind)
    packaged = PACKAGE_DATA / kind
    if kind not in TOP_LEVEL_KINDS or packaged.is_dir():
        return packaged
    return CHECKOUT / kind


def _kind(kind: str) -> Kind:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}, expected one of {', '.join(KINDS)}") from None


def is_explicit_path(text: str) -> bool:
    """True for ``x/y.toml``, ``y.toml``, ``./y``; False for a bare name such as ``smoke``."""
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return any(sep in text for sep in separators) or text.endswith(PATH_SUFFIXES)


def _names_in(folder: Path, kind: Kind) -> list[str]:
    if not folder.is_dir():
        return []
    found = {p.name.removesuffix(kind.ext) for p in folder.glob(f"*{kind.ext}") if p.is_file()}
    found.discard("__init__")
    order = {name: index for index, name in enumerate(kind.first)}
    return sorted(found, key=lambda name: (order.get(name, len(order)), name))


def stock_names(kind: str) -> list[str]:
    """The names shipped in the package for ``kind``, the usual ones first (``smoke``, ...)."""
    return _names_in(stock_dir(kind), _kind(kind))


def local_names(kind: str) -> list[str]:
    """The names in the current folder's ``./<kind>/``."""
    return _names_in(Path.cwd() / kind, _kind(kind))


def find(kind: str, name_or_path: str | Path) -> Path:
    """The file for ``name_or_path``: an explicit path as given, else ``./<kind>/<name><ext>``,
    else ``stock_dir(kind)/<name><ext>``; ConfigError naming it when there is none."""
    spec = _kind(kind)
    text = str(name_or_path).strip()
    if not text:
        raise ConfigError(f"empty {spec.what} name, expected a path or one of {_known(kind)}")
    if is_explicit_path(text):
        path = Path(text).expanduser()
        if path.is_file():
            return path
        why = "is a folder" if path.is_dir() else "not found"
        raise ConfigError(f"{spec.what} {text!r} {why}, expected a {spec.ext} file")
    for folder in (Path.cwd() / kind, stock_dir(kind)):
        path = folder / f"{text}{spec.ext}"
        if path.is_file():
            return path
    raise ConfigError(f"unknown {spec.what} {text!r}, expected a path or one of {_known(kind)}")


def _known(kind: str) -> str:
    local = local_names(kind)
    names = local + [name for name in stock_names(kind) if name not in local]
    return ", ".join(names) or "none"
