"""'patchbay report': the numbers match the runs it was given, in md, json and html."""

from __future__ import annotations

import json
import re
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from patchbay.cli import app
from patchbay.config.loader import load_project
from patchbay.ops.report import parse_since, percentile
from patchbay.runs.databases import resolve
from patchbay.runs.feedback import FeedbackStore
from patchbay.runs.store import RunStore, runs_table
from projects import write_project

NOW = datetime.now(UTC)
RAN_MS = [100.0 * i for i in range(1, 17)] + [2000.0, 3000.0, 500.0, 600.0]  # succeeded, fallback, failed


def _run(
    n: int, status: str, ms: float | None, *, ago: timedelta, integration: str = "ticket-summary", **kw: Any
) -> dict[str, Any]:
    row = {
        "run_id": f"run_{integration}_{n}",
        "integration": integration,
        "delivery_id": f"d{n}",
        "environment": "dev",
        "status": status,
        "received_at": NOW - ago,
        "duration_ms": ms,
        "provider": "primary",
        "model": "fake-model",
        "tokens_in": 100,
        "tokens_out": 40,
        "cost_usd": 0.001,
    }
    row.update(kw)
    return row


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = write_project(tmp_path / "proj", openai_url="http://127.0.0.1:9", jira_url="http://127.0.0.1:9")
    store = RunStore(resolve(load_project(root)).runs_url)
    rows = [_run(i, "succeeded", RAN_MS[i], ago=timedelta(hours=1 + 30 * (i % 2))) for i in range(16)]
    rows += [
        _run(
            16,
            "fallback",
            2000.0,
            ago=timedelta(hours=2),
            provider="backup",
            tokens_in=0,
            tokens_out=0,
            cost_usd=0.0,
        ),
        _run(
            17,
            "fallback",
            3000.0,
            ago=timedelta(hours=3),
            provider="backup",
            tokens_in=0,
            tokens_out=0,
            cost_usd=0.0,
        ),
    ]
    failure = {
        "error_step": "write",
        "error_code": "target_rejected",
        "error": "jira target 'jira': Jira rejected the credentials.",
        "attempts": [{"step": "write", "code": "target_rejected", "status_code": 401}],
    }
    rows += [
        _run(18, "failed", 500.0, ago=timedelta(hours=4), **failure),
        _run(19, "failed", 600.0, ago=timedelta(hours=5), **failure),
    ]
    rows += [
        _run(
            20,
            "skipped",
            0.0,
            ago=timedelta(hours=6),
            provider=None,
            tokens_in=None,
            tokens_out=None,
            cost_usd=None,
        )
    ]
    rows += [_run(21, "failed", 99_000.0, ago=timedelta(days=10), error_code="old")]  # outside --since 7d
    rows += [_run(22, "failed", 99_000.0, ago=timedelta(hours=1), integration="other", error_code="other")]
    with store.engine.begin() as conn:
        for row in rows:  # one by one: an executemany takes its columns from the first row only
            conn.execute(runs_table.insert().values(**row))
    feedback = FeedbackStore(store.engine)
    for i in range(9):
        feedback.add(f"run_ticket-summary_{i}", useful=True, rater=f"agent{i}")
    feedback.add(
        "run_ticket-summary_9", useful=False, comment="Missed the  customer's deadline.", rater="lead"
    )
    store.close()
    return root


def report(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["report", "-c", str(root), "--integration", "ticket-summary", *args])
    return result.exit_code, result.output


def test_json_numbers_match_the_runs(root: Path) -> None:
    code, out = report(root, "--format", "json")
    assert code == 0, out
    data = json.loads(out)
    assert data["runs"] == 21 and data["finished"] == 21
    assert data["statuses"] == {"failed": 2, "fallback": 2, "skipped": 1, "succeeded": 16}
    assert data["rates"] == pytest.approx({"success": 16 / 21, "fallback": 2 / 21, "failure": 2 / 21})
    cuts = statistics.quantiles(RAN_MS, n=100, method="inclusive")  # an independent percentile
    lat = data["latency_ms"]
    assert lat["count"] == 20 and lat["max"] == 3000.0
    assert (lat["p50"], lat["p95"], lat["p99"]) == pytest.approx((cuts[49], cuts[94], cuts[98]))
    assert data["tokens"] == {"in": 18 * 100, "out": 18 * 40}
    assert data["cost_usd"] == pytest.approx({"total": 0.018, "per_ticket": 0.018 / 20, "tickets": 20})
    assert data["feedback"]["total"] == 10 and data["feedback"]["useful_share"] == pytest.approx(0.9)
    assert data["feedback"]["comments"][0]["comment"] == "Missed the  customer's deadline."
    [err] = data["top_errors"]
    assert (err["count"], err["step"], err["code"]) == (2, "write", "target_rejected")
    assert "Credentials rejected" in err["advice"]
    assert sum(d["runs"] for d in data["daily"]) == 21 and len(data["daily"]) >= 2


