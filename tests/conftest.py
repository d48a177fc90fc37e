"""Shared fixtures: an isolated DOSSIER_HOME per test, the real bundled embedder (loaded once),
the sample corpus, and helpers to look inside an index (catalog, Chroma, keyword index)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from core.settings import BUNDLED_EMBED_MODEL, Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The bundled sample corpus (read-only: copy it before changing anything)."""
    path = REPO_ROOT / "data" / "corpus"
    assert len(list(path.glob("*.txt"))) == 5, f"sample corpus missing at {path}"
    return path


@pytest.fixture(scope="session")
def haystack():  # type: ignore[no-untyped-def]
    """bench/common.py's Haystack: ../shared/haystack (or $DOSSIER_HAYSTACK) where it exists,
    else the sample in data/haystack_sample unpacked into a cache folder (`.sample` says which)."""
    bench = str(REPO_ROOT / "bench")
    if bench not in sys.path:
        sys.path.append(bench)
    from common import haystack as resolve

    return resolve()


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No DOSSIER_* from the caller's shell and no dossier.toml from the repo leak into a test."""
    for key in list(os.environ):
        if key.startswith("DOSSIER_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings (bundled model, embedded Chroma) with this test's own DOSSIER_HOME."""
    return Settings(home=tmp_path / "home")


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The real all-MiniLM-L6-v2 from the bundled package; loaded once per test session."""
    from index.embedder import make_embedder

    home = tmp_path_factory.mktemp("embedder") / "home"
    return make_embedder(Settings(home=home, embed_model=BUNDLED_EMBED_MODEL))


class CountingEmbedder:
    """Same interface as a real embedder; records every call and every text it encodes."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self._inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.max_tokens = inner.max_tokens
        self.calls = 0
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        self.calls += 1
        self.texts.extend(texts)
        return self._inner.encode(texts, batch_size=batch_size)

    def reset(self) -> None:
        self.calls = 0
        self.texts = []


@pytest.fixture
def counting_embedder(embedder) -> CountingEmbedder:  # type: ignore[no-untyped-def]
    return CountingEmbedder(embedder)


@pytest.fixture
def corpus_copy(tmp_path: Path, corpus_dir: Path) -> Path:
    """A writable copy of the sample corpus (the original folder is read-only)."""
    dest = tmp_path / "corpus"
    dest.mkdir()
    for src in sorted(corpus_dir.iterdir()):
        shutil.copyfile(src, dest / src.name)
    return dest


def forget_chroma_clients() -> None:
    """Drop chromadb's per-process client cache, so the next open re-reads what another process
    wrote (and this process holds no open system while a subprocess writes)."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


@dataclass
class IndexState:
    """Everything the three stores of one DOSSIER_HOME hold, read fresh from disk."""

    docs: dict[str, object]  # doc_id -> DocRecord
    catalog_ids: list[str]  # chunk ids in the catalog (may repeat only if the catalog is broken)
    chroma_ids: list[str]
    chroma_docs: dict[str, tuple[str, dict]]  # chunk_id -> (stored text, metadata)
    keyword_ids: list[str] | None  # None: no keyword index on disk

    def doc_by_source(self, source: str):  # type: ignore[no-untyped-def]
        found = [d for d in self.docs.values() if d.source == source]  # type: ignore[attr-defined]
        assert len(found) == 1, f"{source!r} is in the catalog {len(found)} times"
        return found[0]


def read_index(settings: Settings) -> IndexState:
    from index.catalog import Catalog
    from index.keyword import KeywordIndex
    from index.store import open_store

    forget_chroma_clients()
    catalog = Catalog(settings.catalog_path)
    try:
        docs = {d.doc_id: d for d in catalog.documents()}
        catalog_ids = catalog.chunk_ids()
        model = catalog.get_meta("embed_model") or BUNDLED_EMBED_MODEL
    finally:
        catalog.close()
    store = open_store(settings, model, create=False)
    chroma_docs: dict[str, tuple[str, dict]] = {}
    chroma_ids: list[str] = []
    for hit in store.get(store.chunk_ids()):
        chroma_ids.append(hit.chunk_id)
        chroma_docs[hit.chunk_id] = (hit.text, dict(hit.metadata))
    keyword = KeywordIndex.load(settings.keyword_path)
    return IndexState(
        docs=docs,
        catalog_ids=catalog_ids,
        chroma_ids=chroma_ids,
        chroma_docs=chroma_docs,
        keyword_ids=None if keyword is None else list(keyword.chunk_ids),
    )


def assert_consistent(state: IndexState) -> None:
    """Catalog, Chroma and keyword index hold exactly the same chunks, each once."""
    assert len(state.catalog_ids) == len(set(state.catalog_ids)), "duplicate chunk ids in catalog"
    assert len(state.chroma_ids) == len(set(state.chroma_ids)), "duplicate chunk ids in Chroma"
    assert len(state.chroma_ids) == len(state.catalog_ids), (
        f"Chroma holds {len(state.chroma_ids)} chunks, the catalog {len(state.catalog_ids)}"
    )
    assert set(state.chroma_ids) == set(state.catalog_ids)
    assert state.keyword_ids is not None, "no keyword index on disk"
    # The keyword index holds every chunk but those of quarantined documents.
    searchable = [cid for cid in state.catalog_ids
                  if not state.docs[cid.split(":", 1)[0]].quarantine]  # type: ignore[attr-defined]
    assert sorted(state.keyword_ids) == sorted(searchable)
    pending = [d.source for d in state.docs.values() if d.state != "done"]  # type: ignore[attr-defined]
    assert not pending, f"documents left pending: {pending}"
    for doc_id, doc in state.docs.items():
        n = sum(1 for cid in state.catalog_ids if cid.split(":", 1)[0] == doc_id)
        assert n == doc.n_chunks > 0, f"{doc.source}: n_chunks={doc.n_chunks}, chunks={n}"  # type: ignore[attr-defined]


@pytest.fixture
def index_state():  # type: ignore[no-untyped-def]
    """`index_state(settings)` → IndexState, read fresh from disk."""
    return read_index


@pytest.fixture
def check_consistent():  # type: ignore[no-untyped-def]
    """`check_consistent(settings)` asserts catalog == Chroma == keyword index; returns the state."""

    def check(settings: Settings) -> IndexState:
        state = read_index(settings)
        assert_consistent(state)
        return state

    return check


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOSSIER_")}
    env.update(
        DOSSIER_HOME=str(home),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.fixture
def forget_chroma():  # type: ignore[no-untyped-def]
    return forget_chroma_clients


@pytest.fixture(scope="session")
def venv_bin() -> Path:
    """The folder of this interpreter's console scripts (`dossier`, `chroma`)."""
    return VENV_BIN


@pytest.fixture
def child_env():  # type: ignore[no-untyped-def]
    """`child_env(home)` → the environment for a subprocess using that DOSSIER_HOME. Also drops
    this process's Chroma clients, so none is open while the child writes."""

    def make(home: Path, **extra: str) -> dict[str, str]:
        forget_chroma_clients()
        return cli_env(home, **extra)

    return make


@pytest.fixture
def dossier_cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    """`dossier_cli(args, home)` runs the installed `dossier` console script in a subprocess."""
    import subprocess

    exe = VENV_BIN / "dossier"
    assert exe.exists(), f"console script missing: {exe}"

    def run(args: Sequence[str], home: Path, timeout: float = 180,
            keep_clients: bool = False) -> subprocess.CompletedProcess:
        if not keep_clients:
            forget_chroma_clients()
        return subprocess.run(
            [str(exe), *args],
            env=cli_env(home),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def free_port() -> int:
    return pick_free_port()


# -- answering layer (tests/test_qa_*.py) ---------------------------------------------------


def pick_free_port() -> int:
    """A loopback port that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_ui(
    root: Path, folders: Sequence[Path], embedder: object, expect_added: int
) -> Iterator[tuple[str, Settings]]:
    """The chat UI on a free loopback port over `folders` ingested into `root/home` (backend
    `extractive`, no DOSSIER_* from the shell); yields (url, settings) and closes the server."""
    from index.ingest import ingest
    from ui.app import launch

    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("DOSSIER_"):
                mp.delenv(key)
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        settings = Settings(home=root / "home", llm="extractive")
        report = ingest(list(folders), settings, embedder=embedder)  # type: ignore[arg-type]
        assert report.added == expect_added and not report.failed, report
        port = pick_free_port()
        demo = launch(settings, host="127.0.0.1", port=port, block=False, quiet=True)
        try:
            yield f"http://127.0.0.1:{port}", settings
        finally:
            demo.close()


def clean_settings(home: Path, **values: object) -> Settings:
    """Settings built from explicit values only: no DOSSIER_* from the shell, no dossier.toml."""
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("DOSSIER_"):
                mp.delenv(key)
        home.parent.mkdir(parents=True, exist_ok=True)
        mp.chdir(home.parent)
        return Settings(home=home, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def qa_settings(tmp_path_factory: pytest.TempPathFactory, embedder, corpus_dir: Path) -> Settings:  # type: ignore[no-untyped-def]
    """The sample corpus ingested once (real embedder, embedded Chroma, BM25) into its own
    DOSSIER_HOME, shared read-only by the answering tests; backend `extractive`. Derive variants
    with `qa_settings.model_copy(update={...})`; never ingest into this home."""
    from index.ingest import ingest

    settings = clean_settings(tmp_path_factory.mktemp("qa_index") / "home", llm="extractive")
    report = ingest([corpus_dir], settings, embedder=embedder)
    assert report.added == 5 and not report.failed, report
    return settings


@pytest.fixture
def make_assistant(qa_settings: Settings, embedder):  # type: ignore[no-untyped-def]
    """`make_assistant(llm=None, **settings_updates)` → an Assistant on the shared sample index,
    using the session embedder. `llm` is an LLM object (a test double), or a backend name
    (`llm="local"`), or None for the settings' backend (`extractive`)."""
    from qa import Assistant

    def make(llm=None, **updates):  # type: ignore[no-untyped-def]
        if isinstance(llm, str):
            updates["llm"], llm = llm, None
        settings = qa_settings.model_copy(update=updates) if updates else qa_settings
        return Assistant(settings, llm=llm, embedder=embedder)

    return make


@pytest.fixture(scope="session")
def gold_questions() -> list:
    from eval.gold import DEFAULT_GOLD, load_gold

    return load_gold(DEFAULT_GOLD)


@contextlib.contextmanager
def serve(cmd: Sequence[str], ready_url: str, log_path: Path, what: str,
          timeout: float = 60) -> Iterator[None]:
    """Run a real server process on loopback until `ready_url` answers 200; stop it after."""
    import httpx

    log = log_path.open("wb")
    proc = subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert proc.poll() is None, log_path.read_text(errors="replace")[-2000:]
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{what} did not start within {timeout:.0f} s"
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
