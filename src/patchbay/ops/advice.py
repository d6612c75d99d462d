"""What to do next: one troubleshooting table shared by ``patchbay doctor`` and failed runs.

The table follows the playbook's troubleshooting rows (401, 403, 404, 429, 5xx, timeouts) plus the
errors only Patchbay itself raises (config, secrets, egress guard, output guard). Two entry points:

* :func:`http_advice` - for an HTTP status (or a timeout / unreachable host) seen by ``doctor``;
* :func:`advice_for` - for a dead-lettered run: its error code, upstream status, failed step.

Both are pure functions of their arguments, so the text a failed run stores is the text the runbook
(docs/operations.md) documents. Keep each answer to one or two sentences that name an action.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Component = Literal["provider", "target", "source", "config", "database"]

_WHO = {
    "provider": "the model provider",
    "target": "the target system",
    "source": "the source system",
    "database": "the database",
    "config": "the service",
}

TIMEOUT = (
    "No answer in time: the fallback chain covers model calls and writes are retried; check the network "
    "path (DNS, firewall, proxy) and the service's status page, raise timeout_s if it is only slow, and "
    "look for run.step_failed in the logs."
)
UNREACHABLE = (
    "Cannot connect: check base_url (host, port, scheme), that the service is up and that this host may "
    "reach it (firewall, proxy, egress.allow); until then the fallback chain answers."
)


def http_advice(status: int, component: Component = "target", *, field: str | None = None) -> str:
    """What to do about an HTTP ``status`` from a provider or target (one or two sentences)."""
    who = _WHO.get(component, "the service")
    if status == 401:
        return (
            f"Credentials rejected by {who}: the token is wrong, expired or lacks the needed scope. "
            "Create or renew it, update the secret it comes from, then re-run 'patchbay doctor'."
        )
    if status == 403:
        if component == "target":
            return (
                "Authenticated but not allowed: give the account 'Browse projects' and 'Edit issues' in "
                "the project (and a token scope that allows writing issues), or use an account that has them."
            )
        return (
            f"Authenticated but not allowed by {who}: ask for access to this model/endpoint or use a key "
            "whose permissions include it."
        )
    if status == 404:
        what = f"the field id {field!r}" if field else "the model id or path"
        return (
            f"Not found: check base_url (the API root, e.g. https://api.openai.com/v1 or "
            f"https://acme.atlassian.net) and {what}."
        )
    if status == 400:
        if component == "target":
            return (
                "The edit was refused: add the field to the project's edit screen (Jira: Project settings > "
                "Screens) and check its type with GET /rest/api/3/issue/KEY/editmeta."
            )
        return f"{who.capitalize()} refused the request: check the model id, max_tokens and the prompt size."
    if status == 429:
        return (
            f"Rate limited by {who}: Patchbay backs off and honours Retry-After. Lower the load (fewer "
            "runtime.workers, a shared 'limits:' budget) or raise the quota."
        )
    if status == 408 or status >= 500:
        return (
            f"{who.capitalize()} failed on its side ({status}): Patchbay retries; replay failed runs later "
            "with 'patchbay runs replay'. If it persists, report it to the vendor with the request id, "
            "timestamp and endpoint."
        )
    if 300 <= status < 400:
        return "Redirected: set base_url to the final URL (https, and the context path on Data Center)."
    return (
        f"{who.capitalize()} answered {status}: check the component's options against its API documentation."
    )


def _component_of(step: str | None, component: str | None) -> Component:
    if component in _WHO:
        return component  # type: ignore[return-value]
    if step == "write":
        return "target"
    if step == "model":
        return "provider"
    return "config"


def advice_for(
    error_code: str | None,
    status_code: int | None = None,
    step: str | None = None,
    component: str | None = None,
    *,
    message: str | None = None,
) -> str:
    """The "what to do next" text for a failed run (stored with the run, shown by ``runs show``).

    ``message`` (the run's safe error message) only tells a timeout from a refused connection.
    """
    kind = _component_of(step, component)
    code = error_code or ""
    if code in {"config_invalid", "secret_missing"}:
        return "Fix the project file or the secret it names, then run 'patchbay doctor' and replay the run."
    if code == "egress_blocked":
        return (
            "The SSRF guard refused the URL: use https and a public host, or list the host under "
            "egress.allow if it is internal on purpose."
        )
    if code == "event_invalid":
        return (
            "The event lacks what the validate step requires: check the webhook's event types and payload "
            "in the source system; replaying will fail the same way."
        )
    if code in {"invalid_issue_key", "no_field"}:
        return "Fix the write step: 'record' must point at the issue key and 'field' name the field to write."
    if code == "model_output_invalid":
        return (
            "The model answered, but the output guard refused it (empty, cut off, copied or abnormal): raise "
            "max_tokens, tighten the prompt, or add a fallback provider."
        )
    if code == "circuit_open":
        return (
            f"The circuit breaker of {_WHO[kind]} is open after repeated failures: run 'patchbay doctor' to "
            "see why; it closes by itself once calls succeed. Replay the run afterwards."
        )
    if code == "step_failed":
        return "A step could not produce its output: read the error, fix the step's options, replay the run."
    if code == "checkpoint_layout_changed":
        first = step or "FIRST_STEP"
        return (
            "This run was interrupted before an upgrade that regrouped its checkpoints: replay it from the "
            f"start ('patchbay runs replay ID --from-step {first}'). Next time drain the queue or bump "
            "runtime.app_version before such an upgrade."
        )
    if code == "internal_error":
        return (
            "An unexpected error (a bug): report it with the run id, timestamp and the log lines of this "
            "run (run.step_failed carries the traceback)."
        )
    if status_code is not None:
        return http_advice(status_code, kind)
    text = (message or "").lower()
    if code in {"model_timeout"} or "in time" in text or "within" in text or "timed out" in text:
        return TIMEOUT
    if code in {"model_unavailable", "target_unavailable"}:
        return UNREACHABLE
    if code in {"model_rejected", "target_rejected"}:
        return (
            f"{_WHO[kind].capitalize()} refused the request: read the error, fix the options, replay the run."
        )
    return "Read the error and the run.step_failed log line; run 'patchbay doctor', then replay the run."


def advice_of_record(row: Mapping[str, Any]) -> str | None:
    """The advice of a failed run record: the one stored with it, else derived from its error code.

    Runs dead-lettered by the durable engine store it in their last attempt; records written before
    that (or by 'patchbay run') get the same text computed from their error code and step.
    """
    if row.get("status") != "failed":
        return None
    attempts = row.get("attempts") or []
    for attempt in reversed(attempts if isinstance(attempts, list) else []):
        if isinstance(attempt, dict) and attempt.get("advice"):
            return str(attempt["advice"])
    last = attempts[-1] if isinstance(attempts, list) and attempts and isinstance(attempts[-1], dict) else {}
    return advice_for(
        row.get("error_code"), last.get("status_code"), row.get("error_step"), message=row.get("error")
    )
