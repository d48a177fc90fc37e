"""passages: dense (Chroma) + keyword (BM25) candidates fused (z-score or reciprocal rank), an optional
cross-encoder rerank, optional neighbouring-chunk expansion and per-document filters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from core.errors import ConfigError, missing_dependency
from core.settings import Settings
from index.embedder import keep_hub_offline
from index.models import Passage
from index.reader import IndexReader


@dataclass(frozen=True, slots=True)
class RetrievalConfig:
    k: int
    fusion: str = "zscore"
    rrf_k: int = 60
    dense_weight: float = 0.5
    candidates: int = 60
    neighbours: int = 0
    reranker_model: str | None = None
    per_document: int = 0  # 0: no cap
    document_weight: float = 0.3


def rrf(rankings: Sequence[Sequence[Passage]], rrf_k: int) -> list[Passage]:
    """Reciprocal-rank fusion; the fused score replaces the per-retriever score."""
    scores: dict[str, float] = {}
    first: dict[str, Passage] = {}
    for ranking in rankings:
        for rank, p in enumerate(ranking):
            scores[p.chunk_id] = scores.get(p.chunk_id, 0.0) + 1.0 / (rrf_k + rank + 1)
            first.setdefault(p.chunk_id, p)
    order = sorted(scores, key=lambda cid: -scores[cid])
    return [first[cid].model_copy(update={"score": round(scores[cid], 6)}) for cid in order]


def zscore_fusion(dense: Sequence[Passage], keyword: Sequence[Passage], dense_weight: float) -> list[Passage]:
    """Distribution-based score fusion: each retriever's scores become z-scores over its own
    candidates, then a weighted sum. Unlike RRF it keeps how far ahead the leader is: a BM25 hit
    on a rare name that stands far above the rest outweighs a dense near-tie. A passage one
    retriever did not return counts as that retriever's worst candidate."""
    lists = [(dense_weight, dense), (1.0 - dense_weight, keyword)]
    first: dict[str, Passage] = {}
    scores: dict[str, float] = {}
    for _, ranking in lists:
        for p in ranking:
            first.setdefault(p.chunk_id, p)
    for weight, ranking in lists:
        if not ranking:
            continue
        values = np.array([p.score for p in ranking], dtype=np.float64)
        spread = float(values.std()) or 1.0
        z = {p.chunk_id: (p.score - float(values.mean())) / spread for p in ranking}
        floor = min(z.values())
        for cid in first:
            scores[cid] = scores.get(cid, 0.0) + weight * z.get(cid, floor)
    order = sorted(scores, key=lambda cid: -scores[cid])
    return [first[cid].model_copy(update={"score": round(scores[cid], 6)}) for cid in order]


def with_document_evidence(ranked: Sequence[Passage], weight: float) -> list[Passage]:
    """Each chunk's fused score plus `weight` times its document's best: among thousands of
    documents on the same events, the document the question is about often ranks first with one
    chunk while the chunk that holds the answer sits below other documents' chunks."""
    best: dict[str, float] = {}
    for p in ranked:
        best[p.doc_id] = max(best.get(p.doc_id, p.score), p.score)
    scored = [(p.score + weight * best[p.doc_id], i, p) for i, p in enumerate(ranked)]
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [p.model_copy(update={"score": round(s, 6)}) for s, _, p in scored]


def capped(ranked: Sequence[Passage], per_document: int, k: int) -> list[Passage]:
    """The ranking with at most `per_document` chunks of one document in its first k: in a large
    collection one long cable on the subject can fill the top 5 with its chunks and push out the
    one passage of another document that answers. The chunks held back follow, in order."""
    head: list[Passage] = []
    rest: list[Passage] = []
    seen: dict[str, int] = {}
    for p in ranked:
        if len(head) < k and seen.get(p.doc_id, 0) < per_document:
            seen[p.doc_id] = seen.get(p.doc_id, 0) + 1
            head.append(p)
        else:
            rest.append(p)
    return head + rest


Fuser = Callable[[Sequence[Passage], Sequence[Passage], RetrievalConfig], list[Passage]]

# How dense and keyword candidates become one ranking; chosen by measurement (bench/fusion.py).
FUSERS: dict[str, Fuser] = {
    "zscore": lambda dense, keyword, cfg: zscore_fusion(dense, keyword, cfg.dense_weight),
    "rrf": lambda dense, keyword, cfg: rrf([dense, keyword], cfg.rrf_k),
    "dense": lambda dense, keyword, cfg: list(dense),
    "keyword": lambda dense, keyword, cfg: list(keyword),
}


@lru_cache(maxsize=2)
def _cross_encoder(model: str) -> Any:
    keep_hub_offline()
    try:
        from sentence_transformers import CrossEncoder
    except ImportError as exc:
        raise missing_dependency("sentence-transformers") from exc
    try:
        return CrossEncoder(model)
    except OSError as exc:
        raise ConfigError(
            f"cannot load reranker {model!r} offline: point DOSSIER_RERANKER_MODEL at a local "
            "cross-encoder folder, or unset it"
        ) from exc


class Retriever:
    def __init__(self, reader: IndexReader, settings: Settings) -> None:
        self.reader = reader
        self.settings = settings

    def config(self, k: int | None = None) -> RetrievalConfig:
        s = self.settings
        return RetrievalConfig(
            k=k or s.k,
            fusion=s.fusion,
            rrf_k=s.rrf_k,
            dense_weight=s.dense_weight,
            candidates=max(s.candidates, k or s.k),
            neighbours=s.neighbours,
            reranker_model=s.reranker_model,
            per_document=s.per_document,
            document_weight=s.document_weight,
        )

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        doc_ids: Sequence[str] | None = None,
        config: RetrievalConfig | None = None,
    ) -> list[Passage]:
        cfg = config or self.config(k)
        n = cfg.candidates
        fuse = FUSERS[cfg.fusion]
        dense = self.reader.dense(question, n, doc_ids) if cfg.fusion != "keyword" else []
        keyword = self.reader.keyword(question, n, doc_ids) if cfg.fusion != "dense" else []
        ranked = fuse(dense, keyword, cfg)
        if cfg.reranker_model:
            ranked = self._rerank(question, ranked, cfg.reranker_model)
        if cfg.document_weight:
            ranked = with_document_evidence(ranked, cfg.document_weight)
        if cfg.per_document:
            ranked = capped(ranked, cfg.per_document, cfg.k)
        top = ranked[: cfg.k]
        if cfg.neighbours:
            return [self.reader.expand(p, cfg.neighbours) for p in top]
        return self.reader.placed(top)

    @staticmethod
    def _rerank(question: str, passages: list[Passage], model: str) -> list[Passage]:
        if not passages:
            return passages
        scores = _cross_encoder(model).predict([(question, p.text) for p in passages])
        order = sorted(range(len(passages)), key=lambda i: -float(scores[i]))
        return [passages[i].model_copy(update={"score": float(scores[i])}) for i in order]
