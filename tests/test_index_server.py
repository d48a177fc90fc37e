"""The index on a real Chroma server (`chroma run`) instead of the embedded client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import serve

from core.errors import BackendError
from core.settings import Settings
from index.ingest import ingest
from index.reader import IndexReader

pytestmark = pytest.mark.server


@pytest.fixture
def chroma_server(tmp_path: Path, free_port: int, venv_bin: Path) -> Iterator[str]:
    exe = venv_bin / "chroma"
    if not exe.exists():
        pytest.skip(f"no chroma CLI at {exe}")
    url = f"http://127.0.0.1:{free_port}"
    cmd = [str(exe), "run", "--path", str(tmp_path / "chroma-server"), "--port", str(free_port),
           "--host", "127.0.0.1"]
    with serve(cmd, f"{url}/api/v2/heartbeat", tmp_path / "chroma-server.log", "Chroma server"):
        yield url


def test_ingest_and_search_on_a_chroma_server(
    tmp_path: Path, chroma_server: str, corpus_copy: Path, counting_embedder, check_consistent
) -> None:
    settings = Settings(home=tmp_path / "home", chroma_url=chroma_server)
    report = ingest([corpus_copy], settings, embedder=counting_embedder)
    assert report.added == 5 and not report.failed and report.chunks > 5
    state = check_consistent(settings)  # reads Chroma through the server
    assert len(state.chroma_ids) == report.chunks
    assert not settings.chroma_path.exists(), "vectors went to the embedded store, not the server"

    counting_embedder.reset()
    report = ingest([corpus_copy], settings, embedder=counting_embedder)
    assert (report.unchanged, report.added, report.updated, counting_embedder.calls) == (5, 0, 0, 0)

    gone = corpus_copy / "004_a74087268ab38adb.txt"
    gone.unlink()
    report = ingest([corpus_copy], settings, embedder=counting_embedder)
    assert report.removed == 1
    check_consistent(settings)

    reader = IndexReader(settings, counting_embedder)
    top = reader.dense("How many tonnes of potassium perchlorate went to Iran?", 3)
    assert top[0].source == "000_e290e26eed46899f.txt"
    text = reader.document_text(top[0].doc_id)
    assert text is not None and top[0].text == text[top[0].start : top[0].end]


def test_unreachable_server_is_a_clear_error(tmp_path: Path, free_port: int, embedder,
                                             corpus_dir: Path) -> None:
    settings = Settings(home=tmp_path / "home", chroma_url=f"http://127.0.0.1:{free_port}")
    with pytest.raises(BackendError, match="cannot reach the Chroma server"):
        ingest([corpus_dir], settings, embedder=embedder)
