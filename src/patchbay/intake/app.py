"""The ASGI app: webhook intake and health.

    POST /hooks/{integration}   verify -> parse -> filter event type -> durable enqueue -> 202
    GET  /healthz               liveness plus the configured integrations
    GET  /openapi.json          the OpenAPI 3.1 document of every route (:mod:`patchbay.intake.openapi`)

A 202 means the delivery is durably recorded; a redelivery of the same delivery id answers 200 with
``"duplicate": true`` and does not run again. Every failure answers in the one JSON error format
(:mod:`patchbay.intake.errors`) with a request id - never a stack trace.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from patchbay.connectors.base import Delivery
from patchbay.console import console_routes
from patchbay.errors import RequestError
from patchbay.intake.admin import Replayer, admin_routes
from patchbay.intake.admin_ops import ops_routes
from patchbay.intake.errors import REQUEST_ID_HEADER, error_response, request_id
from patchbay.intake.openapi import openapi_route
from patchbay.intake.ratelimit import RequestLimits
from patchbay.observability import metrics, tracing
from patchbay.pipeline.build import Runtime

log = structlog.get_logger("patchbay.intake")


class Submitter(Protocol):
    """What intake hands an accepted delivery to (the durable engine, or a test double)."""

    async def submit(self, integration: str, delivery: Delivery) -> Any: ...


class BodyTooLarge(Exception):
    """The request body is over the configured limit."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing early when Content-Length or the streamed bytes exceed ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge
        except ValueError:
            raise RequestError("invalid Content-Length header", status_code=400, code="bad_request") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(runtime: Runtime, submitter: Submitter, *, admin: Replayer | None = None) -> Starlette:
    """Build the app for one project runtime; ``submitter`` durably accepts deliveries.

    ``admin`` (the durable engine) adds the admin API (:mod:`patchbay.intake.admin`).
    """
    limit = runtime.project.config.server.max_body_bytes
    limits = RequestLimits(runtime.project.config.limits)

    async def hook(request: Request) -> Response:
        # Bind the ids once: every log line of this request carries them.
        name = request.path_params["integration"]
        structlog.contextvars.bind_contextvars(
            request_id=request_id(request), integration=name, environment=runtime.project.environment
        )
        try:
            with tracing.span("intake.delivery", **{"patchbay.integration": name}) as current:
                response = await _handle(request)
                current.set_attribute("http.response.status_code", response.status_code)
        finally:
            structlog.contextvars.unbind_contextvars("request_id", "integration", "environment")
        metrics.DELIVERIES.labels(
            integration=name if name in runtime.integrations else "(unknown)", outcome=_outcome(response)
        ).inc()
        return response

    async def _handle(request: Request) -> Response:
        rid = request_id(request)
        name = request.path_params["integration"]
        integration = runtime.integrations.get(name)
        if integration is None:
            return error_response(
                request,
                404,
                "unknown_integration",
                # The requested name is not echoed: an error body never reflects caller input.
                "no integration by that name; configured: "
                f"{', '.join(sorted(runtime.integrations)) or 'none'}",
            )
        limited = limits.check(request, name)
        if limited is not None:
            return limited
        if await _overloaded(submitter):
            log.warning("intake.backpressure", integration=name, request_id=rid)
            return error_response(
                request,
                503,
                "overloaded",
                "too many runs are waiting (server.max_queue_depth); retry after the Retry-After delay",
                headers={"Retry-After": str(runtime.project.config.server.retry_after_s)},
            )
        try:
            body = await read_body(request, limit)
        except BodyTooLarge:
            return error_response(
                request,
                413,
                "body_too_large",
                f"request body is larger than {limit} bytes (server.max_body_bytes)",
            )
        try:
            integration.source.verify(request.headers, body)
            delivery = integration.source.parse(request.headers, body)
        except RequestError as exc:
            log.info(
                "intake.delivery_rejected",
                integration=name,
                code=exc.code,
                status=exc.status_code,
                request_id=rid,
            )
            return error_response(request, exc.status_code or 400, exc.code, exc.message)
        if not integration.spec.config.enabled or not integration.accepts(delivery.event_type):
            reason = (
                "integration disabled"
                if not integration.spec.config.enabled
                else (f"event type {delivery.event_type!r} is not in trigger.events")
            )
            log.info(
                "intake.delivery_ignored", integration=name, event_type=delivery.event_type, request_id=rid
            )
            return JSONResponse(
                {"status": "ignored", "reason": reason, "request_id": rid},
                status_code=200,
                headers={REQUEST_ID_HEADER: rid},
            )
        try:
            submitted = await submitter.submit(name, delivery)
        except Exception as exc:
            # Not durably recorded means not accepted: the sender must retry (a 503, never a 500).
            log.error("intake.record_failed", integration=name, error_type=type(exc).__name__, request_id=rid)
            return error_response(
                request,
                503,
                "storage_unavailable",
                "the delivery could not be recorded durably and was not accepted; retry it",
                headers={"Retry-After": str(runtime.project.config.server.retry_after_s)},
            )
        duplicate = bool(getattr(submitted, "duplicate", False))
        run_id = str(getattr(submitted, "run_id", ""))
        log.info(
            "intake.delivery_accepted", integration=name, run_id=run_id, duplicate=duplicate, request_id=rid
        )
        return JSONResponse(
            {
                "status": "duplicate" if duplicate else "accepted",
                "duplicate": duplicate,
                "run_id": run_id,
                "delivery_id": delivery.delivery_id,
                "request_id": rid,
            },
            status_code=200 if duplicate else 202,
            headers={REQUEST_ID_HEADER: rid},
        )

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def healthz(request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "environment": runtime.project.environment,
                "integrations": sorted(runtime.integrations),
            },
            headers={REQUEST_ID_HEADER: request_id(request)},
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(
            request, exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {})
        )

    async def internal_error(request: Request, exc: Exception) -> Response:
        log.error(
            "intake.internal_error",
            error_type=type(exc).__name__,
            request_id=request_id(request),
            exc_info=exc,
        )
        return error_response(
            request,
            500,
            "internal_error",
            "the server could not handle this request; it was logged with this request id",
        )

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: http_error,
        Exception: internal_error,
    }
    return Starlette(
        routes=[
            Route("/hooks/{integration}", hook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            openapi_route(),
            *(
                [Route("/metrics", metrics_endpoint, methods=["GET"])]
                if runtime.project.config.server.metrics
                else []
            ),
            *(admin_routes(runtime.project, admin) if admin is not None else []),
            *(_ops_routes(runtime, admin) if admin is not None else []),
            *(console_routes(runtime, admin) if admin is not None else []),
        ],
        exception_handlers=handlers,
    )


def _ops_routes(runtime: Runtime, admin: Replayer) -> list[Route]:
    flags = getattr(admin, "flags", None)
    if flags is None:
        return []
    return ops_routes(runtime.project, admin.store, flags)


async def _overloaded(submitter: Submitter) -> bool:
    """Whether the submitter refuses new work now (back-pressure). The durable engine answers on the
    event loop from its cached queue depth (``overloaded_async``); a submitter without that method
    (a test double) never refuses."""
    check = getattr(submitter, "overloaded_async", None)
    return check is not None and bool(await check())


def _outcome(response: Response) -> str:
    """accepted / duplicate / ignored, or the error code of a refusal (for the deliveries metric)."""
    if response.status_code == 202:
        return "accepted"
    try:
        data = json.loads(bytes(response.body))
    except ValueError:
        return str(response.status_code)
    if response.status_code == 200:
        return str(data.get("status", "ok"))
    return str((data.get("error") or {}).get("code", response.status_code))
