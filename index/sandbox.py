"""The parsing sandbox: each file is loaded, cleaned, chunked and screened in a worker process,
bounded in time and memory.

Hostile files: parsing runs in worker processes (pebble's ProcessPool) because a thread cannot be
stopped. A file whose parse takes longer than `file_timeout_s` has its worker killed and replaced
and is reported as failed; each worker's address space is capped at `load_memory_mb`, so a file
that would need more gets a MemoryError (or, if a C parser aborts, a dead worker), also reported
per file. The rest of the ingest goes on either way.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import signal
import threading
from concurrent.futures import wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from pebble import ProcessExpired, ProcessPool

from core.errors import DossierError, LoadError

from .chunking import ChunkingConfig, chunk_document
from .loaders import Loader, load_document
from .models import Chunk, Document
from .screening import screen_document

# Imported once by the fork server, so every parse worker (and every replacement for a killed
# one) starts with them loaded instead of importing them again.
WORKER_PRELOAD = ["index.sandbox", "bs4", "lxml.etree", "lxml.html", "pypdf", "docx",
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
    # Resolved by the caller, not in the worker: a loader registered at run time is the one used.
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
                context.set_forkserver_preload(WORKER_PRELOAD)
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
