"""prod refuses placeholder secrets (naming key, file, line and field); other environments do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchbay.config.loader import load_project
from patchbay.config.secrets.policy import is_placeholder
from patchbay.errors import ConfigError

PROJECT = """\
targets:
  out: {type: memory}
integrations:
  summary:
    trigger:
      source: jira
      secret: ${secret:HOOK_SECRET}
    steps:
      - write: {target: out}
"""


@pytest.mark.parametrize(
    "value", ["changeme", "CHANGEME", "xxxxx", "xxx", "<your-token>", "change-me", "todo"]
)
def test_placeholders_are_refused_in_prod(tmp_path: Path, value: str) -> None:
    (tmp_path / "patchbay.yaml").write_text(PROJECT)
    with pytest.raises(ConfigError) as exc:
        load_project(tmp_path, environment="prod", env={"HOOK_SECRET": value})
    (issue,) = exc.value.issues
    assert issue.field == "integrations.summary.trigger.secret" and issue.line == 7
    assert issue.file is not None and issue.file.endswith("patchbay.yaml")
    assert "HOOK_SECRET" in issue.message and "placeholder" in issue.message
    assert "refusing to start in prod" in exc.value.message
    # dev and stage accept the same value: placeholders are how local setups start.
    for env in ("dev", "stage"):
        load_project(tmp_path, environment=env, env={"HOOK_SECRET": value})


def test_env_example_defaults_are_placeholders_too(tmp_path: Path) -> None:
    (tmp_path / "patchbay.yaml").write_text(PROJECT)
    (tmp_path / ".env.example").write_text("HOOK_SECRET=please-set-me-2024\nLOG_LEVEL=info\n")
    with pytest.raises(ConfigError, match="refusing to start in prod"):
        load_project(tmp_path, environment="prod", env={"HOOK_SECRET": "please-set-me-2024"})
    load_project(tmp_path, environment="prod", env={"HOOK_SECRET": "k8Yd0s9QmA1x"})


def test_secret_looking_variables_are_checked_not_other_settings(tmp_path: Path) -> None:
    text = PROJECT.replace("${secret:HOOK_SECRET}", "${JIRA_WEBHOOK_SECRET}").replace(
        "targets:", "project: ${PROJECT_NAME}\ntargets:"
    )
    (tmp_path / "patchbay.yaml").write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_project(
            tmp_path, environment="prod", env={"JIRA_WEBHOOK_SECRET": "changeme", "PROJECT_NAME": "x"}
        )
    assert [i.field for i in exc.value.issues] == ["integrations.summary.trigger.secret"]
    assert "JIRA_WEBHOOK_SECRET" in exc.value.issues[0].message


def test_real_values_are_not_placeholders() -> None:
    assert not is_placeholder("ghp_8x2kQ9mR4vT7wY1zA3bC5dE6fG0hJ2kL4mN6", set())
    assert not is_placeholder("xoxb-123-456-abcdef", set())
    assert is_placeholder("  XXXXXXXX ", set())
