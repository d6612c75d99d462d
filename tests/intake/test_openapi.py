"""The app's OpenAPI document, and schemathesis fuzzing the whole app against it.

The short fuzz run (``PATCHBAY_FUZZ_EXAMPLES`` per operation, 25 by default: a few hundred cases)
is in the default suite; ``make fuzz`` runs the same test with 500 per operation. Webhook bodies
are signed (Jira ``X-Hub-Signature``) for most cases so the fuzzer gets past the signature check
into parsing, filtering and the durable enqueue; the rest go unsigned and must be a 401.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import get_client
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette

from fakes import FakeJira, FakeOpenAI
from patchbay.config.loader import LoadedProject, load_project
from patchbay.intake.admin_ops import feedback_key, sign
from patchbay.intake.app import create_app
from patchbay.intake.openapi import OPERATIONS, build_openapi, walk
from patchbay.pipeline.build import build_runtime
from patchbay.runs.databases import resolve
from patchbay.runs.durable import DurableEngine
from patchbay.runs.store import RunStore
from projects import signed, ticket, write_project

ADMIN_TOKEN = "fuzz-admin-token-0123456789"
EXAMPLES = int(os.environ.get("PATCHBAY_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Starlette]:
    """The whole app: intake, admin API, flags, feedback and the console, on a real durable engine."""
    jira, model = FakeJira(), FakeOpenAI("A short summary. It has two sentences.")
    jira.server.start()
    model.server.start()
    root = write_project(
        tmp_path_factory.mktemp("fuzz") / "proj", openai_url=model.server.url, jira_url=jira.server.url
    )
    with (root / "patchbay.yaml").open("a") as f:
        f.write(f"server:\n  admin_token: {ADMIN_TOKEN}\n")
    project = load_project(root, env={})
    store = RunStore(resolve(project).runs_url)
    engine = DurableEngine(build_runtime(project), store, executor_id="fuzz")
    engine.launch()
    app = create_app(engine.runtime, engine, admin=engine)
    app.state.project = project
    yield app
    engine.shutdown(timeout_s=0)
    store.close()
    model.gate.set()
    model.server.stop()
    jira.server.stop()


@pytest.fixture(scope="module")
def api_schema(app: Starlette) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app).include(tag_regex="^(api|webhooks|ops)$")


async def test_every_route_of_the_app_is_documented(app: Starlette) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pb") as c:
        resp = await c.get("/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["openapi"] == "3.1.0"
    routes = list(walk(list(app.routes)))
    assert len(routes) > 20
    for path, method, console in routes:
        assert method in doc["paths"].get(path, {}), f"{method.upper()} {path} is not in /openapi.json"
        if not console:
            assert (path, method) in OPERATIONS
            for status, response in doc["paths"][path][method]["responses"].items():
                schema = response["content"]
                if int(status) >= 400:  # every error documents the one JSON format
                    assert schema == {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    documented = {(p, m) for p, ms in doc["paths"].items() for m in ms}
    assert documented == {(p, m) for p, m, _ in routes}  # nothing documented that the app lacks


def test_an_undocumented_route_is_left_out_so_the_route_test_catches_it() -> None:
    from starlette.responses import Response
    from starlette.routing import Route

    async def nothing(request: Any) -> Response:
        return Response()

    doc = build_openapi([Route("/healthz", nothing), Route("/admin/secret-new-thing", nothing)])
    assert list(doc["paths"]) == ["/healthz"]


# schemathesis' own pytest integration (from_fixture) does not run under pytest 9; hypothesis drives
# each operation's case strategy directly instead.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")  # schemathesis' own
@pytest.mark.parametrize(("path", "method"), sorted(OPERATIONS), ids=lambda v: str(v))
def test_fuzz_no_5xx_and_only_documented_answers(
    path: str, method: str, app: Starlette, api_schema: Any
) -> None:
    operation = api_schema[path][method.upper()]

    statuses: list[int] = []
    strategy = operation.as_strategy()
    # And cases that break the document (wrong types, missing fields), where there is anything to break.
    with contextlib.suppress(Exception):
        strategy = strategy | operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=EXAMPLES <= 25,  # the default suite is reproducible; `make fuzz` explores
        database=None,
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        statuses.append(check(case, client, app.state.project, pick=len(statuses) % 6))

    with get_client(app) as client:  # one in-process client for every case
        run()
    print(f"{method.upper()} {path}: {len(statuses)} cases, statuses {sorted(set(statuses))}")
    expected = {
        "/hooks/{integration}": {202, 401, 404},  # accepted when signed; unsigned and unknown refused
        "/admin/runs": {200, 401},
        "/admin/flags/{integration}": {200, 401},
        "/feedback/{run_id}/{vote}": {403, 404},
    }.get(path, set())
    assert expected <= set(statuses), f"the fuzzer never reached {expected - set(statuses)}"


def check(case: Any, client: Any, project: LoadedProject, *, pick: int) -> int:
    """Send one case and check the answer against the document.

    Most cases are steered past the front door (the right integration, a signed body, the admin
    token, a valid feedback signature) so the fuzzed values reach the handlers; the rest stay as
    generated and must be refused in the documented way.
    """
    if case.path in ("/hooks/{integration}", "/admin/flags/{integration}") and pick < 5:
        case.path_parameters["integration"] = "ticket-summary"
    if case.path == "/feedback/{run_id}/{vote}" and pick < 3:
        run_id, vote = case.path_parameters["run_id"], case.path_parameters["vote"]
        case.query = {**(case.query or {}), "sig": sign(feedback_key(project), run_id, vote)}
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    if case.operation.definition.raw.get("security") and pick < 5:
        kwargs["headers"]["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    if case.path == "/hooks/{integration}" and "json" in kwargs:
        body = kwargs.pop("json")
        if pick < 3 and isinstance(body, dict):  # half: fuzzed fields on top of a real Jira event
            body = {**ticket(), **body}
        raw = json.dumps(body).encode()
        kwargs["data"] = raw
        if pick < 4:  # 4: unsigned, must be a 401
            kwargs["headers"].update(signed(raw, delivery_id=kwargs["headers"]["X-Schemathesis-TestCaseId"]))
    response = client.request(**kwargs)
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"code", "message", "request_id"}
        assert error["request_id"] == response.headers["x-request-id"]
        assert "Traceback" not in response.text
    return int(response.status_code)
