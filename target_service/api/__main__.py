"""`python -m target_service.api [--host 127.0.0.1] [--port 8000]`: the agent API on uvicorn."""

from __future__ import annotations

import argparse
import sys

import uvicorn
from pydantic import ValidationError

from target_service.api.app import create_app
from target_service.api.settings import AgentSettings


def _settings_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "settings"
    message = str(first["msg"]).removeprefix("Value error, ")
    value = first.get("input")
    got = f" (got {value!r})" if first["loc"] and isinstance(value, str | int | float) else ""
    return f"target_service.api: invalid AGENT_{field.upper()}: {message}{got}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m target_service.api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    try:
        settings = AgentSettings()
    except ValidationError as exc:
        print(_settings_error(exc), file=sys.stderr)  # noqa: T201
        return 2
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
