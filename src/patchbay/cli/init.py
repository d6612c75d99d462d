"""``patchbay init DIR``: scaffold a working project from the bundled template."""

from __future__ import annotations

import secrets
import shutil
from importlib.resources import as_file, files
from pathlib import Path
from typing import Annotated

import typer

from patchbay.cli._common import console, err_console

RENAMES = {"env.example": ".env.example"}


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the project in (created if missing).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that already exist.")] = False,
) -> None:
    """Create patchbay.yaml, environments/{dev,stage,prod}.yaml, .env.example, .env and an example ticket."""
    directory.mkdir(parents=True, exist_ok=True)
    template = files("patchbay").joinpath("scaffold")
    written: list[Path] = []
    with as_file(template) as source:
        for path in sorted(Path(source).rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts:
                continue
            relative = path.relative_to(source)
            target = directory / RENAMES.get(str(relative), str(relative))
            if target.exists() and not force:
                err_console.print(f"[yellow]skip[/] {target} (exists; use --force to overwrite)")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            written.append(target)
    dotenv = directory / ".env"
    if not dotenv.exists():
        # A fresh random webhook secret, so the dev server verifies signatures from the first minute.
        example = (directory / ".env.example").read_text(encoding="utf-8")
        dotenv.write_text(
            example.replace(
                "JIRA_WEBHOOK_SECRET=changeme", f"JIRA_WEBHOOK_SECRET={secrets.token_urlsafe(24)}"
            ),
            encoding="utf-8",
        )
        dotenv.chmod(0o600)
        written.append(dotenv)
    for path in written:
        console.print(f"[green]created[/] {path}")
    console.print(
        f"\nNext: cd {directory} && patchbay run ticket-summary --event examples/jira-issue-created.json",
        highlight=False,
    )
