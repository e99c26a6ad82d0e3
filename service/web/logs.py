"""One log format for every process: a JSON object per line, with credentials redacted.

The API, the launcher, the job consumer and its workers (and huey inside them) all log
through the root logger configured here, so an operator's log pipeline parses one shape:
``{"time", "level", "logger", "message", ...extra fields}``; a traceback is the
``exc_info`` field of its line, never lines of its own.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from service.redaction import redact

__all__ = ["RedactingFilter", "configure_logging", "json_formatter"]

_FIELDS = "%(levelname)s %(name)s %(message)s"
_RENAMED = {"levelname": "level", "name": "logger"}


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and traceback) so that no URL password survives."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class _Formatter(JsonFormatter):
    """JSON lines; a pre-rendered traceback (``exc_text``) becomes the ``exc_info`` field."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        if record.exc_text and "exc_info" not in log_data:
            log_data["exc_info"] = record.exc_text


def json_formatter() -> logging.Formatter:
    """The formatter of every log line: one JSON object, extra fields included."""
    return _Formatter(_FIELDS, rename_fields=_RENAMED, timestamp="time")


def configure_logging(level: str) -> None:
    """Route every logger of this process to stderr as redacted JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter())
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # uvicorn configures its own loggers with plain-text handlers: hand them to the root.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "huey", "huey.consumer"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
