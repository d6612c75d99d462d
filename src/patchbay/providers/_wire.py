"""Shared HTTP plumbing of the remote providers: turn transport failures and status codes into errors.

Every remote provider maps failures the same way, so retry and fallback behave the same whichever
endpoint is configured:

* 408, 429 and 5xx, connection and read errors, and a 200 whose body is not JSON (cut off in
  transit) -> :class:`ModelUnavailable` (retryable; carries ``retry_after`` when the server sent one);
* an httpx timeout -> :class:`ModelTimeout` (retryable);
* any other 4xx -> :class:`ModelRejected` (permanent), quoting the provider's own error message with
  the API key removed from it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from patchbay.errors import ModelError, ModelRejected, ModelTimeout, ModelUnavailable, parse_retry_after

_MAX_DETAIL = 300


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from ``Retry-After`` (or Azure's ``retry-after-ms``), or None."""
    millis = response.headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    return parse_retry_after(response.headers.get("retry-after"))


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` (and of its last 4+ characters) masked."""
    if secret:
        text = text.replace(secret, "***")
        # Some providers echo a shortened key ("sk-abc***wxyz"): hide the recognisable tail too.
        if len(secret) >= 12:
            text = text.replace(secret[-6:], "***")
    return text


def provider_detail(response: httpx.Response, secret: str | None = None) -> str:
    """The provider's own error message from an error body, shortened and without the API key."""
    detail = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            detail = str(error.get("message") or error.get("code") or "")
        elif isinstance(error, str):
            detail = error
        detail = detail or str(body.get("message") or body.get("detail") or "")
    if not detail:
        detail = response.text.strip()
    detail = " ".join(redact(detail, secret).split())
    return detail[:_MAX_DETAIL] + ("..." if len(detail) > _MAX_DETAIL else "")


def error_for_status(
    status: int, *, where: str, detail: str = "", retry_after_s: float | None = None
) -> ModelError:
    """The error for an HTTP status from a provider: retryable for 408/429/5xx, else permanent."""
    said = f": {detail}" if detail else ""
    if status in (408, 429) or status >= 500:
        hint = "rate limited" if status == 429 else "temporarily unavailable"
        return ModelUnavailable(
            f"{where} answered {status} ({hint}){said}; Patchbay retries and then falls back",
            status_code=status,
            retry_after=retry_after_s,
        )
    fix = {
        401: "check the provider's api_key",
        403: "check the key's permissions for this model",
        404: "check base_url and model",
    }.get(status, "check the provider's options (model, base_url) and the request size")
    return ModelRejected(f"{where} refused the request with {status}{said}; {fix}", status_code=status)


def check_response(response: httpx.Response, *, where: str, secret: str | None = None) -> None:
    """Raise the mapped error for a non-2xx response."""
    if response.is_success:
        return
    raise error_for_status(
        response.status_code,
        where=where,
        detail=provider_detail(response, secret),
        retry_after_s=retry_after(response),
    )


def transport_error(exc: httpx.HTTPError, *, where: str, timeout_s: float) -> ModelError:
    """The error for an httpx exception raised while sending or reading."""
    # httpx-aiohttp reports a refused or dropped connection as ConnectTimeout; only a cause that
    # really is a timeout (aiohttp's timeouts subclass TimeoutError) counts as one.
    cause = exc.__cause__
    timed_out = isinstance(exc, httpx.TimeoutException) and (cause is None or isinstance(cause, TimeoutError))
    if timed_out:
        return ModelTimeout(
            f"{where} did not answer within {timeout_s:g}s ({type(exc).__name__}); "
            "raise timeout_s if the model is just slow"
        )
    return ModelUnavailable(
        f"{where} could not be reached ({type(cause or exc).__name__}); "
        "check base_url and that the server is up"
    )


def json_body(response: httpx.Response, *, where: str) -> Any:
    """The decoded JSON of a 2xx response; a body cut off in transit is retryable."""
    try:
        return json.loads(response.content)
    except ValueError:
        raise ModelUnavailable(
            f"{where} answered {response.status_code} with a body that is not valid JSON "
            f"({len(response.content)} bytes, probably cut off); retrying may help",
            status_code=response.status_code,
        ) from None
