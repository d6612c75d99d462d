"""The file target: one JSON line per write, never twice, readable after a crash."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from patchbay import registry
from patchbay.connectors.base import WriteRequest
from patchbay.connectors.file import Config, FileTarget
from patchbay.errors import TargetRejected, TargetUnavailable
from patchbay.http import HttpClientFactory


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


def build(root: Path, **options: object) -> FileTarget:
    module = registry.load("target", "file")
    target = module.build(
        module.Config.model_validate(options),
        registry.BuildContext(name="audit", http=HttpClientFactory(), root=root),
    )
    assert isinstance(target, FileTarget)
    return target


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_default_path_is_relative_to_the_project_and_written_once(tmp_path: Path) -> None:
    target = build(tmp_path)
    assert (await target.write(request())).status == "written"
    assert (await target.write(request(text="again"))).status == "already_written"
    (entry,) = lines(tmp_path / ".patchbay" / "writes.jsonl")
    assert set(entry) == {
        "idempotency_key",
        "integration",
        "delivery_id",
        "record",
        "field",
        "text",
        "written_at",
    }
    assert entry["record"] == "SUP-1" and entry["text"] == "summary"


async def test_concurrent_writers_do_not_duplicate_or_interleave(tmp_path: Path) -> None:
    target = build(tmp_path, path="out/w.jsonl")
    same = await asyncio.gather(*(target.write(request()) for _ in range(8)))
    assert sorted(o.status for o in same).count("written") == 1
    await asyncio.gather(*(target.write(request(f"k{i}")) for i in range(8)))
    assert len(lines(tmp_path / "out" / "w.jsonl")) == 9


async def test_a_torn_last_line_does_not_corrupt_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "w.jsonl"
    path.write_text(json.dumps({"idempotency_key": "pb1-old"}) + '\n{"idempotency_key": "pb1-to')
    target = build(tmp_path, path=str(path))
    assert (await target.write(request("pb1-old"))).status == "already_written"
    assert (await target.write(request())).status == "written"
    assert json.loads(path.read_text().splitlines()[-1])["idempotency_key"] == "pb1-a"


def test_plan_is_an_append_pseudo_request(tmp_path: Path) -> None:
    (plan,) = build(tmp_path).plan(request())
    assert (
        plan.method == "APPEND"
        and plan.url.startswith("file://")
        and plan.url.endswith("/.patchbay/writes.jsonl")
    )
    assert not (tmp_path / ".patchbay").exists()


async def test_unwritable_path_is_rejected_with_a_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = build(tmp_path, path="locked/w.jsonl")

    def denied(self: FileTarget, request: WriteRequest) -> bool:
        raise PermissionError(13, "Permission denied")

    # Simulated: the test suite may run as root, which ignores file modes.
    monkeypatch.setattr(FileTarget, "_append", denied)
    with pytest.raises(TargetRejected, match="choose another 'path'"):
        await target.write(request())


async def test_other_os_errors_are_retryable(tmp_path: Path) -> None:
    (tmp_path / "w.jsonl").mkdir()  # a folder where the file should be
    with pytest.raises(TargetUnavailable):
        await build(tmp_path, path="w.jsonl").write(request())


def test_config_default() -> None:
    assert Config().path == Path(".patchbay/writes.jsonl")
