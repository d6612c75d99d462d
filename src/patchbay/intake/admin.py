"""The admin API: run records, dead-lettered runs and replays over HTTP.

    GET  /admin/runs?status=failed&integration=X&limit=50    newest first
    GET  /admin/runs/{run_id}
    POST /admin/runs/{run_id}/replay      {"from_step": "model"}  -> 202 {"run_id": new, "replay_of": id}
    POST /admin/runs/replay               {"all_failed": true, "integration": "X"}

Who may call (:mod:`patchbay.auth.callers`): an API key (``patchbay keys create``) with scope
``admin.manage`` lists and shows runs, ``runs.replay`` (or ``admin.manage``) replays; an OIDC bearer
token whose roles map to those scopes; ``Authorization: Bearer <server.admin_token>``; and, with no
credentials, clients on the loopback interface in the ``dev`` environment.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from patchbay.auth.apikeys import ApiKeyStore
from patchbay.auth.callers import ApiKeyAuthenticator, Authorizer
from patchbay.auth.oidc import oidc_validator
from patchbay.config.loader import LoadedProject
from patchbay.errors import PatchbayError
from patchbay.intake.errors import REQUEST_ID_HEADER, error_response, request_id
from patchbay.runs.store import RunStore

# Never echo the id from the URL: it is caller-controlled text.
NO_SUCH_RUN = "no run with this id; list runs with GET /admin/runs or 'patchbay runs list'"


class Replayer(Protocol):
    """What the admin API needs from the durable engine."""

    store: RunStore

    def replay(self, run_id: str, *, from_step: str | None = None, force: bool = False) -> str: ...


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    clean = {k: v for k, v in row.items() if k not in ("event", "state")}
    text = json.dumps(clean, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))
    result: dict[str, Any] = json.loads(text)
    return result


def authorizer_for(project: LoadedProject, store: RunStore) -> Authorizer:
    """API keys (in the run-record database), OIDC tokens, the admin token, localhost in dev."""
    token = project.config.server.admin_token
    return Authorizer(
        environment=project.environment,
        keys=ApiKeyAuthenticator(ApiKeyStore(store.engine), environment=project.environment),
        admin_token=lambda: token.get_secret_value() if token is not None else None,
        oidc=oidc_validator(project),
        trusted_proxies=project.config.limits.trusted_proxies,
    )


def admin_routes(project: LoadedProject, engine: Replayer) -> list[Route]:
    """The admin routes for one project and engine."""
    store = engine.store
    authorizer = authorizer_for(project, store)

    async def list_runs(request: Request) -> Response:
        if (denied := await asyncio.to_thread(authorizer.check, request, "admin.manage")) is not None:
            return denied
        try:
            limit = min(max(int(request.query_params.get("limit", "50")), 1), 1000)
        except ValueError:
            return error_response(request, 400, "bad_request", "limit must be an integer between 1 and 1000")
        rows = await asyncio.to_thread(
            store.list,
            integration=request.query_params.get("integration"),
            status=request.query_params.get("status"),
            limit=limit,
        )
        return JSONResponse(
            {"runs": [_jsonable(r) for r in rows], "request_id": request_id(request)},
            headers={REQUEST_ID_HEADER: request_id(request)},
        )

    async def show_run(request: Request) -> Response:
        if (denied := await asyncio.to_thread(authorizer.check, request, "admin.manage")) is not None:
            return denied
        row = await asyncio.to_thread(store.get, request.path_params["run_id"])
        if row is None:
            return error_response(request, 404, "run_not_found", NO_SUCH_RUN)
        return JSONResponse(_jsonable(row), headers={REQUEST_ID_HEADER: request_id(request)})

    async def _body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data

    async def replay_one(request: Request) -> Response:
        if (denied := await asyncio.to_thread(authorizer.check, request, "runs.replay")) is not None:
            return denied
        try:
            body = await _body(request)
        except ValueError as exc:
            return error_response(request, 400, "invalid_json", f"invalid JSON body: {exc}")
        from_step = body.get("from_step")
        if from_step is not None and not isinstance(from_step, str):
            return error_response(request, 400, "bad_request", "from_step must be a step name (a string)")
        old = request.path_params["run_id"]
        try:
            new = await asyncio.to_thread(
                engine.replay, old, from_step=from_step, force=body.get("force") is True
            )
        except PatchbayError as exc:
            if exc.code == "run_not_found":
                return error_response(request, 404, exc.code, NO_SUCH_RUN)
            status = 409
            return error_response(request, status, exc.code, exc.message)
        return JSONResponse(
            {"run_id": new, "replay_of": old, "request_id": request_id(request)},
            status_code=202,
            headers={REQUEST_ID_HEADER: request_id(request)},
        )

    async def replay_failed(request: Request) -> Response:
        if (denied := await asyncio.to_thread(authorizer.check, request, "runs.replay")) is not None:
            return denied
        try:
            body = await _body(request)
        except ValueError as exc:
            return error_response(request, 400, "invalid_json", f"invalid JSON body: {exc}")
        if body.get("all_failed") is not True:
            return error_response(
                request,
                400,
                "bad_request",
                'send {"all_failed": true, "integration": "NAME"} to replay every failed run',
            )
        integration = body.get("integration")
        if integration is not None and not isinstance(integration, str):
            return error_response(request, 400, "bad_request", "integration must be an integration name")
        rows = await asyncio.to_thread(store.replayable_failures, integration=integration)
        replayed: list[dict[str, str]] = []
        failed: list[dict[str, str]] = []
        for row in rows:
            try:
                new = await asyncio.to_thread(engine.replay, row["run_id"])
            except PatchbayError as exc:  # one that cannot be replayed does not stop the others
                failed.append({"run_id": row["run_id"], "code": exc.code, "message": exc.message})
                continue
            replayed.append({"run_id": new, "replay_of": row["run_id"]})
        return JSONResponse(
            {"replayed": replayed, "failed": failed, "request_id": request_id(request)},
            status_code=202,
            headers={REQUEST_ID_HEADER: request_id(request)},
        )

    return [
        Route("/admin/runs", list_runs, methods=["GET"]),
        Route("/admin/runs/replay", replay_failed, methods=["POST"]),
        Route("/admin/runs/{run_id}", show_run, methods=["GET"]),
        Route("/admin/runs/{run_id}/replay", replay_one, methods=["POST"]),
    ]
