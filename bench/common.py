"""Shared helpers for the benchmark scripts: offline environment, corpus folders, tables, results.

The haystack (real cables and Reuters items) is read from ../shared/haystack or $DOSSIER_HAYSTACK
where it exists; otherwise from the small sample in data/haystack_sample/, unpacked once into a
cache folder (see haystack()). A benchmark corpus is a temporary folder of symbolic links: the
sample corpus plus the first N cables.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CORPUS = REPO / "data" / "corpus"
GOLD = REPO / "eval" / "gold" / "sample.jsonl"
FULL_HAYSTACK = REPO.parent / "shared" / "haystack"
HAYSTACK_SAMPLE = REPO / "data" / "haystack_sample" / "haystack_sample.tar.xz"
# The CI smoke test points this at a temporary folder so it never touches the real results.
RESULTS = Path(os.environ.get("DOSSIER_BENCH_RESULTS", str(REPO / "bench" / "results")))


# -- the haystack: the full one beside the repository, else the sample in it ---------------------
@dataclass(frozen=True)
class Haystack:
    path: Path  # holds cables/ and reuters/, one .txt per document, and *.manifest.jsonl
    sample: bool  # True: data/haystack_sample, not the full collections
    cables: int
    reuters: int
    note: str  # one line saying which haystack this is (benchmarks print it)

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "sample": self.sample, "cables": self.cables,
                "reuters": self.reuters}


def _count(folder: Path) -> int:
    return sum(1 for _ in folder.glob("*.txt")) if folder.is_dir() else 0


def _cache_root() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dossier"
    try:
        base.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(dir=base)
        os.rmdir(probe)
        return base
    except OSError:
        return Path(tempfile.gettempdir())


def unpack_sample(archive: Path = HAYSTACK_SAMPLE, cache: Path | None = None) -> Path:
    """The sample archive unpacked into `cache` (default ~/.cache/dossier), in a folder named by
    the archive's sha256 so a remade sample is unpacked afresh. Unpacked into a temporary folder
    and renamed into place, so a half-unpacked sample is never used, even by a parallel process."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    root = cache or _cache_root()
    dest = root / f"haystack-sample-{digest}"
    if (dest / "cables").is_dir():
        return dest
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".haystack-sample-", dir=root))
    try:
        with tarfile.open(archive, "r:xz") as tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4
                tar.extractall(work, filter="data")
            else:  # our own archive; its members are checked to be plain files under haystack/
                names = tar.getnames()
                if not all(n.startswith("haystack/") and ".." not in n for n in names):
                    raise ValueError(f"{archive}: unexpected member paths")
                tar.extractall(work)
        try:
            os.rename(work / "haystack", dest)
        except OSError:
            if not (dest / "cables").is_dir():  # not a parallel unpack that won: a real error
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


@functools.cache
def haystack() -> Haystack:
    """$DOSSIER_HAYSTACK (or ../shared/haystack) when that folder exists; otherwise the sample
    in data/haystack_sample/ (DOSSIER_HAYSTACK=sample asks for it outright). Prints once which."""
    env = os.environ.get("DOSSIER_HAYSTACK", "")
    full = Path(env) if env and env != "sample" else FULL_HAYSTACK
    if env != "sample" and (full / "cables").is_dir():
        cables, reuters = _count(full / "cables"), _count(full / "reuters")
        hs = Haystack(full, False, cables, reuters,
                      f"haystack: {full} ({cables} cables, {reuters} Reuters items)")
    else:
        path = unpack_sample()
        why = "asked for (DOSSIER_HAYSTACK=sample)" if env == "sample" else f"{full} is absent"
        cables, reuters = _count(path / "cables"), _count(path / "reuters")
        note = (f"haystack: {why}; running on the sample ({cables} cables, {reuters} Reuters "
                f"items from {HAYSTACK_SAMPLE.relative_to(REPO)}, unpacked in {path})")
        hs = Haystack(path, True, cables, reuters, note)
    import multiprocessing

    if multiprocessing.parent_process() is None:  # not again in each worker a spawned pool starts
        print(hs.note, flush=True)
    return hs


