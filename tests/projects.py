"""Small project files for tests that run whole pipelines."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

HOOK_SECRET = "test-hook-secret"

PIPELINE = """\
project: t
runtime:
  workers: 2
providers:
  primary:
    type: openai
    base_url: ${OPENAI_URL}
    model: fake-model
    timeout_s: 30
  backup:
    type: extractive
targets:
  jira:
    type: jira
    base_url: ${JIRA_URL}
    auth:
      kind: bearer
      token: ${secret:JIRA_TOKEN}
integrations:
  ticket-summary:
    trigger:
      source: jira
      events: [jira:issue_created]
      secret: ${secret:HOOK_SECRET}
    steps:
      - validate:
          required: [issue.key, issue.fields.summary]
      - select:
          fields:
            key: issue.key
            title: issue.fields.summary
            description: issue.fields.description
      - sanitize:
          vault_key: ${secret:VAULT_KEY}
      - prompt:
          template: |
            Summarize this ticket in 2-3 sentences for internal triage.

            Title: {{ ticket.title }}
            {{ ticket.description }}
      - model:
          providers: __PROVIDERS__
          retry:
            attempts: 1
      - postprocess:
          min_sentences: 1
          max_sentences: 3
          vault_key: ${secret:VAULT_KEY}
      - write:
          target: jira
          field: customfield_10050
"""


def write_project(
    root: Path, *, openai_url: str, jira_url: str, providers: str = "[primary, backup]", runtime: str = ""
) -> Path:
    """A project whose model is a fake OpenAI server and whose target is a fake Jira, both on 127.0.0.1.

    ``runtime`` adds lines under ``runtime:`` (e.g. "  heartbeat_s: 0.5\n").
    """
    root.mkdir(parents=True, exist_ok=True)
    text = PIPELINE.replace("__PROVIDERS__", providers)
    if "workers:" in runtime:
        text = text.replace("  workers: 2\n", "", 1)
    text = text.replace("runtime:\n", "runtime:\n" + runtime, 1)
    (root / "patchbay.yaml").write_text(text)
    (root / ".env").write_text(
        f"OPENAI_URL={openai_url}/v1\nJIRA_URL={jira_url}\nJIRA_TOKEN=jira-pat\nHOOK_SECRET={HOOK_SECRET}\n"
        "VAULT_KEY=test-vault-key-shared-by-all-workers\n"
    )
    return root


def ticket(key: str = "SUP-7", description: str | None = None) -> dict[str, Any]:
    """A Jira Cloud issue_created webhook body."""
    return {
        "webhookEvent": "jira:issue_created",
        "issue": {
            "key": key,
            "fields": {
                "summary": "Checkout page times out for EU customers",
                "description": description
                or "Since the 2.14.1 deploy the checkout page times out after 30 seconds for EU customers. "
                "Reported by anna@example.org, phone +1 415 555 0132. Retrying does not help.",
            },
        },
    }


def signed(body: bytes, secret: str = HOOK_SECRET, delivery_id: str | None = None) -> dict[str, str]:
    """Headers of a Jira webhook signed with ``secret``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature": f"sha256={digest}"}
    if delivery_id is not None:
        headers["X-Atlassian-Webhook-Identifier"] = delivery_id
    return headers


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


async def wait_final(store: Any, run_id: str, timeout: float = 30) -> dict[str, Any]:
    """Poll the run store until ``run_id`` has a final status; fail with its last state otherwise."""
    import asyncio
    import time

    from patchbay.runs.store import FINAL_STATUSES

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = store.get(run_id)
        if row is not None and row["status"] in FINAL_STATUSES:
            return dict(row)
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish in {timeout}s: {store.get(run_id)}")
