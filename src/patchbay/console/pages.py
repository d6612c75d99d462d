"""The console's pages: overview, runs, one run (with replay), flags (with the kill switch), login.

Handlers are thin: they check access, read through :mod:`patchbay.console.data` /
:mod:`patchbay.console.stats` in a worker thread, and render a Jinja2 template (autoescape on).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from patchbay.auth.callers import Denied
from patchbay.console import charts, data, stats
from patchbay.console.access import PAGE_SCOPE, Access
from patchbay.console.render import Renderer, usd
from patchbay.console.session import Session
from patchbay.errors import PatchbayError
from patchbay.intake.admin import Replayer
from patchbay.pipeline.build import Runtime
from patchbay.rollout.flags import MODES, Flags
from patchbay.runs.feedback import FeedbackStore
from patchbay.runs.store import FINAL_STATUSES

Handler = Callable[[Request, Session], Awaitable[Response]]
MAX_FORM = 16_384
DAY_CHOICES = (7, 14, 30, 90)


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body (first value per name), at most ``MAX_FORM`` bytes."""
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


class Console:
    """The console of one project runtime and durable engine."""

    def __init__(self, runtime: Runtime, engine: Replayer, flags: Flags, access: Access) -> None:
        self.runtime = runtime
        self.engine = engine
        self.store = engine.store
        self.flags = flags
        self.access = access
        self.feedback = FeedbackStore(self.store.engine)
        self.render = Renderer(runtime.project, access)

    # -- plumbing ----------------------------------------------------------------------------------
    def page(self, handler: Handler, scope: str = PAGE_SCOPE, *, form: bool = False) -> Callable[..., Any]:
        """Wrap a handler: resolve the session (else the login page), check the scope and the CSRF token."""

        async def endpoint(request: Request) -> Response:
            session, new = await asyncio.to_thread(self.access.resolve, request)
            if session is None:
                target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
                return RedirectResponse(f"/console/login?next={target}", status_code=303)
            if not session.allows(scope):
                return self.render.error(request, session, 403, f"{session.name} lacks the scope {scope!r}.")
            if form:
                request.state.form = await read_form(request)
                if not self.access.form_ok(request, session, request.state.form.get("csrf")):
                    return self.render.error(
                        request, session, 403, "This form expired or came from another site; reload the page."
                    )
            response = await handler(request, session)
            if new:
                self.access.set_cookie(response, session)
            return response

        return endpoint

    def _integration_names(self) -> list[str]:
        return sorted(self.runtime.project.config.integrations)

    # -- overview ----------------------------------------------------------------------------------
    async def overview(self, request: Request, session: Session) -> Response:
        try:
            days = int(request.query_params.get("days", "14"))
        except ValueError:
            days = 14
        days = days if days in DAY_CHOICES else 14
        only = request.query_params.get("integration") or None
        runs, feedback = await asyncio.to_thread(stats.load, self.store.engine, days=days, integration=only)
        groups = stats.overview(runs, feedback, days=days)
        shown = {g.integration for g in groups}
        for name in self._integration_names():
            if name not in shown and (only is None or only == name):
                groups.append(stats.Group(name, self.runtime.project.environment, _blank_days(days)))
        cards = [_card(g) for g in sorted(groups, key=lambda g: (g.integration, g.environment))]
        return self.render.page(
            request,
            session,
            "overview.html",
            nav="overview",
            cards=cards,
            days=days,
            day_choices=DAY_CHOICES,
            only=only,
            integrations=self._integration_names(),
        )

    # -- runs --------------------------------------------------------------------------------------
    async def runs(self, request: Request, session: Session) -> Response:
        params = request.query_params
        status = params.get("status") or None
        integration = params.get("integration") or None
        text = (params.get("q") or "").strip()[:200] or None
        try:
            limit = min(max(int(params.get("limit", "100")), 1), 1000)
        except ValueError:
            limit = 100
        rows = await asyncio.to_thread(
            data.search_runs,
            self.store.engine,
            status=status,
            integration=integration,
            text=text,
            limit=limit,
        )
        return self.render.page(
            request,
            session,
            "runs.html",
            nav="runs",
            rows=rows,
            status=status,
            integration=integration,
            q=text or "",
            limit=limit,
            statuses=("queued", "running", *stats.STATUSES),
            integrations=self._integration_names(),
        )

    async def run(self, request: Request, session: Session, *, error: str | None = None) -> Response:
        run_id = request.path_params["run_id"]
        row = await asyncio.to_thread(self.store.get, run_id)
        if row is None:
            return self.render.error(request, session, 404, f"No run {run_id!r}. It may have been pruned.")
        run = data.displayable(row)
        state: dict[str, Any] = run["state"]
        timings = dict(run.get("step_timings") or state.get("timings_ms") or {})
        integration = self.runtime.integrations.get(run["integration"])
        names = [s.name for s in integration.steps] if integration is not None else list(timings)
        steps = data.step_rows(names, timings, run.get("error_step"), run["status"])
        done = [(s["name"], float(s["ms"])) for s in steps if s["ms"] is not None]
        feedback, replays = await asyncio.gather(
            asyncio.to_thread(self.feedback.for_run, run["run_id"]),
            asyncio.to_thread(data.replays_of, self.store.engine, run["run_id"]),
        )
        return self.render.page(
            request,
            session,
            "run.html",
            status_code=409 if error else 200,
            nav="runs",
            run=run,
            state=state,
            steps=steps,
            waterfall=charts.waterfall("Step timings", done, _ms) if done else None,
            sanitized=data.pretty(state["sanitized"]) if state.get("sanitized") is not None else None,
            advice=_advice(row),
            feedback=feedback,
            replays=replays,
            final=run["status"] in FINAL_STATUSES,
            replayable=run["status"] == "failed" and session.allows("runs.replay"),
            error=error,
            replayed=request.query_params.get("replayed") == "1",
        )

    async def replay(self, request: Request, session: Session) -> Response:
        run_id = request.path_params["run_id"]
        try:
            new = await asyncio.to_thread(self.engine.replay, run_id)
        except PatchbayError as exc:
            return await self.run(request, session, error=f"Replay failed: {exc.message}")
        return RedirectResponse(f"/console/runs/{quote(new)}?replayed=1", status_code=303)

    # -- flags -------------------------------------------------------------------------------------
    def _flag_rows(self) -> list[dict[str, Any]]:
        rows = []
        for name in self._integration_names():
            rollout = self.runtime.project.config.integrations[name].rollout
            mode, percent, source = self.flags.effective(name, rollout, fresh=True)
            rows.append(
                {
                    "name": name,
                    "config": rollout,
                    "override": self.flags.override(name),
                    "mode": mode,
                    "percent": percent,
                    "source": source,
                }
            )
        return rows

    async def flags_page(self, request: Request, session: Session, *, error: str | None = None) -> Response:
        rows = await asyncio.to_thread(self._flag_rows)
        return self.render.page(
            request,
            session,
            "flags.html",
            status_code=400 if error else 200,
            nav="flags",
            rows=rows,
            modes=MODES,
            cache_s=self.flags.config.cache_s,
            error=error,
            done=request.query_params.get("done"),
            which=request.query_params.get("i"),
        )

    async def set_flag(self, request: Request, session: Session) -> Response:
        name = request.path_params["integration"]
        form: dict[str, str] = request.state.form
        action = form.get("action", "set")
        if name != "*" and name not in self.runtime.project.config.integrations:
            return await self.flags_page(request, session, error=f"No integration named {name!r}.")
        names = self._integration_names() if name == "*" else [name]
        by = f"console:{session.name}"
        try:
            if action == "kill":
                reason = form.get("reason") or "kill switch (console)"
                for each in names:
                    await asyncio.to_thread(self.flags.set, each, mode="off", reason=reason, by=by)
            elif action == "clear":
                await asyncio.to_thread(self.flags.clear, name)
            else:
                mode = form.get("mode", "")
                if mode not in MODES:
                    raise ValueError(f"mode must be one of {', '.join(MODES)}")
                raw = form.get("percent", "").strip()
                percent = float(raw) if raw else None
                await asyncio.to_thread(
                    self.flags.set, name, mode=mode, percent=percent, reason=form.get("reason") or None, by=by
                )  # type: ignore[arg-type]
        except ValueError as exc:
            message = str(exc) if "percent" in str(exc) or "mode" in str(exc) else "percent must be a number"
            return await self.flags_page(request, session, error=f"{name}: {message}")
        return RedirectResponse(f"/console/flags?done={quote(action)}&i={quote(name)}", status_code=303)

    # -- login -------------------------------------------------------------------------------------
    async def login_page(self, request: Request) -> Response:
        next_url = _safe_next(request.query_params.get("next"))
        if self.access.local(request):
            return RedirectResponse(next_url, status_code=303)
        return self.render.login(request, next_url=next_url)

    async def login(self, request: Request) -> Response:
        form = await read_form(request)
        next_url = _safe_next(form.get("next"))
        if not self.access.same_origin(request):
            return self.render.login(request, next_url=next_url, error="This form came from another site.")
        if self.access.throttled(request):
            return self.render.login(
                request, next_url=next_url, status=429, error="Too many failed logins; wait a minute."
            )
        try:
            session = await asyncio.to_thread(self.access.login, request, form.get("credential", ""))
        except Denied as exc:
            message = (
                "That is not a valid API key or admin token."
                if exc.code == "unauthorized"
                else exc.message[:1].upper() + exc.message[1:]
            )
            return self.render.login(request, next_url=next_url, status=exc.status, error=message)
        response = RedirectResponse(next_url, status_code=303)
        self.access.set_cookie(response, session)
        return response

    async def logout(self, request: Request, session: Session) -> Response:
        response = RedirectResponse("/console/login", status_code=303)
        self.access.clear_cookie(response)
        return response


