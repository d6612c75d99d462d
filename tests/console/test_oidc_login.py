"""Console sign-in through a real OIDC provider (npm ``oidc-provider`` on 127.0.0.1): code + PKCE.

A real ``patchbay serve --env stage`` with ``auth.oidc.console_client_id`` set; a person clicks
"Sign in with", logs in at the provider's stock form and lands in the console. Skips without node or
the installed package (fails under CI=true), like tests/auth/test_oidc_provider.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urljoin, urlparse

import httpx
import pytest

import procs
from auth.test_oidc_provider import AUD, Provider, new_jwk
from fakes import FakeJira, FakeOpenAI
from patchbay.auth.callers import Denied
from patchbay.auth.oidc import OidcConfig, OidcValidator
from patchbay.console.oidc_login import OidcLogin
from projects import write_project

ANSWER = "Checkout times out for EU customers since 2.14.1."


class Console:
    """The serve process and the provider it trusts."""

    def __init__(self, url: str, idp: Provider) -> None:
        self.url = url
        self.idp = idp


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("console-oidc")
    port = procs.free_port()
    url = f"http://127.0.0.1:{port}"
    idp = Provider(tmp, [new_jwk("k1")], redirect_uris=(f"{url}/console/login/callback",))
    model, jira = FakeOpenAI(ANSWER), FakeJira()
    model.server.start()
    jira.server.start()
    proc = None
    try:
        root = write_project(tmp / "proj", openai_url=model.server.url, jira_url=jira.server.url)
        with (root / "patchbay.yaml").open("a") as config:
            config.write(
                f"server:\n  public_url: {url}\n"
                f"auth:\n  oidc:\n    issuer: {idp.issuer}\n    audience: ['{AUD}']\n"
                "    role_scopes: {patchbay-admins: [admin.manage]}\n"
                f"    console_client_id: browser\n    console_scopes: [openid, api]\n"
                f"    console_resource: {AUD}\n"
            )
        proc = procs.serve(root, port, tmp / "serve.log", "--env", "stage")
        yield Console(url, idp)
    finally:
        if proc is not None:
            procs.stop(proc)
        jira.server.stop()
        model.server.stop()
        idp.stop()


def at_provider(c: httpx.Client, authorize: str, user: str) -> str:
    """Log ``user`` in at the provider's stock form; the redirect back to Patchbay."""
    response = c.get(authorize)
    for _ in range(10):
        location = urljoin(str(response.url), response.headers["location"])
        if "/console/login/callback" in location:
            return location
        if "/interaction/" in location:
            page = c.get(location).text
            prompt = "login" if 'value="login"' in page else "consent"
            response = c.post(location, data={"prompt": prompt, "login": user, "password": "pw"})
        else:
            response = c.get(location)
    raise AssertionError("the provider never redirected back")


def sign_in(console: Console, user: str, *, tamper: bool = False) -> tuple[httpx.Client, httpx.Response]:
    c = httpx.Client(follow_redirects=False, timeout=15)
    login = c.get(f"{console.url}/console/login?next=/console/runs")
    assert login.status_code == 200 and "Sign in with 127.0.0.1:" in login.text
    start = c.get(f"{console.url}/console/login/oidc", params={"next": "/console/runs"})
    assert start.status_code == 303 and start.headers["location"].startswith(console.idp.issuer)
    query = parse_qs(urlparse(start.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    back = at_provider(c, start.headers["location"], user)
    if tamper:
        back = back.replace("state=", "state=x", 1)
    return c, c.get(back)


def test_a_person_signs_in_with_the_provider_and_sees_the_console(console: Console) -> None:
    c, done = sign_in(console, "alice")
    assert done.status_code == 200 and 'url=/console/runs"' in done.text
    assert "pb_console" in c.cookies
    page = c.get(f"{console.url}/console/runs")
    assert page.status_code == 200 and "alice" in page.text
    assert c.get(f"{console.url}/console/").status_code == 200


def test_a_tampered_state_is_refused_on_the_login_page(console: Console) -> None:
    c, done = sign_in(console, "mallory", tamper=True)
    assert done.status_code == 400 and "does not belong to this browser" in done.text
    assert "pb_console" not in c.cookies
    assert c.get(f"{console.url}/console/runs").status_code == 303  # still logged out


def test_a_person_without_the_admin_role_is_refused(console: Console) -> None:
    c, done = sign_in(console, "guest-bob")
    assert done.status_code == 403 and "has no role that grants" in done.text
    assert "pb_console" not in c.cookies


def test_a_callback_without_a_sign_in_or_with_a_denial_says_so(console: Console) -> None:
    with httpx.Client(follow_redirects=False) as c:
        stray = c.get(f"{console.url}/console/login/callback", params={"state": "s", "code": "c"})
        assert stray.status_code == 400 and "expired or was started elsewhere" in stray.text
        start = c.get(f"{console.url}/console/login/oidc")
        state = parse_qs(urlparse(start.headers["location"]).query)["state"][0]
        denied = c.get(
            f"{console.url}/console/login/callback",
            params={"state": state, "error": "access_denied", "error_description": "user cancelled"},
        )
        assert denied.status_code == 401 and "refused the sign-in: user cancelled" in denied.text


def test_a_provider_that_is_down_is_a_message_not_a_500() -> None:
    dead = f"http://127.0.0.1:{procs.free_port()}"
    config = OidcConfig(issuer=dead, audience=[AUD], console_client_id="browser")
    login = OidcLogin(config, OidcValidator(config), b"k" * 32, "https://pb.acme.test")
    assert login.redirect_uri == "https://pb.acme.test/console/login/callback"
    with pytest.raises(Denied) as exc:
        login.start("/console/")
    assert exc.value.status == 503 and "cannot fetch" in exc.value.message
