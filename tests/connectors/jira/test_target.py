"""The jira target against a recording fake Jira: what gets sent, once, and how failures read."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import jsonschema
import pytest
from pydantic import ValidationError

from patchbay import registry
from patchbay.connectors.base import Target, WriteRequest
from patchbay.connectors.jira.target import Config, JiraTarget
from patchbay.errors import TargetRejected, TargetUnavailable
from patchbay.http import HttpClientFactory

FIXTURES = Path(__file__).parents[2] / "fixtures" / "jira"
BASE = "https://acme.atlassian.net"
TOKEN = "atl-token-not-real-123"
CLOUD_EVENT: dict[str, Any] = json.loads((FIXTURES / "cloud_issue_created.json").read_text())
SUMMARY = "User cannot log in after the SSO change.\n\nLikely cause: IdP certificate rotation."


class FakeJira:
    """Answers like Jira's issue endpoint (GET with ?fields=&properties=, PUT edits that set fields
    and properties together) and records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.fields: dict[str, dict[str, Any]] = {}
        self.properties: dict[tuple[str, str], Any] = {}
        self.fail: dict[str, httpx.Response] = {}  # method -> the next answer to it

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = request.url.path.split("/")[5]  # ['', 'rest', 'api', '3', 'issue', KEY]
        if request.method in self.fail:
            return self.fail.pop(request.method)
        if request.method == "GET":
            wanted = request.url.params.get("fields", "").split(",")
            asked = request.url.params.get("properties", "").split(",")
            fields = self.fields.get(key, {})
            return httpx.Response(
                200,
                json={
                    "key": key,
                    "fields": {f: fields.get(f) for f in wanted if f},
                    "properties": {
                        p: self.properties[(key, p)] for p in asked if (key, p) in self.properties
                    },
                },
            )
        body = json.loads(request.content)
        if body.get("fields"):
            self.fields.setdefault(key, {}).update(body["fields"])
        for entry in body.get("properties", []):
            self.properties[(key, entry["key"])] = entry["value"]
        return httpx.Response(204)

    def sent(self, method: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method]

    def field_edits(self) -> list[httpx.Request]:
        return [r for r in self.sent("PUT") if json.loads(r.content).get("fields")]


def make(jira: FakeJira | None = None, **options: Any) -> JiraTarget:
    config = Config.model_validate(
        {"base_url": BASE, "auth": {"kind": "basic", "email": "bot@acme.test", "api_token": TOKEN}, **options}
    )
    transport = httpx.MockTransport(jira or FakeJira())
    return JiraTarget(config, registry.BuildContext(name="jira", http=HttpClientFactory(transport=transport)))


def request(key: str = "pb1-0001", event: dict[str, Any] | None = None, **overrides: Any) -> WriteRequest:
    values: dict[str, Any] = {
        "integration": "support-triage",
        "delivery_id": "d-1",
        "idempotency_key": key,
        "event": CLOUD_EVENT if event is None else event,
        "text": SUMMARY,
        "record_path": "issue.key",
        "field": "customfield_10050",
    }
    values.update(overrides)
    return WriteRequest(**values)


def edit_issue_validator() -> jsonschema.protocols.Validator:
    spec = json.loads((FIXTURES / "jira_edit_issue_openapi.json").read_text())
    body_schema = spec["paths"]["/rest/api/3/issue/{issueIdOrKey}"]["put"]["requestBody"]["content"]
    root = {**body_schema["application/json"]["schema"], "components": spec["components"]}
    return jsonschema.Draft7Validator(root)


def test_plan_cloud_text_is_one_edit_of_the_field_and_the_marker_with_masked_auth() -> None:
    (edit,) = make().plan(request())
    assert edit.method == "PUT"
    assert edit.url == f"{BASE}/rest/api/3/issue/SUP-42?notifyUsers=false"
    assert edit.json_body == {
        "fields": {"customfield_10050": SUMMARY},
        "properties": [{"key": "patchbay.writes", "value": {"keys": ["pb1-0001"]}}],
    }
    assert edit.headers["Authorization"] == "Basic ***"
    assert TOKEN not in json.dumps([p.model_dump() for p in make().plan(request())])


def test_plan_cloud_rich_is_adf_with_one_paragraph_per_block() -> None:
    (field_put,) = make().plan(request(field_format="rich", field="description"))
    doc = field_put.json_body["fields"]["description"]
    assert doc["type"] == "doc" and doc["version"] == 1
    texts = [p["content"][0]["text"] for p in doc["content"]]
    assert texts == ["User cannot log in after the SSO change.", "Likely cause: IdP certificate rotation."]


