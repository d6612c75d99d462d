"""One JSON error format for every HTTP answer that is not a success.

{"error": {"code": "signature_invalid", "message": "...", "request_id": "req_..."}}
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

REQUEST_ID_HEADER = "X-Request-ID"


def request_id(request: Request) -> str:
    """The request's id: a caller's X-Request-ID when it is sane, else a new one."""
    existing = request.scope.get("patchbay.request_id")
    if isinstance(existing, str):
        return existing
    given = request.headers.get(REQUEST_ID_HEADER, "")
    rid = given if 0 < len(given) <= 128 and given.isascii() and given.isprintable() else ""
    rid = rid or f"req_{secrets.token_hex(8)}"
    request.scope["patchbay.request_id"] = rid
    return rid


def error_response(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error in the one format, with the request id in the body and the header."""
    rid = request_id(request)
    body: dict[str, Any] = {"error": {"code": code, "message": message, "request_id": rid}}
    all_headers = {REQUEST_ID_HEADER: rid}
    all_headers.update(headers or {})
    return JSONResponse(body, status_code=status, headers=all_headers)
