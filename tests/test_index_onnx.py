"""The default embedding runtime (ONNX export of the bundled model) against sentence-transformers:
the same vectors, the export made once and reused, and clear errors for what it cannot run."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from core.errors import ConfigError
from core.settings import BUNDLED_EMBED_MODEL, Settings
from index.embedder import make_embedder, resolve_model_path
from index.onnx_embedder import ModelLayout, OnnxEmbedder, export


@pytest.fixture(scope="module")
def st_embedder(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("st") / "home"
    return make_embedder(Settings(home=home, embed_backend="sentence-transformers"))


def corpus_chunks(corpus_dir: Path) -> list[str]:
    """Chunk-sized pieces of the sample documents (600-1,000 characters, as ingest makes)."""
    texts = []
    for path in sorted(corpus_dir.glob("*.txt")):
        text = path.read_text()
        texts += [text[i: i + 800] for i in range(0, len(text), 800)]
    return texts


@pytest.mark.slow
def test_default_backend_is_onnx_with_the_sentence_transformers_vectors(
        embedder, st_embedder, corpus_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(embedder, OnnxEmbedder)
    texts = [
        *corpus_chunks(corpus_dir),
        "", " ", "x", "Ünïcödé — “quotes”, 東京, zero\u200bwidth",
        # Past the 256 word pieces the model reads: both runtimes must cut at the same place.
        "potassium perchlorate " * 400,
    ]
    a = st_embedder.encode(texts, batch_size=16)
    b = embedder.encode(texts, batch_size=16)
    assert a.shape == b.shape == (len(texts), 384)
    assert float(np.abs(a - b).max()) < 1e-5
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    # Batch size and order do not change a text's vector (batches are sorted by length inside).
    c = embedder.encode(list(reversed(texts)), batch_size=3)[::-1]
    assert float(np.abs(b - c).max()) < 1e-5


@pytest.mark.slow
def test_the_same_ranking_for_real_questions(embedder, st_embedder, corpus_dir: Path,  # type: ignore[no-untyped-def]
                                             gold_questions: list) -> None:
    chunks = corpus_chunks(corpus_dir)
    questions = [q.question for q in gold_questions[:20]]
    for enc in (embedder, st_embedder):
        enc.encode(["warm"])
    a_chunks, b_chunks = st_embedder.encode(chunks), embedder.encode(chunks)
    a_q, b_q = st_embedder.encode(questions), embedder.encode(questions)
    top_a = np.argsort(-(a_q @ a_chunks.T), axis=1)[:, :5]
    top_b = np.argsort(-(b_q @ b_chunks.T), axis=1)[:, :5]
    assert (top_a == top_b).all()


def test_the_export_is_made_once_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = Path(resolve_model_path(BUNDLED_EMBED_MODEL))
    cache = tmp_path / "cache"
    first = OnnxEmbedder(BUNDLED_EMBED_MODEL, folder, cache, batch_size=8)
    assert first.model_file.is_file() and first.model_file.parent == cache
    assert not list(cache.glob("*.tmp")), "the export is written aside and renamed into place"

    def no_export(*_args: object) -> Path:
        raise AssertionError("exported again")

    monkeypatch.setattr("index.onnx_embedder.export", no_export)
    second = OnnxEmbedder(BUNDLED_EMBED_MODEL, folder, cache, batch_size=8)
    assert second.model_file == first.model_file
    texts = ["Siemens was forced to recall 111 boxes of computers.", "a second text"]
    assert np.allclose(first.encode(texts), second.encode(texts))


def test_an_export_replaces_the_same_models_older_ones(tmp_path: Path) -> None:
    folder = Path(resolve_model_path(BUNDLED_EMBED_MODEL))
    cache = tmp_path / "cache"
    first = OnnxEmbedder(BUNDLED_EMBED_MODEL, folder, cache, batch_size=8)
    # An export from an older version of the exporter, and another model folder's export.
    older = first.model_file.with_name(first.model_file.name.rsplit("-", 1)[0] + "-0123456789abcdef.onnx")
    older.write_bytes(b"old export")
    other = cache / "model-00000000-0123456789abcdef.onnx"
    other.write_bytes(b"another model")
    legacy = cache / f"{folder.name}-fedcba9876543210.onnx"  # named before the folder key
    legacy.write_bytes(b"old export")
    first.model_file.unlink()  # as if the exporter had changed: a new export is due
    again = OnnxEmbedder(BUNDLED_EMBED_MODEL, folder, cache, batch_size=8)
    assert again.model_file.is_file()
    assert not older.exists() and not legacy.exists() and other.exists()


def test_a_changed_model_gets_a_new_export_name(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(resolve_model_path(BUNDLED_EMBED_MODEL), folder)
    before = ModelLayout(folder).fingerprint()
    config = folder / "config.json"
    config.write_text(config.read_text() + "\n")
    assert ModelLayout(folder).fingerprint() != before


@pytest.mark.parametrize("modules, words", [
    (None, "no modules.json"),
    (["Transformer", "Pooling", "Dense", "Normalize"], "are not Transformer"),
])
def test_a_model_it_cannot_run_is_named_with_the_fix(tmp_path: Path, modules: list[str] | None,
                                                     words: str) -> None:
    folder = tmp_path / "other-model"
    folder.mkdir()
    if modules is not None:
        (folder / "modules.json").write_text(json.dumps(
            [{"idx": i, "path": "", "type": f"sentence_transformers.models.{m}"}
             for i, m in enumerate(modules)]))
    with pytest.raises(ConfigError) as err:
        ModelLayout(folder)
    assert str(folder) in str(err.value) and words in str(err.value)
    assert "DOSSIER_EMBED_BACKEND=sentence-transformers" in str(err.value)


def test_a_model_name_that_is_no_local_folder_is_refused(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", embed_model="someone/not-downloaded-model",
                        model_cache=tmp_path / "cache")
    with pytest.raises(ConfigError, match="not a local folder"):
        make_embedder(settings)


def test_export_needs_onnx_and_a_writable_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = ModelLayout(Path(resolve_model_path(BUNDLED_EMBED_MODEL)))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match="DOSSIER_MODEL_CACHE"):
        export(layout, blocker / "models" / "m.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ConfigError, match="pip install onnx"):
        export(layout, tmp_path / "models" / "m.onnx")


def test_a_gpu_device_goes_to_the_runtime_that_can_use_it(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def fake_st(name: str, device: str, batch_size: int) -> str:
        asked.append(device)
        return "sentence-transformers embedder"

    monkeypatch.setattr("index.embedder._sentence_transformer", fake_st)
    gpu = Settings(home=tmp_path / "home", embed_device="cuda", model_cache=tmp_path / "cache")
    assert make_embedder(gpu) == "sentence-transformers embedder" and asked == ["cuda"]
    cpu = Settings(home=tmp_path / "home")
    assert isinstance(make_embedder(cpu), OnnxEmbedder) and asked == ["cuda"]
