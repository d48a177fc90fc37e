"""The keyword index: the vectorised BM25 build scores exactly as bm25s' own indexing does, and
an incremental rebuild (tokens reused for unchanged chunks) equals a build from scratch."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import bm25s
import numpy as np
import pytest

from index import keyword
from index.catalog import ChunkRecord
from index.keyword import KeywordIndex, tokenize

REPO = Path(__file__).resolve().parents[1]
QUERIES = [
    "How many tonnes of potassium perchlorate were shipped to Iran?",
    "Siemens recall boxes of computers",
    "Wang Daxue arms control",
    "Houthi rebels Iranian missiles drones",
    "aluminum centrifuges Chinese companies",
    "zzzz nothing matches this",
    "the of and",  # stopwords only
]


def sample_chunks() -> list[ChunkRecord]:
    """Paragraphs of the sample corpus as chunks (titles = first lines), plus an empty chunk."""
    chunks = []
    for path in sorted((REPO / "data" / "corpus").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        title = text.split("\n", 1)[0]
        doc_id = path.stem[:16]
        paras = [p for p in text.split("\n\n") if p.strip()]
        for i, para in enumerate(paras):
            chunks.append(ChunkRecord(f"{doc_id}:{i}", doc_id, path.name, i, 0, len(para), para, title, ""))
    chunks.append(ChunkRecord("zzempty:0", "zzempty", "empty.txt", 0, 0, 0, "", "", ""))
    assert len(chunks) > 30
    return chunks


def reference(chunks: list[ChunkRecord]) -> tuple[bm25s.BM25, dict[str, int]]:
    """What the index used to be built with: bm25s' own indexing of title + text tokens."""
    corpus = [tokenize(c.title) + tokenize(c.text) or ["\u2205"] for c in chunks]
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    df: Counter[str] = Counter()
    for c in chunks:
        df.update(set(tokenize(c.text)))
    return retriever, dict(df)


def scores(index: KeywordIndex, query: str) -> np.ndarray:
    tokens = [t for t in tokenize(query) if t in index._vocab]
    if not tokens:
        return np.zeros(len(index.chunk_ids))
    return np.asarray(index._retriever.get_scores(tokens))


def assert_same(a: KeywordIndex, b: KeywordIndex) -> None:
    assert a.chunk_ids == b.chunk_ids
    assert a.df == b.df
    for q in QUERIES:
        np.testing.assert_allclose(scores(a, q), scores(b, q), rtol=1e-5, atol=1e-6)
        assert [h.chunk_id for h in a.search(q, 5)] == [h.chunk_id for h in b.search(q, 5)]


def test_vectorised_build_scores_like_bm25s() -> None:
    chunks = sample_chunks()
    index = KeywordIndex.build(chunks, generation=1)
    ref, ref_df = reference(chunks)
    assert index.df == ref_df
    for q in QUERIES:
        tokens = [t for t in tokenize(q) if t in ref.vocab_dict]
        expected = np.asarray(ref.get_scores(tokens)) if tokens else np.zeros(len(chunks))
        np.testing.assert_allclose(scores(index, q), expected, rtol=1e-5, atol=1e-6)
    hits = index.search(QUERIES[0], 3)
    assert hits and hits[0].chunk_id.startswith("000_e290e26eed46")


def test_saved_index_loads_and_scores_the_same(tmp_path: Path) -> None:
    index = KeywordIndex.build(sample_chunks(), generation=4)
    index.save(tmp_path / "kw")
    loaded = KeywordIndex.load(tmp_path / "kw")
    assert loaded is not None and loaded.generation == 4
    assert_same(loaded, KeywordIndex.build(sample_chunks(), generation=4))
    # Asked for another generation, the stale index comes without its matrix.
    stale = KeywordIndex.load(tmp_path / "kw", generation=5)
    assert stale is not None and stale._retriever is None and stale.generation == 4


def test_incremental_build_equals_a_fresh_build_and_tokenizes_only_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = sample_chunks()
    KeywordIndex.build(chunks, generation=1).save(tmp_path / "kw")

    changed = list(chunks)
    c = changed[3]
    changed[3] = ChunkRecord(c.chunk_id, c.doc_id, c.source, c.ordinal, c.start, c.end,
                             c.text + " Uranium hexafluoride was mentioned too.", c.title, c.date)
    del changed[7]  # a removed chunk
    changed.insert(10, ChunkRecord("aaanew:0", "aaanew", "new.txt", 0, 0, 40,
                                   "A brand new chunk about zirconium tubes.", "New title", ""))
    retitled = changed[20]  # same text, new title: must be tokenized again too
    changed[20] = ChunkRecord(retitled.chunk_id, retitled.doc_id, retitled.source, retitled.ordinal,
                              retitled.start, retitled.end, retitled.text, "A different title", "")

    calls: list[str] = []
    real = keyword.tokenize
    monkeypatch.setattr(keyword, "tokenize", lambda text: calls.append(text) or real(text))
    previous = KeywordIndex.load(tmp_path / "kw", generation=2)
    incremental = KeywordIndex.build(changed, generation=2, previous=previous)
    # Title and text of the 3 new or changed chunks, nothing else.
    assert len(calls) == 6, calls
    monkeypatch.setattr(keyword, "tokenize", real)

    fresh = KeywordIndex.build(changed, generation=2)
    assert_same(incremental, fresh)
    assert any(h.chunk_id == "aaanew:0" for h in incremental.search("zirconium tubes", 3))
    # Saved and reloaded, it still equals the fresh build.
    incremental.save(tmp_path / "kw")
    assert_same(KeywordIndex.load(tmp_path / "kw"), fresh)  # type: ignore[arg-type]


