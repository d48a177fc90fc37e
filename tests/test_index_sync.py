"""Incremental sync with the embedder's work counted; the recorded model; one writer at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

# A real `chroma run` server for the server-mode variant below.
from test_index_server import chroma_server  # noqa: F401

from core.errors import IndexBusyError, ModelMismatchError
from core.settings import Settings
from index.ingest import ingest, lock_home
from index.reader import IndexReader

CHANGED = "000_e290e26eed46899f.txt"
NEW_FACT = (
    "In March 2011 the harbour master of Gdansk impounded a freighter carrying "
    "forty crates of zirconium sponge bound for Bandar Abbas."
)
ADDED_FACT = (
    "The beekeepers' cooperative of Vrsac reported that its acacia honey harvest doubled "
    "after the wet spring."
)


def _source_of(text: str, state) -> set[str]:  # type: ignore[no-untyped-def]
    return {meta["source"] for t, meta in state.chroma_docs.values() if text in t}


def test_incremental_sync_embeds_only_what_changed(
    settings, corpus_copy: Path, counting_embedder, check_consistent
) -> None:
    emb = counting_embedder

    # 1. First ingest: everything is new.
    report = ingest([corpus_copy], settings, embedder=emb)
    assert (report.added, report.updated, report.unchanged, report.removed) == (5, 0, 0, 0)
    assert not report.failed
    assert report.embedded == len(emb.texts) == report.chunks > 0
    assert emb.calls >= 1
    state = check_consistent(settings)
    assert len(state.chroma_ids) == report.chunks
    old_ids = {cid for cid, (_, m) in state.chroma_docs.items() if m["source"] == CHANGED}
    assert old_ids

    # 2. No-op re-run: nothing embedded, nothing rewritten.
    emb.reset()
    report = ingest([corpus_copy], settings, embedder=emb)
    assert (report.added, report.updated, report.unchanged, report.removed) == (0, 0, 5, 0)
    assert emb.calls == 0 and emb.texts == [] and report.embedded == 0
    assert check_consistent(settings).chroma_ids == state.chroma_ids

    # 3. Change one file: only its chunks are embedded; its old chunks are gone.
    emb.reset()
    path = corpus_copy / CHANGED
    path.write_text(path.read_text(encoding="utf-8") .replace(
        "In 2008 the US also confronted China", NEW_FACT + "\n\nIn 2008 the US also confronted China"
    ), encoding="utf-8")
    new_text = path.read_text(encoding="utf-8")
    report = ingest([corpus_copy], settings, embedder=emb)
    assert (report.added, report.updated, report.unchanged, report.removed) == (0, 1, 4, 0)
    state = check_consistent(settings)
    doc = state.doc_by_source(CHANGED)
    assert report.embedded == len(emb.texts) == doc.n_chunks
    title = doc.title
    for text in emb.texts:  # every text sent to the encoder comes from the changed file
        body = text.removeprefix(title + "\n") if text.startswith(title + "\n") else text
        assert body in new_text, body[:80]
    assert not old_ids & set(state.chroma_ids), "chunks of the old version are still in Chroma"
    assert not old_ids & set(state.catalog_ids)
    assert not old_ids & set(state.keyword_ids or [])
    assert _source_of(NEW_FACT, state) == {CHANGED}
    reader = IndexReader(settings, emb)
    top = reader.dense("Which port impounded a freighter with zirconium sponge?", 3)
    assert top[0].source == CHANGED and NEW_FACT in top[0].text
    top = reader.keyword("Gdansk freighter zirconium sponge", 3)
    assert top[0].source == CHANGED and NEW_FACT in top[0].text

    # 4. Add a file.
    emb.reset()
    (corpus_copy / "005_bees.txt").write_text(f"Honey report\n\n{ADDED_FACT}\n", encoding="utf-8")
    report = ingest([corpus_copy], settings, embedder=emb)
    assert (report.added, report.updated, report.unchanged, report.removed) == (1, 0, 5, 0)
    state = check_consistent(settings)
    assert report.embedded == len(emb.texts) == state.doc_by_source("005_bees.txt").n_chunks
    assert _source_of(ADDED_FACT, state) == {"005_bees.txt"}

    # 5. Delete a file: gone from Chroma, the catalog and the keyword index.
    emb.reset()
    gone = "004_a74087268ab38adb.txt"
    gone_id = state.doc_by_source(gone).doc_id
    (corpus_copy / gone).unlink()
    report = ingest([corpus_copy], settings, embedder=emb)
    assert (report.added, report.updated, report.unchanged, report.removed) == (0, 0, 5, 1)
    assert emb.calls == 0
    state = check_consistent(settings)
    assert gone_id not in state.docs
    assert not [c for c in state.chroma_ids if c.startswith(gone_id + ":")]
    assert not [c for c in state.keyword_ids or [] if c.startswith(gone_id + ":")]
    assert not _source_of("Mr Jafari", state)
    reader = IndexReader(settings, emb)
    assert all(p.source != gone for p in reader.keyword("Jafari Mosul Isis", 10))
    assert all(p.source != gone for p in reader.dense("Mr Jafari on Isis in Mosul", 10))


def test_ingesting_a_single_file_and_its_folder(settings, corpus_copy: Path, counting_embedder,
                                                check_consistent) -> None:
    """A file ingested on its own is not removed by a later ingest of another folder."""
    emb = counting_embedder
    report = ingest([corpus_copy / CHANGED], settings, embedder=emb)
    assert report.added == 1
    other = corpus_copy.parent / "other"
    other.mkdir()
    (other / "note.md").write_text(f"# Bees\n\n{ADDED_FACT}\n", encoding="utf-8")
    report = ingest([other], settings, embedder=emb)
    assert (report.added, report.removed) == (1, 0)
    state = check_consistent(settings)
    assert {d.source for d in state.docs.values()} == {CHANGED, "note.md"}


def test_index_records_its_embedding_model(settings, corpus_dir: Path, embedder,
                                           counting_embedder) -> None:
    ingest([corpus_dir], settings, embedder=embedder)
    other = Settings(home=settings.home, embed_model="/some/other/model")
    with pytest.raises(ModelMismatchError) as info:
        IndexReader(other)
    message = str(info.value)
    assert "all-MiniLM-L6-v2" in message and "/some/other/model" in message
    assert "DOSSIER_EMBED_MODEL=all-MiniLM-L6-v2" in message  # says how to fix it

    # Writing with another model into the same home is refused too, and changes nothing.
    counting_embedder.name = "some-other-model"
    with pytest.raises(ModelMismatchError):
        ingest([corpus_dir], settings, embedder=counting_embedder)
    assert counting_embedder.calls == 0
    assert IndexReader(settings, embedder).catalog.get_meta("embed_model") == "all-MiniLM-L6-v2"


def test_second_writer_is_refused(settings, corpus_dir: Path, dossier_cli, embedder) -> None:
    lock = lock_home(settings)
    try:
        # Another process.
        proc = dossier_cli(["ingest", str(corpus_dir), "--json"], settings.home, timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert "another process is writing" in proc.stderr
        assert proc.stdout.strip() == ""
        # The same process, through the API.
        with pytest.raises(IndexBusyError, match="another process is writing"):
            ingest([corpus_dir], settings, embedder=embedder)
    finally:
        lock.release()
    assert ingest([corpus_dir], settings, embedder=embedder).added == 5


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def shared_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for this process and, through dossier.toml in the CLI's working folder, for a
    `dossier` subprocess: embedded Chroma under DOSSIER_HOME, or a real Chroma server."""
    if request.param == "embedded":
        return Settings(home=tmp_path / "home")
    url = request.getfixturevalue("chroma_server")
    (tmp_path / "dossier.toml").write_text(f'chroma_url = "{url}"\n', encoding="utf-8")
    return Settings(home=tmp_path / "home", chroma_url=url)


