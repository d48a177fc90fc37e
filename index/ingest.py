"""Incremental, crash-safe sync of files into the index (catalog + Chroma + keyword index).

Data path: discover files → read + hash on loader threads → (changed only) load + clean + chunk
in a pool of parse processes → embed in large batches on this thread → write to Chroma and the
catalog on a writer thread, so embedding, the one real cost, never waits for I/O.

Hostile files: parsing runs in worker processes (pebble's ProcessPool) because a thread cannot be
stopped. A file whose parse takes longer than `file_timeout_s` has its worker killed and replaced
and is reported as failed; each worker's address space is capped at `load_memory_mb`, so a file
that would need more gets a MemoryError (or, if a C parser aborts, a dead worker), also reported
per file. The rest of the ingest goes on either way.

Crash safety: a document is marked `pending` in the catalog before its vectors change and
`done` after they are stored. At start, every `pending` document's vectors are deleted and the
document is processed again; chunk ids are deterministic, so nothing is duplicated.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import multiprocessing
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from pebble import ProcessExpired, ProcessPool

from core.errors import BackendError, DossierError, IndexBusyError, LoadError
from core.settings import Settings

from . import keyword
from .catalog import Catalog
from .chunking import ChunkingConfig, chunk_document, chunking_signature
from .embedder import Embedder, LazyEmbedder
from .loaders import LOADERS, Loader, content_hash, load_document, supported
from .models import Chunk, Document, IngestReport
from .screening import SCREENING_VERSION, screen_document
from .store import ChromaStore, open_store

# Chunks gathered before one embed + write round; large enough to keep the encoder busy.
FLUSH_CHUNKS = 512


@dataclass(frozen=True, slots=True)
class FileTask:
    path: Path
    source: str
    root: str


@dataclass(slots=True)
class Loaded:
    task: FileTask
    doc: Document | None = None
    chunks: list[Chunk] | None = None
    error: str | None = None
    unchanged: bool = False
    existed: bool = False


ProgressFn = Callable[[int, int, str], None]

# Failure reasons are printed one per line and may quote parser messages: keep them short.
MAX_REASON_CHARS = 300

# Imported once by the fork server, so every parse worker (and every replacement for a killed
# one) starts with them loaded instead of importing them again.
_WORKER_PRELOAD = ["index.ingest", "bs4", "lxml.etree", "lxml.html", "pypdf", "docx",
                   "index._parse_warmup"]


@dataclass(frozen=True, slots=True)
class ParseJob:
    """What a parse process needs for one file (pickled to it)."""

    path: Path
    data: bytes
    doc_id: str
    source: str
    root: str
    chunking: ChunkingConfig
    # Resolved here, not in the worker: a loader registered at run time is the one used.
    loader: Loader | None
    memory_mb: int


# A parsed document and its chunks, or the reason the file was refused.
ParseResult = tuple[Document, list[Chunk]] | str
# The outcome of a file whose parse was abandoned because the ingest is stopping (never reported:
# the run is ending with an error).
STOPPED = "not parsed: the ingest was stopped"


def parse_file(job: ParseJob) -> ParseResult:
    """Runs in a parse process: bytes → document → chunks (or the reason it failed)."""
    peak_before = _address_space_peak()
    try:
        doc = load_document(job.path, job.data, doc_id=job.doc_id, source=job.source,
                            root=job.root, loader=job.loader)
        chunks = chunk_document(doc, job.chunking)
        return dataclasses.replace(doc, quarantine=screen_document(chunks)), chunks
    except Exception as exc:  # a parser bug on one hostile file must not stop the run
        if _out_of_memory(exc, peak_before, job.memory_mb):
            return (f"needed more than the {job.memory_mb} MB of memory a file may use while it "
                    "is parsed; skipped (raise DOSSIER_LOAD_MEMORY_MB if the file is legitimate)")
        if isinstance(exc, LoadError):
            return str(exc)
        if isinstance(exc, RecursionError):
            return "too deeply nested to parse; skipped"
        return f"could not be parsed ({exc.__class__.__name__}: {exc})"


def _address_space_peak() -> int:
    """This process's peak virtual size in bytes (what RLIMIT_AS caps); 0 where unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _out_of_memory(exc: BaseException, peak_before: int, memory_mb: int) -> bool:
    """Did the memory cap cause this failure? Loaders wrap a MemoryError in a LoadError, and
    libxml2 reports a failed allocation as an XML syntax error ("unknown error"), so besides
    looking for a MemoryError, count a failure during which the peak rose to the cap."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, MemoryError):
            return True
        cause = cause.__cause__ or cause.__context__
    peak = _address_space_peak()
    return peak > peak_before and peak >= 0.9 * memory_mb * 1024 * 1024


def _init_worker(memory_mb: int) -> None:
    """Per parse process: cap its address space; make sure the tokenizer is loaded once, not per
    file (a no-op when the fork server preloaded it); keep parser chatter (pypdf's log lines,
    bs4's warnings) off the user's terminal: a failure reaches the report as its reason."""
    import logging
    import resource
    import warnings

    from .tokens import tokenizer

    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")

    limit = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    tokenizer()


def _exit_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if -exitcode == signal.SIGKILL:
            return f"killed by {name}, probably out of memory"
        return f"killed by {name}"
    return f"exit code {exitcode}"


class ParsePool:
    """Worker processes that parse files, each call bounded in time and memory.

    Started on first use (a no-change re-ingest never starts it). Workers come from a fork
    server rather than a plain fork: this process has threads (Chroma, torch, the writer) whose
    locks a forked child could inherit held."""

    def __init__(self, workers: int, timeout_s: float, memory_mb: int) -> None:
        self.workers = workers
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self._pool: ProcessPool | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()

    def _started(self) -> ProcessPool | None:
        with self._lock:
            if self._closing.is_set():
                return None
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(_WORKER_PRELOAD)
                self._pool = ProcessPool(
                    max_workers=self.workers,
                    initializer=_init_worker,
                    initargs=(self.memory_mb,),
                    context=context,
                )
            return self._pool

    def parse(self, job: ParseJob) -> ParseResult:
        """Blocks the calling (loader) thread until the file is parsed, refused or cut off."""
        pool = self._started()
        if pool is None:
            return STOPPED
        # The timeout counts from when a worker picks the file up, not while it waits in line.
        future = pool.schedule(parse_file, args=(job,), timeout=self.timeout_s)
        # Wait in steps: an ingest stopped by an error or Ctrl-C must not wait for the files in
        # flight to finish or run into their time limit.
        while not wait([future], timeout=0.25).done:
            if self._closing.is_set():
                future.cancel()
                return STOPPED
        try:
            return future.result()
        except TimeoutError:
            return (f"took longer than {self.timeout_s:g} s to parse; stopped and skipped (raise "
                    "DOSSIER_FILE_TIMEOUT_S if the file is legitimate but slow)")
        except ProcessExpired as exc:
            return f"the parser crashed on this file ({_exit_reason(exc.exitcode)}); skipped"
        except BrokenProcessPool as exc:
            raise DossierError(
                f"the file-parsing worker processes stopped working ({exc}); "
                "run the ingest again (nothing indexed is lost)"
            ) from exc

    def close(self, *, finish: bool = True) -> None:
        """Stop the workers: after the files in flight (`finish`), or at once."""
        with self._lock:
            self._closing.set()
            pool, self._pool = self._pool, None
        if pool is not None:
            if finish:
                pool.close()
            else:
                pool.stop()
            pool.join()


def doc_id_for(path: Path) -> str:
    return hashlib.sha1(str(path).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def discover(paths: Sequence[Path], report: IngestReport) -> tuple[list[FileTask], set[str]]:
    """Expand the given files and folders; returns the files and the folder roots walked."""
    tasks: list[FileTask] = []
    roots: set[str] = set()
    for given in paths:
        path = Path(os.path.abspath(given.expanduser()))
        if path.is_symlink() and not path.exists():
            report.failed.append({"path": str(given), "error": "broken symbolic link"})
        elif path.is_file():
            tasks.append(FileTask(path, path.name, str(path)))
        elif path.is_dir():
            roots.add(str(path))
            tasks.extend(_walk(path, report))
        else:
            report.failed.append({"path": str(given), "error": "no such file or folder"})
    return tasks, roots


def _walk(root: Path, report: IngestReport) -> Iterator[FileTask]:
    seen_dirs: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=None):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:
            report.failed.append(
                {"path": dirpath, "error": f"symlink loop: this folder is {real} again; skipped"}
            )
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            if not supported(path):
                continue
            if path.is_symlink() and not path.exists():
                report.failed.append({"path": str(path), "error": "broken symbolic link"})
                continue
            yield FileTask(path, str(path.relative_to(root)), str(root))


class Ingestor:
    """Owns the catalog, store and embedder for one DOSSIER_HOME during a sync."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        # Lazy: a no-change re-run hashes files and never loads the model.
        self.embedder = embedder or LazyEmbedder(settings)
        self.catalog = Catalog(settings.catalog_path)
        self.store: ChromaStore = open_store(
            settings, self.embedder.name, create=True
        )
        self.catalog.set_meta("embed_model", self.embedder.name)
        self.chunking = ChunkingConfig(settings.chunk_tokens, settings.chunk_overlap_tokens)
        self._max_bytes = int(settings.max_file_mb * 1024 * 1024)
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
            info = task.path.stat()
            if not stat.S_ISREG(info.st_mode):
                # Reading a FIFO (or a device) would block or never end.
                raise LoadError("not a regular file (a FIFO, socket or device): skipped")
            size = info.st_size
            if size > self._max_bytes:
                raise LoadError(
                    f"file is {size / 1e6:.1f} MB, over the {self.settings.max_file_mb:g} MB limit "
                    "(raise DOSSIER_MAX_FILE_MB to index it)"
                )
            data = task.path.read_bytes()
        except LoadError as exc:
            result.error = str(exc)
            return result
        except PermissionError:
            result.error = "permission denied: cannot read the file"
            return result
        except OSError as exc:
            result.error = f"cannot read the file ({exc.strerror or exc.__class__.__name__})"
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
                if item.error is not None:
                    report.failed.append(
                        {"path": str(item.task.path), "error": _one_line(item.error)}
                    )
                elif item.unchanged:
                    report.unchanged += 1
                else:
                    assert item.doc is not None and item.chunks is not None
                    for warning in item.doc.warnings:
                        report.warnings.append({"path": str(item.task.path), "warning": warning})
                    if item.doc.quarantine and self.settings.quarantine:
                        report.quarantined.append({"path": str(item.task.path),
                                                   "reason": item.doc.quarantine})
                    elif item.doc.quarantine:
                        report.warnings.append({
                            "path": str(item.task.path),
                            "warning": f"holds instructions to the assistant, {item.doc.quarantine}; "
                                       "searched anyway because DOSSIER_QUARANTINE is off"})
                    if item.existed:
                        report.updated += 1
                    else:
                        report.added += 1
                    batch.append(item)
                    batch_chunks += len(item.chunks)
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

    def _write(self, items: list[Loaded], chunks: list[Chunk], vectors: object) -> None:
        docs = [item.doc for item in items if item.doc is not None]
        self.catalog.mark_pending(docs)
        # Old versions of changed documents go first; their chunk ids differ from the new ones.
        self.store.delete_docs([item.doc.doc_id for item in items if item.existed and item.doc])
        if chunks:
            self.store.upsert(chunks, vectors)  # type: ignore[arg-type]
        self.catalog.commit_documents([(item.doc, item.chunks or []) for item in items if item.doc])

    def _with_recovery(self, tasks: list[FileTask]) -> list[FileTask]:
        """Documents left `pending` by a crash: drop their vectors and process them again.
        A change of chunking settings (or chunker version) makes every document pending."""
        signature = chunking_signature(self.chunking)
        previous = self.catalog.get_meta("chunking")
        if previous is not None and previous != signature:
            docs = self.catalog.documents()
            self.catalog.mark_pending([Document(d.doc_id, d.source, d.path, d.root, "", "")
                                       for d in docs])
        self.catalog.set_meta("chunking", signature)
        pending = self.catalog.pending()
        if pending:
            self.store.delete_docs([d.doc_id for d in pending])
        self._repair_drift()
        self._rescreen()
        queued = {t.path for t in tasks}
        for d in self.catalog.pending():
            if Path(d.path) not in queued and Path(d.path).exists():
                tasks.append(FileTask(Path(d.path), d.source, d.root))
            elif not Path(d.path).exists():
                self.catalog.remove([d.doc_id])
        return tasks

    def _rescreen(self) -> None:
        """Screen every indexed document again when the screening rules changed since it was
        indexed (or it was indexed before screening existed): regexes over the stored text, no
        re-embedding."""
        if self.catalog.get_meta("screening") == SCREENING_VERSION:
            return
        current = {d.doc_id: d.quarantine for d in self.catalog.documents() if d.state == "done"}
        changed: dict[str, str] = {}
        # One document's chunks at a time (they come ordered by document): bounded memory.
        for doc_id, records in itertools.groupby(self.catalog.iter_chunks(), lambda c: c.doc_id):
            chunks = [Chunk(c.chunk_id, c.doc_id, c.source, c.ordinal, c.start, c.end, c.text)
                      for c in records]
            why = screen_document(chunks)
            if why != current.get(doc_id, why):
                changed[doc_id] = why
        if changed:
            self.catalog.set_quarantine(changed)
        self.catalog.set_meta("screening", SCREENING_VERSION)

    def _keyword_index(self) -> None:
        """The last step of every write: the keyword index, then the stamp readers watch."""
        keyword.keyword_index(self.catalog, self.settings.keyword_path,
                              searchable=self.settings.quarantine)
        self.catalog.mark_synced()

    def _repair_drift(self) -> None:
        """If Chroma and the catalog disagree (e.g. the Chroma folder was lost), resync them."""
        if self.store.count() == self.catalog.chunk_count():
            return
        in_store = set(self.store.chunk_ids())
        in_catalog = set(self.catalog.chunk_ids())
        stray = in_store - in_catalog
        if stray and self.store.collection is not None:
            ids = sorted(stray)
            for i in range(0, len(ids), 500):
                self.store.collection.delete(ids=ids[i : i + 500])
        missing_docs = {cid.split(":", 1)[0] for cid in in_catalog - in_store}
        if missing_docs:
            docs = [d for d in self.catalog.documents() if d.doc_id in missing_docs]
            self.store.delete_docs([d.doc_id for d in docs])
            self.catalog.mark_pending(
                [Document(d.doc_id, d.source, d.path, d.root, "", "") for d in docs]
            )

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


def _one_line(reason: str) -> str:
    """A failure reason as one short line (parser messages may span lines or quote the file)."""
    text = " ".join(reason.split())
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


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


def lock_home(settings: Settings):  # type: ignore[no-untyped-def]
    """An exclusive lock on DOSSIER_HOME for writers; a second writer gets a clear error."""
    from filelock import FileLock, Timeout

    settings.home.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.home / "write.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise IndexBusyError(
            f"another process is writing to {settings.home} (ingest or upload in progress); "
            "wait for it to finish and run the command again"
        ) from None
    return lock


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
        lost = _chroma_server_error(exc, settings)
        if lost is None:
            raise
        raise lost from exc
    finally:
        lock.release()


def _chroma_server_error(exc: BaseException, settings: Settings) -> BackendError | None:
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
                                f"({_one_line(f'{cause.__class__.__name__}: {cause}')}); {fix}")
        cause = cause.__cause__ or cause.__context__
    return None


def tqdm_progress(enabled: bool = True) -> ProgressFn | None:
    if not enabled:
        return None
    from tqdm import tqdm

    bar: tqdm | None = None

    def update(done: int, total: int, name: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="file", file=sys.stderr, desc="ingest", leave=True)
        bar.set_postfix_str(name[-40:], refresh=False)
        bar.update(1)
        if done >= total:
            bar.close()

    return update
