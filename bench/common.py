"""Shared helpers for the benchmark scripts: offline environment, corpus folders, tables, results.

The haystack documents are test data that must never be copied into the repository, so a
benchmark corpus is a temporary folder of symbolic links: the sample corpus plus the first N
cables.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CORPUS = REPO / "data" / "corpus"
GOLD = REPO / "eval" / "gold" / "sample.jsonl"
HAYSTACK = Path(os.environ.get("DOSSIER_HAYSTACK", str(REPO.parent / "shared" / "haystack")))
RESULTS = REPO / "bench" / "results"


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
    folder = HAYSTACK / "cables"
    if n <= 0:
        return []
    if not folder.is_dir():
        sys.exit(f"haystack folder {folder} is absent: set DOSSIER_HAYSTACK or use --docs 0")
    return sorted(folder.glob("*.txt"))[:n]


def build_corpus(dest: Path, n_cables: int) -> list[Path]:
    """A flat folder of symlinks: the 5 sample documents plus the first `n_cables` cables."""
    dest.mkdir(parents=True, exist_ok=True)
    files = sorted(SAMPLE_CORPUS.glob("*.txt")) + cable_files(n_cables)
    links = []
    for f in files:
        link = dest / f.name
        link.symlink_to(f.resolve())
        links.append(link)
    return links


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


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path
