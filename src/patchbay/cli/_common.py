"""Shared CLI plumbing: loading the project and turning errors into readable messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from patchbay.config.loader import LoadedProject, load_project
from patchbay.errors import ConfigError, PatchbayError

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Project file or folder (default: patchbay.yaml here or above)."),
]
EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env", "-e", help="Environment overlay: dev, stage (staging) or prod. Default: $ENVIRONMENT or dev."
    ),
]

T = TypeVar("T")


def print_config_error(exc: ConfigError) -> None:
    """Print every config issue: file:line: field: message (allowed: ...)."""
    err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
    for issue in exc.issues:
        err_console.print(f"  [red]-[/] {issue}", highlight=False, soft_wrap=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn Patchbay errors into a message and exit code 2 (config) or 1 (other); no tracebacks."""
    try:
        yield
    except ConfigError as exc:
        print_config_error(exc)
        raise typer.Exit(2) from None
    except PatchbayError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def load(config: Path | None, env: str | None) -> LoadedProject:
    """Load the project or exit with a readable config error."""
    with user_errors():
        return load_project(config, environment=env)


def guarded(fn: Callable[..., T]) -> Callable[..., T]:
    """Decorator form of :func:`user_errors` for command functions."""

    def wrapper(*args: Any, **kwargs: Any) -> T:
        with user_errors():
            return fn(*args, **kwargs)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper
