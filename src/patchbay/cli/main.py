"""The root ``patchbay`` command."""

from __future__ import annotations

from typing import Annotated

import typer

from patchbay import __version__, registry
from patchbay.cli import config_cmd, flags, keys, runs
from patchbay.cli._common import console
from patchbay.cli.doctor import doctor
from patchbay.cli.init import init
from patchbay.cli.report import report
from patchbay.cli.run import run
from patchbay.cli.sanitize import sanitize
from patchbay.cli.serve import serve, worker

app = typer.Typer(
    help="Patchbay: webhook in, sanitized prompt, model, verified write-back.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(init)
app.command()(run)
app.command()(serve)
app.command()(sanitize)
app.command()(worker)
app.command()(doctor)
app.command()(report)
app.add_typer(runs.app, name="runs")
app.add_typer(flags.app, name="flags")
app.add_typer(config_cmd.app, name="config")
app.add_typer(keys.app, name="keys")


@app.command()
def components(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the configuration reference.")] = False,
) -> None:
    """List the registered components: steps, providers, targets and sources."""
    if markdown:
        from patchbay.docgen import reference_markdown

        typer.echo(reference_markdown(), nl=False)
        return
    for kind in ("step", "provider", "target", "source"):
        console.print(f"[bold]{kind}s[/]: {', '.join(registry.names(kind))}", highlight=False)


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
