"""Hybrid retrieval: dense + BM25, fused (z-score by default, or reciprocal rank), beats dense alone
on the gold set."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from eval.metrics import evidence_rank
from index.models import Passage
from index.reader import IndexReader
from qa.retrieval import Retriever, rrf, zscore_fusion


class CachingEmbedder:
    """The real embedder, with each text encoded once (both fusion runs share query vectors)."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self._inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.max_tokens = inner.max_tokens
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vector in zip(missing, self._inner.encode(missing), strict=True):
                self._cache[text] = vector
        return np.stack([self._cache[t] for t in texts])


def _scores(reader: IndexReader, settings, questions) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(evidence hit@1, evidence MRR over the top 10), as the contract defines them."""
    retriever = Retriever(reader, settings)
    ranks = []
    for g in questions:
        passages = retriever.retrieve(g.question, k=10)
        ranks.append(evidence_rank([p.contract() for p in passages], g.evidence))
    hit1 = sum(r == 1 for r in ranks) / len(ranks)
    mrr = sum(1 / r for r in ranks if r) / len(ranks)
    return hit1, mrr


def test_fusion_beats_dense_alone_on_the_gold_set(qa_settings, embedder, gold_questions) -> None:
    answerable = [g for g in gold_questions if g.answerable and g.evidence]
    assert len(answerable) >= 50
    cached = CachingEmbedder(embedder)
    cached.encode([g.question for g in answerable])  # one batch for all queries
    reader = IndexReader(qa_settings, cached)

    scores = {fusion: _scores(reader, qa_settings.model_copy(update={"fusion": fusion}), answerable)
              for fusion in ("dense", "rrf", "zscore")}
    report = "; ".join(f"{f}: hit@1={h:.3f} MRR={m:.3f}" for f, (h, m) in scores.items())
    print(report, f"(n={len(answerable)})")
    dense = scores["dense"]
    for fused in (scores["rrf"], scores["zscore"]):
        assert fused[0] >= dense[0] and fused[1] >= dense[1], report
        assert fused[0] > dense[0] or fused[1] > dense[1], report
    # The default is z-score because it measured better than RRF (bench/fusion.py).
    assert qa_settings.fusion == "zscore"
    assert scores["zscore"][0] >= scores["rrf"][0] and scores["zscore"][1] >= scores["rrf"][1], report


def test_assistant_search_uses_the_configured_fusion(make_assistant, qa_settings, embedder) -> None:
    question = "How many tonnes of potassium perchlorate were in the 2008 shipment to Iran?"
    reader = IndexReader(qa_settings, embedder)
    n = qa_settings.candidates
    dense_hits, keyword_hits = reader.dense(question, n), reader.keyword(question, n)
    from qa.retrieval import with_document_evidence

    expected = with_document_evidence(zscore_fusion(dense_hits, keyword_hits, qa_settings.dense_weight),
                                      qa_settings.document_weight)[:5]
    got = make_assistant().search(question, k=5)
    assert [p.chunk_id for p in got] == [p.chunk_id for p in expected]
    assert [p.score for p in got] == sorted((p.score for p in got), reverse=True)
    # The fusers alone, without the document-evidence step that follows any of them.
    by_rrf = make_assistant(fusion="rrf", document_weight=0.0).search(question, k=5)
    assert [p.chunk_id for p in by_rrf] == [p.chunk_id for p in rrf([dense_hits, keyword_hits], 60)[:5]]
    dense = make_assistant(fusion="dense", document_weight=0.0).search(question, k=5)
    assert [p.chunk_id for p in dense] == [p.chunk_id for p in reader.dense(question, 5)]


def _p(cid: str, score: float = 0.0) -> Passage:
    return Passage(source="s", doc_id="d", start=0, end=1, text=cid, score=score, chunk_id=cid)


def test_zscore_fusion_keeps_how_far_ahead_a_leader_is() -> None:
    # Dense: a near-tie between a and b. Keyword: b stands far above everything else.
    dense = [_p("a", 0.62), _p("b", 0.61), _p("c", 0.30), _p("d", 0.29)]
    keyword = [_p("b", 9.0), _p("a", 1.2), _p("c", 1.1), _p("d", 1.0)]
    fused = zscore_fusion(dense, keyword, dense_weight=0.5)
    assert [q.chunk_id for q in fused][:2] == ["b", "a"]
    # RRF sees only ranks: a (1st + 2nd) and b (2nd + 1st) tie, the margin is lost.
    by_rank = {q.chunk_id: q.score for q in rrf([dense, keyword], rrf_k=60)}
    assert by_rank["a"] == by_rank["b"]
    # A passage only one retriever returned counts as the other's worst candidate, not as zero.
    # dense z: x=+1, y=-1; keyword z: y=+1, z=-1 (each retriever's worst is -1).
    scores = {q.chunk_id: q.score for q in
              zscore_fusion([_p("x", 0.9), _p("y", 0.1)], [_p("y", 5.0), _p("z", 1.0)], 0.5)}
    assert scores == {"x": pytest.approx(0.0), "y": pytest.approx(0.0), "z": pytest.approx(-1.0)}
    assert zscore_fusion([], [], 0.5) == []


def test_rrf_rewards_agreement_between_rankings() -> None:
    p = _p
    fused = rrf([[p("a"), p("b"), p("c")], [p("c"), p("b"), p("x")]], rrf_k=60)
    # c (1st + 3rd) edges out b (2nd + 2nd); both beat a and x, each in one ranking only.
    assert [q.chunk_id for q in fused] == ["c", "b", "a", "x"]
    assert fused[0].score == pytest.approx(1 / 61 + 1 / 63, abs=1e-6)  # rounded to 6 places


def test_a_per_document_cap_keeps_one_long_document_from_filling_the_top() -> None:
    from qa.retrieval import capped

    def p(doc: str, n: int) -> Passage:
        return Passage(source=f"{doc}.txt", doc_id=doc, start=n, end=n + 1, text=f"{doc} {n}",
                       score=0.0, chunk_id=f"{doc}:{n}")

    ranked = [p("cable", 0), p("cable", 1), p("cable", 2), p("cable", 3), p("wire", 0), p("other", 0)]
    out = capped(ranked, 2, 4)
    assert [x.chunk_id for x in out[:4]] == ["cable:0", "cable:1", "wire:0", "other:0"]
    # Nothing is lost: the chunks held back follow in their order.
    assert [x.chunk_id for x in out[4:]] == ["cable:2", "cable:3"]


def test_document_evidence_lifts_the_other_chunks_of_the_leading_document() -> None:
    from qa.retrieval import with_document_evidence

    def p(doc: str, n: int, score: float) -> Passage:
        return Passage(source=f"{doc}.txt", doc_id=doc, start=n, end=n + 1, text=f"{doc} {n}",
                       score=score, chunk_id=f"{doc}:{n}")

    ranked = [p("cable", 0, 3.0), p("wire", 0, 1.2), p("note", 0, 1.1), p("cable", 5, 1.0)]
    out = with_document_evidence(ranked, 0.5)
    assert [x.chunk_id for x in out] == ["cable:0", "cable:5", "wire:0", "note:0"]
    # Weight 0 changes no order.
    assert [x.chunk_id for x in with_document_evidence(ranked, 0.0)] == [x.chunk_id for x in ranked]