@pytest.mark.parametrize("field_format", ["text", "rich"])
def test_cloud_edit_body_validates_against_jira_openapi_schema(field_format: str) -> None:
    validator = edit_issue_validator()
    (field_put,) = make().plan(request(field_format=field_format))
    validator.validate(field_put.json_body)
    assert not validator.is_valid({"fields": SUMMARY})  # the schema is really applied


def test_plan_datacenter_uses_v2_and_strings_with_wiki_markup_escaped() -> None:
    target = make(deployment="datacenter", base_url="https://jira.example.org/jira/", auth=None)
    event = json.loads((FIXTURES / "issue_created.json").read_text())
    (text_put,) = target.plan(request(event=event))
    assert text_put.url == "https://jira.example.org/jira/rest/api/2/issue/BBCOM-1398?notifyUsers=false"
    assert text_put.json_body["fields"] == {"customfield_10050": SUMMARY}
    assert "Authorization" not in text_put.headers
    (rich_put,) = target.plan(
        request(event=event, text="ping [~admin] !http://x.test/a.png!", field_format="rich")
    )
    assert rich_put.json_body["fields"]["customfield_10050"] == r"ping \[~admin\] \!http://x.test/a.png\!"


def test_notify_users_drops_the_query() -> None:
    assert make(notify_users=True).plan(request())[0].url == f"{BASE}/rest/api/3/issue/SUP-42"


async def test_write_is_one_read_and_one_edit_that_sets_the_field_and_the_marker_together() -> None:
    jira = FakeJira()
    outcome = await make(jira).write(request())
    assert outcome.status == "written"
    assert [r.method for r in jira.requests] == ["GET", "PUT"]
    read = jira.requests[0].url
    assert read.path == "/rest/api/3/issue/SUP-42"
    assert read.params["fields"] == "customfield_10050" and read.params["properties"] == "patchbay.writes"
    assert jira.fields["SUP-42"] == {"customfield_10050": SUMMARY}
    assert jira.properties[("SUP-42", "patchbay.writes")] == {"keys": ["pb1-0001"]}
    assert jira.sent("PUT")[0].headers["Content-Type"] == "application/json"
    assert [r.model_dump() for r in outcome.requests] == [p.model_dump() for p in make().plan(request())]


async def test_second_write_with_same_key_sends_no_field_put() -> None:
    jira = FakeJira()
    target = make(jira)
    await target.write(request())
    outcome = await target.write(request(text="a different answer from a retried run"))
    assert outcome.status == "already_written"
    assert len(jira.sent("PUT")) == 1 and len(jira.sent("GET")) == 2
    assert jira.fields["SUP-42"]["customfield_10050"] == SUMMARY


async def test_marker_keeps_the_last_50_keys() -> None:
    jira = FakeJira()
    jira.properties[("SUP-42", "patchbay.writes")] = {"keys": [f"old-{i}" for i in range(60)]}
    await make(jira).write(request("pb1-new"))
    keys = jira.properties[("SUP-42", "patchbay.writes")]["keys"]
    assert len(keys) == 50 and keys[-1] == "pb1-new" and keys[0] == "old-11"


async def test_a_failed_edit_leaves_neither_field_nor_marker_and_the_retry_writes_once() -> None:
    jira = FakeJira()
    target = make(jira)
    jira.fail["PUT"] = httpx.Response(503)
    with pytest.raises(TargetUnavailable):
        await target.write(request())
    assert "SUP-42" not in jira.fields and jira.properties == {}
    assert (await target.write(request())).status == "written"
    assert (await target.write(request())).status == "already_written"
    assert len(jira.field_edits()) == 2  # the refused one and the one that landed


@pytest.mark.parametrize("stored", ["plain", "adf"])
async def test_a_field_already_holding_the_text_without_a_marker_is_only_marked(stored: str) -> None:
    # An older version wrote the field and the marker in two PUTs and could crash between them;
    # or someone pasted the summary by hand.
    jira = FakeJira()
    value: Any = (
        SUMMARY + "\n"
        if stored == "plain"
        else {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": SUMMARY}]}],
        }
    )
    jira.fields["SUP-42"] = {"customfield_10050": value}
    outcome = await make(jira).write(request())
    assert outcome.status == "already_written" and "marked it" in outcome.detail
    assert jira.field_edits() == []
    assert jira.properties[("SUP-42", "patchbay.writes")] == {"keys": ["pb1-0001"]}
    assert jira.fields["SUP-42"]["customfield_10050"] == value