def test_unreadable_token_cache_falls_back_to_tokenizing_everything(tmp_path: Path) -> None:
    chunks = sample_chunks()
    KeywordIndex.build(chunks, generation=1).save(tmp_path / "kw")
    (tmp_path / "kw" / "tokens.npz").write_bytes(b"not a zip file")
    previous = KeywordIndex.load(tmp_path / "kw", generation=2)
    assert previous is not None and previous.token_cache() is None
    assert_same(KeywordIndex.build(chunks[5:], 2, previous=previous), KeywordIndex.build(chunks[5:], 2))


def test_document_filter_keeps_only_those_documents() -> None:
    chunks = sample_chunks()
    index = KeywordIndex.build(chunks, generation=1)
    wanted = {chunks[0].doc_id}
    hits = index.search("Iran China missiles", 10, doc_ids=wanted)
    assert hits and all(h.chunk_id.split(":", 1)[0] in wanted for h in hits)
    allowed = {c.chunk_id for c in chunks if c.doc_id in wanted}
    assert hits == index.search("Iran China missiles", 10, allowed=allowed)
    assert index.search("Iran China missiles", 10, doc_ids={"no-such-doc"}) == []
    unfiltered = index.search("Iran China missiles", 10)
    assert {h.chunk_id.split(":", 1)[0] for h in unfiltered} - wanted  # the filter did something


def test_block_boundaries_do_not_change_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """Built in blocks of a few tokens (so many block boundaries, and chunks longer than a
    block), the index is the same as when built in one block."""
    chunks = sample_chunks()
    whole = KeywordIndex.build(chunks, generation=1)
    monkeypatch.setattr(keyword, "_BLOCK_TOKENS", 37)
    assert_same(KeywordIndex.build(chunks, generation=1), whole)


def test_a_document_marked_pending_leaves_the_current_keyword_index(tmp_path: Path) -> None:
    """Between `pending` and `done` a document's chunks are not searchable; a keyword index built
    before the mark must not count as current (a kill -9 there left stale hits behind)."""
    from index.catalog import Catalog
    from index.models import Chunk, Document

    catalog = Catalog(tmp_path / "catalog.sqlite")
    docs = []
    for name, text in [("a.txt", "Potassium perchlorate shipped to Iran."),
                       ("b.txt", "Siemens recalled boxes of computers.")]:
        doc = Document(name[0], name, str(tmp_path / name), str(tmp_path), text, name)
        docs.append((doc, [Chunk(f"{doc.doc_id}:0", doc.doc_id, name, 0, 0, len(text), text)]))
    catalog.commit_documents(docs)
    before = keyword.keyword_index(catalog, tmp_path / "kw")
    assert sorted(before.chunk_ids) == ["a:0", "b:0"]

    catalog.mark_pending([docs[0][0]])
    after = keyword.keyword_index(catalog, tmp_path / "kw")
    assert after.chunk_ids == ["b:0"]
    assert [h.chunk_id for h in after.search("potassium perchlorate Iran", 5)] == []
    catalog.close()


def test_concurrent_saves_leave_one_whole_index(tmp_path: Path) -> None:
    """A reader finding the index stale mid-ingest saves while the ingest does: each save is
    written aside under its own name and either swapped in whole or dropped, never an error."""
    import threading

    chunks = sample_chunks()
    indexes = [KeywordIndex.build(chunks[i:], generation=i) for i in range(4)]
    errors: list[BaseException] = []

    def save_many(index: KeywordIndex) -> None:
        try:
            for _ in range(15):
                index.save(tmp_path / "kw")
        except BaseException as exc:  # any failure of a save is the finding
            errors.append(exc)

    threads = [threading.Thread(target=save_many, args=(ix,)) for ix in indexes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    loaded = KeywordIndex.load(tmp_path / "kw")
    assert loaded is not None
    assert_same(loaded, KeywordIndex.build(chunks[loaded.generation:], generation=loaded.generation))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kw"]  # nothing left aside
