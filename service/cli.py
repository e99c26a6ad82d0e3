"""The ``rnnlab`` command: ``serve`` the API, run a job ``worker``, write the ``openapi`` schema."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from service import __version__
from service.config import Settings
from service.web.logs import configure_logging

__all__ = ["main", "serve", "worker", "write_openapi"]


class SettingsError(Exception):
    """A ``RNNLAB_*`` variable holds a value the service cannot use."""


def load_settings() -> Settings:
    """The settings from the environment; SettingsError naming each bad variable.

    The message never repeats the value (it may be a URL with a password).
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = [
            f"RNNLAB_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        ]
        raise SettingsError("; ".join(problems)) from None


def serve(host: str | None, port: int | None) -> int:
    """The API and its embedded job workers until SIGINT/SIGTERM (``service.launcher``)."""
    from service.launcher import serve as launch

    settings = load_settings()
    configure_logging(settings.log_level)
    return launch(settings, host or settings.host, settings.port if port is None else port)


def worker(workers: int | None, parent_pid: int | None) -> int:
    """Job worker processes only (distributed setup), until SIGINT/SIGTERM."""
    from service.jobs.worker.consumer import run_consumer

    settings = load_settings()
    configure_logging(settings.log_level)
    run_consumer(settings, settings.workers if workers is None else workers, parent_pid=parent_pid)
    return 0


def write_openapi(output: Path | None) -> None:
    """The schema the app serves, stable byte for byte (sorted keys, trailing newline)."""
    from service.app import create_app

    text = json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def _settings_epilog() -> str:
    """Every RNNLAB_ setting with its default, for --help."""
    lines = ["settings (environment variables, see the README's tables):"]
    for name, field in Settings.model_fields.items():
        value = field.get_default(call_default_factory=True)
        if isinstance(value, list):
            value = ",".join(value)
        default = "(unset)" if value is None else value
        lines.append(f"  RNNLAB_{name.upper()}={default}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnlab",
        description="rnnlab: the minimal linear RNN of the tutorial, over HTTP.",
    )
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser(
        "serve",
        help="run the API and its embedded job workers",
        description=(
            "Run the whole product on this machine: the HTTP API, and a job consumer with "
            "RNNLAB_EMBEDDED_WORKERS worker processes (0: the API alone, a replica of the "
            "distributed setup). Stops cleanly on SIGINT or SIGTERM; running jobs go back "
            "to the queue."
        ),
        epilog=_settings_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve_cmd.add_argument("--host", help="address to bind (default: RNNLAB_HOST or 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, help="port (default: RNNLAB_PORT or 8000)")
    worker_cmd = commands.add_parser(
        "worker",
        help="run job workers only (distributed setup)",
        description="Job worker processes for the queue of RNNLAB_QUEUE_URL, until a signal.",
        epilog=_settings_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    worker_cmd.add_argument(
        "--workers", type=_positive, help="worker processes, >= 1 (default: RNNLAB_WORKERS or 2)"
    )
    worker_cmd.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)  # set by serve
    openapi_cmd = commands.add_parser("openapi", help="write the OpenAPI schema the app serves")
    openapi_cmd.add_argument("--output", type=Path, help="file to write (default: stdout)")
    return parser


def _positive(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; exit 2 with one line for a bad setting."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args.host, args.port)
        if args.command == "worker":
            return worker(args.workers, args.parent_pid)
        if args.command == "openapi":
            write_openapi(args.output)
    except SettingsError as exc:
        sys.stderr.write(f"rnnlab: invalid settings: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":  # ``python -m service.cli``: how ``serve`` starts its consumer
    sys.exit(main())