@pytest.mark.parametrize(
    "marker",
    [{"keys": "not-a-list"}, ["pb1-0001"], {"keys": [1, None, "other"]}, "text", None],
)
async def test_a_hand_edited_marker_of_any_shape_reads_as_no_keys(marker: Any) -> None:
    jira = FakeJira()
    jira.properties[("SUP-42", "patchbay.writes")] = marker
    assert (await make(jira).write(request())).status == "written"
    assert jira.properties[("SUP-42", "patchbay.writes")]["keys"][-1] == "pb1-0001"


async def test_an_issue_that_does_not_exist_says_so() -> None:
    jira = FakeJira()
    jira.fail["GET"] = httpx.Response(404, json={"errorMessages": ["Issue does not exist"]})
    with pytest.raises(TargetRejected, match="issue not found or wrong base URL") as info:
        await make(jira).write(request())
    assert "Issue does not exist" in info.value.message
    assert jira.sent("PUT") == []


async def test_a_read_answer_that_is_not_json_reads_as_an_empty_issue() -> None:
    jira = FakeJira()
    jira.fail["GET"] = httpx.Response(200, content=b"<html>proxy page</html>")
    assert (await make(jira).write(request())).status == "written"


async def test_a_field_holding_other_text_is_overwritten() -> None:
    jira = FakeJira()
    jira.fields["SUP-42"] = {"customfield_10050": "an older summary"}
    assert (await make(jira).write(request())).status == "written"
    assert jira.fields["SUP-42"]["customfield_10050"] == SUMMARY


async def test_rate_limit_is_retryable_with_retry_after() -> None:
    jira = FakeJira()
    jira.fail["PUT"] = httpx.Response(429, headers={"Retry-After": "7"})
    with pytest.raises(TargetUnavailable) as info:
        await make(jira).write(request())
    assert info.value.status_code == 429 and info.value.retry_after == 7.0
    assert info.value.retryable


async def test_field_not_on_screen_is_rejected_with_jiras_message_and_a_hint() -> None:
    jira = FakeJira()
    message = "Field 'customfield_10050' cannot be set. It is not on the appropriate screen, or unknown."
    jira.fail["PUT"] = httpx.Response(
        400, json={"errorMessages": [], "errors": {"customfield_10050": message}}
    )
    with pytest.raises(TargetRejected) as info:
        await make(jira).write(request())
    assert message in info.value.message
    assert "/rest/api/3/issue/SUP-42/editmeta" in info.value.message
    assert not info.value.retryable
    assert ("SUP-42", "patchbay.writes") not in jira.properties


@pytest.mark.parametrize(
    ("status", "phrase"),
    [(401, "check email/API token or PAT scope/expiry"), (403, "Edit issues")],
)
async def test_auth_and_permission_errors_say_what_to_fix(status: int, phrase: str) -> None:
    jira = FakeJira()
    jira.fail["GET"] = httpx.Response(status)
    with pytest.raises(TargetRejected) as info:
        await make(jira).write(request())
    assert phrase in info.value.message and info.value.status_code == status
    assert TOKEN not in info.value.message


async def test_missing_issue_on_field_put_reads_as_not_found() -> None:
    jira = FakeJira()
    jira.fail["PUT"] = httpx.Response(404, json={"errorMessages": ["Issue does not exist"]})
    with pytest.raises(TargetRejected, match="issue not found or wrong base URL"):
        await make(jira).write(request())


