"""Incremental, crash-safe sync of files into the index (catalog + vector store + keyword index).

Data path: discover files (index/discovery.py) → read + hash on loader threads → (changed only)
load + clean + chunk in the parsing sandbox (index/sandbox.py) → embed in large batches on this
thread → write to the vector store and the catalog on a writer thread, so embedding, the one real
cost, never waits for I/O. Before any of it, index/repair.py brings back what a crash or a
changed setting left inconsistent; one writer at a time holds index/write_lock.py's lock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from core.errors import DossierError, LoadError
from core.settings import Settings

from . import keyword, repair
from .catalog import Catalog
from .chunking import ChunkingConfig
from .discovery import FileTask, discover, doc_id_for, read_file
from .embedder import Embedder, LazyEmbedder
from .loaders import LOADERS, content_hash
from .models import Chunk, Document, IngestReport, one_line
from .progress import ProgressFn, tqdm_progress
from .sandbox import ParseJob, ParsePool
from .store import ChromaStore, VectorStore, open_store, server_error
from .write_lock import lock_home

# Names other code imports from here, from before the ingest was split into those modules.
__all__ = ["FLUSH_CHUNKS", "Catalog", "ChromaStore", "FileTask", "Ingestor", "ParsePool",
           "ProgressFn", "discover", "doc_id_for", "ingest", "lock_home", "tqdm_progress"]

# Chunks gathered before one embed + write round; large enough to keep the encoder busy.
FLUSH_CHUNKS = 512


@dataclass(slots=True)
class Loaded:
    task: FileTask
    doc: Document | None = None
    chunks: list[Chunk] | None = None
    error: str | None = None
    unchanged: bool = False
    existed: bool = False


class Ingestor:
    """Owns the catalog, store and embedder for one DOSSIER_HOME during a sync."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        # Lazy: a no-change re-run hashes files and never loads the model.
        self.embedder = embedder or LazyEmbedder(settings)
        self.catalog = Catalog(settings.catalog_path)
        self.store: VectorStore = open_store(settings, self.embedder.name, create=True)
        self.catalog.set_meta("embed_model", self.embedder.name)
        self.chunking = ChunkingConfig(settings.chunk_tokens, settings.chunk_overlap_tokens)
        self.workers = max(1, min(4, (os.cpu_count() or 2)))
        self.parser = ParsePool(self.workers, settings.file_timeout_s, settings.load_memory_mb)

    def close(self) -> None:
        self.catalog.close()

    # -- one file -------------------------------------------------------------------------
    def _load(self, task: FileTask, known: dict[str, tuple[str, str]]) -> Loaded:
        doc_id = doc_id_for(task.path)
        previous = known.get(doc_id)
        result = Loaded(task, existed=previous is not None)
        try:
            data = read_file(task.path, self.settings.max_file_mb)
        except LoadError as exc:
            result.error = str(exc)
            return result
        if previous is not None and previous[0] == content_hash(data) and previous[1] == "done":
            result.unchanged = True
            return result
        job = ParseJob(task.path, data, doc_id, task.source, task.root, self.chunking,
                       LOADERS.get(task.path.suffix.lower()), self.settings.load_memory_mb)
        outcome = self.parser.parse(job)
        if isinstance(outcome, str):
            result.error = outcome
        else:
            result.doc, result.chunks = outcome
        return result

    # -- the sync -------------------------------------------------------------------------
    def sync(self, paths: Sequence[Path], progress: ProgressFn | None = None) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        tasks, roots = discover(paths, report)
        tasks = self._with_recovery(tasks)
        known = {d.doc_id: (d.content_hash, d.state) for d in self.catalog.documents()}
        seen: set[str] = set()
        total = len(tasks)
        done = 0

        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dossier-writer")
        pending_write: Future[None] | None = None
        batch: list[Loaded] = []
        batch_chunks = 0

        def flush() -> None:
            nonlocal pending_write, batch, batch_chunks
            if not batch:
                return
            docs = batch
            batch, batch_chunks = [], 0
            chunks = [c for item in docs for c in item.chunks or []]
            vectors = self.embedder.encode([_embed_text(c) for c in chunks])
            report.embedded += len(chunks)
            if pending_write is not None:
                pending_write.result()
            pending_write = writer.submit(self._write, docs, chunks, vectors)

        # Loader threads read and hash files and wait on the parse processes: twice as many as
        # workers, so a worker never idles while its next file is being read.
        loaders = self.workers * 2
        pool = ThreadPoolExecutor(max_workers=loaders, thread_name_prefix="dossier-load")
        clean_exit = False
        try:
            for item in _bounded_map(pool, lambda t: self._load(t, known), tasks, loaders * 4):
                done += 1
                seen.add(doc_id_for(item.task.path))
                if progress:
                    progress(done, total, item.task.source)
                if self._account(item, report):
                    batch.append(item)
                    batch_chunks += len(item.chunks or [])
                    if batch_chunks >= FLUSH_CHUNKS:
                        flush()
            flush()
            if pending_write is not None:
                pending_write.result()
            clean_exit = True
        finally:
            # On an error (or Ctrl-C) the parse processes stop at once and files not yet started
            # are dropped; the loader threads waiting on them return straight away.
            self.parser.close(finish=clean_exit)
            pool.shutdown(wait=True, cancel_futures=not clean_exit)
            writer.shutdown(wait=True)

        # Files finish in any order; report them in a stable one.
        report.failed.sort(key=lambda f: f["path"])
        report.warnings.sort(key=lambda w: w["path"])
        report.quarantined.sort(key=lambda q: q["path"])
        report.removed = self._remove_missing(roots, seen)
        self._keyword_index()  # rebuilt if stale
        report.chunks = self.catalog.chunk_count()
        report.seconds = time.perf_counter() - started
        return report

    def _account(self, item: Loaded, report: IngestReport) -> bool:
        """Record one finished file in the report; True if it has chunks to write."""
        path = str(item.task.path)
        if item.error is not None:
            report.failed.append({"path": path, "error": one_line(item.error)})
            return False
        if item.unchanged:
            report.unchanged += 1
            return False
        assert item.doc is not None and item.chunks is not None
        for warning in item.doc.warnings:
            report.warnings.append({"path": path, "warning": warning})
        if item.doc.quarantine and self.settings.quarantine:
            report.quarantined.append({"path": path, "reason": item.doc.quarantine})
        elif item.doc.quarantine:
            report.warnings.append({
                "path": path,
                "warning": f"holds instructions to the assistant, {item.doc.quarantine}; "
                           "searched anyway because DOSSIER_QUARANTINE is off"})
        if item.existed:
            report.updated += 1
        else:
            report.added += 1
        return True

    def _write(self, items: list[Loaded], chunks: list[Chunk], vectors: object) -> None:
        docs = [item.doc for item in items if item.doc is not None]
        self.catalog.mark_pending(docs)
        # Old versions of changed documents go first; their chunk ids differ from the new ones.
        self.store.delete_docs([item.doc.doc_id for item in items if item.existed and item.doc])
        if chunks:
            self.store.upsert(chunks, vectors)  # type: ignore[arg-type]
        self.catalog.commit_documents([(item.doc, item.chunks or []) for item in items if item.doc])

    def _with_recovery(self, tasks: list[FileTask]) -> list[FileTask]:
        return repair.recover(self.catalog, self.store, self.chunking, tasks)

    def _keyword_index(self) -> None:
        """The last step of every write: the keyword index, then the stamp readers watch."""
        keyword.keyword_index(self.catalog, self.settings.keyword_path,
                              searchable=self.settings.quarantine)
        self.catalog.mark_synced()

    def _remove_missing(self, roots: Iterable[str], seen: set[str]) -> int:
        gone = [
            d.doc_id
            for root in roots
            for d in self.catalog.documents(root=root)
            if d.doc_id not in seen
        ]
        if gone:
            self.catalog.mark_pending(
                [Document(d, "", "", "", "", "") for d in gone]  # markers only; rows are removed
            )
            self.store.delete_docs(gone)
            self.catalog.remove(gone)
        return len(gone)

    def remove_documents(self, doc_ids: Sequence[str]) -> int:
        self.store.delete_docs(list(doc_ids))
        self.catalog.remove(doc_ids)
        self._keyword_index()
        return len(doc_ids)


