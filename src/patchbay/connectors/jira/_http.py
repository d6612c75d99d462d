"""Sending Jira requests and turning Jira's answers into Patchbay errors."""

from __future__ import annotations

from typing import Any

import httpx

from patchbay.errors import TargetRejected, TargetUnavailable, parse_retry_after

_UNAVAILABLE = {409, 429}  # 409: a conflicting concurrent update; the same PUT may succeed later
_MAX_DETAIL = 400


async def send(
    client: httpx.AsyncClient, method: str, url: str, *, where: str, json: Any = None
) -> httpx.Response:
    """Send one request; timeouts and connection failures become ``TargetUnavailable``."""
    try:
        return await client.request(method, url, json=json)
    except httpx.TimeoutException:
        raise TargetUnavailable(
            f"{where}: Jira did not answer {method} in time; it will be retried "
            "(raise timeout_s if Jira is slow)"
        ) from None
    except httpx.TransportError as exc:
        raise TargetUnavailable(
            f"{where}: cannot reach Jira ({type(exc).__name__}); check base_url and the network path"
        ) from None


def raise_for_status(response: httpx.Response, *, where: str, api: str, key: str) -> None:
    """Return on 2xx; otherwise raise the error that says what went wrong and how to fix it."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = jira_messages(response)
    suffix = f" Jira said: {detail}" if detail else ""
    if status in _UNAVAILABLE or status >= 500:
        raise TargetUnavailable(
            f"{where}: Jira answered {status} (rate limited or unavailable); retrying later.{suffix}",
            status_code=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if 300 <= status < 400:
        message = (
            f"Jira redirected to {response.headers.get('Location', '?')!r}; set base_url to the final site "
            "URL (https, and the context path on Data Center)"
        )
    elif status == 401:
        message = "Jira rejected the credentials (check email/API token or PAT scope/expiry)"
    elif status == 403:
        message = (
            "Jira refused permission; the account needs 'Browse projects' and 'Edit issues' in the project "
            "(and a token scope that allows writing issues)"
        )
    elif status == 404:
        message = "issue not found or wrong base URL (or the account cannot see the issue)"
    elif status == 400:
        message = (
            "Jira refused the edit; if the field is named below, add it to the issue's edit screen or check "
            f"GET /rest/api/{api}/issue/{key}/editmeta for the field id and type"
        )
    else:
        message = f"Jira refused the request with {status}"
    raise TargetRejected(f"{where}: {message}.{suffix}", status_code=status)


def jira_messages(response: httpx.Response) -> str:
    """Jira's ``errorMessages`` and ``errors`` joined into one short line (empty when none)."""
    try:
        data = response.json()
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    parts: list[str] = []
    messages = data.get("errorMessages")
    if isinstance(messages, list):
        parts.extend(str(m) for m in messages if m)
    errors = data.get("errors")
    if isinstance(errors, dict):
        parts.extend(f"{field}: {msg}" for field, msg in errors.items())
    text = "; ".join(parts)
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
