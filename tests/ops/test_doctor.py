"""'patchbay doctor' finds each planted misconfiguration against fakes on 127.0.0.1, with the fix."""

from __future__ import annotations

import json
import socket
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from fakes import FakeOpenAI, json_reply
from patchbay.cli import app
from patchbay.http import HttpClientFactory
from patchbay.ops.doctor import diagnose
from projects import write_project

from .conftest import DoctorJira


def doctor(root: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    result = CliRunner().invoke(app, ["doctor", "-c", str(root), "--json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout)["findings"]


def only(findings: list[dict[str, Any]], check: str, status: str) -> list[dict[str, Any]]:
    return [f for f in findings if f["check"] == check and f["status"] == status]


@pytest.fixture
def root(tmp_path: Path, fake_openai: FakeOpenAI, doctor_jira: DoctorJira) -> Path:
    return write_project(
        tmp_path / "proj", openai_url=fake_openai.server.url, jira_url=doctor_jira.server.url
    )


def test_a_healthy_project_exits_0_and_checks_everything(root: Path) -> None:
    code, findings = doctor(root, "--issue", "SUP-7")
    assert code == 0, findings
    text = "\n".join(f"{f['check']}: {f['status']}: {f['finding']}" for f in findings)
    assert "provider primary: ok: reachable, key accepted" in text
    assert "target jira: ok: authenticated as Patchbay Bot" in text
    assert "target jira: ok: field customfield_10050 exists" in text
    assert "target jira: ok: this account can edit customfield_10050 on SUP-7" in text
    assert "secret: ok: targets.jira.auth.token: resolved" in text
    assert only(findings, "clock", "ok") and only(findings, "database runs", "ok")


def test_wrong_jira_token_gives_401_advice_and_exit_2(root: Path) -> None:
    env = root / ".env"
    env.write_text(env.read_text().replace("JIRA_TOKEN=jira-pat", "JIRA_TOKEN=expired"))
    code, findings = doctor(root)
    assert code == 2
    [bad] = only(findings, "target jira", "fail")
    assert "answered 401" in bad["finding"]
    assert "token is wrong, expired or lacks the needed scope" in bad["fix"]


def test_jira_403_and_429_map_to_permission_and_backoff_advice(root: Path, doctor_jira: DoctorJira) -> None:
    doctor_jira.myself = json_reply(403, {"errorMessages": ["no"]}, {"X-AREQUESTID": "req-42"})
    code, findings = doctor(root)
    [bad] = only(findings, "target jira", "fail")
    assert code == 2 and "'Edit issues'" in bad["fix"] and "request id req-42" in bad["finding"]
    doctor_jira.myself = json_reply(429, {"errorMessages": ["slow down"]}, {"Retry-After": "5"})
    code, findings = doctor(root)
    [warned] = only(findings, "target jira", "warn")
    assert code == 1 and "Retry-After" in warned["fix"]


def test_a_field_that_does_not_exist_gives_404_advice(root: Path) -> None:
    cfg = root / "patchbay.yaml"
    cfg.write_text(cfg.read_text().replace("field: customfield_10050", "field: customfield_99999"))
    code, findings = doctor(root)
    assert code == 2
    [bad] = only(findings, "target jira", "fail")
    assert "customfield_99999 does not exist" in bad["finding"]
    assert "field id 'customfield_99999'" in bad["fix"] and "base_url" in bad["fix"]


def test_a_field_named_by_its_label_points_at_the_id(root: Path) -> None:
    cfg = root / "patchbay.yaml"
    cfg.write_text(cfg.read_text().replace("field: customfield_10050", "field: AI triage summary"))
    _, findings = doctor(root)
    [bad] = only(findings, "target jira", "fail")
    assert "has id customfield_10050, use the id" in bad["finding"]


def test_a_field_missing_from_the_edit_screen_gives_400_advice(root: Path, doctor_jira: DoctorJira) -> None:
    doctor_jira.editable = {"summary"}
    code, findings = doctor(root, "--issue", "SUP-7")
    assert code == 2
    [bad] = only(findings, "target jira", "fail")
    assert "customfield_10050 is not on the edit screen of SUP-7" in bad["finding"]
    assert "edit screen" in bad["fix"] and "editmeta" in bad["fix"]
    code, findings = doctor(root, "--issue", "SUP-8")  # an issue the account cannot see
    assert code == 2 and "SUP-8 not found" in only(findings, "target jira", "fail")[0]["finding"]
    code, findings = doctor(root)  # without --issue, say how to check it
    assert code == 0 and "--issue KEY" in only(findings, "target jira", "skip")[0]["fix"]


def test_a_model_that_does_not_answer_gives_timeout_advice(root: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.gate.clear()  # the fake holds every request
    code, findings = doctor(root, "--timeout", "0.5")
    assert code == 2
    [bad] = only(findings, "provider primary", "fail")
    assert "no answer in time" in bad["finding"]
    assert "fallback chain" in bad["fix"] and "network path" in bad["fix"] and "logs" in bad["fix"]


def test_a_model_server_that_is_down_gives_unreachable_advice(
    tmp_path: Path, doctor_jira: DoctorJira
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = write_project(
        tmp_path / "p", openai_url=f"http://127.0.0.1:{port}", jira_url=doctor_jira.server.url
    )
    code, findings = doctor(root)
    [bad] = only(findings, "provider primary", "fail")
    assert code == 2 and "cannot connect" in bad["finding"] and "base_url" in bad["fix"]


def test_a_rejected_model_key_gives_401_advice(root: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.raw_reply = json_reply(401, {"error": {"message": "Incorrect API key provided"}})
    code, findings = doctor(root, "--integration", "ticket-summary")
    [bad] = only(findings, "provider primary", "fail")
    assert code == 2 and "answered 401" in bad["finding"] and "Credentials rejected" in bad["fix"]


def test_a_missing_secret_is_a_finding_not_a_traceback(root: Path) -> None:
    env = root / ".env"
    env.write_text(env.read_text().replace("JIRA_TOKEN=jira-pat\n", ""))
    code, findings = doctor(root)
    assert code == 2
    [bad] = only(findings, "secret", "fail")
    assert "targets.jira.auth.token" in bad["finding"] and "patchbay.yaml:" in bad["finding"]
    assert "secret provider" in bad["fix"]


def test_an_invalid_project_file_is_a_config_finding(tmp_path: Path) -> None:
    (tmp_path / "patchbay.yaml").write_text("project: t\nserver:\n  port: 0\n")
    code, findings = doctor(tmp_path)
    assert code == 2
    assert any("server.port" in f["finding"] for f in only(findings, "config", "fail"))


def test_an_unknown_integration_is_named(root: Path) -> None:
    code, findings = doctor(root, "--integration", "nope")
    assert code == 2 and "known: ticket-summary" in only(findings, "integration", "fail")[0]["finding"]


def test_an_unreachable_database_fails(root: Path) -> None:
    env = root / ".env"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env.write_text(env.read_text() + f"PATCHBAY_DATABASE_URL=postgresql://pb:secret-pw@127.0.0.1:{port}/x\n")
    code, findings = doctor(root)
    [bad] = only(findings, "database runs", "fail")
    assert code == 2 and "secret-pw" not in bad["finding"] and "PATCHBAY_DATABASE_URL" in bad["fix"]


def test_the_table_output_names_the_exit_code(root: Path) -> None:
    result = CliRunner().invoke(app, ["doctor", "-c", str(root)])
    assert result.exit_code == 0
    assert "exit code 0" in result.stdout and "provider primary" in result.stdout


async def test_clock_skew_over_a_minute_warns(root: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        skewed = formatdate(timeval=time.time() - 300, usegmt=True)
        headers = {"Date": skewed}
        if request.url.path.endswith("/myself"):
            return httpx.Response(200, json={"displayName": "Bot"}, headers=headers)
        if request.url.path.endswith("/field"):
            return httpx.Response(200, json=[{"id": "customfield_10050", "name": "AI"}], headers=headers)
        return httpx.Response(200, json={"data": [{"id": "fake-model"}]}, headers=headers)

    findings = await diagnose(root, http=HttpClientFactory(transport=httpx.MockTransport(handler)))
    [clock] = [f for f in findings if f.check == "clock"]
    assert clock.status == "warn" and "300 s behind" in clock.finding and "NTP" in clock.fix


async def test_a_model_missing_from_the_list_warns(root: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "gpt-4o-mini"}]})
        return httpx.Response(200, json=[] if request.url.path.endswith("/field") else {})

    findings = await diagnose(root, http=HttpClientFactory(transport=httpx.MockTransport(handler)))
    [model] = [f for f in findings if f.check == "provider primary"]
    assert model.status == "warn" and "'fake-model' is not listed" in model.finding
