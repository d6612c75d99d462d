"""Jinja2 rendering for the console: autoescaped templates, display filters, strict security headers.

Every page answers with a Content-Security-Policy that allows only this server's own stylesheet and
no scripts at all, ``X-Frame-Options: DENY`` (no clickjacking of the kill switch) and ``no-store``
caching (run pages show sanitized ticket text).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from patchbay.config.loader import LoadedProject
from patchbay.console.access import Access
from patchbay.console.session import Session

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on form posts, which
    # the CSRF origin check must refuse. Run ids in URLs still never leak to other sites.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def usd(value: float | None) -> str:
    """Dollars for people: $0, $0.0021 (small amounts keep 2 significant digits), $0.50, $12.34."""
    if value is None:
        return "-"
    if value == 0:
        return "$0"
    if value < 0.01:
        return f"${value:.2g}" if value >= 0.0001 else f"${value:.1e}"
    return f"${value:,.2f}"


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):  # attempt history keeps ISO strings
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


class Renderer:
    """Renders console templates for one project."""

    def __init__(self, project: LoadedProject, access: Access) -> None:
        self.project = project
        self.access = access
        self.sso: str | None = None  # the IdP's name when the console offers OIDC sign-in
        self.env = Environment(
            loader=PackageLoader("patchbay.console", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(ms=_ms, pct=_pct, usd=usd, when=_when, num=_num)

    def _html(self, template: str, status: int, context: dict[str, Any]) -> HTMLResponse:
        body = self.env.get_template(template).render(
            project=self.project.config.project, environment=self.project.environment, **context
        )
        return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)

    def page(
        self, request: Request, session: Session, template: str, *, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        """A page for a logged-in person (with their CSRF token for its forms)."""
        return self._html(
            template,
            status_code,
            {"session": session, "csrf": self.access.codec.csrf_token(session), **context},
        )

    def error(self, request: Request, session: Session, status: int, message: str) -> HTMLResponse:
        """An error page inside the console layout (never a traceback)."""
        return self.page(request, session, "error.html", status_code=status, status=status, message=message)

    def login(
        self, request: Request, *, next_url: str, error: str | None = None, status: int = 200
    ) -> HTMLResponse:
        """The login form."""
        return self._html(
            "login.html",
            status if error else 200,
            {"next_url": next_url, "error": error, "session": None, "nav": None, "sso": self.sso},
        )
