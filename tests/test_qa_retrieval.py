"""Hybrid retrieval: dense + BM25 fused by reciprocal rank beats dense alone on the gold set."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from eval.metrics import evidence_rank
from index.models import Passage
from index.reader import IndexReader
from qa.retrieval import Retriever, rrf


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


def test_rrf_fusion_beats_dense_alone_on_the_gold_set(qa_settings, embedder, gold_questions) -> None:
    answerable = [g for g in gold_questions if g.answerable and g.evidence]
    assert len(answerable) >= 50
    cached = CachingEmbedder(embedder)
    cached.encode([g.question for g in answerable])  # one batch for all queries
    reader = IndexReader(qa_settings, cached)

    dense = _scores(reader, qa_settings.model_copy(update={"fusion": "dense"}), answerable)
    fused = _scores(reader, qa_settings.model_copy(update={"fusion": "rrf"}), answerable)

    report = (f"hit@1 dense={dense[0]:.3f} rrf={fused[0]:.3f}; "
              f"MRR dense={dense[1]:.3f} rrf={fused[1]:.3f} (n={len(answerable)})")
    print(report)
    assert fused[0] >= dense[0], report
    assert fused[1] >= dense[1], report
    assert fused[0] > dense[0] or fused[1] > dense[1], report


def test_assistant_search_uses_the_configured_fusion(make_assistant, qa_settings, embedder) -> None:
    question = "How many tonnes of potassium perchlorate were in the 2008 shipment to Iran?"
    reader = IndexReader(qa_settings, embedder)
    n = qa_settings.candidates
    expected = rrf([reader.dense(question, n), reader.keyword(question, n)], qa_settings.rrf_k)[:5]
    got = make_assistant().search(question, k=5)
    assert [p.chunk_id for p in got] == [p.chunk_id for p in expected]
    assert [p.score for p in got] == sorted((p.score for p in got), reverse=True)
    dense = make_assistant(fusion="dense").search(question, k=5)
    assert [p.chunk_id for p in dense] == [p.chunk_id for p in reader.dense(question, 5)]


def test_rrf_rewards_agreement_between_rankings() -> None:
    def p(cid: str) -> Passage:
        return Passage(source="s", doc_id="d", start=0, end=1, text=cid, score=0.0, chunk_id=cid)

    fused = rrf([[p("a"), p("b"), p("c")], [p("c"), p("b"), p("x")]], rrf_k=60)
    # c (1st + 3rd) edges out b (2nd + 2nd); both beat a and x, each in one ranking only.
    assert [q.chunk_id for q in fused] == ["c", "b", "a", "x"]
    assert fused[0].score == pytest.approx(1 / 61 + 1 / 63, abs=1e-6)  # rounded to 6 places