def _embed_text(chunk: Chunk) -> str:
    # A chunk often never names its subject; the document title gives the encoder that context.
    if chunk.title and chunk.title not in chunk.text:
        return f"{chunk.title}\n{chunk.text}"
    return chunk.text


def _bounded_map(
    pool: ThreadPoolExecutor, fn: Callable[[FileTask], Loaded], items: Sequence[FileTask], ahead: int
) -> Iterator[Loaded]:
    """Like pool.map, but in order of completion and with at most `ahead` files in flight
    (bounded memory): a file stuck until its time limit holds up nothing but itself."""
    it = iter(items)
    running: set[Future[Loaded]] = set()
    for item in it:
        running.add(pool.submit(fn, item))
        if len(running) >= ahead:
            break
    while running:
        finished, running = wait(running, return_when=FIRST_COMPLETED)
        for future in finished:
            nxt = next(it, None)
            if nxt is not None:
                running.add(pool.submit(fn, nxt))
            yield future.result()


def ingest(
    paths: Sequence[Path],
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    progress: ProgressFn | None = None,
) -> IngestReport:
    lock = lock_home(settings)
    try:
        ingestor = Ingestor(settings, embedder)
        try:
            return ingestor.sync(paths, progress)
        finally:
            ingestor.close()
    except DossierError:
        raise
    except Exception as exc:
        lost = server_error(exc, settings)
        if lost is None:
            raise
        raise lost from exc
    finally:
        lock.release()
