"""`python -m target_service [--host 127.0.0.1] [--port 8000] [--engine-port 8001]`.

Starts the simulated engine and the agent API as two child processes and stops both on
Ctrl-C/SIGTERM. With `AGENT_ENGINE_URL` set, the API talks to that server and no engine starts.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from target_service.supervisor import Supervisor, SupervisorConfig

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """Bad options end with one line and exit code 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected an integer 1-65535")
    return int(text)


def parse_config(argv: list[str] | None = None) -> SupervisorConfig:
    """The supervisor's config from the command line."""
    parser = _Parser(
        prog="python -m target_service", description="Run the agent API and the simulated engine."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface of both children")
    parser.add_argument("--port", type=_port, default=8000, help="agent API port")
    parser.add_argument("--engine-port", type=_port, default=8001, help="engine port")
    args = parser.parse_args(argv)
    if args.port == args.engine_port:
        parser.error(f"--port and --engine-port must differ (both {args.port})")
    return SupervisorConfig(host=args.host, port=args.port, engine_port=args.engine_port)


def main(argv: list[str] | None = None) -> int:
    return Supervisor(parse_config(argv)).run()


if __name__ == "__main__":
    sys.exit(main())
