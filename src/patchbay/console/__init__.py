"""The operator console served by ``patchbay serve`` at ``/console``.

    GET  /console/                      overview per integration and environment (charts)
    GET  /console/runs?q=&status=&integration=     searchable run list
    GET  /console/runs/{run_id}         one run: steps, sanitized input, prompt, answer, write, flag, errors
    POST /console/runs/{run_id}/replay  replay a failed run (scope runs.replay)
    GET  /console/flags                 rollout flags; POST /console/flags/{integration} (scope flags.manage)
    GET  /console/login, POST /console/login, POST /console/logout
    GET  /console/login/oidc, GET /console/login/callback   OIDC sign-in (when auth.oidc.console_client_id)

Server-rendered (Jinja2, autoescaped) with inline SVG charts; no scripts, no external assets. Access:
see :mod:`patchbay.console.access`. To add a page: a handler on :class:`~patchbay.console.pages.Console`,
a template in ``templates/`` extending ``base.html``, one route below, one browser test.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from patchbay.auth.apikeys import ApiKeyStore
from patchbay.console.access import Access
from patchbay.console.oidc_login import sso_pages
from patchbay.console.pages import Console
from patchbay.intake.admin import Replayer, authorizer_for
from patchbay.pipeline.build import Runtime
from patchbay.rollout.flags import Flags

__all__ = ["console_routes"]


def console_routes(runtime: Runtime, engine: Replayer) -> list[BaseRoute]:
    """The console's routes (and ``/`` redirecting to it) for one runtime and durable engine."""
    project = runtime.project
    store = engine.store
    flags = getattr(engine, "flags", None) or Flags(store.engine, project.config.flags)
    access = Access(project, authorizer_for(project, store), ApiKeyStore(store.engine))
    console = Console(runtime, engine, flags, access)
    sso = sso_pages(project, access, console.render)
    css = resources.files("patchbay.console").joinpath("static/console.css").read_bytes()

    async def stylesheet(request: Request) -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=300"})

    async def home(request: Request) -> Response:
        return RedirectResponse("/console/", status_code=307)

    async def bare(request: Request) -> Response:
        return RedirectResponse("/console/", status_code=307)

    page = console.page
    return [
        Route("/", home, methods=["GET"]),
        Route("/console", bare, methods=["GET"]),
        Mount(
            "/console",
            routes=[
                Route("/", page(console.overview), methods=["GET"]),
                Route("/runs", page(console.runs), methods=["GET"]),
                Route("/runs/{run_id}", page(console.run), methods=["GET"]),
                Route(
                    "/runs/{run_id}/replay", page(console.replay, "runs.replay", form=True), methods=["POST"]
                ),
                Route("/flags", page(console.flags_page, "flags.manage"), methods=["GET"]),
                Route(
                    "/flags/{integration}",
                    page(console.set_flag, "flags.manage", form=True),
                    methods=["POST"],
                ),
                Route("/login", console.login_page, methods=["GET"]),
                Route("/login", console.login, methods=["POST"]),
                *(
                    [
                        Route("/login/oidc", sso.begin, methods=["GET"]),
                        Route("/login/callback", sso.callback, methods=["GET"]),
                    ]
                    if sso
                    else []
                ),
                Route("/logout", page(console.logout, "admin.manage", form=True), methods=["POST"]),
                Route("/static/console.css", stylesheet, methods=["GET"]),
            ],
        ),
    ]
