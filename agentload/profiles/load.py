"""Finding and loading a phase profile: a name or a path to a validated ``Profile``.

A profile is found with :func:`agentload.stock.lookup.find`: a path as given, else
``./profiles/<name>.toml``, else the stock ``profiles/<name>.toml``. Its
``scenario_config`` is a name or a path, resolved by :func:`scenario_config_path`: a path relative
to the profile's folder (then the current folder); a name (``smoke``) in the ``scenarios/`` folder
beside the profile's folder (``../scenarios/smoke.toml``, where the stock profiles find theirs),
then the lookup (``./scenarios/``, the package's).

API: ``load_profile(name_or_path, overrides=None) -> Profile`` (ConfigError naming file and field;
the overrides are applied by :func:`agentload.profiles.overrides.apply_overrides`),
``profile_from_dict(data, source=..., overrides=None)``, ``profile_path(name_or_path)``,
``scenario_config_path(profile)``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentload.errors import ConfigError
from agentload.profiles.model import Profile
from agentload.profiles.overrides import apply_overrides
from agentload.stock.lookup import find, is_explicit_path


def profile_path(name_or_path: str | Path) -> Path:
    """``smoke`` -> ``./profiles/smoke.toml`` or the stock one; a path (``x/y.toml``) as given."""
    return find("profiles", name_or_path)


def scenario_config_path(profile: Profile) -> Path:
    """The absolute path of the profile's ``scenario_config`` (see the module docstring);
    ConfigError naming the profile and the field when it is nowhere."""
    value, owner = profile.scenario_config, profile.source or "profile"
    source = Path(profile.source) if profile.source else None
    here = source.resolve().parent if source is not None and source.is_file() else None
    given = Path(value).expanduser()
    if given.is_absolute():
        candidates = [given]
    elif is_explicit_path(value):
        candidates = [base / given for base in (here, Path.cwd()) if base is not None]
    else:
        beside = [here.parent / "scenarios" / f"{value}.toml"] if here is not None else []
        for path in beside:
            if path.is_file():
                return path.resolve()
        try:
            return find("scenarios", value).resolve()
        except ConfigError as exc:
            raise ConfigError(f"{owner}: field 'scenario_config': {exc}") from None
    for path in candidates:
        if path.is_file():
            return path.resolve()
    tried = " or ".join(str(path) for path in candidates)
    raise ConfigError(
        f"{owner}: field 'scenario_config': {value!r} not found ({tried}), expected a scenario "
        'config name such as "smoke" or a path relative to the profile\'s folder'
    )


def load_profile(name_or_path: str | Path, overrides: Mapping[str, Any] | None = None) -> Profile:
    """Load a phase profile and apply CLI overrides; ConfigError names the file and the field."""
    path = profile_path(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read profile {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text, expected a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {_one_line(str(exc))}") from None
    return profile_from_dict(data, source=str(path), overrides=overrides)


def profile_from_dict(
    data: Mapping[str, Any], *, source: str, overrides: Mapping[str, Any] | None = None
) -> Profile:
    """Validate a profile mapping (as read from TOML) and apply overrides."""
    data = dict(data)
    data.setdefault("phase", Path(source).stem)
    try:
        profile = Profile.model_validate({**data, "source": source})
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(_describe(source, exc)) from None
    return apply_overrides(profile, overrides or {})


def _describe(source: str, exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    field = ".".join(str(p) for p in err["loc"]) or "(top level)"
    message = _one_line(str(err["msg"])).removeprefix("Value error, ")
    if err["type"] == "missing":
        return f"{source}: field {field!r} is missing"
    if err["type"] == "extra_forbidden":
        return f"{source}: unknown field {field!r}"
    if err["type"] == "value_error" and "gate " in message:
        return f"{source}: field {field!r}: {message}"
    shown = _one_line(repr(err.get("input")))
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return f"{source}: field {field!r}: got {shown}, {message}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
