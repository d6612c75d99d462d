"""A fresh PostgreSQL database per test, on the machine's server at 127.0.0.1:5432.

Skips with the reason when no server answers - except under CI=true, where it fails: CI starts
PostgreSQL in .ci/run. Set PATCHBAY_TEST_PG to point at another server (a URL without a database).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

SERVER = os.environ.get("PATCHBAY_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


def _admin() -> sa.Engine:
    return sa.create_engine(
        f"{SERVER.replace('postgresql://', 'postgresql+psycopg://')}/postgres",
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 3},
        pool_pre_ping=True,
    )


def require_postgres() -> None:
    """Skip (or, under CI, fail) when PostgreSQL is not reachable."""
    try:
        with _admin().connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        reason = (
            f"PostgreSQL is not reachable at {SERVER} ({type(exc.orig).__name__}); "
            "start it or set PATCHBAY_TEST_PG"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def fresh_database() -> Iterator[str]:
    """Create a database, yield its postgresql:// URL, drop it afterwards."""
    require_postgres()
    name = f"pb_test_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
