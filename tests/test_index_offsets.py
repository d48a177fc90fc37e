"""Offsets round-trip: every stored and retrieved chunk is exactly document_text[start:end]."""

from __future__ import annotations

from pathlib import Path

from index.ingest import ingest
from index.loaders import load_bytes
from index.reader import IndexReader

QUESTIONS = [
    "How much potassium perchlorate was shipped to Iran?",
    "Who signed the cable from the embassy in Beijing?",
    "Which Chinese networks supply Iran's missile programme?",
    "What did Mr Jafari say about weapons for Iraq?",
    "cyber cooperation between China and Iran",
]


def test_offsets_round_trip(settings, corpus_dir: Path, embedder,
                            check_consistent) -> None:
    report = ingest([corpus_dir], settings, embedder=embedder)
    assert report.added == 5 and not report.failed
    state = check_consistent(settings)

    reader = IndexReader(settings, embedder)
    texts: dict[str, str] = {}
    for doc in reader.documents():
        text = reader.document_text(doc.doc_id)
        assert text is not None
        # The stored document text is the file as loaded (what the user is shown).
        path = Path(doc.path)
        assert doc.source == path.name
        assert text == load_bytes(path, path.read_bytes()).text
        assert text == path.read_text(encoding="utf-8")  # plain UTF-8 files load verbatim
        texts[doc.doc_id] = text

    # Catalog chunks.
    records = list(reader.catalog.iter_chunks())
    assert len(records) == report.chunks > 5
    for c in records:
        assert 0 <= c.start < c.end <= len(texts[c.doc_id])
        assert texts[c.doc_id][c.start : c.end] == c.text

    # Chroma's stored text and metadata agree with the catalog.
    by_id = {c.chunk_id: c for c in records}
    assert set(state.chroma_docs) == set(by_id)
    for cid, (stored, meta) in state.chroma_docs.items():
        c = by_id[cid]
        assert (meta["doc_id"], meta["start"], meta["end"]) == (c.doc_id, c.start, c.end)
        assert stored == texts[c.doc_id][c.start : c.end] == c.text
        assert meta["source"] == c.source

    # Retrieved passages (dense, keyword, widened to neighbours).
    for q in QUESTIONS:
        dense = reader.dense(q, 5)
        keyword = reader.keyword(q, 5)
        assert len(dense) == 5 and keyword
        for p in [*dense, *keyword, *(reader.expand(p, 1) for p in dense)]:
            assert p.text == texts[p.doc_id][p.start : p.end], (q, p.chunk_id)
            assert p.source == Path(reader.catalog.document(p.doc_id).path).name
        assert [p.score for p in dense] == sorted((p.score for p in dense), reverse=True)


def test_dense_ranking_finds_the_right_document(settings, corpus_dir: Path, embedder) -> None:
    ingest([corpus_dir], settings, embedder=embedder)
    reader = IndexReader(settings, embedder)
    top = reader.dense("How many tonnes of potassium perchlorate went to Iran in 2008?", 3)
    assert top[0].source == "000_e290e26eed46899f.txt"
    assert any("208 tonnes of potassium perchlorate" in p.text for p in top)
    top = reader.dense("Who is the author of the article on China-Iran military relations?", 3)
    assert "003_96d8c7cf5974db9e.txt" in {p.source for p in top}


def test_retrieved_passages_split_into_their_documents_sentences(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """A hard-wrapped cable in small chunks, most starting in mid-line: each retrieved passage
    knows where its first line starts, and its sentences are the document's sentences."""
    import textwrap

    from core.settings import Settings
    from index.sentences import sentence_spans
    from qa.retrieval import Retriever

    # Sentences of varied length, so that most start in mid-line.
    facts = [f"The delegation from province number {i} met{' senior' * (i % 4)} officials of the "
             f"Leningrad Financial-Economic Institute on day {i} of their tour." for i in range(1, 40)]
    doc = "VISIT OF REGIONAL DELEGATIONS\n\n" + textwrap.fill(" ".join(facts), width=62) + "\n"
    folder = tmp_path / "cables"
    folder.mkdir()
    (folder / "visit.txt").write_text(doc)
    settings = Settings(home=tmp_path / "home", chunk_tokens=48)
    ingest([folder], settings, embedder=embedder)
    reader = IndexReader(settings, embedder)
    passages = Retriever(reader, settings).retrieve("Which institute did the delegations meet?", k=8)
    mid_line = [p for p in passages if p.line_offset > 0]
    assert len(mid_line) >= 4
    # Read from the catalog without the whole text: the start of a document, an unknown
    # document, and a line longer than the window read.
    assert reader.catalog.line_offset(passages[0].doc_id, 0) == 0
    assert reader.catalog.line_offset("no-such-doc", 50) == 0
    in_line = 200 - (doc.rfind("\n", 0, 200) + 1)
    assert reader.catalog.line_offset(passages[0].doc_id, 200, window=10) == min(10, in_line)
    assert reader.catalog.line_offset(passages[0].doc_id, 200) == in_line
    for p in passages:
        assert p.line_offset == p.start - (doc.rfind("\n", 0, p.start) + 1)
        alone = [(a + p.start, b + p.start) for a, b in sentence_spans(p.text, lead=p.line_offset)]
        in_doc = [(a, b) for a, b in sentence_spans(doc) if p.start <= a and b <= p.end]
        assert alone == in_doc
