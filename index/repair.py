"""Bringing an index back to a consistent state before an ingest writes to it.

Crash safety: a document is marked `pending` in the catalog before its vectors change and `done`
after they are stored. At start, every `pending` document's vectors are deleted and the document
is processed again; chunk ids are deterministic, so nothing is duplicated. The same path carries
the migrations: a change of chunking makes every document pending, a change of screening rules
screens the stored text again, and a vector store that lost or kept chunks the catalog does not
know is brought back in line with the catalog.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from .catalog import Catalog, DocRecord
from .chunking import ChunkingConfig, chunking_signature
from .discovery import FileTask
from .models import Chunk, Document
from .screening import SCREENING_VERSION, screen_document
from .store import VectorStore


def pending_marker(doc: DocRecord) -> Document:
    """What `Catalog.mark_pending` needs of a document already indexed (not its text)."""
    return Document(doc.doc_id, doc.source, doc.path, doc.root, "", "")


def recover(catalog: Catalog, store: VectorStore, chunking: ChunkingConfig,
            tasks: list[FileTask]) -> list[FileTask]:
    """Documents left `pending` by a crash: drop their vectors and queue them again (added to
    `tasks`, which is returned). A change of chunking settings (or chunker version) makes every
    document pending."""
    signature = chunking_signature(chunking)
    previous = catalog.get_meta("chunking")
    if previous is not None and previous != signature:
        catalog.mark_pending([pending_marker(d) for d in catalog.documents()])
    catalog.set_meta("chunking", signature)
    pending = catalog.pending()
    if pending:
        store.delete_docs([d.doc_id for d in pending])
    repair_drift(catalog, store)
    rescreen(catalog)
    queued = {t.path for t in tasks}
    for d in catalog.pending():
        if Path(d.path) not in queued and Path(d.path).exists():
            tasks.append(FileTask(Path(d.path), d.source, d.root))
        elif not Path(d.path).exists():
            catalog.remove([d.doc_id])
    return tasks


def rescreen(catalog: Catalog) -> None:
    """Screen every indexed document again when the screening rules changed since it was
    indexed (or it was indexed before screening existed): regexes over the stored text, no
    re-embedding."""
    if catalog.get_meta("screening") == SCREENING_VERSION:
        return
    current = {d.doc_id: d.quarantine for d in catalog.documents() if d.state == "done"}
    changed: dict[str, str] = {}
    # One document's chunks at a time (they come ordered by document): bounded memory.
    for doc_id, records in itertools.groupby(catalog.iter_chunks(), lambda c: c.doc_id):
        chunks = [Chunk(c.chunk_id, c.doc_id, c.source, c.ordinal, c.start, c.end, c.text)
                  for c in records]
        why = screen_document(chunks)
        if why != current.get(doc_id, why):
            changed[doc_id] = why
    if changed:
        catalog.set_quarantine(changed)
    catalog.set_meta("screening", SCREENING_VERSION)


def repair_drift(catalog: Catalog, store: VectorStore) -> None:
    """If the vector store and the catalog disagree (e.g. the Chroma folder was lost), resync
    them: stray vectors go, documents missing vectors become pending."""
    if store.count() == catalog.chunk_count():
        return
    in_store = set(store.chunk_ids())
    in_catalog = set(catalog.chunk_ids())
    stray = in_store - in_catalog
    if stray:
        store.delete_chunks(sorted(stray))
    missing_docs = {cid.split(":", 1)[0] for cid in in_catalog - in_store}
    if missing_docs:
        docs = [d for d in catalog.documents() if d.doc_id in missing_docs]
        store.delete_docs([d.doc_id for d in docs])
        catalog.mark_pending([pending_marker(d) for d in docs])
