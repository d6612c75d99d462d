"""Admin API for operating an integration: rollout flags (and the kill switch), and feedback on runs.

    GET    /admin/flags                                  every integration: YAML mode, override, effective
    PUT    /admin/flags/{integration}   {"mode": "off|shadow|percent|on", "percent": 10, "reason": "..."}
    DELETE /admin/flags/{integration}                    back to the YAML (or OpenFeature)
    POST   /api/runs/{run_id}/feedback  {"useful": true, "comment": "..."}
    GET    /feedback/{run_id}/{up|down}?sig=...          the signed one-click link for people (no login)

Flags need scope ``flags.manage`` (or ``admin.manage``); feedback over the API ``feedback.submit``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import secrets
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from patchbay.config.loader import LoadedProject
from patchbay.intake.admin import NO_SUCH_RUN, authorizer_for
from patchbay.intake.errors import REQUEST_ID_HEADER, error_response, request_id
from patchbay.observability import metrics
from patchbay.rollout.flags import MODES, Flags
from patchbay.runs.feedback import FeedbackStore
from patchbay.runs.store import RunStore


def feedback_key(project: LoadedProject) -> bytes:
    """The key that signs one-click feedback links: server.feedback_key, else a 0600 file in the data dir."""
    configured = project.config.server.feedback_key
    if configured is not None:
        return configured.get_secret_value().encode()
    path = project.data_dir / "feedback.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return Path(path).read_text().strip().encode()


def sign(key: bytes, run_id: str, vote: str) -> str:
    """The signature of one feedback link."""
    return hmac.new(key, f"{run_id}:{vote}".encode(), hashlib.sha256).hexdigest()[:32]


def feedback_links(project: LoadedProject, run_id: str) -> dict[str, str]:
    """The two one-click links for a run (put them next to a summary, e.g. in a ticket comment)."""
    base = project.config.server.public_url.rstrip("/")
    key = feedback_key(project)
    return {vote: f"{base}/feedback/{run_id}/{vote}?sig={sign(key, run_id, vote)}" for vote in ("up", "down")}


def ops_routes(project: LoadedProject, store: RunStore, flags: Flags) -> list[Route]:
    """The flag and feedback routes."""
    authorizer = authorizer_for(project, store)
    feedback = FeedbackStore(store.engine)
    integrations = project.config.integrations

    def _json(request: Request, body: dict[str, Any], status: int = 200) -> JSONResponse:
        return JSONResponse(
            {**body, "request_id": request_id(request)},
            status_code=status,
            headers={REQUEST_ID_HEADER: request_id(request)},
        )

    async def _body(request: Request) -> dict[str, Any] | Response:
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError as exc:
            return error_response(request, 400, "invalid_json", f"invalid JSON body: {exc}")
        if not isinstance(data, dict):
            return error_response(request, 400, "invalid_json", "the body must be a JSON object")
        return data

    def _flag_view(name: str) -> dict[str, Any]:
        rollout = integrations[name].rollout
        mode, percent, source = flags.effective(name, rollout, fresh=True)
        override = flags.override(name)
        return {
            "integration": name,
            "config": {"mode": rollout.mode, "percent": rollout.percent},
            "override": None
            if override is None
            else {k: str(v) if k == "updated_at" else v for k, v in override.items()},
            "effective": {"mode": mode, "percent": percent, "source": source},
        }

    async def list_flags(request: Request) -> Response:
        if (denied := await asyncio.to_thread(authorizer.check, request, "flags.manage")) is not None:
            return denied
        views = await asyncio.to_thread(lambda: [_flag_view(n) for n in sorted(integrations)])
        return _json(request, {"flags": views})

    async def set_flag(request: Request) -> Response:
        if (denied := await asyncio.to_thread(authorizer.check, request, "flags.manage")) is not None:
            return denied
        name = request.path_params["integration"]
        if name not in integrations:
            return error_response(request, 404, "unknown_integration", f"no integration named {name!r}")
        body = await _body(request)
        if isinstance(body, Response):
            return body
        mode, percent = body.get("mode"), body.get("percent")
        if mode not in MODES:
            return error_response(request, 400, "bad_request", f"mode must be one of {', '.join(MODES)}")
        if body.get("reason") is not None and not isinstance(body.get("reason"), str):
            return error_response(request, 400, "bad_request", "reason must be a string")
        if percent is not None and (not isinstance(percent, int | float) or isinstance(percent, bool)):
            return error_response(request, 400, "bad_request", "percent must be a number between 0 and 100")
        try:
            await asyncio.to_thread(
                flags.set, name, mode=mode, percent=percent, reason=body.get("reason"), by="admin-api"
            )
        except ValueError as exc:
            return error_response(request, 400, "bad_request", str(exc))
        return _json(request, await asyncio.to_thread(_flag_view, name))

    async def clear_flag(request: Request) -> Response:
        if (denied := await asyncio.to_thread(authorizer.check, request, "flags.manage")) is not None:
            return denied
        name = request.path_params["integration"]
        if name not in integrations:
            return error_response(request, 404, "unknown_integration", f"no integration named {name!r}")
        await asyncio.to_thread(flags.clear, name)
        return _json(request, await asyncio.to_thread(_flag_view, name))

    async def rate(
        run_id: str, useful: bool, comment: str | None, rater: str | None
    ) -> dict[str, Any] | None:
        try:
            row = await asyncio.to_thread(feedback.add, run_id, useful=useful, comment=comment, rater=rater)
        except LookupError:
            return None
        metrics.FEEDBACK.labels(integration=row["integration"], useful=str(useful).lower()).inc()
        return row

    async def api_feedback(request: Request) -> Response:
        if (denied := await asyncio.to_thread(authorizer.check, request, "feedback.submit")) is not None:
            return denied
        body = await _body(request)
        if isinstance(body, Response):
            return body
        useful, comment = body.get("useful"), body.get("comment")
        if not isinstance(useful, bool):
            return error_response(
                request, 400, "bad_request", 'send {"useful": true|false, "comment": "..."}'
            )
        if comment is not None and not isinstance(comment, str):
            return error_response(request, 400, "bad_request", "comment must be a string")
        if body.get("rater") is not None and not isinstance(body.get("rater"), str):
            return error_response(request, 400, "bad_request", "rater must be a string (who rated)")
        row = await rate(request.path_params["run_id"], useful, comment, body.get("rater"))
        if row is None:
            return error_response(request, 404, "run_not_found", NO_SUCH_RUN)
        return _json(request, {"run_id": row["run_id"], "useful": useful}, status=201)

    async def link_feedback(request: Request) -> Response:
        run_id, vote = request.path_params["run_id"], request.path_params["vote"]
        expected = sign(feedback_key(project), run_id, vote) if vote in ("up", "down") else ""
        given = request.query_params.get("sig", "").encode()  # bytes: non-ASCII must be a 403, not a 500
        if not expected or not hmac.compare_digest(expected.encode(), given):
            return error_response(request, 403, "bad_signature", "this feedback link is not valid")
        row = await rate(run_id, vote == "up", None, f"link:{request.client.host if request.client else ''}")
        if row is None:
            return error_response(request, 404, "run_not_found", NO_SUCH_RUN)
        word = "useful" if vote == "up" else "not useful"
        return HTMLResponse(
            f"<!doctype html><title>Thanks</title><p>Thanks: recorded as <b>{word}</b> for run "
            f"<code>{html.escape(run_id)}</code>.</p>"
        )

    return [
        Route("/admin/flags", list_flags, methods=["GET"]),
        Route("/admin/flags/{integration}", set_flag, methods=["PUT"]),
        Route("/admin/flags/{integration}", clear_flag, methods=["DELETE"]),
        Route("/api/runs/{run_id}/feedback", api_feedback, methods=["POST"]),
        Route("/feedback/{run_id}/{vote}", link_feedback, methods=["GET"]),
    ]
