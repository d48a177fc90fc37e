"""vectors ↔ Chroma. Embedded `PersistentClient` under DOSSIER_HOME, or a Chroma server when
DOSSIER_CHROMA_URL is set. The collection records which embedding model filled it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse

import numpy as np

from core.errors import BackendError, ModelMismatchError, missing_dependency
from core.settings import Settings

from .models import Chunk


@dataclass(frozen=True, slots=True)
class Hit:
    chunk_id: str
    score: float  # cosine similarity, higher is better
    text: str
    metadata: dict[str, Any]


class VectorStore(Protocol):
    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None: ...
    def delete_docs(self, doc_ids: Sequence[str]) -> None: ...
    def query(self, vector: np.ndarray, k: int, doc_ids: Sequence[str] | None = None) -> list[Hit]: ...
    def query_among(self, vector: np.ndarray, k: int, chunk_ids: Sequence[str]) -> list[Hit]: ...
    def count(self) -> int: ...
    def chunk_ids(self, doc_ids: Sequence[str] | None = None) -> list[str]: ...


def _client(settings: Settings) -> Any:
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
    except ImportError as exc:
        raise missing_dependency("chromadb") from exc
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or 8000,
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise BackendError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({exc.__class__.__name__}): "
                "start it with `chroma run --path DIR --port P` or unset DOSSIER_CHROMA_URL"
            ) from exc
        return client
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


class ChromaStore:
    def __init__(self, settings: Settings, model_name: str, *, create: bool) -> None:
        self._client = _client(settings)
        name = settings.collection
        existing = {c if isinstance(c, str) else c.name for c in self._client.list_collections()}
        if name not in existing and not create:
            self.collection = None
            return
        self.collection = self._client.get_or_create_collection(
            name=name,
            metadata={"hnsw:space": "cosine", "embed_model": model_name},
            embedding_function=None,
        )
        indexed = (self.collection.metadata or {}).get("embed_model")
        if indexed and indexed != model_name:
            raise ModelMismatchError(indexed, model_name)
        self._max_batch = int(getattr(self._client, "get_max_batch_size", lambda: 5000)())

    @property
    def exists(self) -> bool:
        return self.collection is not None

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        assert self.collection is not None
        for i in range(0, len(chunks), self._max_batch):
            part = chunks[i : i + self._max_batch]
            self.collection.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=vectors[i : i + len(part)],
                documents=[c.text for c in part],
                metadatas=[
                    {
                        "doc_id": c.doc_id,
                        "source": c.source,
                        "start": c.start,
                        "end": c.end,
                        "ordinal": c.ordinal,
                        "title": c.title,
                        "date": c.date,
                    }
                    for c in part
                ],
            )

    def delete_docs(self, doc_ids: Sequence[str]) -> None:
        if self.collection is None or not doc_ids:
            return
        ids = list(doc_ids)
        for i in range(0, len(ids), 500):
            self.collection.delete(where={"doc_id": {"$in": ids[i : i + 500]}})

    def query(self, vector: np.ndarray, k: int, doc_ids: Sequence[str] | None = None) -> list[Hit]:
        if self.collection is None:
            return []
        where = {"doc_id": {"$in": list(doc_ids)}} if doc_ids else None
        result = self.collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=k,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            Hit(chunk_id=cid, score=1.0 - float(dist), text=text or "", metadata=dict(meta or {}))
            for cid, dist, text, meta in zip(
                result["ids"][0],
                result["distances"][0],
                result["documents"][0],
                result["metadatas"][0],
                strict=True,
            )
        ]

    def query_among(self, vector: np.ndarray, k: int, chunk_ids: Sequence[str]) -> list[Hit]:
        """The `k` nearest of the given chunks, by exact cosine similarity. For a filter to a few
        documents this is much faster than a `where` query: at 245k chunks Chroma's filtered
        query took ~1 s (bench/scale.py's index), fetching a few hundred vectors by id ~60 ms."""
        if self.collection is None or not chunk_ids:
            return []
        got = self.collection.get(ids=list(chunk_ids), include=["embeddings"])
        if not len(got["ids"]):
            return []
        matrix = np.asarray(got["embeddings"], dtype=np.float32)
        q = np.asarray(vector, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * max(float(np.linalg.norm(q)), 1e-12)
        sims = (matrix @ q) / np.maximum(norms, 1e-12)
        top = np.argsort(-sims, kind="stable")[:k]
        ids = [got["ids"][i] for i in top]
        rows = self.collection.get(ids=ids, include=["documents", "metadatas"])
        by_id = {cid: (text, meta) for cid, text, meta in
                 zip(rows["ids"], rows["documents"], rows["metadatas"], strict=True)}
        return [
            Hit(chunk_id=cid, score=float(sims[i]), text=by_id[cid][0] or "",
                metadata=dict(by_id[cid][1] or {}))
            for cid, i in zip(ids, top, strict=True) if cid in by_id
        ]

    def count(self) -> int:
        return 0 if self.collection is None else int(self.collection.count())

    def chunk_ids(self, doc_ids: Sequence[str] | None = None) -> list[str]:
        if self.collection is None:
            return []
        where = {"doc_id": {"$in": list(doc_ids)}} if doc_ids else None
        return list(self.collection.get(where=where, include=[])["ids"])


def open_store(settings: Settings, model_name: str, *, create: bool) -> ChromaStore:
    return ChromaStore(settings, model_name, create=create)
