"""Config loading: overlays, interpolation, secrets, and errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchbay.config.loader import load_project, normalize_environment
from patchbay.errors import ConfigError

BASE = """\
project: demo
providers:
  quick:
    type: extractive
    sentences: 2
targets:
  out:
    type: memory
integrations:
  summary:
    trigger:
      source: jira
      events: [jira:issue_created]
      secret: ${secret:HOOK_SECRET}
    steps:
      - validate:
          required: [issue.key]
      - write:
          target: out
"""


def project(tmp_path: Path, text: str = BASE, overlays: dict[str, str] | None = None) -> Path:
    (tmp_path / "patchbay.yaml").write_text(text)
    for name, body in (overlays or {}).items():
        (tmp_path / "environments").mkdir(exist_ok=True)
        (tmp_path / "environments" / f"{name}.yaml").write_text(body)
    return tmp_path


def issues_of(exc: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return [str(i) for i in exc.value.issues]


def test_loads_and_resolves_secret_from_env(tmp_path: Path) -> None:
    loaded = load_project(project(tmp_path), env={"HOOK_SECRET": "s3cret"})
    assert loaded.environment == "dev"
    source_cfg = loaded.integrations["summary"].source_config
    assert source_cfg.secret.get_secret_value() == "s3cret"  # type: ignore[attr-defined]
    assert ("integrations", "summary", "trigger", "secret") in loaded.secret_paths
    assert "s3cret" not in repr(source_cfg)


def test_secret_from_file_provider(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "secrets").mkdir()
    (root / "secrets" / "HOOK_SECRET").write_text("from-file\n")
    loaded = load_project(root, env={})
    assert loaded.integrations["summary"].source_config.secret.get_secret_value() == "from-file"  # type: ignore[attr-defined]


def test_missing_secret_names_file_line_and_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_project(project(tmp_path), env={})
    (issue,) = issues_of(exc)
    assert issue.startswith(str(tmp_path / "patchbay.yaml") + ":14:") or ":14:" in issue
    assert "integrations.summary.trigger.secret" in issue
    assert "HOOK_SECRET" in issue and "not found" in issue


def test_unknown_key_lists_allowed_keys(tmp_path: Path) -> None:
    text = BASE.replace("    sentences: 2\n", "    sentences: 2\n    sentencez: 3\n")
    with pytest.raises(ConfigError) as exc:
        load_project(project(tmp_path, text), env={"HOOK_SECRET": "x"})
    (issue,) = issues_of(exc)
    assert ":6:" in issue and "providers.quick.sentencez" in issue and "unknown key" in issue
    assert "allowed:" in issue and "sentences" in issue


def test_bad_type_names_field_and_line(tmp_path: Path) -> None:
    text = BASE.replace("sentences: 2", "sentences: lots")
    with pytest.raises(ConfigError) as exc:
        load_project(project(tmp_path, text), env={"HOOK_SECRET": "x"})
    (issue,) = issues_of(exc)
    assert ":5:" in issue and "providers.quick.sentences" in issue and "integer" in issue


def test_unknown_top_level_key_and_component_type(tmp_path: Path) -> None:
    text = "projekt: x\n" + BASE.replace("type: memory", "type: memroy")
    with pytest.raises(ConfigError) as exc:
        load_project(project(tmp_path, text), env={"HOOK_SECRET": "x"})
    found = issues_of(exc)
    assert any(":1:" in i and "projekt" in i and "unknown key" in i and "integrations" in i for i in found)


def test_unknown_component_type_lists_known(tmp_path: Path) -> None:
    text = BASE.replace("type: memory", "type: memroy")
    with pytest.raises(ConfigError) as exc:
        load_project(project(tmp_path, text), env={"HOOK_SECRET": "x"})
    found = issues_of(exc)
    assert any(":8:" in i and "targets.out.type" in i and "memroy" in i and "jira" in i for i in found)


def test_reference_to_missing_target_is_an_error(tmp_path: Path) -> None:
    text = BASE.replace("target: out", "target: nowhere")
    with pytest.raises(ConfigError) as exc:
        load_project(project(tmp_path, text), env={"HOOK_SECRET": "x"})
    (issue,) = issues_of(exc)
    assert "steps[1].write.target" in issue and "nowhere" in issue and "allowed: out" in issue


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_project(project(tmp_path, "project: [unclosed\nproviders: {}\n"), env={})
    (issue,) = issues_of(exc)
    assert "YAML syntax error" in issue and ":" in issue


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_project(project(tmp_path, "project: a\nproject: b\n"), env={})
    (issue,) = issues_of(exc)
    assert ":2:" in issue and "duplicate key" in issue and "line 1" in issue


def test_overlay_deep_merges_and_errors_point_into_overlay(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        overlays={
            "prod": "providers:\n  quick:\n    sentences: 3\n",
            "stage": "providers:\n  quick:\n    sentences: many\n",
        },
    )
    prod = load_project(root, environment="production", env={"HOOK_SECRET": "x"})
    assert prod.environment == "prod"
    assert prod.providers["quick"][1].sentences == 3  # type: ignore[attr-defined]
    assert prod.config.targets["out"].type == "memory"  # untouched keys survive the merge
    with pytest.raises(ConfigError) as exc:
        load_project(root, environment="staging", env={"HOOK_SECRET": "x"})
    (issue,) = issues_of(exc)
    assert "stage.yaml:3" in issue and "providers.quick.sentences" in issue


def test_overlay_that_changes_type_replaces_the_component(tmp_path: Path) -> None:
    root = project(tmp_path, overlays={"prod": "targets:\n  out:\n    type: file\n    path: out.jsonl\n"})
    loaded = load_project(root, environment="prod", env={"HOOK_SECRET": "x"})
    assert loaded.targets["out"][0] == "file"


def test_environment_from_env_and_dotenv(tmp_path: Path) -> None:
    root = project(tmp_path, overlays={"stage": "project: staged\n"})
    (root / ".env").write_text("ENVIRONMENT=staging\nHOOK_SECRET=dot\n")
    loaded = load_project(root, env={})
    assert loaded.environment == "stage" and loaded.config.project == "staged"
    assert loaded.integrations["summary"].source_config.secret.get_secret_value() == "dot"  # type: ignore[attr-defined]
    real_env_wins = load_project(root, env={"ENVIRONMENT": "dev", "HOOK_SECRET": "real"})
    assert real_env_wins.environment == "dev"


def test_unknown_environment_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_project(project(tmp_path), environment="qa", env={"HOOK_SECRET": "x"})
    assert "dev, stage" in str(exc.value)


def test_env_var_default_and_missing(tmp_path: Path) -> None:
    text = BASE.replace("project: demo", "project: ${PROJECT_NAME:-fallback}")
    assert load_project(project(tmp_path, text), env={"HOOK_SECRET": "x"}).config.project == "fallback"
    text = BASE.replace("project: demo", "project: ${PROJECT_NAME}")
    with pytest.raises(ConfigError) as exc:
        load_project(project(tmp_path, text), env={"HOOK_SECRET": "x"})
    (issue,) = issues_of(exc)
    assert ":1:" in issue and "PROJECT_NAME is not set" in issue


def test_template_braces_are_not_interpolated(tmp_path: Path) -> None:
    text = BASE.replace("project: demo", "project: '$${LITERAL} {{ not_env }}'")
    loaded = load_project(project(tmp_path, text), env={"HOOK_SECRET": "x"})
    assert loaded.config.project == "${LITERAL} {{ not_env }}"


def test_missing_project_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_project(tmp_path / "nope" / "patchbay.yaml", env={})
    assert "patchbay init" in str(exc.value)


@pytest.mark.parametrize(("given", "expected"), [("staging", "stage"), ("PROD", "prod"), ("dev", "dev")])
def test_environment_aliases(given: str, expected: str) -> None:
    assert normalize_environment(given) == expected


def test_history_longer_than_the_dedupe_window_is_refused(tmp_path: Path) -> None:
    text = "retention:\n  dedupe_days: 7\n  history_days: 14\n" + BASE
    with pytest.raises(ConfigError) as exc:
        load_project(project(tmp_path, text), env={"HOOK_SECRET": "x"})
    assert "history_days must not exceed dedupe_days" in str(exc.value)
