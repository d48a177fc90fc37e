"""vectors ↔ Chroma. Embedded `PersistentClient` under DOSSIER_HOME, or a Chroma server when
DOSSIER_CHROMA_URL is set. The collection records which embedding model filled it.

The rest of the index reaches vectors only through `VectorStore`; `ChromaStore` is its one
implementation, and the only code that knows about Chroma's collections and client caching.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse

import numpy as np

from core.errors import BackendError, ModelMismatchError, missing_dependency
from core.settings import Settings

from .models import Chunk, one_line


@dataclass(frozen=True, slots=True)
class Hit:
    chunk_id: str
    score: float  # cosine similarity, higher is better
    text: str
    metadata: dict[str, Any]


class VectorStore(Protocol):
    """Chunk vectors with their text and metadata, keyed by chunk id."""

    @property
    def exists(self) -> bool:
        """False when the index was opened without `create` and has never been written."""
        ...

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None: ...
    def delete_docs(self, doc_ids: Sequence[str]) -> None: ...
    def delete_chunks(self, chunk_ids: Sequence[str]) -> None: ...
    def query(self, vector: np.ndarray, k: int, doc_ids: Sequence[str] | None = None) -> list[Hit]: ...
    def query_among(self, vector: np.ndarray, k: int, chunk_ids: Sequence[str]) -> list[Hit]: ...

    def get(self, chunk_ids: Sequence[str]) -> list[Hit]:
        """The stored chunks among these ids (score 0), in no particular order."""
        ...

    def count(self) -> int: ...
    def chunk_ids(self, doc_ids: Sequence[str] | None = None) -> list[str]: ...

    def reopen(self, seen: str) -> VectorStore:
        """The same index, opened afresh so that it shows every write finished before the stamp
        `seen` was taken, in whichever process it was made. This store stays usable."""
        ...


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
        self._settings = settings
        self._model_name = model_name
        self._create = create
        self._client = _client(settings)
        name = settings.collection
        existing = {c if isinstance(c, str) else c.name for c in self._client.list_collections()}
        if name not in existing and not create:
            self._collection = None
            return
        self._collection = self._client.get_or_create_collection(
            name=name,
            metadata={"hnsw:space": "cosine", "embed_model": model_name},
            embedding_function=None,
        )
        indexed = (self._collection.metadata or {}).get("embed_model")
        if indexed and indexed != model_name:
            raise ModelMismatchError(indexed, model_name)
        self._max_batch = int(getattr(self._client, "get_max_batch_size", lambda: 5000)())

    @property
    def collection(self) -> Any:
        """The Chroma collection, or None: for tests and benchmarks that look inside Chroma
        itself. Index code goes through the `VectorStore` methods."""
        return self._collection

    @property
    def exists(self) -> bool:
        return self._collection is not None

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        assert self._collection is not None
        for i in range(0, len(chunks), self._max_batch):
            part = chunks[i : i + self._max_batch]
            self._collection.upsert(
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
        if self._collection is None or not doc_ids:
            return
        ids = list(doc_ids)
        for i in range(0, len(ids), 500):
            self._collection.delete(where={"doc_id": {"$in": ids[i : i + 500]}})

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        if self._collection is None or not chunk_ids:
            return
        ids = list(chunk_ids)
        for i in range(0, len(ids), 500):
            self._collection.delete(ids=ids[i : i + 500])

    def query(self, vector: np.ndarray, k: int, doc_ids: Sequence[str] | None = None) -> list[Hit]:
        if self._collection is None:
            return []
        where = {"doc_id": {"$in": list(doc_ids)}} if doc_ids else None
        result = self._collection.query(
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
        if self._collection is None or not chunk_ids:
            return []
        got = self._collection.get(ids=list(chunk_ids), include=["embeddings"])
        if not len(got["ids"]):
            return []
        matrix = np.asarray(got["embeddings"], dtype=np.float32)
        q = np.asarray(vector, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * max(float(np.linalg.norm(q)), 1e-12)
        sims = (matrix @ q) / np.maximum(norms, 1e-12)
        top = np.argsort(-sims, kind="stable")[:k]
        ids = [got["ids"][i] for i in top]
        by_id = {hit.chunk_id: hit for hit in self.get(ids)}
        return [
            Hit(chunk_id=cid, score=float(sims[i]), text=by_id[cid].text,
                metadata=by_id[cid].metadata)
            for cid, i in zip(ids, top, strict=True) if cid in by_id
        ]

    def get(self, chunk_ids: Sequence[str]) -> list[Hit]:
        if self._collection is None or not chunk_ids:
            return []
        got = self._collection.get(ids=list(chunk_ids), include=["documents", "metadatas"])
        return [Hit(cid, 0.0, text or "", dict(meta or {}))
                for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"],
                                           strict=True)]

    def count(self) -> int:
        return 0 if self._collection is None else int(self._collection.count())

    def chunk_ids(self, doc_ids: Sequence[str] | None = None) -> list[str]:
        if self._collection is None:
            return []
        where = {"doc_id": {"$in": list(doc_ids)}} if doc_ids else None
        return list(self._collection.get(where=where, include=[])["ids"])

    def reopen(self, seen: str) -> ChromaStore:
        return open_store(self._settings, self._model_name, create=self._create, seen=seen)


# Embedded Chroma path -> the stamp that chromadb's cached client system for it has caught up
# with (opened after the write so stamped ended). Absent: a system cached by someone else (an
# ingest in this process) or none, so the next store opened with a stamp gets one afresh.
_caught_up: dict[str, str] = {}
_caught_up_lock = threading.Lock()


def open_store(settings: Settings, model_name: str, *, create: bool,
               seen: str | None = None) -> ChromaStore:
    """The store; with `seen`, through a client that shows every write finished before that stamp
    (see `VectorStore.reopen`).

    Embedded chromadb keeps one client system per path and process, whose vector index in memory
    never learns of vectors another process added; a Chroma server is shared state already."""
    if seen is None or settings.chroma_url:
        return ChromaStore(settings, model_name, create=create)
    key = str(settings.chroma_path)
    with _caught_up_lock:
        if _caught_up.get(key) != seen:
            # Forget chromadb's shared system for this path (private, but the only handle
            # chromadb 1.5 offers) so the next client loads the index from disk. Not stopped:
            # searches and writes under way in this process keep using it, and it is freed
            # with the last client that holds it.
            from chromadb.api.client import SharedSystemClient

            SharedSystemClient._identifier_to_system.pop(key, None)
        store = ChromaStore(settings, model_name, create=create)
        _caught_up[key] = seen
        return store


def server_error(exc: BaseException, settings: Settings) -> BackendError | None:
    """A Chroma server that died, restarted or failed mid-ingest, as one clear error (the
    documents being written stay `pending` in the catalog; the next run repairs them)."""
    if not settings.chroma_url:
        return None
    import httpx
    from chromadb.errors import ChromaError

    fix = ("what was being written is repaired by the next run: make sure the server is up "
           "(same --path) and run the ingest again")
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, httpx.TransportError | ConnectionError):
            return BackendError(f"lost the connection to the Chroma server at {settings.chroma_url} "
                                f"during the ingest ({cause.__class__.__name__}); {fix}")
        if isinstance(cause, ChromaError):
            return BackendError(f"the Chroma server at {settings.chroma_url} failed during the ingest "
                                f"({one_line(f'{cause.__class__.__name__}: {cause}')}); {fix}")
        cause = cause.__cause__ or cause.__context__
    return None
