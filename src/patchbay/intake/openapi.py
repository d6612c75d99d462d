"""The app's own OpenAPI 3.1 document, served at ``GET /openapi.json``.

Every JSON route is described here by hand (path, method, parameters, body, and every status it can
answer); the document is assembled from the routes the app really has, so a route that is added
without a description here is missing from ``/openapi.json`` and ``tests/intake/test_openapi.py``
fails. The console's HTML pages are listed with a ``default`` response (they are pages for people,
not an API). ``make fuzz`` runs schemathesis against this document: every answer must be one of the
documented statuses, errors in the one JSON format, never a 500.

To document a new route: add ``(path, method): Operation(...)`` to ``OPERATIONS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from patchbay import __version__

ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "description": "Machine-readable, e.g. signature_invalid."},
                "message": {"type": "string", "description": "What went wrong and how to fix it."},
                "request_id": {"type": "string", "description": "Also in the X-Request-ID header."},
            },
        }
    },
}
_REF_ERROR = {"$ref": "#/components/schemas/Error"}
_RID = {"type": "string"}
_OBJECT = {"type": "object"}

ERROR_TEXT = {
    400: "Malformed request (bad JSON, bad parameter); see error.message",
    401: "Missing or invalid credentials or webhook signature",
    403: "Authenticated, but lacks the scope or comes from a refused address",
    404: "No such integration or run",
    405: "Method not allowed",
    409: "The run cannot be replayed in its state",
    413: "Body larger than server.max_body_bytes",
    429: "Rate limited; retry after Retry-After seconds",
    503: "Overloaded, storage or identity provider unavailable; retry after Retry-After",
}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


@dataclass(frozen=True)
class Operation:
    """One documented route + method: success answers, error statuses, inputs."""

    summary: str
    ok: dict[int, dict[str, Any]]  # status -> JSON schema of the body ({"html"|"text": ...} for others)
    errors: tuple[int, ...]
    tag: str = "api"
    body: dict[str, Any] | None = None
    body_required: bool = False
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    secured: bool = True
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)


_AUTH = (401, 403, 503)
_FLAG_VIEW = _obj(["integration", "config", "effective"], integration={"type": "string"})
_HOOK_OK = _obj(
    ["status", "request_id"],
    status={"type": "string", "enum": ["duplicate", "ignored"]},
    duplicate={"type": "boolean"},
    run_id={"type": "string"},
    delivery_id={"type": "string"},
    reason={"type": "string"},
    request_id=_RID,
)

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("/hooks/{integration}", "post"): Operation(
        "Receive a webhook delivery: verify its signature, parse, enqueue durably",
        ok={
            202: _obj(
                ["status", "duplicate", "run_id", "delivery_id", "request_id"],
                status={"const": "accepted"},
                duplicate={"const": False},
                run_id={"type": "string"},
                delivery_id={"type": "string"},
                request_id=_RID,
            ),
            200: _HOOK_OK,
        },
        errors=(400, 401, 404, 413, 429, 503),
        tag="webhooks",
        body=_OBJECT,
        body_required=True,
        secured=False,
    ),
    ("/healthz", "get"): Operation(
        "Liveness and the configured integrations",
        ok={
            200: _obj(
                ["status", "environment", "integrations"],
                status={"const": "ok"},
                environment={"type": "string"},
                integrations={"type": "array", "items": {"type": "string"}},
            )
        },
        errors=(),
        tag="ops",
        secured=False,
    ),
    ("/metrics", "get"): Operation(
        "Prometheus metrics", ok={200: {"text": True}}, errors=(), tag="ops", secured=False
    ),
    ("/openapi.json", "get"): Operation(
        "This document", ok={200: _OBJECT}, errors=(), tag="ops", secured=False
    ),
    ("/admin/runs", "get"): Operation(
        "List runs, newest first (scope admin.manage)",
        ok={200: _obj(["runs", "request_id"], runs={"type": "array", "items": _OBJECT}, request_id=_RID)},
        errors=(400, *_AUTH),
        query={
            "status": {"type": "string"},
            "integration": {"type": "string"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
        },
    ),
    ("/admin/runs/{run_id}", "get"): Operation(
        "One run record (scope admin.manage)", ok={200: _OBJECT}, errors=(*_AUTH, 404)
    ),
    ("/admin/runs/{run_id}/replay", "post"): Operation(
        "Replay a run, optionally from a step (scope runs.replay)",
        ok={
            202: _obj(
                ["run_id", "replay_of", "request_id"],
                run_id={"type": "string"},
                replay_of={"type": "string"},
                request_id=_RID,
            )
        },
        errors=(400, *_AUTH, 404, 409),
        body=_obj([], from_step={"type": "string"}),
    ),
    ("/admin/runs/replay", "post"): Operation(
        "Replay every failed run, optionally of one integration (scope runs.replay)",
        ok={
            202: _obj(
                ["replayed", "request_id"], replayed={"type": "array", "items": _OBJECT}, request_id=_RID
            )
        },
        errors=(400, *_AUTH),
        body=_obj(["all_failed"], all_failed={"const": True}, integration={"type": "string"}),
        body_required=True,
    ),
    ("/admin/flags", "get"): Operation(
        "Rollout flags of every integration (scope flags.manage)",
        ok={
            200: _obj(["flags", "request_id"], flags={"type": "array", "items": _FLAG_VIEW}, request_id=_RID)
        },
        errors=_AUTH,
    ),
    ("/admin/flags/{integration}", "put"): Operation(
        "Override an integration's rollout (the kill switch: mode off) (scope flags.manage)",
        ok={200: _FLAG_VIEW},
        errors=(400, *_AUTH, 404),
        body=_obj(
            ["mode"],
            mode={"type": "string", "enum": ["off", "shadow", "percent", "on"]},
            percent={"type": "number", "minimum": 0, "maximum": 100},
            reason={"type": "string"},
        ),
        body_required=True,
    ),
    ("/admin/flags/{integration}", "delete"): Operation(
        "Remove the override: back to the YAML (scope flags.manage)",
        ok={200: _FLAG_VIEW},
        errors=(*_AUTH, 404),
    ),
    ("/api/runs/{run_id}/feedback", "post"): Operation(
        "Rate a run's output (scope feedback.submit)",
        ok={
            201: _obj(
                ["run_id", "useful", "request_id"],
                run_id={"type": "string"},
                useful={"type": "boolean"},
                request_id=_RID,
            )
        },
        errors=(400, *_AUTH, 404),
        body=_obj(
            ["useful"], useful={"type": "boolean"}, comment={"type": "string"}, rater={"type": "string"}
        ),
        body_required=True,
    ),
    ("/feedback/{run_id}/{vote}", "get"): Operation(
        "The signed one-click feedback link for people",
        ok={200: {"html": True}},
        errors=(403, 404),
        query={"sig": {"type": "string"}},
        secured=False,
        path_schemas={"vote": {"type": "string", "enum": ["up", "down"]}},
    ),
}


def _responses(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, schema in op.ok.items():
        if schema.get("html"):
            content = {"text/html": {"schema": {"type": "string"}}}
        elif schema.get("text"):
            content = {"text/plain": {"schema": {"type": "string"}}}
        else:
            content = {"application/json": {"schema": schema}}
        out[str(status)] = {"description": "Success", "content": content}
    for status in sorted({*op.errors, 405}):
        out[str(status)] = {
            "description": ERROR_TEXT[status],
            "content": {"application/json": {"schema": _REF_ERROR}},
        }
    return out


def _operation(path: str, op: Operation) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": op.path_schemas.get(name, {"type": "string", "minLength": 1}),
        }
        for name in _path_params(path)
    ]
    params += [{"name": n, "in": "query", "required": False, "schema": s} for n, s in op.query.items()]
    doc: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": params,
        "responses": _responses(op),
    }
    if op.body is not None:
        doc["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": op.body}},
        }
    if op.secured:
        doc["security"] = [{"bearer": []}, {}]  # {}: no credentials, from localhost in dev
    return doc


def _path_params(path: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{")]


def walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str, bool]]:
    """(path, method, is_console) for every route, mounts flattened."""
    for route in routes:
        if isinstance(route, Mount):
            yield from ((p, m, True) for p, m, _ in walk(list(route.routes), prefix + route.path))
        elif isinstance(route, Route):
            path = prefix + route.path
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield path, method.lower(), path == "/" or path.startswith("/console")


def build_openapi(routes: list[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for these routes (undescribed non-console routes are left out)."""
    paths: dict[str, dict[str, Any]] = {}
    for path, method, console in walk(routes):
        op = OPERATIONS.get((path, method))
        if op is not None:
            paths.setdefault(path, {})[method] = _operation(path, op)
        elif console:
            paths.setdefault(path, {})[method] = {
                "summary": "Console page (HTML for people, not an API)",
                "tags": ["console"],
                "parameters": [
                    {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                    for n in _path_params(path)
                ],
                "responses": {"default": {"description": "An HTML page, a redirect or an error page"}},
            }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Patchbay",
            "version": __version__,
            "description": "Webhook intake, health, metrics and the admin API. Every error answers "
            '{"error": {"code", "message", "request_id"}}.',
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key (pb_live_/pb_test_), an OIDC access token, or "
                    "server.admin_token",
                }
            },
        },
    }


def openapi_route() -> Route:
    """``GET /openapi.json``: the document for the app this route is mounted in (built once)."""
    cache: dict[str, Any] = {}

    async def openapi(request: Request) -> Response:
        if "doc" not in cache:
            cache["doc"] = build_openapi(list(request.app.routes))
        return JSONResponse(cache["doc"])

    return Route("/openapi.json", openapi, methods=["GET"])
