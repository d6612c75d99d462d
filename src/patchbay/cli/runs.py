"""``patchbay runs list|show``: what ran, how it ended, and why."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from patchbay.cli._common import ConfigOption, EnvOption, console, err_console, load, user_errors
from patchbay.cli.run import run_store_for
from patchbay.intake.admin_ops import feedback_links
from patchbay.ops.advice import advice_of_record
from patchbay.pipeline.build import build_runtime
from patchbay.runs.durable import DurableEngine

app = typer.Typer(help="Inspect run records.", no_args_is_help=False, invoke_without_command=True)


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


@app.callback()
def _default(ctx: typer.Context) -> None:
    """Inspect run records (default: list)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_runs)


@app.command("list")
def list_runs(
    config: ConfigOption = None,
    env: EnvOption = None,
    status: Annotated[
        str | None,
        typer.Option(
            help="Only runs with this status (queued, running, succeeded, fallback, skipped, failed)."
        ),
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Shortcut for --status failed.")] = False,
    integration: Annotated[str | None, typer.Option(help="Only this integration.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """List runs, newest first."""
    project = load(config, env)
    store = run_store_for(project)
    rows = store.list(integration=integration, status="failed" if failed else status, limit=limit)
    store.close()
    if as_json:
        for row in rows:
            row.pop("event", None)
            row.pop("state", None)
            typer.echo(json.dumps(row, default=_json_default))
        return
    table = Table("run id", "integration", "status", "received", "ms", "model", "tokens", "write", "error")
    for row in rows:
        tokens = f"{row['tokens_in'] or 0}/{row['tokens_out'] or 0}" if row["tokens_in"] is not None else ""
        table.add_row(
            row["run_id"],
            row["integration"],
            row["status"],
            row["received_at"].strftime("%Y-%m-%d %H:%M:%S") if row["received_at"] else "",
            f"{row['duration_ms']:.0f}" if row["duration_ms"] is not None else "",
            row["provider"] or "",
            tokens,
            row["write_status"] or "",
            (row["error"] or "")[:60],
        )
    console.print(table)
    if not rows:
        console.print("no runs recorded yet: try 'patchbay run INTEGRATION --event FILE'")


@app.command("show")
def show_run(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    config: ConfigOption = None,
    env: EnvOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
) -> None:
    """Show one run: status, timings, the sanitized input, the prompt, the answer and the write."""
    project = load(config, env)
    store = run_store_for(project)
    row = store.get(run_id)
    store.close()
    if row is None:
        err_console.print(f"[bold red]error:[/] no run {run_id!r}; list them with 'patchbay runs list'")
        raise typer.Exit(1)
    row.pop("event", None)  # the original event may hold personal data; runs show prints the sanitized view
    advice = advice_of_record(row)
    if advice:
        row["advice"] = advice
    if as_json:
        typer.echo(json.dumps(row, default=_json_default, indent=2))
        return
    state = row.pop("state") or {}
    for key in (
        "run_id",
        "integration",
        "delivery_id",
        "environment",
        "status",
        "received_at",
        "finished_at",
        "duration_ms",
        "provider",
        "model",
        "tokens_in",
        "tokens_out",
        "cost_usd",
        "fallback_used",
        "write_status",
        "error_step",
        "error_code",
        "error",
        "advice",
    ):
        if row.get(key) is not None:
            console.print(f"[bold]{key}[/]: {_json_default(row[key])}", highlight=False)
    links = feedback_links(project, str(row["run_id"]))
    console.print(
        f"[bold]feedback links[/]: useful {links['up']}  not useful {links['down']}",
        highlight=False,
        soft_wrap=True,
    )
    for key in (
        "timings_ms",
        "findings",
        "output_findings",
        "sanitized",
        "prompt",
        "answer",
        "output",
        "write",
    ):
        if state.get(key):
            value = state[key]
            text = value if isinstance(value, str) else json.dumps(value, indent=2)
            console.print(f"\n[bold]{key}[/]\n{text}", highlight=False)


@app.command("replay")
def replay_runs(
    run_id: Annotated[str | None, typer.Argument(help="Run id (or a unique prefix) to replay.")] = None,
    config: ConfigOption = None,
    env: EnvOption = None,
    from_step: Annotated[
        str | None,
        typer.Option(
            help="Re-run from this step, reusing earlier steps' outputs (default: the failed step)."
        ),
    ] = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="Replay every failed run not replayed yet.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Also replay a run that did not fail.")] = False,
    integration: Annotated[str | None, typer.Option(help="With --all-failed: only this integration.")] = None,
) -> None:
    """Replay failed runs: each replay is a new run linked to the old one; a worker executes it."""
    if (run_id is None) == (not all_failed):
        err_console.print("[bold red]error:[/] give a RUN_ID, or --all-failed [--integration NAME]")
        raise typer.Exit(2)
    project = load(config, env)
    with user_errors():
        runtime = build_runtime(project)
        store = run_store_for(project)
        engine = DurableEngine(runtime, store, role="intake")
        engine.launch(heartbeat=False)
        try:
            if run_id is not None:
                row = store.get(run_id)
                if row is None:
                    err_console.print(
                        f"[bold red]error:[/] no run {run_id!r}; list them with 'patchbay runs list'"
                    )
                    raise typer.Exit(1)
                targets = [row["run_id"]]
            else:
                targets = [r["run_id"] for r in store.replayable_failures(integration=integration)]
            if not targets:
                console.print("no failed runs to replay")
            for old in targets:
                new = engine.replay(old, from_step=from_step, force=force)
                console.print(f"replaying {old} as {new}", highlight=False)
        finally:
            engine.shutdown()
            store.close()
