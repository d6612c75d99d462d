"""The patchbay command as a user types it: init, config, run, runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patchbay.cli import app

EMAIL, PHONE, TOKEN = "jane.doe@acme-corp.com", "415 555 0132", "ghp_8x2kQ9mR4vT7wY1zA3bC5dE6fG0hJ2kL4mN6"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("ENVIRONMENT", "JIRA_BASE_URL", "JIRA_WEBHOOK_SECRET", "OPENAI_API_KEY", "API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


@pytest.fixture
def project(tmp_path: Path, runner: CliRunner) -> Path:
    root = tmp_path / "proj"
    result = runner.invoke(app, ["init", str(root)])
    assert result.exit_code == 0, result.output
    return root


def use_extractive(root: Path) -> None:
    """Swap the embedded model for the no-model summarizer, so these tests stay fast."""
    cfg = root / "patchbay.yaml"
    cfg.write_text(cfg.read_text().replace("providers: [primary, extractive]", "providers: [extractive]"))


def test_init_scaffolds_a_working_project(project: Path, runner: CliRunner) -> None:
    for rel in (
        "patchbay.yaml",
        "environments/dev.yaml",
        "environments/stage.yaml",
        "environments/prod.yaml",
        ".env.example",
        ".env",
        "examples/jira-issue-created.json",
    ):
        assert (project / rel).is_file(), rel
    secret = re.search(r"^JIRA_WEBHOOK_SECRET=(.*)$", (project / ".env").read_text(), re.M)
    assert secret and secret.group(1) not in ("", "changeme") and len(secret.group(1)) >= 24
    assert (project / ".env").stat().st_mode & 0o077 == 0
    again = runner.invoke(app, ["init", str(project)])
    assert again.exit_code == 0 and "exists; use --force" in again.output


def test_config_validate_ok_and_every_environment(project: Path, runner: CliRunner) -> None:
    for env in ("dev", "stage", "staging"):
        result = runner.invoke(app, ["config", "validate", "--config", str(project), "--env", env])
        assert result.exit_code == 0, result.output
        assert "ok" in result.output
    # prod refuses the scaffold's placeholder model key, naming it and where it is used ...
    refused = runner.invoke(app, ["config", "validate", "--config", str(project), "--env", "prod"])
    assert refused.exit_code == 2
    out = " ".join(refused.output.split())
    assert "OPENAI_API_KEY" in out and "placeholder" in out and "prod.yaml:" in out
    assert "providers.primary.api_key" in out
    # ... and starts once it is real.
    dotenv = project / ".env"
    real = dotenv.read_text().replace("OPENAI_API_KEY=xxxxx", "OPENAI_API_KEY=sk-live-9fQ2c7Lr0pXw")
    dotenv.write_text(real)
    result = runner.invoke(app, ["config", "validate", "--config", str(project), "--env", "prod"])
    assert result.exit_code == 0, result.output


def test_config_validate_reports_file_line_field(project: Path, runner: CliRunner) -> None:
    cfg = project / "patchbay.yaml"
    cfg.write_text(
        cfg.read_text().replace("    threads: 2", "    treads: 2").replace("target: jira", "target: jria")
    )
    result = runner.invoke(app, ["config", "validate", "--config", str(project)])
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "patchbay.yaml:11: providers.primary.treads: unknown key" in out
    assert "allowed:" in out and "threads" in out
    assert "write.target: no target named 'jria'" in out
    assert "Traceback" not in result.output


def test_config_show_masks_secrets(project: Path, runner: CliRunner) -> None:
    env = project / ".env"
    env.write_text(env.read_text().replace("OPENAI_API_KEY=xxxxx", "OPENAI_API_KEY=sk-very-secret-value"))
    result = runner.invoke(app, ["config", "show", "--config", str(project), "--env", "prod"])
    assert result.exit_code == 0, result.output
    assert "sk-very-secret-value" not in result.output
    secret = re.search(r"^JIRA_WEBHOOK_SECRET=(.*)$", env.read_text(), re.M)
    assert secret and secret.group(1) not in result.output
    assert "api_key: '**********'" in result.output and "type: openai" in result.output


def test_run_json_sanitizes_and_shows_the_jira_request(project: Path, runner: CliRunner) -> None:
    use_extractive(project)
    result = runner.invoke(
        app,
        [
            "run",
            "ticket-summary",
            "--config",
            str(project),
            "--event",
            str(project / "examples" / "jira-issue-created.json"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["status"] == "shadow" and data["summary"]  # previewed, not written: not a success
    for secret in (EMAIL, PHONE, TOKEN):
        assert secret not in data["prompt"] and secret not in data["summary"]
    assert data["findings"] == {"email": 1, "phone": 1, "secret": 1}
    assert data["write"]["status"] == "dry_run"
    put = data["write"]["requests"][0]
    assert put["method"] == "PUT" and put["url"].endswith("/rest/api/3/issue/SUP-1398?notifyUsers=false")
    assert put["json_body"]["fields"] == {"customfield_10050": data["summary"]}
    assert put["json_body"]["properties"][0]["key"] == "patchbay.writes"
    assert set(data["timings_ms"]) == {
        "validate",
        "select",
        "sanitize",
        "prompt",
        "model",
        "postprocess",
        "write",
    }

    listed = runner.invoke(app, ["runs", "list", "--config", str(project), "--json"])
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [r["run_id"] for r in rows] == [data["run_id"]] and rows[0]["status"] == "shadow"
    shown = runner.invoke(app, ["runs", "show", data["run_id"][:12], "--config", str(project)])
    assert shown.exit_code == 0 and "prompt" in shown.output and EMAIL not in shown.output
    assert f"/feedback/{data['run_id']}/up?sig=" in shown.output  # a link people can click to rate it


def test_run_reports_a_failed_step_and_records_it(project: Path, runner: CliRunner, tmp_path: Path) -> None:
    use_extractive(project)
    event = tmp_path / "no-summary.json"
    event.write_text(
        json.dumps({"webhookEvent": "jira:issue_created", "issue": {"key": "SUP-1", "fields": {}}})
    )
    result = runner.invoke(app, ["run", "ticket-summary", "--config", str(project), "--event", str(event)])
    assert result.exit_code == 1
    assert "failed at step validate" in " ".join(result.output.split())
    assert "issue.fields.summary" in result.output
    failed = runner.invoke(app, ["runs", "list", "--failed", "--config", str(project), "--json"])
    assert json.loads(failed.output.splitlines()[0])["error_step"] == "validate"


def test_run_rejects_malformed_event_file(project: Path, runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"webhookEvent": "x",\n  "issue": }')
    result = runner.invoke(app, ["run", "ticket-summary", "--config", str(project), "--event", str(bad)])
    assert result.exit_code == 2 and f"{bad}:2:" in " ".join(result.output.split())
    missing = runner.invoke(app, ["run", "ticket-summary", "--config", str(project), "--event", "nope.json"])
    assert missing.exit_code == 2 and "cannot read event file" in missing.output


def test_run_unknown_integration(project: Path, runner: CliRunner) -> None:
    result = runner.invoke(
        app,
        [
            "run",
            "nope",
            "--config",
            str(project),
            "--event",
            str(project / "examples" / "jira-issue-created.json"),
        ],
    )
    assert result.exit_code == 2 and "ticket-summary" in result.output


def test_components_lists_builtins(runner: CliRunner) -> None:
    result = runner.invoke(app, ["components"])
    assert result.exit_code == 0
    assert "local" in result.output and "jira" in result.output and "postprocess" in result.output


def test_flags_cli_sets_kills_and_clears(project: Path, runner: CliRunner) -> None:
    cfg = ["--config", str(project)]
    listed = runner.invoke(app, ["flags", "list", *cfg, "--json"])
    assert json.loads(listed.output.splitlines()[0])["mode"] == "on"
    assert (
        runner.invoke(
            app, ["flags", "set", "ticket-summary", "--mode", "percent", "--percent", "25", *cfg]
        ).exit_code
        == 0
    )
    state = json.loads(runner.invoke(app, ["flags", "list", *cfg, "--json"]).output.splitlines()[0])
    assert (state["mode"], state["percent"], state["source"]) == ("percent", 25.0, "override")
    killed = runner.invoke(app, ["flags", "kill", "ticket-summary", "--reason", "bad output", *cfg])
    assert killed.exit_code == 0 and "kill switch" in killed.output
    assert (
        json.loads(runner.invoke(app, ["flags", "list", *cfg, "--json"]).output.splitlines()[0])["mode"]
        == "off"
    )
    assert "removed" in runner.invoke(app, ["flags", "clear", "ticket-summary", *cfg]).output
    bad = runner.invoke(app, ["flags", "set", "ticket-summary", "--mode", "sometimes", *cfg])
    assert bad.exit_code == 2 and "off, shadow, percent, on" in bad.output
    unknown = runner.invoke(app, ["flags", "kill", "nope", *cfg])
    assert unknown.exit_code == 2 and "ticket-summary" in unknown.output
    half = runner.invoke(app, ["flags", "set", "ticket-summary", "--mode", "percent", *cfg])
    assert half.exit_code == 2 and "percent" in half.output


def test_run_refuses_a_delivery_id_that_already_ran(project: Path, runner: CliRunner) -> None:
    use_extractive(project)
    args = [
        "run",
        "ticket-summary",
        "--config",
        str(project),
        "--event",
        str(project / "examples" / "jira-issue-created.json"),
        "--delivery-id",
        "abc",
    ]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "already run" in again.output
    assert "Traceback" not in again.output and TOKEN not in again.output
