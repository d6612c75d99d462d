"""``patchbay doctor``: a table of findings with the fix for each; the exit code is the worst one."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.table import Table

from patchbay.cli._common import ConfigOption, EnvOption, console
from patchbay.ops.doctor import diagnose, exit_code, worst

_STYLE = {"ok": "green", "skip": "dim", "warn": "yellow", "fail": "bold red"}


def doctor(
    config: ConfigOption = None,
    env: EnvOption = None,
    integration: Annotated[
        str | None, typer.Option(help="Check only what this integration uses (its providers and target).")
    ] = None,
    issue: Annotated[
        str | None,
        typer.Option(help="An issue key (e.g. SUP-1): check the target account can edit the field on it."),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=0.1, max=120, help="Seconds each remote check may take at most.")
    ] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Check config, secrets, providers, targets, clock skew and databases, with a fix for each problem.

    Exit code: 0 when every check is ok, 1 when one warns, 2 when one fails.
    """
    findings = asyncio.run(
        diagnose(config, environment=env, integration=integration, issue=issue, timeout_s=timeout)
    )
    code = exit_code(findings)
    if as_json:
        payload = {"status": worst(findings), "exit_code": code, "findings": [f.as_dict() for f in findings]}
        typer.echo(json.dumps(payload, indent=2))
        raise typer.Exit(code)
    table = Table(show_lines=False)
    for column in ("check", "status", "finding", "fix"):
        table.add_column(column, overflow="fold")
    for item in findings:
        style = _STYLE[item.status]
        table.add_row(item.check, f"[{style}]{item.status}[/]", item.finding, item.fix)
    console.print(table)
    counts = {s: sum(1 for f in findings if f.status == s) for s in ("ok", "warn", "fail", "skip")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    console.print(f"[{_STYLE[worst(findings)]}]{worst(findings)}[/]: {summary} (exit code {code})")
    raise typer.Exit(code)
