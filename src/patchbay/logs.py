"""Structured logging: human-readable in dev, JSON lines in stage/prod.

Events are named ``area.event_happened`` (``run.step_failed``, ``intake.delivery_accepted``); ids
bound with ``structlog.contextvars`` (request, run, integration) appear on every line. Ticket text and
secrets are never logged: log counts, codes and ids.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of each log line, not at configuration time.

    A logger bound to the stream object of the moment breaks once that stream is replaced and closed
    (test runners capture stderr, daemons redirect it).
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(environment: str = "dev", *, json: bool | None = None, level: str = "INFO") -> None:
    """Set up structlog and the stdlib root logger once per process."""
    use_json = json if json is not None else environment in {"stage", "prod"}
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    numeric = logging.getLevelName(level.upper())

    def add_environment(
        _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event.setdefault("environment", environment)
        return event

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_environment,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric if isinstance(numeric, int) else 20),
        # WriteLogger: one write per line (print() writes the text and the newline apart: two
        # system calls per line on an unbuffered stderr, eight lines per run).
        logger_factory=structlog.WriteLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
