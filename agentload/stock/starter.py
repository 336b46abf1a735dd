"""``agentload init [DIR]``: an editable starter, copied from the stock files with comments.

``starter_files() -> list[StarterFile]`` says what would be written (pure: it reads the package's
stock files); ``write_starter(folder, force=False) -> list[Path]`` writes them under ``folder``
and refuses, before writing anything, when one exists (ConfigError naming it, exit 2) unless
``force``; ``next_commands(folder)`` are the commands to run next.

The starter, each file runnable as written against the embedded target:

- ``apis/my-api.toml``: the stock ``agent-v1`` description, with how to adapt it;
- ``scenarios/my-scenarios.toml``: the stock smoke scenario config;
- ``profiles/my-smoke.toml``: the stock smoke profile, pointing at ``my-scenarios.toml``;
- ``locustfiles/my_locustfile.py``: a user's own Locust users that record an agent outcome.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from agentload.errors import ConfigError
from agentload.stock.lookup import PACKAGE_DATA, stock_dir, stock_names

DEFAULT_API = "agent-v1"
API_FILE = PurePosixPath("apis/my-api.toml")
SCENARIOS_FILE = PurePosixPath("scenarios/my-scenarios.toml")
PROFILE_FILE = PurePosixPath("profiles/my-smoke.toml")
LOCUSTFILE = PurePosixPath("locustfiles/my_locustfile.py")

_API_HEADER = """\
# {name}: a description of YOUR API, started as a copy of the stock "{stock}" description.
# As written it describes {stock}, so a run passes before you change anything. To adapt it:
#   - [auth]: kind = "bearer", "header" (with header = "x-api-key") or "none"; env = the
#     environment variable holding the secret (read at run time, never written in this file).
#   - [readiness]: a path that answers `status` once your API is up ("" waits for a TCP connect).
#   - [scenarios.NAME]: one table per kind of call your users make (free names: outcomes and
#     gates follow them): method, path, body ({{field}} comes from the dataset's rows and vars),
#     dataset (a name in ./datasets/ or the stock ones, or a path relative to this file),
#     response, stream, job, and [[scenarios.NAME.success]] checks on the answer.
#   - [phases.PHASE]: which scenarios each phase runs, their weights, and gates of your own.
# Run it from the starter's folder (without --host, against agentload's embedded demo target):
#   agentload run {profile} --api {api} --host http://127.0.0.1:8000

"""

_SCENARIOS_HEADER = """\
# {name}: your scenario config, a copy of the stock "smoke" one. It changes the description's
# scenarios for a run (the same keys as [phases.PHASE] in a description: weights, think_time,
# vars, stream_share, timeout_s, deadline_s, gates) and sets the seed. Used by {profile}.

"""

_PROFILE_HEADER = """\
# {name}: your smoke profile, a copy of the stock "smoke" one: users, duration, gates, and
# the scenario config it uses (scenario_config below: ../{scenarios}, relative to this file).
# Run it from the starter's folder:
#   agentload run {profile} --api {api}
#   agentload run {profile} --locustfile {locustfile}

"""


@dataclass(frozen=True)
class StarterFile:
    """One file of the starter: its path relative to the starter's folder, and its text."""

    path: PurePosixPath
    text: str


def _stock(kind: str, name: str) -> str:
    """A shipped file's text; ``starter`` is the package's own folder of starter-only files."""
    folder = PACKAGE_DATA / kind if kind == "starter" else stock_dir(kind)
    return (folder / name).read_text(encoding="utf-8")


def _replace_line(text: str, key: str, line: str, *, source: str) -> str:
    """Replace the one top-level ``key = ...`` line of a TOML text."""
    new, count = re.subn(rf"(?m)^{re.escape(key)} = .*$", lambda _: line, text, count=1)
    if count != 1:
        raise ConfigError(f"stock file {source}: no top-level {key!r} line to adapt")
    return new


def _stock_api() -> str:
    names = stock_names("apis")
    if not names:
        raise ConfigError(f"no stock API description in {stock_dir('apis')}")
    return DEFAULT_API if DEFAULT_API in names else names[0]


def starter_files() -> list[StarterFile]:
    """The starter's files (nothing is written)."""
    stock = _stock_api()
    names = {
        "api": str(API_FILE),
        "profile": str(PROFILE_FILE),
        "scenarios": str(SCENARIOS_FILE),
        "locustfile": str(LOCUSTFILE),
        "stock": stock,
    }
    api = _stock("apis", f"{stock}.toml")
    api = _replace_line(api, "name", f'name = "{API_FILE.stem}"', source=f"apis/{stock}.toml")
    scenarios = _stock("scenarios", "smoke.toml")
    profile = _stock("profiles", "smoke.toml")
    relative = PurePosixPath("..") / SCENARIOS_FILE
    profile = _replace_line(
        profile,
        "scenario_config",
        f'scenario_config = "{relative}"  # a path relative to this file, or a name',
        source="profiles/smoke.toml",
    )
    locustfile = _stock("starter", "my_locustfile.py")

    def header(template: str, path: PurePosixPath) -> str:
        return template.format(name=path.name, **names)

    return [
        StarterFile(API_FILE, header(_API_HEADER, API_FILE) + api),
        StarterFile(SCENARIOS_FILE, header(_SCENARIOS_HEADER, SCENARIOS_FILE) + scenarios),
        StarterFile(PROFILE_FILE, header(_PROFILE_HEADER, PROFILE_FILE) + profile),
        StarterFile(LOCUSTFILE, locustfile),
    ]


def write_starter(folder: Path, *, force: bool = False) -> list[Path]:
    """Write the starter under ``folder`` (created if missing); the paths written. Without
    ``force`` nothing is written when one of the files exists (ConfigError naming it)."""
    files = starter_files()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder}: not a folder, expected the folder to write the starter in")
    targets = [(folder / Path(f.path), f.text) for f in files]
    if not force:
        for path, _ in targets:
            if path.exists() or path.is_symlink():
                raise ConfigError(f"{_shown(path)} exists; use --force to overwrite the starter")
    written = []
    for path, text in targets:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {_shown(path)}: {exc.strerror or exc}") from None
        written.append(path)
    return written


def next_commands(folder: Path) -> list[str]:
    """What to run next, with paths as the user would type them from the current folder."""
    prefix = "" if _shown(folder) == "." else _shown(folder) + "/"
    profile = f"{prefix}{PROFILE_FILE}"
    return [
        f"agentload run {profile} --api {prefix}{API_FILE}",
        f"agentload run {profile} --locustfile {prefix}{LOCUSTFILE}",
    ]


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it is under it, else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd())) or "."
    except ValueError:
        return str(absolute)
