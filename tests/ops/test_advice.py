"""The troubleshooting table: each playbook row gets its own, actionable advice."""

from __future__ import annotations

import pytest

from patchbay.ops.advice import TIMEOUT, UNREACHABLE, advice_for, advice_of_record, http_advice


@pytest.mark.parametrize(
    ("status", "component", "expected"),
    [
        (401, "target", "expired or lacks the needed scope"),
        (403, "target", "'Edit issues'"),
        (403, "provider", "access to this model"),
        (404, "provider", "check base_url"),
        (400, "target", "edit screen"),
        (429, "provider", "Retry-After"),
        (500, "target", "request id"),
        (503, "provider", "replay failed runs later"),
        (302, "target", "Redirected"),
    ],
)
def test_each_status_has_its_row(status: int, component: str, expected: str) -> None:
    assert expected in http_advice(status, component)  # type: ignore[arg-type]


def test_a_404_names_the_field_when_one_is_given() -> None:
    assert "field id 'customfield_1'" in http_advice(404, "target", field="customfield_1")


def test_failed_runs_get_advice_from_their_code_status_and_step() -> None:
    assert advice_for("target_rejected", 401, "write").startswith("Credentials rejected by the target system")
    assert advice_for("model_rejected", 401, "model").startswith("Credentials rejected by the model provider")
    assert advice_for("model_timeout", None, "model") == TIMEOUT
    assert (
        advice_for("target_unavailable", None, "write", message="Jira did not answer PUT in time") == TIMEOUT
    )
    assert (
        advice_for("target_unavailable", None, "write", message="cannot reach Jira (ConnectError)")
        == UNREACHABLE
    )
    assert "edit screen" in advice_for("target_rejected", 400, "write")
    assert "egress.allow" in advice_for("egress_blocked")
    assert "validate step" in advice_for("event_invalid", step="validate")
    assert "bug" in advice_for("internal_error")
    assert "circuit breaker of the target system" in advice_for("circuit_open", None, "write")


def test_a_record_without_stored_advice_gets_it_computed() -> None:
    row = {"status": "failed", "error_code": "target_rejected", "error_step": "write", "attempts": []}
    assert "refused" in (advice_of_record(row) or "")
    row["attempts"] = [{"status_code": 403}]
    assert "'Edit issues'" in (advice_of_record(row) or "")
    row["attempts"] = [{"status_code": 403, "advice": "stored text"}]
    assert advice_of_record(row) == "stored text"
    assert advice_of_record({"status": "succeeded"}) is None