def test_the_recommendation_follows_the_thresholds(root: Path) -> None:
    _, out = report(root, "--format", "json")
    verdict = json.loads(out)["recommendation"]
    assert not verdict["ready"]
    assert "only 21 finished runs (need 50)" in verdict["line"]
    assert (
        "failure rate 10% over 2%" in verdict["line"] and "fallback rate 10% over 10%" not in verdict["line"]
    )
    relaxed = ("--min-runs", "20", "--max-failure-rate", "0.2", "--max-fallback-rate", "0.2")
    _, out = report(root, "--format", "json", *relaxed)
    p95 = json.loads(out)["latency_ms"]["p95"]
    assert json.loads(out)["recommendation"]["line"] == (
        f"ready to expand: p95 {p95 / 1000:.1f} s, cost $0.0009 per ticket, 90% useful"
    )
    _, out = report(root, "--format", "json", *relaxed, "--max-p95", "1", "--min-useful", "0.95")
    line = json.loads(out)["recommendation"]["line"]
    assert line.startswith("not yet: ") and "over 1 s" in line and "90% useful, under 95%" in line


def test_markdown_carries_the_numbers(root: Path) -> None:
    code, out = report(root)
    assert code == 0
    assert "| runs | 21 (21 finished) |" in out
    assert "| failure rate | 9.5% |" in out and "| fallback rate | 9.5% |" in out
    assert "| cost total | $0.0180 |" in out and "| cost per ticket | $0.0009 (20 tickets) |" in out
    assert "| tokens in / out | 1,800 / 720 |" in out
    assert "9 useful / 1 not useful (90.0%)" in out
    assert "**not yet: " in out and "## Top errors" in out and "Missed the customer's deadline." in out


def test_html_is_one_self_contained_file_with_charts(root: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    code, out = report(root, "--format", "html", "--output", str(target))
    assert code == 0 and "wrote" in out
    page = target.read_text()
    assert page.startswith("<!doctype html>") and page.count("<svg") >= 5
    assert not re.search(r"<script|<link|\bsrc=|\bhref=|url\(|@import", page)  # nothing fetched
    assert "21 (21 finished)" in page and "$0.0009 (20 tickets)" in page
    assert "Runs per day by outcome" in page and "<rect" in page and "<polyline" in page
    assert "not yet: only 21 finished runs" in page


def test_all_integrations_and_an_empty_window(root: Path) -> None:
    result = CliRunner().invoke(app, ["report", "-c", str(root), "--format", "json"])
    assert json.loads(result.output)["runs"] == 22
    result = CliRunner().invoke(app, ["report", "-c", str(root), "--format", "html", "--since", "1m"])
    assert result.exit_code == 0 and "0 (0 finished)" in result.output


def test_misuse_gets_a_clear_error(root: Path) -> None:
    code, out = report(root, "--since", "last week")
    assert code == 2 and "use e.g. 7d, 24h" in out
    code, out = report(root, "--format", "pdf")
    assert code == 2 and "use md, html or json" in out
    result = CliRunner().invoke(app, ["report", "-c", str(root), "--integration", "nope"])
    assert result.exit_code == 2 and "known: ticket-summary" in result.output


def test_percentile_and_since() -> None:
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    now = datetime(2025, 3, 10, tzinfo=UTC)
    assert parse_since("7d", now=now) == now - timedelta(days=7)
    assert parse_since("36h", now=now) == now - timedelta(hours=36)
    assert parse_since("2025-03-01", now=now) == datetime(2025, 3, 1, tzinfo=UTC)
