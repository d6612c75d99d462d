"""``patchbay report``: the pilot evaluation (md, html with charts, or json), with a recommendation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patchbay.cli._common import ConfigOption, EnvOption, console, err_console, load
from patchbay.cli.run import run_store_for
from patchbay.ops.report import Thresholds, build_report, parse_since, render

_DEFAULTS = Thresholds()


def report(
    config: ConfigOption = None,
    env: EnvOption = None,
    integration: Annotated[str | None, typer.Option(help="Only this integration (default: all).")] = None,
    since: Annotated[
        str, typer.Option(help="Window start: a duration back from now (7d, 24h, 90m, 2w) or an ISO date.")
    ] = "7d",
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="md (default), html (self-contained, with charts) or json.")
    ] = "md",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    max_p95: Annotated[float, typer.Option(help="Ready only if p95 latency (s) is at most this.")] = (
        _DEFAULTS.max_p95_s
    ),
    max_cost: Annotated[float, typer.Option(help="Ready only if cost per ticket (USD) is at most this.")] = (
        _DEFAULTS.max_cost_per_ticket
    ),
    min_useful: Annotated[float, typer.Option(help="Ready only if this share of ratings is useful.")] = (
        _DEFAULTS.min_useful
    ),
    max_failure_rate: Annotated[
        float, typer.Option(help="Ready only if failed/finished is at most this.")
    ] = (_DEFAULTS.max_failure_rate),
    max_fallback_rate: Annotated[
        float, typer.Option(help="Ready only if fallback/finished is at most this.")
    ] = _DEFAULTS.max_fallback_rate,
    min_runs: Annotated[int, typer.Option(help="Ready only with at least this many finished runs.")] = (
        _DEFAULTS.min_runs
    ),
    min_ratings: Annotated[int, typer.Option(help="Ready only with at least this many ratings.")] = (
        _DEFAULTS.min_ratings
    ),
) -> None:
    """The pilot report: volume, rates, latency percentiles, tokens, cost, feedback, top errors, verdict."""
    if fmt not in ("md", "html", "json"):
        err_console.print(f"[bold red]error:[/] --format {fmt!r}: use md, html or json")
        raise typer.Exit(2)
    try:
        start = parse_since(since)
    except ValueError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    project = load(config, env)
    if integration is not None and integration not in project.integrations:
        known = ", ".join(sorted(project.integrations)) or "none"
        err_console.print(f"[bold red]error:[/] no integration {integration!r} (known: {known})")
        raise typer.Exit(2)
    limits = Thresholds(
        max_p95_s=max_p95,
        max_cost_per_ticket=max_cost,
        min_useful=min_useful,
        max_failure_rate=max_failure_rate,
        max_fallback_rate=max_fallback_rate,
        min_runs=min_runs,
        min_ratings=min_ratings,
    )
    store = run_store_for(project)
    try:
        data = build_report(store.engine, since=start, integration=integration, thresholds=limits)
    finally:
        store.close()
    text = render(data, fmt)  # type: ignore[arg-type]
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote {output} ({fmt}): {data['recommendation']['line']}", highlight=False)
