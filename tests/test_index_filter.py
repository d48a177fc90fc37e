"""Searches restricted to some documents: the exact dense path (vectors fetched by id) ranks as
Chroma's own filtered query does, wider filters still go to Chroma, and the keyword side keeps
only the chosen documents."""

from __future__ import annotations

import pytest

from index import reader as reader_mod
from index.reader import IndexReader

QUESTION = "How many boxes of computers was Siemens forced to recall?"


@pytest.fixture
def reader(qa_settings, embedder) -> IndexReader:  # type: ignore[no-untyped-def]
    return IndexReader(qa_settings, embedder)


def test_exact_filtered_dense_search_ranks_like_chroma(reader: IndexReader) -> None:
    docs = reader.documents()
    assert len(docs) == 5
    for chosen in ([docs[0].doc_id], [docs[1].doc_id, docs[3].doc_id], [d.doc_id for d in docs]):
        vec = reader.embedder.encode([QUESTION])[0]
        exact = reader.dense(QUESTION, 8, chosen)
        chroma = [h for h in reader.store.query(vec, 8, chosen)]
        assert exact, chosen
        assert {p.doc_id for p in exact} <= set(chosen)
        assert [p.chunk_id for p in exact] == [h.chunk_id for h in chroma]
        for p, h in zip(exact, chroma, strict=True):
            assert p.score == pytest.approx(h.score, abs=1e-4)
            assert p.text == h.text and p.start == h.metadata["start"]


def test_unknown_documents_give_nothing(reader: IndexReader) -> None:
    assert reader.dense(QUESTION, 5, ["no-such-document"]) == []
    assert reader.keyword(QUESTION, 5, ["no-such-document"]) == []


def test_wide_filters_use_chromas_filtered_query(
    reader: IndexReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = [d.doc_id for d in reader.documents()[:2]]
    calls: list[object] = []
    original = reader.store.query
    monkeypatch.setattr(reader.store, "query", lambda *a, **kw: calls.append(a) or original(*a, **kw))
    exact = reader.dense(QUESTION, 5, chosen)
    assert calls == []  # a few documents: the exact path
    monkeypatch.setattr(reader_mod, "EXACT_SEARCH_MAX_CHUNKS", 3)
    wide = reader.dense(QUESTION, 5, chosen)
    assert len(calls) == 1
    assert [p.chunk_id for p in wide] == [p.chunk_id for p in exact]


def test_keyword_search_keeps_only_the_chosen_documents(reader: IndexReader) -> None:
    docs = reader.documents()
    chosen = [docs[2].doc_id]
    hits = reader.keyword("Iran China shipment missiles", 10, chosen)
    assert hits and {p.doc_id for p in hits} == set(chosen)
    assert {p.doc_id for p in reader.keyword("Iran China shipment missiles", 10)} - set(chosen)
