"""``patchbay run INTEGRATION --event FILE``: run one event through an integration, in this process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from patchbay.cli._common import ConfigOption, EnvOption, console, err_console, load, user_errors
from patchbay.errors import PatchbayError
from patchbay.logs import configure_logging
from patchbay.pipeline.build import Integration, Runtime, build_runtime
from patchbay.pipeline.runner import StepFailure, final_status, run_inline
from patchbay.pipeline.state import RunState
from patchbay.runs.databases import resolve
from patchbay.runs.store import RunStore


def read_event(path: Path) -> dict[str, Any]:
    """The event JSON from a file (or stdin for '-'), or exit with where it is malformed."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        err_console.print(f"[bold red]error:[/] cannot read event file {path}: {exc.strerror}")
        raise typer.Exit(2) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        err_console.print(f"[bold red]error:[/] {path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}")
        raise typer.Exit(2) from None
    if not isinstance(data, dict):
        err_console.print(
            f"[bold red]error:[/] {path}: the event must be a JSON object, got {type(data).__name__}"
        )
        raise typer.Exit(2)
    return data


def run_store_for(project: Any, *, pre_ping: bool = True) -> RunStore:
    """The run-record store of a project: SQLite in the data folder, or PostgreSQL to scale out.

    ``pre_ping=False`` for workers: every store write of a run retries on a dead connection anyway.
    """
    return RunStore(
        resolve(project).runs_url,
        synchronous=project.config.storage.sqlite_synchronous,
        pre_ping=pre_ping,
        pool_size=project.config.storage.pool_size,
    )


def result_json(state: RunState, status: str, failure: StepFailure | None) -> dict[str, Any]:
    """The one JSON object `patchbay run --json` prints."""
    answer = state.answer
    return {
        "run_id": state.run_id,
        "integration": state.integration,
        "status": status,
        "summary": state.output,
        "error": None
        if failure is None
        else {"step": failure.step, "code": failure.code, "message": failure.message},
        "model": None
        if answer is None
        else {
            "provider": answer.provider,
            "model": answer.model,
            "tokens_in": answer.tokens_in,
            "tokens_out": answer.tokens_out,
            "cost_usd": answer.cost_usd,
            "fallback": answer.fallback,
            "safe_fallback": answer.safe_fallback,
            "attempts": [a.model_dump() for a in answer.attempts],
        },
        "findings": state.findings,
        "prompt": state.prompt,
        "write": None if state.write is None else state.write.model_dump(mode="json"),
        "timings_ms": state.timings_ms,
    }


def _print_human(state: RunState, status: str, failure: StepFailure | None) -> None:
    colour = {"succeeded": "green", "fallback": "yellow", "skipped": "yellow"}.get(status, "red")
    if state.prompt:
        console.print(
            Panel(
                state.prompt,
                title="Prompt sent to the model (sanitized)",
                title_align="left",
                border_style="dim",
            ),
            highlight=False,
        )
    if state.output:
        console.print(
            Panel(state.output, title="Summary", title_align="left", border_style=colour), highlight=False
        )
    if failure is not None:
        console.print(
            f"[bold red]failed[/] at step [bold]{failure.step}[/]: {failure.message} ({failure.code})",
            highlight=False,
        )
    answer = state.answer
    facts = Table.grid(padding=(0, 2))
    facts.add_row("status", f"[{colour}]{status}[/]")
    facts.add_row("run id", state.run_id)
    if answer is not None:
        facts.add_row(
            "model",
            f"{answer.provider} ({answer.model or 'n/a'})" + (" - fallback" if answer.fallback else ""),
        )
        facts.add_row("tokens", f"{answer.tokens_in} in / {answer.tokens_out} out")
    if state.findings:
        facts.add_row("redacted", ", ".join(f"{k}: {v}" for k, v in sorted(state.findings.items())))
    facts.add_row("timings", ", ".join(f"{k} {v:.0f} ms" for k, v in state.timings_ms.items()))
    console.print(facts, highlight=False)
    if state.write is not None:
        console.print(
            f"\n[bold]write[/] -> {state.write.target}: {state.write.status}"
            + (f" ({state.write.detail})" if state.write.detail else ""),
            highlight=False,
            soft_wrap=True,
        )
        for req in state.write.requests:
            console.print(f"  {req.method} {req.url}", highlight=False, soft_wrap=True)
            for name, value in req.headers.items():
                console.print(f"  {name}: {value}", highlight=False, soft_wrap=True)
            if req.json_body is not None:
                console.print(
                    "  " + json.dumps(req.json_body, indent=2).replace("\n", "\n  "),
                    highlight=False,
                    soft_wrap=True,
                )


