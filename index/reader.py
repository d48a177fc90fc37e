"""Read access to an index: dense and keyword candidates, documents and neighbouring chunks.

A reader lives as long as the UI does, while `dossier ingest` may write from another process. The
catalog, read fresh on every query, and the keyword index, keyed by the catalog's generation,
follow such writes by themselves; embedded Chroma does not: chromadb keeps one client system per
path and process, whose vector index in memory never learns of vectors another process added.
So every search first compares the stamp each finished ingest leaves in the catalog
(`Catalog.synced`, one SQLite read) with the one the reader saw, and on a change reopens the
store (`VectorStore.reopen`). A Chroma server is shared state already; only the stamp check runs
there.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from core.errors import ModelMismatchError, NoIndexError
from core.settings import Settings

from . import keyword
from .catalog import Catalog, DocRecord
from .embedder import Embedder, make_embedder
from .models import Passage
from .screening import SCREENING_VERSION
from .sentences import line_offset
from .store import Hit, VectorStore, open_store

# Up to this many chunks, a search restricted to some documents compares the question with each
# of their vectors (fetched by id) rather than asking Chroma for a filtered nearest-neighbour query.
EXACT_SEARCH_MAX_CHUNKS = 5000


def _passage(hit: Hit) -> Passage:
    m = hit.metadata
    return Passage(
        source=str(m.get("source", "")),
        doc_id=str(m.get("doc_id", "")),
        start=int(m.get("start", 0)),
        end=int(m.get("end", 0)),
        text=hit.text,
        score=round(hit.score, 6),
        chunk_id=hit.chunk_id,
        title=str(m.get("title", "")),
        date=str(m.get("date", "")),
    )


class IndexReader:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        if not settings.catalog_path.exists():
            raise NoIndexError(str(settings.home))
        self.catalog = Catalog(settings.catalog_path)
        indexed_model = self.catalog.get_meta("embed_model")
        configured = embedder.name if embedder else settings.embed_model
        if indexed_model and indexed_model != configured:
            raise ModelMismatchError(indexed_model, configured)
        self.embedder = embedder or make_embedder(settings)
        # Read before Chroma is opened: an ingest that ends in between is then caught next time.
        self._synced = self.catalog.synced
        self._sync_lock = threading.Lock()
        self.store: VectorStore = open_store(settings, self.embedder.name, create=False,
                                             seen=self._synced)
        if not self.store.exists or self.catalog.chunk_count() == 0:
            raise NoIndexError(str(settings.home))
        self._quarantine_cache: tuple[int, dict[str, str], int] | None = None

    def sync(self) -> bool:
        """Catch up with an ingest that finished since the last search (in any process); True
        if there was one. Called by every search; costs one SQLite read when nothing changed."""
        synced = self.catalog.synced
        if synced == self._synced:
            return False
        with self._sync_lock:
            if synced != self._synced:
                # A search running in another thread keeps the store it started with.
                self.store = self.store.reopen(synced)
                self._quarantine_cache = None
                self._synced = synced
        return True

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.encode([text])[0].tolist()

    def dense(
        self, question: str, k: int, doc_ids: Sequence[str] | None = None, vector: object = None
    ) -> list[Passage]:
        vec = vector if vector is not None else self.embedder.encode([question])[0]
        self.sync()
        store = self.store
        quarantined, extra = self._quarantine()
        if quarantined and doc_ids:
            doc_ids = [d for d in doc_ids if d not in quarantined]
            if not doc_ids:
                return []
        if doc_ids:
            # Restricted to a few documents: exact search among their chunks (fast, and exact);
            # a filter wider than that goes to the vector index's own filtered query.
            ids = self.catalog.chunk_ids_of(doc_ids, limit=EXACT_SEARCH_MAX_CHUNKS + 1)
            if len(ids) <= EXACT_SEARCH_MAX_CHUNKS:
                return [_passage(h) for h in store.query_among(vec, k, ids)]  # type: ignore[arg-type]
        # Quarantined chunks stay in Chroma (lifting the quarantine needs no re-embedding); asking
        # for as many more hits as they have chunks keeps the k best of the rest exact.
        hits = store.query(vec, k + extra, doc_ids)  # type: ignore[arg-type]
        return [_passage(h) for h in hits if h.metadata.get("doc_id") not in quarantined][:k]

    def _quarantine(self) -> tuple[dict[str, str], int]:
        """Documents kept out of search (doc_id -> why) and their number of chunks; none when
        DOSSIER_QUARANTINE is off. Read once per catalog generation."""
        if not self.settings.quarantine:
            return {}, 0
        generation = self.catalog.generation
        if self._quarantine_cache is None or self._quarantine_cache[0] != generation:
            self._quarantine_cache = (generation, self.catalog.quarantined(),
                                      self.catalog.quarantined_chunks())
        return self._quarantine_cache[1], self._quarantine_cache[2]

    @property
    def screened(self) -> bool:
        """True when every searchable document passed today's screening rules at ingest (so no
        retrieved passage can hold an injection and checking each one again is redundant)."""
        return bool(self.settings.quarantine
                    and self.catalog.get_meta("screening") == SCREENING_VERSION)

    def keyword_index(self) -> keyword.KeywordIndex:
        """The BM25 index over what may be searched (its statistics exclude quarantined text)."""
        self.sync()
        return keyword.keyword_index(self.catalog, self.settings.keyword_path,
                                     searchable=self.settings.quarantine)

    def keyword(self, question: str, k: int, doc_ids: Sequence[str] | None = None) -> list[Passage]:
        index = self.keyword_index()
        hits = index.search(question, k, doc_ids=doc_ids or None)
        return self.passages_by_id([h.chunk_id for h in hits], [h.score for h in hits])

    def passages_by_id(self, chunk_ids: Sequence[str], scores: Sequence[float]) -> list[Passage]:
        self.sync()
        if not chunk_ids:
            return []
        by_id = {hit.chunk_id: hit for hit in self.store.get(chunk_ids)}
        out = []
        for cid, score in zip(chunk_ids, scores, strict=True):
            hit = by_id.get(cid)
            if hit is not None:
                out.append(_passage(Hit(cid, score, hit.text, hit.metadata)))
        return out

    def documents(self) -> list[DocRecord]:
        return [d for d in self.catalog.documents() if d.state == "done"]

    def document_text(self, doc_id: str) -> str | None:
        return self.catalog.document_text(doc_id)

    def placed(self, passages: Sequence[Passage]) -> list[Passage]:
        """The passages with their `line_offset`: where their first line starts in the document."""
        return [p.model_copy(update={"line_offset": self.catalog.line_offset(p.doc_id, p.start)})
                if p.doc_id and p.start > 0 else p for p in passages]

    def expand(self, passage: Passage, radius: int) -> Passage:
        """The passage widened to its neighbouring chunks (same document, exact offsets)."""
        if radius <= 0 or not passage.chunk_id:
            return passage
        return self._chunks(passage, _ordinal(passage), radius) or passage

    def adjacent(self, passage: Passage, step: int) -> Passage | None:
        """The chunk just after (step 1) or before (step -1) this one in its document, or None."""
        if not passage.chunk_id:
            return None
        ordinal = _ordinal(passage) + step
        chunk_id = f"{passage.chunk_id.rsplit(':', 1)[0]}:{ordinal}"
        return self._chunks(passage, ordinal, 0, score=0.0, chunk_id=chunk_id)

    def _chunks(self, passage: Passage, ordinal: int, radius: int, **update: object) -> Passage | None:
        """The chunks `ordinal` ± `radius` of the passage's document as one passage (exact
        offsets into the document), or None if there are none."""
        around = self.catalog.neighbours(passage.doc_id, ordinal, radius)
        text = self.catalog.document_text(passage.doc_id)
        if not around or text is None:
            return None
        start, end = min(s for _, s, _ in around), max(e for _, _, e in around)
        return passage.model_copy(update={"start": start, "end": end, "text": text[start:end],
                                          "line_offset": line_offset(text, start),
                                          **update})


def _ordinal(passage: Passage) -> int:
    return int(passage.chunk_id.rsplit(":", 1)[1])
