"""The memory target: what tests and demos read back, once per idempotency key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from patchbay import registry
from patchbay.connectors.base import Target, WriteRequest
from patchbay.connectors.memory import MemoryTarget
from patchbay.http import HttpClientFactory


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    MemoryTarget.clear()
    yield
    MemoryTarget.clear()


def request(key: str = "pb1-a", text: str = "summary") -> WriteRequest:
    return WriteRequest(
        integration="triage",
        delivery_id="d-1",
        idempotency_key=key,
        event={"issue": {"key": "SUP-1"}},
        text=text,
        record_path="issue.key",
        field="customfield_10050",
    )


def build(name: str = "notes") -> MemoryTarget:
    module = registry.load("target", "memory")
    target = module.build(module.Config(), registry.BuildContext(name=name, http=HttpClientFactory()))
    assert isinstance(target, MemoryTarget) and isinstance(target, Target)
    return target


async def test_write_is_stored_once_per_key() -> None:
    target = build()
    assert (await target.write(request())).status == "written"
    assert (await target.write(request(text="other"))).status == "already_written"
    (entry,) = MemoryTarget.store("notes")
    assert entry["record"] == "SUP-1" and entry["text"] == "summary" and entry["idempotency_key"] == "pb1-a"
    assert entry["integration"] == "triage" and entry["delivery_id"] == "d-1" and entry["written_at"]


async def test_each_target_name_has_its_own_store() -> None:
    await build("a").write(request())
    await build("b").write(request())
    assert len(MemoryTarget.store("a")) == len(MemoryTarget.store("b")) == 1
    assert MemoryTarget.store("never-used") == []


def test_plan_shows_the_entry_without_storing() -> None:
    (plan,) = build().plan(request())
    assert plan.method == "APPEND" and plan.url == "memory://notes"
    assert plan.json_body["text"] == "summary"
    assert MemoryTarget.store("notes") == []


def test_options_are_refused() -> None:
    with pytest.raises(ValueError):
        registry.load("target", "memory").Config.model_validate({"path": "x"})
