"""The research corpus: docstrings of a fixed list of standard-library modules.

One passage per module, public function, class and public method, with a source id
(`module.function`, `module.Class.method`), a title (the signature or first docstring line)
and the docstring text. Building walks the modules with `inspect` (about a second); the result
is cached as JSON keyed by the Python version and the module list, so later start-ups only read it.

    load_corpus(cache_dir) -> list[Passage]     build or read the cache
    build_corpus() -> list[Passage]             walk the modules (no cache)
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

CORPUS_VERSION = 1

MODULES: tuple[str, ...] = (
    "abc",
    "argparse",
    "array",
    "ast",
    "asyncio",
    "base64",
    "bisect",
    "calendar",
    "cmath",
    "collections",
    "concurrent.futures",
    "configparser",
    "contextlib",
    "copy",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "email.message",
    "enum",
    "fileinput",
    "fnmatch",
    "fractions",
    "functools",
    "gettext",
    "glob",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "http.client",
    "imaplib",
    "importlib",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "locale",
    "logging",
    "lzma",
    "math",
    "mimetypes",
    "multiprocessing",
    "operator",
    "os",
    "os.path",
    "pathlib",
    "pickle",
    "pkgutil",
    "platform",
    "pprint",
    "queue",
    "random",
    "re",
    "sched",
    "secrets",
    "selectors",
    "shelve",
    "shlex",
    "shutil",
    "signal",
    "smtplib",
    "socket",
    "sqlite3",
    "ssl",
    "statistics",
    "string",
    "struct",
    "subprocess",
    "sys",
    "tarfile",
    "tempfile",
    "textwrap",
    "threading",
    "time",
    "timeit",
    "tokenize",
    "traceback",
    "typing",
    "unicodedata",
    "unittest",
    "urllib.parse",
    "urllib.request",
    "uuid",
    "warnings",
    "weakref",
    "xml.etree.ElementTree",
    "zipfile",
    "zlib",
)

_MAX_TEXT = 1500
_MIN_DOC = 20


@dataclass(frozen=True)
class Passage:
    """One retrievable docstring."""

    source: str
    title: str
    text: str


def build_corpus(modules: tuple[str, ...] = MODULES) -> list[Passage]:
    """Walk `modules` and return one passage per documented public object, sorted by source."""
    seen: dict[str, Passage] = {}
    with warnings.catch_warnings():  # touching deprecated attributes (typing.io, ...) warns
        warnings.simplefilter("ignore")
        for name in modules:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            for passage in _module_passages(name, module):
                seen.setdefault(passage.source, passage)
    return sorted(seen.values(), key=lambda p: p.source)


def load_corpus(cache_dir: Path | None = None, modules: tuple[str, ...] = MODULES) -> list[Passage]:
    """Read the cached corpus for this Python and module list, building and caching it if absent."""
    path = cache_path(cache_dir, modules)
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Passage(**item) for item in data["passages"]]
    passages = build_corpus(modules)
    with contextlib.suppress(OSError):
        _write_atomic(path, {"passages": [asdict(p) for p in passages]})
    return passages


def cache_path(cache_dir: Path | None = None, modules: tuple[str, ...] = MODULES) -> Path:
    """Where the corpus for this interpreter and module list is cached."""
    if cache_dir is None:
        xdg = os.environ.get("XDG_CACHE_HOME")
        cache_dir = (Path(xdg) if xdg else Path.home() / ".cache") / "agentload"
    version = "{}.{}.{}".format(*sys.version_info[:3])
    digest = hashlib.sha256(f"{CORPUS_VERSION}:{','.join(modules)}".encode()).hexdigest()[:12]
    return cache_dir / f"research-corpus-py{version}-{digest}.json"


def _module_passages(name: str, module: ModuleType) -> Iterator[Passage]:
    doc = inspect.getdoc(module)
    if doc and len(doc) >= _MIN_DOC:
        yield Passage(name, _first_line(doc) or name, doc[:_MAX_TEXT])
    for attr, obj in _public_members(module):
        if not _defined_in(obj, name, module.__name__):
            continue
        if inspect.isclass(obj):
            yield from _object_passage(f"{name}.{attr}", attr, obj)
            for meth_name, meth in _public_members(obj):
                if inspect.isroutine(meth):
                    yield from _object_passage(f"{name}.{attr}.{meth_name}", meth_name, meth)
        elif inspect.isroutine(obj):
            yield from _object_passage(f"{name}.{attr}", attr, obj)


def _defined_in(obj: object, name: str, real_name: str) -> bool:
    """Whether `obj` belongs to the module (not re-exported from elsewhere)."""
    owner = getattr(obj, "__module__", None)
    if not isinstance(owner, str):
        return True
    base = real_name.rsplit(".", 1)[-1]
    return owner in (name, real_name, f"_{base}") or owner.startswith((f"{name}.", f"{real_name}."))


def _public_members(obj: object) -> Iterator[tuple[str, object]]:
    for attr in sorted(vars(obj)):
        if attr.startswith("_"):
            continue
        with contextlib.suppress(AttributeError):
            yield attr, getattr(obj, attr)


def _object_passage(source: str, attr: str, obj: object) -> Iterator[Passage]:
    try:
        doc = inspect.getdoc(obj)
    except Exception:  # objects of foreign modules may raise anything from __doc__
        return
    if not doc or len(doc) < _MIN_DOC:
        return
    yield Passage(source, _signature(attr, obj) or _first_line(doc), doc[:_MAX_TEXT])


def _signature(attr: str, obj: object) -> str:
    try:
        return f"{attr}{inspect.signature(obj)}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


def _first_line(doc: str) -> str:
    return doc.strip().splitlines()[0][:200] if doc.strip() else ""


def _write_atomic(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
