#!/usr/bin/env python
"""Ingest throughput: Dossier's full pipeline against raw encoding of the very same chunks.

One run, one corpus (the 5 sample documents plus the first N haystack cables, as symlinks in a
temporary folder), one embedder object (`index.embedder.make_embedder`, warmed first):

  (a) load + chunk every document with Dossier's own loader and chunker, then time the raw
      `encode` of exactly the texts the ingest will embed, at the configured batch size
      → raw chunks/s; a batch-size sweep on an evenly spread sample of those texts;
  (b) `index.ingest.ingest([folder], settings)` into a fresh DOSSIER_HOME → chunks/s, and the
      ratio ingest/raw (target ≥ 0.85), with a breakdown of where the ingest spends its time;
  (c) the same ingest again with nothing changed → seconds and ratio to (b) (target < 3%).

    python bench/ingest.py [--docs 300] [--batch-sizes 16,32,64,128] [--sweep-chunks 256]
    python bench/ingest.py --smoke          # tiny, for CI
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    Timer,
    build_corpus,
    columns,
    instrument,
    machine,
    offline_env,
    print_table,
    write_result,
)

TARGET_RATIO = 0.85
TARGET_REINGEST = 0.03


def chunk_corpus(files: list[Path], root: Path, settings: Any) -> tuple[list[Any], list[str]]:
    """Exactly what the ingest does per file: load_document → chunk_document → embed text."""
    from index.chunking import ChunkingConfig, chunk_document
    from index.ingest import _embed_text, doc_id_for
    from index.loaders import load_document

    cfg = ChunkingConfig(settings.chunk_tokens, settings.chunk_overlap_tokens)
    chunks = []
    for f in files:
        path = Path(f)
        doc = load_document(
            path, path.read_bytes(), doc_id=doc_id_for(path), source=path.name, root=str(root)
        )
        chunks.extend(chunk_document(doc, cfg))
    return chunks, [_embed_text(c) for c in chunks]


def profile_chunking(files: list[Path], root: Path, settings: Any, top: int = 8) -> list[dict]:
    prof = cProfile.Profile()
    prof.enable()
    chunk_corpus(files, root, settings)
    prof.disable()
    st = pstats.Stats(prof)
    rows = []
    for (filename, line, name), (_, ncalls, tottime, cumtime, _) in st.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {"function": f"{Path(filename).name}:{line}({name})", "calls": ncalls,
             "tottime_s": round(tottime, 3), "cumtime_s": round(cumtime, 3)}
        )
    rows.sort(key=lambda r: -r["tottime_s"])
    return rows[:top]


def spread_sample(items: list[str], n: int) -> list[str]:
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=int, default=300, help="haystack cables added to the 5 samples")
    ap.add_argument("--batch-sizes", default="16,32,64,128", help="raw-encode batch-size sweep")
    ap.add_argument("--sweep-chunks", type=int, default=256,
                    help="texts per sweep point (evenly spread over the corpus; 0 = all)")
    ap.add_argument("--batch-size", type=int, default=None,
                    help="embed batch size for raw and ingest (default: the settings default)")
    ap.add_argument("--profile-chunking", action="store_true",
                    help="also cProfile the chunking pass and list the hottest functions")
    ap.add_argument("--raw-after", action="store_true",
                    help="time the raw encode again after the ingest and use the mean")
    ap.add_argument("--runtimes", default="sentence-transformers",
                    help="other embedding backends whose raw encode of the same texts is timed for "
                         "comparison (comma-separated; empty: none)")
    ap.add_argument("--smoke", action="store_true", help="tiny and fast (CI)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary corpus and index")
    ap.add_argument("--name", default=None, help="results file name (default ingest / ingest_smoke)")
    args = ap.parse_args(argv)
    if args.smoke:
        args.docs, args.batch_sizes, args.sweep_chunks = 3, "32,64", 32
    name = args.name or ("ingest_smoke" if args.smoke else "ingest")
    batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]

    offline_env()
    from core.settings import Settings
    from index.embedder import make_embedder
    from index.ingest import ingest

    tmp = Path(tempfile.mkdtemp(prefix="dossier-bench-ingest-"))
    folder = tmp / "corpus"
    files = build_corpus(folder, args.docs)
    overrides: dict[str, Any] = {"home": tmp / "home"}
    if args.batch_size:
        overrides["embed_batch_size"] = args.batch_size
    settings = Settings(**overrides)
    print(f"corpus: {len(files)} documents in {folder}; DOSSIER_HOME={settings.home}", flush=True)

    # The model is loaded and warmed before anything is timed.
    with Timer() as t_load:
        embedder = make_embedder(settings)
        embedder.encode(["warm-up text for the encoder, a sentence or two long."] * 8)
        from index.tokens import count_tokens

        count_tokens("warm up the tokenizer")  # loads the BPE file once
    batch = int(getattr(embedder, "batch_size", settings.embed_batch_size))

    # (a) chunking and raw encode of exactly those texts.
    with Timer() as t_chunk:
        chunks, texts = chunk_corpus(files, folder, settings)
    hot = profile_chunking(files, folder, settings) if args.profile_chunking else []
    print(f"chunked {len(chunks)} chunks in {t_chunk.wall:.2f}s; raw encode at batch {batch}…",
          flush=True)
    with Timer() as t_raw:
        embedder.encode(texts, batch_size=batch)
    raw_cps = len(texts) / t_raw.wall

    # The same texts through other runtimes of the same model (the default is "onnx").
    runtimes = []
    for backend in [b.strip() for b in args.runtimes.split(",") if b.strip()]:
        if backend == settings.embed_backend:
            continue
        other = make_embedder(settings.model_copy(update={"embed_backend": backend}))
        other.encode(["warm-up text for the encoder, a sentence or two long."] * 8)
        with Timer() as t_other:
            other.encode(texts, batch_size=batch)
        runtimes.append({"backend": backend, "seconds": round(t_other.wall, 2),
                         "chunks_per_s": round(len(texts) / t_other.wall, 2)})
        print(f"  raw encode with {backend}: {len(texts) / t_other.wall:.1f} chunks/s", flush=True)

    sample = spread_sample(texts, args.sweep_chunks or len(texts))
    sweep = []
    for bs in batch_sizes:
        with Timer() as t:
            embedder.encode(sample, batch_size=bs)
        sweep.append({"batch_size": bs, "texts": len(sample), "seconds": round(t.wall, 3),
                      "chunks_per_s": round(len(sample) / t.wall, 2),
                      "cpu_s": round(t.cpu, 3)})
        print(f"  sweep batch {bs}: {len(sample) / t.wall:.1f} chunks/s", flush=True)
    best = max(sweep, key=lambda r: r["chunks_per_s"]) if sweep else None

    # (b) the full ingest into a fresh home.
    print("full ingest…", flush=True)
    probe = instrument(embedder)
    try:
        with Timer() as t_ing:
            rep = ingest([folder], settings)
    finally:
        probe.restore()
    ingest_cps = rep.embedded / t_ing.wall if t_ing.wall else 0.0
    raw_wall, raw_cpu, raw_runs = t_raw.wall, t_raw.cpu, [round(t_raw.wall, 3)]
    if args.raw_after:
        # Raw again after the ingest: the mean cancels a drift in other load on the machine.
        with Timer() as t_raw2:
            embedder.encode(texts, batch_size=batch)
        raw_runs.append(round(t_raw2.wall, 3))
        raw_wall, raw_cpu = (t_raw.wall + t_raw2.wall) / 2, (t_raw.cpu + t_raw2.cpu) / 2
        raw_cps = len(texts) / raw_wall
    ratio = ingest_cps / raw_cps if raw_cps else 0.0
    cpu_ratio = (raw_cpu / len(texts)) / (t_ing.cpu / rep.embedded) if rep.embedded else 0.0
    encode_wall = probe.stats["encode (main thread)"][1] if "encode (main thread)" in probe.stats else 0.0

    # (c) nothing changed.
    with Timer() as t_re:
        rep2 = ingest([folder], settings)
    re_ratio = t_re.wall / t_ing.wall if t_ing.wall else 0.0

    same_chunks = rep.embedded == len(chunks) == rep.chunks
    rows = [
        ["documents", len(files), "", ""],
        ["chunks (chunker / ingest embedded / index)", f"{len(chunks)} / {rep.embedded} / {rep.chunks}",
         "", "ok" if same_chunks else "MISMATCH"],
        ["chunking pass (load+chunk, 1 thread) s", round(t_chunk.wall, 2), "", ""],
        [f"raw encode s (batch {batch}; mean of {len(raw_runs)})", round(raw_wall, 2),
         f"{raw_cps:.1f} chunks/s", ""],
        ["full ingest s", round(t_ing.wall, 2), f"{ingest_cps:.1f} chunks/s", ""],
        ["  of which encode calls (main thread) s", round(encode_wall, 2),
         f"{rep.embedded / encode_wall:.1f} chunks/s" if encode_wall else "", ""],
        ["ingest / raw (wall, chunks/s)", round(ratio, 3), f"target >= {TARGET_RATIO}",
         "PASS" if ratio >= TARGET_RATIO else "FAIL"],
        ["ingest / raw (process CPU per chunk)", round(cpu_ratio, 3), "less noise-sensitive", ""],
        ["re-ingest, no change s", round(t_re.wall, 3),
         f"{rep2.unchanged} unchanged, {rep2.embedded} embedded", ""],
        ["re-ingest / ingest", round(re_ratio, 4), f"target < {TARGET_REINGEST}",
         "PASS" if re_ratio < TARGET_REINGEST else "FAIL"],
    ]
    for r in runtimes:
        rows.append([f"raw encode s with {r['backend']} (same texts)", r["seconds"],
                     f"{r['chunks_per_s']:.1f} chunks/s",
                     f"{settings.embed_backend} is {raw_cps / r['chunks_per_s']:.2f}x"])
    if best:
        rows.append([f"best sweep batch size (of {len(sample)} texts)", best["batch_size"],
                     f"{best['chunks_per_s']:.1f} chunks/s", ""])
    print_table(["measure", "value", "", "verdict"], rows)
    print_table(["batch size", "chunks/s", "seconds", "cpu s"],
                columns(sweep, ["batch_size", "chunks_per_s", "seconds", "cpu_s"]))
    bd = probe.rows()
    print_table(["step", "calls", "wall s", "thread cpu s"],
                columns(bd, ["step", "calls", "wall_s", "thread_cpu_s"]),
                "where the first ingest spent its time (wall is per thread; threads overlap):")
    if hot:
        print_table(["function", "calls", "tottime s", "cumtime s"],
                    columns(hot, ["function", "calls", "tottime_s", "cumtime_s"]),
                    "hottest functions of the chunking pass (cProfile, tottime):")

    result = {
        "benchmark": "ingest",
        "smoke": args.smoke,
        "machine": machine(),
        "corpus": {"documents": len(files), "cables": args.docs, "chunks": len(chunks),
                   "embed_chars": sum(len(t) for t in texts)},
        "settings": {"embed_model": settings.embed_model, "embed_backend": settings.embed_backend,
                     "embed_batch_size": batch,
                     "chunk_tokens": settings.chunk_tokens,
                     "chunk_overlap_tokens": settings.chunk_overlap_tokens},
        "model_load_and_warm_s": round(t_load.wall, 3),
        "chunking": {"seconds": round(t_chunk.wall, 3), "hottest": hot},
        "raw": {"seconds": round(raw_wall, 3), "cpu_s": round(raw_cpu, 3), "runs_s": raw_runs,
                "chunks_per_s": round(raw_cps, 2), "batch_size": batch},
        "other_runtimes_raw": runtimes,
        "batch_sweep": sweep,
        "best_batch_size": best["batch_size"] if best else None,
        "ingest": {"seconds": round(t_ing.wall, 3), "cpu_s": round(t_ing.cpu, 3),
                   "chunks_per_s": round(ingest_cps, 2), "report": rep.to_json(),
                   "encode_wall_s": round(encode_wall, 3), "breakdown": bd},
        "ratio_ingest_to_raw": round(ratio, 4),
        "ratio_ingest_to_raw_cpu": round(cpu_ratio, 4),
        "target_ratio": TARGET_RATIO,
        "same_chunks": same_chunks,
        "reingest": {"seconds": round(t_re.wall, 4), "report": rep2.to_json(),
                     "ratio_to_ingest": round(re_ratio, 5), "target": TARGET_REINGEST},
    }
    result["ingest"]["report"].pop("warnings", None)
    path = write_result(name, result)
    print(f"\nwrote {path}")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if same_chunks else 1


if __name__ == "__main__":
    sys.exit(main())
