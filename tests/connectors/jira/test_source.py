"""The jira source: signature checks a sender would trip over; parsing Cloud and Data Center bodies."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from patchbay import registry
from patchbay.connectors.base import Source
from patchbay.connectors.jira.source import Config, JiraSource
from patchbay.errors import RequestError
from patchbay.http import HttpClientFactory

FIXTURES = Path(__file__).parents[2] / "fixtures" / "jira"
SECRET = "whsec-example-not-a-real-secret"
DC_BODY = (FIXTURES / "issue_created.json").read_bytes()
CLOUD_BODY = (FIXTURES / "cloud_issue_created.json").read_bytes()


def source(secret: str | None = SECRET, **options: object) -> JiraSource:
    config = Config.model_validate({"secret": secret, **options})
    return JiraSource(config, name="support-triage")


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def rejected(src: JiraSource, headers: dict[str, str], body: bytes) -> RequestError:
    with pytest.raises(RequestError) as info:
        src.verify(headers, body)
    assert info.value.status_code == 401
    return info.value


def vectors() -> list[dict[str, str]]:
    return list(json.loads((FIXTURES / "signature_vectors.json").read_text())["vectors"])


@pytest.mark.parametrize("vector", vectors(), ids=lambda v: v["name"])
def test_published_and_fixture_vectors_verify(vector: dict[str, str]) -> None:
    body = vector["body"].encode() if "body" in vector else (FIXTURES / vector["body_file"]).read_bytes()
    source(vector["secret"]).verify({"X-Hub-Signature": vector["header"]}, body)


def test_header_names_are_case_insensitive() -> None:
    source().verify({"x-hub-signature": sign(CLOUD_BODY)}, CLOUD_BODY)
    source().verify({"X-HUB-SIGNATURE": sign(CLOUD_BODY).upper().replace("SHA256=", "sha256=")}, CLOUD_BODY)


def test_tampered_body_is_rejected() -> None:
    tampered = CLOUD_BODY.replace(b"SUP-42", b"SUP-43")
    err = rejected(source(), {"X-Hub-Signature": sign(CLOUD_BODY)}, tampered)
    assert err.code == "signature_invalid"


def test_wrong_secret_is_rejected_without_leaking_secret_or_digest() -> None:
    err = rejected(source("another-secret"), {"X-Hub-Signature": sign(CLOUD_BODY)}, CLOUD_BODY)
    assert err.code == "signature_invalid"
    expected = hmac.new(b"another-secret", CLOUD_BODY, hashlib.sha256).hexdigest()
    assert "another-secret" not in err.message
    assert expected not in err.message
    assert "secret" in err.message  # says what to fix


def test_missing_header_is_rejected() -> None:
    err = rejected(source(), {"Content-Type": "application/json"}, CLOUD_BODY)
    assert err.code == "signature_missing"
    assert "X-Hub-Signature" in err.message


@pytest.mark.parametrize(
    "header",
    [
        hmac.new(SECRET.encode(), CLOUD_BODY, hashlib.sha256).hexdigest(),  # no prefix
        "sha1=" + hmac.new(SECRET.encode(), CLOUD_BODY, hashlib.sha1).hexdigest(),  # other scheme
        "sha256=" + "z" * 64,  # not hex
        "sha256=" + "ab" * 16,  # too short
        "sha256=" + "ab" * 33,  # too long
    ],
    ids=["no-prefix", "sha1", "non-hex", "short", "long"],
)
def test_malformed_header_is_rejected(header: str) -> None:
    err = rejected(source(), {"X-Hub-Signature": header}, CLOUD_BODY)
    assert err.code == "signature_invalid"
    assert "sha256=<64 hex digits>" in err.message


def test_previous_secret_is_accepted_during_rotation() -> None:
    rotated = source("new-secret", previous_secret=SECRET)
    rotated.verify({"X-Hub-Signature": sign(CLOUD_BODY)}, CLOUD_BODY)
    rotated.verify({"X-Hub-Signature": sign(CLOUD_BODY, "new-secret")}, CLOUD_BODY)


def test_no_secret_configured_is_rejected_unless_unsigned_allowed() -> None:
    err = rejected(source(None), {"X-Hub-Signature": sign(CLOUD_BODY)}, CLOUD_BODY)
    assert err.code == "no_secret_configured"
    assert "allow_unsigned" in err.message
    assert rejected(source(""), {}, CLOUD_BODY).code == "no_secret_configured"
    source(None, allow_unsigned=True).verify({}, CLOUD_BODY)


def test_a_configured_secret_is_checked_even_when_unsigned_is_allowed() -> None:
    assert rejected(source(allow_unsigned=True), {}, CLOUD_BODY).code == "signature_missing"


def test_custom_signature_header() -> None:
    src = source(signature_header="X-Patchbay-Signature")
    src.verify({"x-patchbay-signature": sign(CLOUD_BODY)}, CLOUD_BODY)
    assert rejected(src, {"X-Hub-Signature": sign(CLOUD_BODY)}, CLOUD_BODY).code == "signature_missing"


def test_secret_is_not_shown_in_config_repr() -> None:
    assert SECRET not in repr(Config(secret=SecretStr(SECRET)))


def test_datacenter_body_parses_with_body_hash_as_delivery_id() -> None:
    delivery = source().parse({}, DC_BODY)
    assert delivery.event_type == "jira:issue_created"
    assert delivery.delivery_id == "sha256:" + hashlib.sha256(DC_BODY).hexdigest()
    assert delivery.event["issue"]["key"] == "BBCOM-1398"


def test_cloud_body_takes_delivery_id_from_header() -> None:
    headers = {"x-atlassian-webhook-identifier": "1767262800123-abc", "X-Atlassian-Webhook-Retry": "1"}
    delivery = source().parse(headers, CLOUD_BODY)
    assert delivery.delivery_id == "1767262800123-abc"
    assert delivery.event_type == "jira:issue_created"
    assert delivery.event["issue"]["key"] == "SUP-42"


def test_identical_retries_without_header_get_the_same_delivery_id() -> None:
    assert source().parse({}, CLOUD_BODY).delivery_id == source().parse({}, CLOUD_BODY).delivery_id
    assert source().parse({}, CLOUD_BODY).delivery_id != source().parse({}, DC_BODY).delivery_id


def bad_request(body: bytes) -> RequestError:
    with pytest.raises(RequestError) as info:
        source().parse({}, body)
    assert info.value.status_code == 400
    return info.value


def test_malformed_json_is_a_400_with_line_and_column_but_not_the_body() -> None:
    err = bad_request(b'{"webhookEvent": "jira:issue_created",\n "issue": {"key": "SECRET-TEXT" ')
    assert err.code == "invalid_json"
    assert "line 2" in err.message
    assert "SECRET-TEXT" not in err.message


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_numbers_are_rejected(constant: bytes) -> None:
    assert bad_request(b'{"webhookEvent": "x", "n": ' + constant + b"}").code == "invalid_json"


def test_non_utf8_body_is_rejected() -> None:
    assert bad_request(b'{"webhookEvent": "\xff\xfe"}').code == "invalid_json"


def test_non_object_and_missing_event_name_are_rejected() -> None:
    assert bad_request(b"[1, 2]").code == "invalid_event"
    err = bad_request(b'{"issue": {"key": "SUP-1"}}')
    assert err.code == "invalid_event"
    assert "webhookEvent" in err.message


def test_registry_builds_a_source() -> None:
    module = registry.load("source", "jira")
    ctx = registry.BuildContext(name="support-triage", http=HttpClientFactory())
    built = module.build(module.Config.model_validate({"secret": SECRET}), ctx)
    assert isinstance(built, Source)
    assert built.name == "support-triage"
    built.verify({"X-Hub-Signature": sign(DC_BODY)}, DC_BODY)
