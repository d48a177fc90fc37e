"""passages: dense (Chroma) + keyword (BM25) candidates fused by reciprocal rank, an optional
cross-encoder rerank, optional neighbouring-chunk expansion and per-document filters."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from core.errors import ConfigError, missing_dependency
from core.settings import Settings
from index.models import Passage
from index.reader import IndexReader


@dataclass(frozen=True, slots=True)
class RetrievalConfig:
    k: int
    fusion: str = "rrf"
    rrf_k: int = 60
    candidates: int = 30
    neighbours: int = 0
    reranker_model: str | None = None


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


@lru_cache(maxsize=2)
def _cross_encoder(model: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
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
            candidates=max(s.candidates, k or s.k),
            neighbours=s.neighbours,
            reranker_model=s.reranker_model,
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
        if cfg.fusion == "dense":
            ranked = self.reader.dense(question, n, doc_ids)
        elif cfg.fusion == "keyword":
            ranked = self.reader.keyword(question, n, doc_ids)
        else:
            ranked = rrf(
                [self.reader.dense(question, n, doc_ids), self.reader.keyword(question, n, doc_ids)],
                cfg.rrf_k,
            )
        if cfg.reranker_model:
            ranked = self._rerank(question, ranked, cfg.reranker_model)
        top = ranked[: cfg.k]
        if cfg.neighbours:
            top = [self.reader.expand(p, cfg.neighbours) for p in top]
        return top

    @staticmethod
    def _rerank(question: str, passages: list[Passage], model: str) -> list[Passage]:
        if not passages:
            return passages
        scores = _cross_encoder(model).predict([(question, p.text) for p in passages])
        order = sorted(range(len(passages)), key=lambda i: -float(scores[i]))
        return [passages[i].model_copy(update={"score": float(scores[i])}) for i in order]
