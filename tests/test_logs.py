"""Logging keeps working when stderr is replaced (test runners, daemons) after it was configured."""

from __future__ import annotations

import io
import json
import sys

import pytest
import structlog

from patchbay.logs import configure_logging


def test_log_lines_follow_the_current_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("prod")
    first.close()  # the stream the logger was configured with is gone
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    structlog.get_logger("t").info("run.step_failed", step="model", run_id="run_1")
    line = json.loads(second.getvalue())
    assert line["event"] == "run.step_failed" and line["run_id"] == "run_1" and line["level"] == "info"


def test_dev_logs_are_human_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging("dev")
    structlog.get_logger("t").warning("intake.delivery_rejected", code="signature_invalid")
    assert "intake.delivery_rejected" in out.getvalue() and "code=signature_invalid" in out.getvalue()
    assert not out.getvalue().lstrip().startswith("{")
