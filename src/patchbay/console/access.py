"""Who may use the console: a session cookie, a bearer header, or localhost in dev.

Every console request resolves to a :class:`Session` (or none: the login page). In order:

1. a valid ``pb_console`` cookie (re-checked: a revoked API key or a rotated admin token ends it);
2. an ``Authorization: Bearer`` header, checked by the admin API's authorizer (scripts, curl);
3. the ``dev`` environment on the loopback interface: a local session is issued, so that forms still
   carry a CSRF token (another web page could otherwise post to 127.0.0.1 from the developer's browser).

Forms are protected three ways: the session's CSRF token, ``SameSite=Strict`` cookies and, when the
browser sends one, an ``Origin`` that must be this server's.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from datetime import UTC, datetime
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from patchbay.auth.apikeys import ApiKey, ApiKeyStore, parse_key
from patchbay.auth.callers import LOOPBACK, Authorizer, Caller, Denied
from patchbay.config.loader import LoadedProject
from patchbay.console.session import COOKIE, RECHECK_S, Session, SessionCodec, console_key, fingerprint
from patchbay.intake.ratelimit import client_address

LOGIN_FAILURES = 10  # per client address and minute, then the login page answers 429
PAGE_SCOPE = "admin.manage"


class Access:
    """Resolves sessions, logs people in and out, and checks CSRF tokens."""

    def __init__(self, project: LoadedProject, authorizer: Authorizer, keys: ApiKeyStore) -> None:
        self.project = project
        self.authorizer = authorizer
        self.keys = keys
        self._secret = console_key(project.data_dir)
        self.codec = SessionCodec(self._secret)
        self.secure = project.config.server.public_url.startswith("https://")
        self._key_cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    @property
    def codec_key(self) -> bytes:
        """The ``console.key`` secret, for the OIDC sign-in's own signed cookie."""
        return self._secret

    # -- resolving ---------------------------------------------------------------------------------
    def local(self, request: Request) -> bool:
        """Dev environment and a loopback client: the console is open."""
        peer = request.client.host if request.client else ""
        return self.project.environment == "dev" and peer in LOOPBACK

    def _admin_fp(self) -> str | None:
        token = self.project.config.server.admin_token
        return fingerprint(self._secret, token.get_secret_value()) if token is not None else None

    def _key(self, key_id: str) -> ApiKey | None:
        now = time.monotonic()
        hit = self._key_cache.get(key_id)
        if hit is None or now - hit[0] >= RECHECK_S:
            hit = (now, self.keys.get(key_id))
            self._key_cache[key_id] = hit
        return hit[1]

    def _still_valid(self, session: Session, request: Request) -> Session | None:
        if session.kind == "local":
            return session if self.local(request) else None
        if session.kind == "admin_token":
            return session if session.token_fp and session.token_fp == self._admin_fp() else None
        if session.kind == "api_key":
            record = self._key(session.key_id or "")
            if record is None or record.status(datetime.now(UTC)) != "active":
                return None
            if not record.allows_ip(client_address(request, self.authorizer.trusted)):
                return None
            return Session(**{**session.__dict__, "scopes": frozenset(record.scopes)})
        return session  # oidc: valid until the session expires

    def resolve(self, request: Request) -> tuple[Session | None, bool]:
        """(session, is_new): ``is_new`` means the caller needs the cookie set on this response."""
        cookie = self.codec.decode(request.cookies.get(COOKIE))
        if cookie is not None:
            valid = self._still_valid(cookie, request)
            if valid is not None:
                return valid, False
        if request.headers.get("authorization"):
            try:
                caller = self.authorizer.caller(request)
            except Denied:
                return None, False
            return self._session_of(caller, ""), False  # header callers need no cookie (and no CSRF)
        if self.local(request):
            return self.codec.new(kind="local", name="localhost (dev)", scopes=frozenset({"*"})), True
        return None, False

    def _session_of(self, caller: Caller, credential: str) -> Session:
        parsed = parse_key(credential) if caller.kind == "api_key" else None
        return self.codec.new(
            kind=caller.kind,
            name=caller.name,
            scopes=caller.scopes,
            key_id=parsed[1] if parsed else None,
            token_fp=fingerprint(self._secret, credential) if caller.kind == "admin_token" else None,
        )

    # -- logging in --------------------------------------------------------------------------------
    def throttled(self, request: Request) -> bool:
        """Too many failed logins from this client in the last minute."""
        address = client_address(request, self.authorizer.trusted)
        window = self._failures[address]
        while window and time.monotonic() - window[0] > 60:
            window.popleft()
        if not window:
            del self._failures[address]  # bounded: only addresses with recent failures are kept
            return False
        return len(window) >= LOGIN_FAILURES

    def login(self, request: Request, credential: str) -> Session:
        """A session for a pasted API key / admin token / OIDC token; ``Denied`` saying why not."""
        credential = credential.strip()
        if not credential:
            raise Denied(
                401, "unauthorized", "paste an API key (pb_live_... or pb_test_...) or the admin token"
            )
        # Check it exactly as the admin API would: the same request, with the pasted bearer header.
        headers = [(k, v) for k, v in request.scope["headers"] if k not in (b"authorization", b"cookie")]
        headers.append((b"authorization", b"Bearer " + credential.encode()))
        probe = Request({**request.scope, "headers": headers})
        try:
            caller = self.authorizer.caller(probe)
        except Denied:
            self._failures[client_address(request, self.authorizer.trusted)].append(time.monotonic())
            raise
        if not caller.allows(PAGE_SCOPE):
            raise Denied(
                403,
                "insufficient_scope",
                f"{caller.name} lacks the scope {PAGE_SCOPE!r} the console needs; create a key with "
                f"'patchbay keys create --scope {PAGE_SCOPE}'",
            )
        return self._session_of(caller, credential)

    def set_cookie(self, response: Response, session: Session) -> None:
        """Attach the signed session cookie."""
        response.set_cookie(
            COOKIE,
            self.codec.encode(session),
            max_age=int(session.expires - time.time()),
            path="/console",
            httponly=True,
            samesite="strict",
            secure=self.secure,
        )

    def clear_cookie(self, response: Response) -> None:
        """Log out: remove the cookie."""
        response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict", secure=self.secure)

    # -- forms -------------------------------------------------------------------------------------
    def same_origin(self, request: Request) -> bool:
        """False when the browser says the form came from another site."""
        origin = request.headers.get("origin")
        if origin is None:  # not a browser, or an old one: the CSRF token still applies
            return True
        own = f"{request.url.scheme}://{request.url.netloc}"
        public = urlsplit(self.project.config.server.public_url)
        return origin in (own, f"{public.scheme}://{public.netloc}")

    def form_ok(self, request: Request, session: Session, token: str | None) -> bool:
        """A POST may go ahead: header callers are not browsers; everyone else needs the CSRF token."""
        if not self.same_origin(request):
            return False
        if request.headers.get("authorization") and request.cookies.get(COOKIE) is None:
            return True
        return self.codec.csrf_ok(session, token)