def test_long_lived_reader_sees_another_process_ingest(
    shared_settings: Settings, corpus_copy: Path, embedder, dossier_cli
) -> None:
    """A reader that stays open (the UI's) while `dossier ingest` adds, re-runs and deletes in
    another process answers from what is on disk on its next search after each ingest."""
    from qa import Assistant

    settings = shared_settings
    gone = corpus_copy / "004_a74087268ab38adb.txt"
    dense_q, keyword_q = "Mr Jafari on Isis in Mosul", "Jafari Mosul Isis"
    held = gone.read_bytes()
    gone.unlink()
    ingest([corpus_copy], settings, embedder=embedder)
    reader = IndexReader(settings, embedder)
    assistant = Assistant(settings.model_copy(update={"llm": "extractive"}), embedder=embedder)
    assert all(p.source != gone.name for p in reader.dense(dense_q, 3))
    assert all(p.source != gone.name for p in reader.keyword(keyword_q, 3))
    assert all(p.source != gone.name for p in assistant.search(dense_q, k=3))
    before = reader.catalog.synced
    assert before and not reader.sync()

    # 1. Another process adds a document; this one keeps its Chroma client open, as the UI does.
    gone.write_bytes(held)
    proc = dossier_cli(["ingest", str(corpus_copy), "--json"], settings.home, keep_clients=True)
    assert proc.returncode == 0, proc.stderr
    assert reader.dense(dense_q, 3)[0].source == gone.name
    assert reader.keyword(keyword_q, 3)[0].source == gone.name
    assert assistant.search(dense_q, k=3)[0].source == gone.name
    assert IndexReader(settings, embedder).dense(dense_q, 3)[0].source == gone.name
    added = reader.catalog.synced
    assert added != before and not reader.sync()  # caught up once, not on every search

    # 2. A re-run that changes nothing leaves the stamp alone: no reader reloads anything.
    proc = dossier_cli(["ingest", str(corpus_copy), "--json"], settings.home, keep_clients=True)
    assert proc.returncode == 0, proc.stderr
    assert reader.catalog.synced == added and not reader.sync()

    # 3. Another process deletes it: gone from both kinds of search.
    gone.unlink()
    proc = dossier_cli(["ingest", str(corpus_copy), "--json"], settings.home, keep_clients=True)
    assert proc.returncode == 0, proc.stderr
    assert all(p.source != gone.name for p in reader.dense(dense_q, 5))
    assert all(p.source != gone.name for p in reader.keyword(keyword_q, 5))
    assert all(p.source != gone.name for p in assistant.search(dense_q, k=5))