def __getattr__(name: str) -> Any:
    # `from common import HAYSTACK` resolves (and, without the full haystack, unpacks) on first use.
    if name == "HAYSTACK":
        return haystack().path
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def exit_cleanly_on_sigterm() -> None:
    """SIGTERM (and SIGINT, which a shell ignores in background jobs) unwind like Ctrl-C, so
    `finally` blocks run: servers the bench started are stopped, temporary folders removed."""
    import signal

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def offline_env() -> None:
    """Nothing may touch the network: set this before importing any model library."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TQDM_DISABLE", "1")
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    # tiktoken downloads its BPE file unless pointed at the copy llama-index-core ships.
    import importlib.util

    spec = importlib.util.find_spec("llama_index.core")
    if spec is not None and spec.origin:
        cache = Path(spec.origin).parent / "_static" / "tiktoken_cache"
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))


def cable_files(n: int) -> list[Path]:
    if n <= 0:
        return []
    files = sorted((haystack().path / "cables").glob("*.txt"))
    if len(files) < n:
        print(f"haystack: {n} cables asked for, {len(files)} there", flush=True)
    return files[:n]


def link_corpus(dest: Path, files: Sequence[Path]) -> list[Path]:
    """A flat folder of symlinks to `files`: a corpus without copying the haystack."""
    dest.mkdir(parents=True, exist_ok=True)
    links = []
    for f in files:
        link = dest / f.name
        link.symlink_to(f.resolve())
        links.append(link)
    return links


def build_corpus(dest: Path, n_cables: int) -> list[Path]:
    """The 5 sample documents plus the first `n_cables` cables."""
    return link_corpus(dest, sorted(SAMPLE_CORPUS.glob("*.txt")) + cable_files(n_cables))


def load_gold(path: Path = GOLD) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def norm_ws(text: str) -> str:
    return " ".join(text.split())


def first_evidence_rank(texts: Sequence[str], evidence: Sequence[str]) -> int | None:
    """1-based rank of the first passage containing a gold evidence string (whitespace-normalised)."""
    wanted = [norm_ws(e) for e in evidence if e.strip()]
    for rank, text in enumerate(texts, 1):
        t = norm_ws(text)
        if any(e in t for e in wanted):
            return rank
    return None


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1])


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_1m": round(load[0], 2),
        "platform": platform.platform(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def code_version() -> dict[str, Any]:
    """The commit measured, and which source files differed from it (others edit the tree too)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = [line[3:] for line in git("status", "--porcelain", "--", "core", "index", "qa").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted": dirty}


class Timer:
    """Wall and process-CPU seconds of a block (CPU time counts every thread of this process,
    so it is less sensitive than wall time to other programs competing for the cores)."""

    def __enter__(self) -> Timer:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
        return str(v)

    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(out)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    """A blank line, an optional caption, then the table (how every bench prints its results)."""
    print()
    if title:
        print(title)
    print(table(headers, rows), flush=True)


def columns(records: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> list[list[Any]]:
    """Rows of a table from a list of dicts: the values of `keys`, in order ("" when absent)."""
    return [[r.get(k, "") for k in keys] for r in records]


def write_result(name: str, data: dict[str, Any]) -> Path:
    """bench/results/<name>.json; records which haystack was read if the benchmark read one."""
    if haystack.cache_info().currsize:
        data = {**data, "haystack": haystack().as_dict()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


# -- memory and disk ---------------------------------------------------------------------------
def _proc_status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def tree_rss_mb(pid: int | None = None) -> float:
    """RSS of this process and all its descendants (the ingest's parse worker processes), MB.
    Shared pages are counted once per process, so this is an upper bound."""
    me = pid or os.getpid()
    children: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return rss_mb()
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(name))
        except (OSError, IndexError, ValueError):
            continue
    total_kb, todo = 0, [me]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
                        break
        except OSError:
            continue
    return total_kb / 1024


def rss_mb() -> float:
    """Resident set size of this process now (Linux /proc; elsewhere the peak is the best we have)."""
    kb = _proc_status_kb("VmRSS")
    return (kb if kb is not None else _ru_maxrss_kb()) / 1024


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (VmHWM, i.e. getrusage's ru_maxrss)."""
    kb = _proc_status_kb("VmHWM")
    return (kb if kb is not None else _ru_maxrss_kb()) / 1024


def _ru_maxrss_kb() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB on Linux


class RssSampler:
    """Samples RSS in a daemon thread every `interval` seconds: the peak and a coarse timeline."""

    def __init__(self, interval: float = 0.25, tree_every: int = 4) -> None:
        self.interval = interval
        self.peak = 0.0
        # With its child processes (parse workers): scanning /proc costs more, so less often.
        self.tree_peak = 0.0
        self._tree_every = tree_every
        self.samples: list[tuple[float, float]] = []  # (seconds since start, MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._t0 = time.perf_counter()

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            mb = rss_mb()
            self.peak = max(self.peak, mb)
            if n % self._tree_every == 0:
                self.tree_peak = max(self.tree_peak, tree_rss_mb())
            n += 1
            self.samples.append((time.perf_counter() - self._t0, mb))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def dir_size_mb(path: Path) -> float:
    """Bytes actually allocated on disk under `path` (sparse files count as what they use)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            total += st.st_blocks * 512 if hasattr(st, "st_blocks") else st.st_size
    return total / 1e6


# -- timing the ingest path --------------------------------------------------------------------
class Breakdown:
    """Wraps a few coarse functions of the ingest path with timers (a handful of calls per
    document or per flush, so the cost is far below the measurement noise)."""

    def __init__(self) -> None:
        self.stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        self._undo: list[tuple[Any, str, Any]] = []
        self._lock = threading.Lock()

    def wrap(self, owner: Any, attr: str, label: str) -> None:
        original = getattr(owner, attr)
        stats, lock = self.stats, self._lock

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            w0, c0 = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                dw, dc = time.perf_counter() - w0, time.thread_time() - c0
                with lock:
                    s = stats[label]
                    s[0] += 1
                    s[1] += dw
                    s[2] += dc

        self._undo.append((owner, attr, owner.__dict__.get(attr, _MISSING)))
        setattr(owner, attr, timed)

    def restore(self) -> None:
        for owner, attr, original in reversed(self._undo):
            if original is _MISSING:
                delattr(owner, attr)
            else:
                setattr(owner, attr, original)
        self._undo.clear()

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"step": k, "calls": int(v[0]), "wall_s": round(v[1], 3), "thread_cpu_s": round(v[2], 3)}
            for k, v in sorted(self.stats.items(), key=lambda kv: -kv[1][1])
        ]


_MISSING = object()


def instrument(embedder: Any) -> Breakdown:
    import index.ingest as ingest_mod
    import index.keyword as keyword_mod
    from index.catalog import Catalog
    from index.store import ChromaStore

    b = Breakdown()
    b.wrap(ingest_mod.Ingestor, "__init__", "open catalog + Chroma")
    b.wrap(ingest_mod, "discover", "discover files")
    b.wrap(ingest_mod.Ingestor, "_with_recovery", "crash recovery / drift check")
    # Per file on the loader threads: read, hash, then load + clean + chunk (in worker processes
    # since the ingest parses in a process pool; the thread waits for them).
    b.wrap(ingest_mod.Ingestor, "_load", "read + parse + chunk, per file (loader threads)")
    if not hasattr(ingest_mod, "ParsePool"):  # parsing in this process: time its two steps too
        b.wrap(ingest_mod, "load_document", "load + clean (loader threads)")
        b.wrap(ingest_mod, "chunk_document", "chunk (loader threads)")
    b.wrap(embedder, "encode", "encode (main thread)")
    b.wrap(ChromaStore, "upsert", "Chroma upsert (writer thread)")
    b.wrap(ChromaStore, "delete_docs", "Chroma delete (writer thread)")
    b.wrap(Catalog, "mark_pending", "catalog mark_pending (writer)")
    b.wrap(Catalog, "commit_documents", "catalog commit (writer)")
    b.wrap(ingest_mod.Ingestor, "_remove_missing", "remove missing files")
    b.wrap(keyword_mod, "keyword_index", "keyword (BM25) rebuild")
    return b


# -- servers -----------------------------------------------------------------------------------
@contextlib.contextmanager
def serve(cmd: Sequence[str], ready_url: str, log_path: Path, what: str,
          timeout: float = 90) -> Iterator[subprocess.Popen]:
    """Run a real server process on loopback until `ready_url` answers 200; stop it after
    (the same protocol as tests/conftest.py's serve())."""
    import httpx

    log = log_path.open("wb")
    proc = subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited: {log_path.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start within {timeout:.0f} s")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
