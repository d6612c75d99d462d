"""Doctor checks that need no remote service: the project file, its secrets, the databases."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from patchbay.config.issues import dotted
from patchbay.config.loader import LoadedProject
from patchbay.errors import ConfigError, ConfigIssue
from patchbay.ops.doctor.findings import Finding
from patchbay.runs.databases import Databases, sqlalchemy_url


def _is_secret_issue(issue: ConfigIssue) -> bool:
    return "secret" in (issue.allowed or "").lower() or "secret" in issue.message.lower()


def config_findings(exc: ConfigError) -> list[Finding]:
    """Every problem of a project that does not load, as findings (never a traceback)."""
    if not exc.issues:
        return [
            Finding("config", "fail", exc.message, "fix the project file, then run 'patchbay doctor' again")
        ]
    findings = []
    for issue in exc.issues:
        check = "secret" if _is_secret_issue(issue) else "config"
        fix = f"allowed: {issue.allowed}" if issue.allowed else "fix the value at that line"
        if check == "secret":
            fix = (
                "define the secret in the configured secret provider (or the environment / .env for the "
                "env provider), or correct its name"
            )
        findings.append(Finding(check, "fail", str(issue), fix))
    return findings


def loaded_findings(project: LoadedProject) -> list[Finding]:
    """The project loaded: say which files, and check each resolved secret reference."""
    findings = [
        Finding(
            "config",
            "ok",
            f"{', '.join(project.files)} valid (environment {project.environment}; "
            f"{len(project.providers)} providers, {len(project.targets)} targets, "
            f"{len(project.integrations)} integrations)",
        )
    ]
    for path in sorted(project.secret_paths, key=dotted):
        value = _value_at(project.raw, path)
        where = dotted(path)
        if value in ("", None):
            findings.append(
                Finding("secret", "warn", f"{where}: the secret resolved to an empty value", "set its value")
            )
        else:
            findings.append(Finding("secret", "ok", f"{where}: resolved"))
    return findings


def _value_at(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _safe_url(url: str) -> str:
    """The URL without its password (shown in findings)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url.split("@")[-1]


def database_findings(databases: Databases) -> list[Finding]:
    """The run-record database and the durable-run engine's database: reachable, which version."""
    runs = _database("database runs", databases.runs_url)
    if (
        databases.engine_url == databases.runs_url
        or sqlalchemy_url(databases.engine_url) == databases.runs_url
    ):
        return [runs, Finding("database engine", runs.status, "same database as the run records", runs.fix)]
    return [runs, _database("database engine", sqlalchemy_url(databases.engine_url))]


def _database(check: str, url: str) -> Finding:
    if url.startswith("sqlite:///"):
        return _sqlite(check, Path(url.removeprefix("sqlite:///")))
    args: dict[str, Any] = {"connect_timeout": 5} if url.startswith("postgresql") else {}
    engine = sa.create_engine(url, connect_args=args, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                version = conn.execute(sa.text("SHOW server_version")).scalar_one()
                return Finding(check, "ok", f"PostgreSQL {version} at {_safe_url(url)}")
            conn.execute(sa.text("SELECT 1"))
            return Finding(check, "ok", f"{engine.dialect.name} at {_safe_url(url)}")
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        return Finding(
            check,
            "fail",
            f"cannot connect to {_safe_url(url)}: {reason}",
            "check PATCHBAY_DATABASE_URL / storage.database_url, that the server is up and accepts this "
            "user, and the network path",
        )
    finally:
        engine.dispose()


def _sqlite(check: str, path: Path) -> Finding:
    if path.is_file():
        if not os.access(path, os.R_OK | os.W_OK):
            return Finding(
                check, "fail", f"SQLite file {path} is not readable and writable", "fix its owner/mode"
            )
        import sqlite3

        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            return Finding(
                check, "fail", f"SQLite file {path}: {exc}", "restore it from a backup or move it away"
            )
        return Finding(check, "ok", f"SQLite {sqlite3.sqlite_version} file {path}")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if os.access(folder, os.W_OK):
        return Finding(check, "ok", f"SQLite file {path} does not exist yet; it is created on first use")
    return Finding(check, "fail", f"cannot create {path}: {folder} is not writable", "fix storage.data_dir")
