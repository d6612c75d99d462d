"""``patchbay sanitize FILE|-``: try the sanitizer on a text and see what it finds."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from patchbay.cli._common import err_console
from patchbay.sanitize import Sanitizer
from patchbay.sanitize.actions import ACTIONS, DEFAULT_ACTIONS, Action
from patchbay.sanitize.ner import NER_MISSING, load_ner
from patchbay.sanitize.spans import ENTITY_TYPES


def sanitize(
    source: Annotated[str, typer.Argument(help="A text file to sanitize, or '-' for standard input.")],
    region: Annotated[str, typer.Option("--region", help="Region for national phone numbers.")] = "US",
    action: Annotated[
        list[str] | None,
        typer.Option("--action", help="TYPE=ACTION, e.g. card=redact (repeatable); defaults as the step's."),
    ] = None,
    allow: Annotated[list[str] | None, typer.Option("--allow", help="A value to keep (repeatable).")] = None,
    ner: Annotated[
        bool, typer.Option("--ner", help="Also find names with NER (needs: pip install 'patchbay\\[ner]').")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print text and findings as JSON.")] = False,
) -> None:
    """Print the redacted text and a table of findings (counts per type, never the values)."""
    if source == "-":
        text = sys.stdin.read()
    else:
        path = Path(source)
        if not path.is_file():
            err_console.print(f"[bold red]error:[/] no file {source!r}; pass a text file or '-' for stdin")
            raise typer.Exit(2)
        text = path.read_text(encoding="utf-8", errors="replace")
    actions: dict[str, Action] = dict(DEFAULT_ACTIONS)
    for item in action or []:
        entity_type, _, chosen = item.partition("=")
        if entity_type not in ENTITY_TYPES or chosen not in ACTIONS:
            err_console.print(
                f"[bold red]error:[/] --action {item!r}: use TYPE=ACTION with TYPE one of "
                f"{', '.join(ENTITY_TYPES)} and ACTION one of {', '.join(ACTIONS)}"
            )
            raise typer.Exit(2)
        if chosen == "hash":
            err_console.print(
                "[bold red]error:[/] --action hash needs a tenant key; try it in a pipeline config"
            )
            raise typer.Exit(2)
        actions[entity_type] = chosen  # type: ignore[assignment]
    detector = None
    if ner:
        detector = load_ner()
        if detector is None:
            err_console.print(f"[yellow]note:[/] {NER_MISSING}")
    try:
        sanitizer = Sanitizer(phone_region=region.upper(), actions=actions, allow=allow or (), ner=detector)
    except ValueError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    result = sanitizer.sanitize_text(text)
    if as_json:
        typer.echo(json.dumps({"text": result.text, "findings": result.findings}, indent=2))
        return
    typer.echo(result.text, nl=not result.text.endswith("\n"))
    table = Table(title="findings", title_justify="left")
    table.add_column("type")
    table.add_column("count", justify="right")
    table.add_column("action")
    for entity_type, count in sorted(result.findings.items()):
        table.add_row(entity_type, str(count), sanitizer.policy.action(entity_type))
    if not result.findings:
        table.add_row("(none)", "0", "")
    err_console.print(table)
