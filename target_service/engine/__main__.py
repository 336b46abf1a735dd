"""`python -m target_service.engine --host H --port P`: serve the simulated engine with uvicorn."""

from __future__ import annotations

import argparse
import logging
from typing import NoReturn

import uvicorn
from pydantic import ValidationError

from target_service.engine.app import create_app
from target_service.engine.settings import EngineSettings

EXIT_USAGE = 2
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected 1-65535")
    return int(text)


def settings_error(exc: ValidationError, prefix: str) -> str:
    """One line naming the first bad setting, its value (never a secret's), and what is wanted."""
    first = exc.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    if not first["loc"]:
        return f"bad settings: {message}"
    name = prefix + "_".join(str(part) for part in first["loc"]).upper()
    shown = "" if "KEY" in name else f"={first.get('input')!r}"
    return f"bad setting {name}{shown}: {message}"


def main(argv: list[str] | None = None) -> None:
    parser = _Parser(prog="python -m target_service.engine", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_port, default=8001)
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="warning")
    args = parser.parse_args(argv)
    try:
        settings = EngineSettings()
    except ValidationError as exc:
        parser.exit(EXIT_USAGE, f"{parser.prog}: {settings_error(exc, 'ENGINE_')}\n")
    logging.basicConfig(level=args.log_level.upper(), format="engine: %(message)s")
    logging.getLogger(__name__).info(
        "capacity %.2f req/s (%d slots, %.0f ms TTFT, %d tokens at %.0f tokens/s)",
        settings.capacity_rps,
        settings.slots,
        settings.ttft_ms,
        settings.output_tokens,
        settings.tokens_per_s,
    )
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=3,
    )


if __name__ == "__main__":
    main()
