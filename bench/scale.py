#!/usr/bin/env python
"""Scale: a synthetic haystack of 1k / 10k / 100k documents with the 5 sample documents as needles.

For each size, a fresh seeded corpus (bench/synth.py: wires and cables recombined from the real
haystack's sentences at run time, or built-in templates without it; same seed → byte-identical
files) is written to a temporary folder, then a child process (so that every size has its own
peak RSS) does, with the real pipeline:

  ingest     index.ingest.ingest([folder]) into a fresh DOSSIER_HOME → docs/s, chunks/s, and
             where the time went (the same probes as bench/ingest.py)
  memory     peak RSS (VmHWM) and RSS sampled every 0.25 s, RSS after the model load, and RSS at
             every 10% of the files: bounded memory means flat, whatever the corpus size
  disk       bytes under DOSSIER_HOME (Chroma, catalog, keyword index)
  search     Assistant.search — the path `dossier search` uses — over every gold question:
             latency p50/p95 after a warm-up; the cold first query of a new reader; and a split
             of one query into query encode / Chroma / BM25 / passage fetch
  needles    evidence hit@1/@5 and MRR of the answerable gold questions among the haystack

--embedder real     the bundled all-MiniLM-L6-v2 (the product's figures). About 36 chunks/s on
                    this 2-core machine: 10k documents ≈ 25k chunks ≈ 12 minutes.
--embedder hashing  a bench-only, deterministic feature-hashing embedder (words → 384 dims, no
                    model): everything but the encoder is measured at full size in minutes
                    (Chroma, BM25, catalog, RSS, disk, latency). Its needle hit@5 is NOT the
                    product's figure: the dense half of retrieval is only lexical here. For
                    these rows the real model's query-encode time is measured separately
                    (`real_query_encode_*`) so the real search latency can be estimated.

Rows are merged into bench/results/scale.json by (documents, embedder), so runs at different
sizes and embedders accumulate:

    python bench/scale.py --smoke                                  # 200 docs, hashing (CI)
    nice -n 10 python bench/scale.py --docs 1000,10000             # real embedder
    nice -n 10 python bench/scale.py --docs 100000 --embedder hashing
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    GOLD,
    HAYSTACK,
    RESULTS,
    SAMPLE_CORPUS,
    RssSampler,
    Timer,
    code_version,
    columns,
    dir_size_mb,
    exit_cleanly_on_sigterm,
    first_evidence_rank,
    instrument,
    load_gold,
    machine,
    offline_env,
    peak_rss_mb,
    percentile,
    print_table,
    rss_mb,
    write_result,
)

HASHING_BACKEND = "bench-hashing"
HASHING_MODEL = "bench-hashing-384"
TARGETS = {"search_p50_ms": 30.0, "search_p95_ms": 100.0, "peak_rss_mb": 3072.0, "needle_hit@5": 0.95}


# -- the bench-only embedder -------------------------------------------------------------------
class HashingEmbedder:
    """Feature hashing: each lower-cased word adds ±(1 + log tf) to one of `dim` slots chosen by
    CRC-32 (stable across processes, unlike hash()); vectors are L2-normalised. Deterministic,
    no model, thousands of chunks per second: a stand-in that exercises everything else."""

    _WORD = re.compile(r"[a-z0-9]+")

    def __init__(self, dim: int = 384) -> None:
        self.name = HASHING_MODEL
        self.dim = dim
        self.max_tokens = 256
        self.batch_size = 64
        self._slots: dict[str, tuple[int, float]] = {}

    def _slot(self, word: str) -> tuple[int, float]:
        slot = self._slots.get(word)
        if slot is None:
            h = zlib.crc32(word.encode())
            slot = (h % self.dim, 1.0 if (h >> 31) & 1 else -1.0)
            if len(self._slots) < 500_000:  # bounded: a cache, not a vocabulary
                self._slots[word] = slot
        return slot

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            counts: dict[str, int] = {}
            for w in self._WORD.findall(text.lower()):
                counts[w] = counts.get(w, 0) + 1
            for w, n in counts.items():
                i, sign = self._slot(w)
                out[row, i] += sign * (1.0 + math.log(n))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


def register_hashing() -> None:
    from index.embedder import EMBEDDERS

    embedder = HashingEmbedder()
    EMBEDDERS[HASHING_BACKEND] = lambda _settings: embedder


# -- the child: one size, one fresh process ----------------------------------------------------
def settings_for(home: Path, embedder: str) -> Any:
    from core.settings import BUNDLED_EMBED_MODEL, Settings

    if embedder == "hashing":
        return Settings(home=home, embed_backend=HASHING_BACKEND, embed_model=HASHING_MODEL)
    return Settings(home=home, embed_model=BUNDLED_EMBED_MODEL)


def time_search_parts(assistant: Any, questions: Sequence[str], n: int) -> dict[str, float]:
    """One query split into its parts, medians over the questions (ms)."""
    reader = assistant.reader
    parts: dict[str, list[float]] = {"query_encode": [], "chroma_query": [], "bm25_search": [],
                                     "fetch_passages": []}
    index = reader.keyword_index()
    for q in questions:
        t0 = time.perf_counter()
        vec = reader.embedder.encode([q])[0]
        t1 = time.perf_counter()
        reader.store.query(vec, n)
        t2 = time.perf_counter()
        hits = index.search(q, n)
        t3 = time.perf_counter()
        reader.passages_by_id([h.chunk_id for h in hits], [h.score for h in hits])
        t4 = time.perf_counter()
        for key, a, b in (("query_encode", t0, t1), ("chroma_query", t1, t2),
                          ("bm25_search", t2, t3), ("fetch_passages", t3, t4)):
            parts[key].append((b - a) * 1000)
    return {f"{k}_p50_ms": round(percentile(v, 50), 2) for k, v in parts.items()}


def child(args: argparse.Namespace) -> int:
    offline_env()
    folder, home, out = Path(args.folder), Path(args.home), Path(args.out)
    result: dict[str, Any] = {}
    with RssSampler() as sampler:
        result["rss_start_mb"] = round(rss_mb(), 1)
        if args.embedder == "hashing":
            register_hashing()
        settings = settings_for(home, args.embedder)
        from index import keyword
        from index.embedder import make_embedder
        from index.ingest import ingest
        from index.tokens import count_tokens
        from qa import Assistant

        with Timer() as t_load:
            embedder = make_embedder(settings)
            embedder.encode(["warm-up text for the encoder, a sentence or two long."] * 8)
            count_tokens("warm up the tokenizer")
        result["model_load_s"] = round(t_load.wall, 2)
        result["rss_after_load_mb"] = round(rss_mb(), 1)

        files_total = sum(1 for _ in folder.rglob("*.txt"))
        marks: list[dict[str, Any]] = []
        t_start = time.perf_counter()
        step = max(1, files_total // 10)

        def progress(done: int, total: int, _name: str) -> None:
            if done % step == 0 or done == total:
                marks.append({"files": done, "s": round(time.perf_counter() - t_start, 1),
                              "rss_mb": round(rss_mb(), 1)})

        probe = instrument(embedder)
        try:
            with Timer() as t_ing:
                report = ingest([folder], settings, embedder=embedder, progress=progress)
        finally:
            probe.restore()
        result["ingest"] = {
            "seconds": round(t_ing.wall, 2), "cpu_s": round(t_ing.cpu, 2),
            "documents": files_total, "chunks": report.chunks, "embedded": report.embedded,
            "failed": len(report.failed),
            "docs_per_s": round(files_total / t_ing.wall, 2),
            "chunks_per_s": round(report.embedded / t_ing.wall, 2),
            # Per CPU-second of this process: far less sensitive to other load on a shared machine.
            "chunks_per_cpu_s": round(report.embedded / t_ing.cpu, 2) if t_ing.cpu else None,
            "breakdown": probe.rows(),
            "rss_by_progress": marks,
        }
        result["peak_rss_ingest_mb"] = round(peak_rss_mb(), 1)
        result["rss_after_ingest_mb"] = round(rss_mb(), 1)
        result["disk_mb"] = {
            "total": round(dir_size_mb(home), 1),
            "chroma": round(dir_size_mb(settings.chroma_path), 1),
            "catalog": round(sum(dir_size_mb(p) if p.is_dir() else p.stat().st_size / 1e6
                                 for p in home.glob("catalog.sqlite*")), 1),
            "keyword": round(dir_size_mb(settings.keyword_path), 1),
        }

        # A new reader, as a fresh `dossier search` process gets: the keyword index from disk.
        gold = load_gold(GOLD)
        keyword._cache.clear()
        with Timer() as t_cold:
            assistant = Assistant(settings, embedder=embedder, use_llm=False)
            assistant.search(gold[0]["question"])
        with Timer() as t_kw_load:
            keyword.KeywordIndex.load(settings.keyword_path)
        lat: list[float] = []
        ranks: list[int | None] = []
        for q in gold:
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                passages = assistant.search(q["question"])
                times.append((time.perf_counter() - t0) * 1000)
            lat.append(sorted(times)[len(times) // 2])
            if q.get("answerable"):
                ranks.append(first_evidence_rank([p.text for p in passages], q["evidence"]))
        n = len(ranks) or 1
        result["search"] = {
            "questions": len(gold), "repeats": args.repeats, "k": settings.k,
            "p50_ms": round(percentile(lat, 50), 2), "p95_ms": round(percentile(lat, 95), 2),
            "max_ms": round(max(lat), 2),
            "cold_first_query_s": round(t_cold.wall, 3),
            "keyword_index_load_s": round(t_kw_load.wall, 3),
            "parts": time_search_parts(assistant, [q["question"] for q in gold],
                                       max(settings.candidates, settings.k)),
        }
        result["needles"] = {
            "answerable": len(ranks),
            "hit@1": round(sum(1 for r in ranks if r == 1) / n, 4),
            "hit@5": round(sum(1 for r in ranks if r is not None and r <= 5) / n, 4),
            "mrr": round(sum(1.0 / r for r in ranks if r is not None) / n, 4),
            "missed": [q["id"] for q, r in zip([g for g in gold if g.get("answerable")], ranks,
                                               strict=True) if r is None or r > 5],
        }
        result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["peak_rss_sampled_mb"] = round(sampler.peak, 1)
    # With the ingest's parse worker processes (sampled once a second; an upper bound).
    result["peak_rss_with_workers_mb"] = round(sampler.tree_peak, 1)

    if args.embedder == "hashing" and not args.no_real_encode:
        # What the real model adds to each query (it is not part of the hashing rows' latency).
        from index.embedder import make_embedder as make_real

        real = make_real(settings_for(home, "real"))
        real.encode(["warm-up"] * 4)
        times = []
        for q in gold:
            t0 = time.perf_counter()
            real.encode([q["question"]])
            times.append((time.perf_counter() - t0) * 1000)
        result["search"]["real_query_encode_p50_ms"] = round(percentile(times, 50), 2)
        result["search"]["real_query_encode_p95_ms"] = round(percentile(times, 95), 2)
    out.write_text(json.dumps(result, indent=1))
    return 0


# -- the parent: corpora, children, table ------------------------------------------------------
def build_corpus(dest: Path, n: int, seed: int, pools: Any) -> dict[str, Any]:
    import synth

    needles = dest / "needles"
    needles.mkdir(parents=True)
    for f in sorted(SAMPLE_CORPUS.glob("*.txt")):
        (needles / f.name).symlink_to(f.resolve())
    with Timer() as t:
        size = sum(p.stat().st_size for p in synth.generate(dest / "haystack", n, seed, pools))
    return {"haystack_docs": n, "needles": len(list(needles.iterdir())), "bytes": size,
            "generate_s": round(t.wall, 2)}


def run_size(n: int, args: argparse.Namespace, pools: Any, tmp: Path) -> dict[str, Any]:
    work = tmp / f"n{n}"
    corpus = build_corpus(work / "corpus", n, args.seed, pools)
    print(f"[{n} docs] corpus written ({corpus['bytes'] / 1e6:.1f} MB in {corpus['generate_s']} s); "
          f"ingest with the {args.embedder} embedder…", flush=True)
    out = work / "child.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--folder", str(work / "corpus"),
           "--home", str(work / "home"), "--out", str(out), "--embedder", args.embedder,
           "--repeats", str(args.repeats)]
    if args.no_real_encode:
        cmd.append("--no-real-encode")
    load0 = os.getloadavg()[0]
    with Timer() as t:
        proc = subprocess.run(cmd, check=False)
    if proc.returncode != 0 or not out.exists():
        raise SystemExit(f"[{n} docs] the measuring process failed (exit {proc.returncode})")
    got = json.loads(out.read_text())
    row = {
        "documents": n + corpus["needles"], "haystack_docs": n, "embedder": args.embedder,
        "embed_model": HASHING_MODEL if args.embedder == "hashing" else "all-MiniLM-L6-v2",
        "seed": args.seed, "corpus_source": pools.source, "corpus": corpus,
        "measured_at": time.strftime("%Y-%m-%d %H:%M"), "wall_s": round(t.wall, 1),
        "loadavg_1m_before": round(load0, 2), "loadavg_1m_after": round(os.getloadavg()[0], 2),
        **got,
    }
    ing, s, nd = row["ingest"], row["search"], row["needles"]
    print(f"[{n} docs] {ing['chunks']} chunks in {ing['seconds']} s ({ing['chunks_per_s']} chunks/s); "
          f"peak RSS {row['peak_rss_mb']} MB; disk {row['disk_mb']['total']} MB; search p50 "
          f"{s['p50_ms']} ms p95 {s['p95_ms']} ms; needle hit@5 {nd['hit@5']}", flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return row


def merge(path: Path, rows: list[dict[str, Any]], fresh: bool) -> list[dict[str, Any]]:
    """This run's rows replace earlier ones with the same (documents, embedder); others stay."""
    old: list[dict[str, Any]] = []
    if path.exists() and not fresh:
        try:
            old = json.loads(path.read_text()).get("rows", [])
        except (OSError, ValueError):
            old = []
    keys = {(r["documents"], r["embedder"]) for r in rows}
    kept = [r for r in old if (r.get("documents"), r.get("embedder")) not in keys]
    return sorted(kept + rows, key=lambda r: (r["embedder"] != "real", r["documents"]))