class _LazyProgress:
    """A byte progress bar on stderr that appears only if a model file really has to be assembled."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=err_console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("preparing the embedded model (first run only)", total=total)
        assert self._task is not None
        self._progress.update(self._task, completed=done)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


async def preload_models(runtime: Runtime, integration: Integration) -> None:
    """Load the embedded models this integration uses now, with a progress bar for the one-time assembly."""
    names = {
        ref
        for step in integration.spec.steps
        for kind, _, ref in getattr(step.config, "refs", list)()
        if kind == "provider"
    }
    progress = _LazyProgress()
    try:
        for name in sorted(names):
            load = getattr(runtime.resources.providers.get(name), "load", None)
            if load is not None:
                await load(progress=progress)
    finally:
        progress.stop()


def run(
    integration: Annotated[str, typer.Argument(help="Integration name from patchbay.yaml.")],
    event: Annotated[Path, typer.Option("--event", help="Event JSON file (a webhook body), or - for stdin.")],
    config: ConfigOption = None,
    env: EnvOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be written; write nothing.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of the report.")
    ] = False,
    delivery_id: Annotated[
        str | None, typer.Option(help="Delivery id to record (default: a new one).")
    ] = None,
) -> None:
    """Run one event through an integration in this process and print the result."""
    project = load(config, env)
    configure_logging(project.environment, json=False, level="WARNING")
    body = read_event(event)
    with user_errors():
        runtime = build_runtime(project)
        try:
            spec = runtime.integration(integration)
        except KeyError as exc:
            err_console.print(f"[bold red]error:[/] {exc.args[0]}")
            raise typer.Exit(2) from None
        event_type = str(body.get("webhookEvent", ""))
        if spec.spec.config.trigger.events and not spec.accepts(event_type):
            err_console.print(
                f"[yellow]note:[/] event type {event_type!r} is not in trigger.events; running anyway"
            )
        delivery = delivery_id or f"cli-{uuid.uuid4().hex[:16]}"
        store = run_store_for(project)
        if delivery_id is not None and (known := store.exists(integration, delivery_id)) is not None:
            store.close()
            err_console.print(
                f"[bold red]error:[/] delivery {delivery_id!r} of {integration!r} was already run as "
                f"{known}; a delivery runs once (see 'patchbay runs show', or 'patchbay runs replay')"
            )
            raise typer.Exit(2)
        state = RunState(
            run_id=f"cli_{uuid.uuid4().hex[:20]}",
            integration=integration,
            delivery_id=delivery,
            environment=project.environment,
            dry_run=dry_run,
            event=body,
        )
        store.mark_running(state, event_type=event_type or None)

        async def go() -> tuple[RunState, StepFailure | None]:
            try:
                # Not fatal here: the model step reports a load failure and falls back like any other.
                with contextlib.suppress(PatchbayError):
                    await preload_models(runtime, spec)
                return await run_inline(spec.steps, state, runtime.resources)
            finally:
                await runtime.aclose()

        final, failure = asyncio.run(go())
        status = "failed" if failure else final_status(final)
        store.finish(
            final,
            status=status,  # type: ignore[arg-type]
            error_step=failure.step if failure else None,
            error_code=failure.code if failure else None,
            error=failure.message if failure else None,
        )
        store.close()
    if as_json:
        typer.echo(json.dumps(result_json(final, status, failure), indent=2))
    else:
        _print_human(final, status, failure)
    if failure is not None:
        raise typer.Exit(1)