def _safe_next(value: str | None) -> str:
    """Only paths inside the console: never an open redirect."""
    if value and value.startswith("/console") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/"


def _ms(value: float) -> str:
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def _blank_days(days: int) -> list[stats.Day]:
    """The days of a group without runs (a configured integration that saw nothing yet)."""
    today = datetime.now(UTC).date()
    return [stats.Day(today - timedelta(days=n)) for n in range(days - 1, -1, -1)]


def _card(group: stats.Group) -> dict[str, Any]:
    """The numbers and charts of one integration/environment."""
    labels = [d.day.strftime("%m-%d") for d in group.days]
    per_status = [
        charts.Series(s, f"s-{s}", [float(d.statuses[s]) for d in group.days]) for s in stats.STATUSES
    ]
    return {
        "group": group,
        "runs_chart": charts.stacked_bars("Runs per day by outcome", labels, per_status),
        "latency_chart": charts.lines(
            "Run latency per day (p50, p95)",
            labels,
            [
                charts.Series("p50", "l-p50", [_sec(d.p50) for d in group.days]),
                charts.Series("p95", "l-p95", [_sec(d.p95) for d in group.days]),
            ],
            fmt=lambda v: f"{v:g} s" if v == int(v) else f"{v:.2f} s",
        ),
        "tokens_chart": charts.stacked_bars(
            "Tokens per day",
            labels,
            [
                charts.Series("tokens in", "s-tin", [float(d.tokens_in) for d in group.days]),
                charts.Series("tokens out", "s-tout", [float(d.tokens_out) for d in group.days]),
            ],
        ),
        "cost_chart": charts.stacked_bars(
            "Model cost per day (USD)",
            labels,
            [charts.Series("cost", "s-cost", [d.cost_usd for d in group.days])],
            fmt=usd,
        ),
        "feedback_chart": charts.stacked_bars(
            "Feedback per day",
            labels,
            [
                charts.Series("useful", "s-useful", [float(d.useful) for d in group.days]),
                charts.Series("not useful", "s-notuseful", [float(d.not_useful) for d in group.days]),
            ],
        ),
    }


def _sec(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000


def _advice(row: dict[str, Any]) -> str | None:
    try:  # the runbook's advice table (patchbay.ops) may be absent in a trimmed install
        from patchbay.ops.advice import advice_of_record
    except ImportError:
        return None
    return advice_of_record(row)
