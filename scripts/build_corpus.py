"""Build the synthetic-prompt corpus from the docstrings of Python's standard library.

``python scripts/build_corpus.py [OUT]`` (default ``agentload/data/corpus/stdlib_docstrings.txt``)
writes English prose, one paragraph a line: the docstrings of the modules in ``MODULES`` and of
their public classes, functions and methods, in that order. Doctest examples, indented code,
short fragments and paragraphs seen before are left out, so the text reads as prose. The output
depends only on the Python version that runs this script (the docstrings are the Python
Software Foundation's, under the PSF License; see agentload/data/corpus/README.md).
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
import warnings
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "agentload/data/corpus/stdlib_docstrings.txt"
TARGET_BYTES = 400_000
MODULES = (
    "abc argparse ast asyncio.events asyncio.locks asyncio.queues asyncio.streams asyncio.tasks "
    "base64 bisect calendar cmd codecs collections concurrent.futures configparser contextlib "
    "copy csv dataclasses datetime decimal difflib email.message email.parser enum fnmatch "
    "fractions ftplib functools getopt gettext glob gzip hashlib heapq hmac html.parser "
    "http.client http.cookiejar http.server imaplib inspect io ipaddress itertools json "
    "logging logging.handlers mailbox mimetypes multiprocessing.pool netrc numbers operator "
    "optparse os pathlib pdb pickle pkgutil platform poplib pprint profile pstats queue quopri "
    "random re reprlib sched secrets selectors shelve shlex shutil signal smtplib socket "
    "socketserver sqlite3 statistics string struct subprocess symtable sysconfig tabnanny "
    "tarfile tempfile textwrap threading timeit tokenize trace traceback turtle types typing "
    "unittest.case unittest.mock urllib.parse urllib.request uuid warnings wave weakref "
    "xml.dom.minidom xml.etree.ElementTree zipfile zipimport builtins math cmath time sys "
    "array select mmap zlib binascii unicodedata codeop compileall dis filecmp fileinput "
    "graphlib keyword linecache locale modulefinder pydoc py_compile runpy site stat "
    "telnetlib xdrlib zoneinfo contextvars errno faulthandler gc marshal resource"
).split()
_PROSE = re.compile(r"^[A-Z][^\n]*[a-z][.:]$")


def _docstrings(module_name: str) -> list[str]:
    try:
        module = importlib.import_module(module_name)
    except Exception:  # a module this platform lacks (turtle without tkinter): skip it
        return []
    found = [inspect.getdoc(module) or ""]
    for name, member in sorted(vars(module).items()):
        if name.startswith("_") or _home(member) != _home(module):
            continue
        if inspect.isclass(member):
            found.append(inspect.getdoc(member) or "")
            for attr, method in sorted(vars(member).items()):
                if not attr.startswith("_") and callable(method):
                    found.append(inspect.getdoc(method) or "")
        elif inspect.isfunction(member) or inspect.isbuiltin(member):
            found.append(inspect.getdoc(member) or "")
    return found


def _home(thing: object) -> str:
    """A module's name, or a member's module, without a leading underscore (``_socket``'s
    members belong to ``socket``)."""
    name = thing.__name__ if inspect.ismodule(thing) else getattr(thing, "__module__", None)
    return str(name or "").lstrip("_")


def _paragraphs(doc: str) -> list[str]:
    kept = []
    for block in re.split(r"\n\s*\n", doc):
        lines = block.splitlines()
        if any(line.startswith((" ", "\t", ">>>", "...")) for line in lines):
            continue  # code, a doctest or an indented table
        text = " ".join(line.strip() for line in lines)
        words = text.split()
        letters = sum(ch.isalpha() or ch.isspace() for ch in text)
        if len(words) >= 12 and letters >= 0.85 * len(text) and _PROSE.match(text):
            kept.append(text)
    return kept


def build() -> str:
    """The corpus text: prose paragraphs, one a line, at most ``TARGET_BYTES`` long."""
    warnings.simplefilter("ignore", DeprecationWarning)  # telnetlib, xdrlib: still documented
    seen: set[str] = set()
    lines: list[str] = []
    size = 0
    for module_name in MODULES:
        for doc in _docstrings(module_name):
            for paragraph in _paragraphs(doc):
                if paragraph in seen:
                    continue
                seen.add(paragraph)
                lines.append(paragraph)
                size += len(paragraph.encode()) + 1
                if size >= TARGET_BYTES:
                    return "\n".join(lines) + "\n"
    return "\n".join(lines) + "\n"


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    text = build()
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}: {len(text.encode())} bytes, {len(text.split())} words")  # noqa: T201


if __name__ == "__main__":
    main()