def summary(row: dict[str, Any]) -> dict[str, Any]:
    ing, s, nd = row["ingest"], row["search"], row["needles"]
    kw = next((b["wall_s"] for b in ing["breakdown"] if b["step"].startswith("keyword")), 0.0)
    return {
        "docs": row["documents"], "embedder": row["embedder"], "chunks": ing["chunks"],
        "ingest_s": ing["seconds"], "chunks_s": ing["chunks_per_s"], "docs_s": ing["docs_per_s"],
        "chunks_cpu_s": ing.get("chunks_per_cpu_s") or round(ing["embedded"] / ing["cpu_s"], 2),
        "rss_load": row["rss_after_load_mb"], "rss_peak": row["peak_rss_mb"],
        "rss_tree": row.get("peak_rss_with_workers_mb", ""),
        "disk": row["disk_mb"]["total"], "p50": s["p50_ms"], "p95": s["p95_ms"],
        "hit5": nd["hit@5"], "bm25_rebuild": kw, "cold": s["cold_first_query_s"],
        "load": row.get("loadavg_1m_after", ""),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", default="1000,10000", help="haystack sizes, comma-separated")
    ap.add_argument("--embedder", choices=["real", "hashing"], default="real")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--source", choices=["auto", "haystack", "templates"], default="auto",
                    help="where synthetic sentences come from (auto: the haystack when present)")
    ap.add_argument("--repeats", type=int, default=1, help="timings per question (median kept)")
    ap.add_argument("--no-real-encode", action="store_true",
                    help="hashing rows: skip timing the real model's query encode")
    ap.add_argument("--fresh", action="store_true", help="replace scale.json instead of merging")
    ap.add_argument("--smoke", action="store_true", help="200 docs, hashing embedder (CI)")
    ap.add_argument("--keep", action="store_true", help="keep the corpora and indexes")
    ap.add_argument("--name", default=None, help="results file name (default scale / scale_smoke)")
    # internal: the per-size measuring process
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    ap.add_argument("--home", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)
    if args.smoke:
        args.docs, args.embedder, args.no_real_encode = "200", "hashing", True
    name = args.name or ("scale_smoke" if args.smoke else "scale")
    sizes = [int(x) for x in args.docs.split(",") if x.strip()]
    exit_cleanly_on_sigterm()

    import synth

    with Timer() as t_pools:
        pools = synth.load_pools(HAYSTACK, args.seed, args.source)
    print(f"sentence source: {pools.source} ({len(pools.wires)} wires, {len(pools.cables)} cables; "
          f"{t_pools.wall:.1f} s)", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="dossier-bench-scale-"))
    try:
        rows = [run_size(n, args, pools, tmp) for n in sizes]
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    all_rows = merge(RESULTS / f"{name}.json", rows, args.fresh or args.smoke)
    table_rows = [summary(r) for r in all_rows]
    print_table(
        ["docs", "embedder", "chunks", "ingest s", "chunks/s", "docs/s", "chunks/CPU-s", "RSS load MB",
         "peak RSS MB", "+workers MB", "disk MB", "search p50 ms", "p95 ms", "needle hit@5", "BM25 rebuild s",
         "cold 1st query s", "load 1m"],
        columns(table_rows, ["docs", "embedder", "chunks", "ingest_s", "chunks_s", "docs_s", "chunks_cpu_s",
                             "rss_load", "rss_peak", "rss_tree", "disk", "p50", "p95", "hit5",
                             "bm25_rebuild", "cold", "load"]),
        "scale (hashing rows: bench-only embedder; their hit@5 is not the product's figure; "
        "the machine is shared, see load 1m)")
    for r in rows:
        print_table(["step", "calls", "wall s", "thread cpu s"],
                    columns(r["ingest"]["breakdown"], ["step", "calls", "wall_s", "thread_cpu_s"]),
                    f"{r['documents']} docs ({r['embedder']}): where the ingest spent its time")
        print_table(["files", "s", "RSS MB"],
                    columns(r["ingest"]["rss_by_progress"], ["files", "s", "rss_mb"]),
                    f"{r['documents']} docs ({r['embedder']}): RSS during the ingest")
        print(f"search parts (median ms): {r['search']['parts']}")
    result = {
        "benchmark": "scale",
        "smoke": args.smoke,
        "machine": machine(),
        "code": code_version(),
        "targets": TARGETS,
        "note": "hashing rows use a bench-only feature-hashing embedder: their ingest speed, RSS and "
                "latency exclude the real encoder and their needle hit@5 is not the product's figure",
        "rows": all_rows,
    }
    path = write_result(name, result)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