@pytest.mark.parametrize("exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
async def test_connection_failures_are_retryable(exc: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    config = Config.model_validate({"base_url": BASE, "auth": {"kind": "bearer", "token": TOKEN}})
    http = HttpClientFactory(transport=httpx.MockTransport(handler))
    with pytest.raises(TargetUnavailable):
        await JiraTarget(config, registry.BuildContext(name="jira", http=http)).write(request())


@pytest.mark.parametrize(
    "key", ["../../admin", "SUP-42/../../x", "sup-42", "SUP-0", "SUP-42?x=1", "", None, ["SUP-1"]]
)
async def test_unsafe_issue_keys_are_refused_before_anything_is_sent(key: Any) -> None:
    jira = FakeJira()
    event = {"webhookEvent": "jira:issue_created", "issue": {"key": key}}
    with pytest.raises(TargetRejected) as info:
        await make(jira).write(request(event=event))
    assert info.value.code == "invalid_issue_key"
    assert jira.requests == []


async def test_numeric_issue_id_is_accepted_and_issue_self_is_ignored() -> None:
    jira = FakeJira()
    event = {"issue": {"id": "10042", "key": "SUP-42", "self": "https://evil.example/rest/api/2/issue/1"}}
    await make(jira).write(request(event=event, record_path="issue.id"))
    assert {r.url.host for r in jira.requests} == {"acme.atlassian.net"}
    assert jira.fields["10042"]


async def test_basic_and_bearer_auth_headers() -> None:
    jira = FakeJira()
    await make(jira).write(request())
    expected = base64.b64encode(f"bot@acme.test:{TOKEN}".encode()).decode()
    assert {r.headers["Authorization"] for r in jira.requests} == {f"Basic {expected}"}
    jira = FakeJira()
    target = make(jira, auth={"kind": "bearer", "token": TOKEN}, deployment="datacenter")
    await target.write(request())
    assert {r.headers["Authorization"] for r in jira.requests} == {f"Bearer {TOKEN}"}
    assert all("/rest/api/2/" in r.url.path for r in jira.requests)
    assert target.plan(request())[0].headers["Authorization"] == "Bearer ***"


@pytest.mark.parametrize("options", [{"base_url": ""}, {"auth": None}])
async def test_without_base_url_or_auth_write_only_plans(options: dict[str, Any]) -> None:
    jira = FakeJira()
    outcome = await make(jira, **options).write(request())
    assert outcome.status == "dry_run"
    assert outcome.requests[0].json_body["fields"] == {"customfield_10050": SUMMARY}
    assert "base_url" in outcome.detail and "auth" in outcome.detail
    assert jira.requests == []


async def test_write_without_field_says_to_set_it() -> None:
    with pytest.raises(TargetRejected, match="set 'field' on the write step"):
        await make().write(request(field=None))


def test_config_checks_base_url_and_property() -> None:
    assert Config(base_url="https://acme.atlassian.net/").base_url == "https://acme.atlassian.net"
    assert Config(base_url="  ").base_url is None
    for bad in [
        "ftp://acme",
        "acme.atlassian.net",
        "https://user:pw@acme.atlassian.net",
        "https://a.net/?x=1",
    ]:
        with pytest.raises(ValidationError):
            Config(base_url=bad)
    with pytest.raises(ValidationError):
        Config(marker_property="../x")
    with pytest.raises(ValidationError):
        Config.model_validate({"auth": {"kind": "oauth", "token": "x"}})


def test_registry_builds_a_target() -> None:
    module = registry.load("target", "jira")
    built = module.build(module.Config(), registry.BuildContext(name="jira", http=HttpClientFactory()))
    assert isinstance(built, Target)


class _JiraHandler(BaseHTTPRequestHandler):
    """A tiny real Jira on 127.0.0.1: issue reads with properties, edits that set properties."""

    properties: ClassVar[dict[str, Any]] = {}
    edits: ClassVar[list[tuple[str, Any]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        issue = self.path.split("?")[0]
        body = json.dumps({"fields": {}, "properties": self.properties.get(issue, {})}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        issue = self.path.split("?")[0]
        for entry in payload.get("properties", []):
            self.properties.setdefault(issue, {})[entry["key"]] = entry["value"]
        self.edits.append((self.headers["Authorization"], payload.get("fields")))
        self.send_response(204)
        self.end_headers()


async def test_write_through_the_real_http_stack_on_localhost() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JiraHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    http = HttpClientFactory()  # the production transport, not a mock
    try:
        config = Config.model_validate(
            {
                "base_url": f"http://127.0.0.1:{server.server_port}/jira",
                "auth": {"kind": "bearer", "token": TOKEN},
            }
        )
        target = JiraTarget(config, registry.BuildContext(name="jira", http=http))
        assert (await target.write(request())).status == "written"
        assert (await target.write(request())).status == "already_written"
        assert _JiraHandler.edits == [(f"Bearer {TOKEN}", {"customfield_10050": SUMMARY})]
    finally:
        await http.aclose()
        server.shutdown()
        server.server_close()
