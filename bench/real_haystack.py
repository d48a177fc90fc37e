#!/usr/bin/env python
"""Retrieval among the real haystack: the sample corpus plus every cable and Reuters item.

Two indexes, built once and kept (re-embedding 20k documents takes half an hour):

  full   data/corpus + ../shared/haystack/cables + ../shared/haystack/reuters (≈ 20,343 documents)
  alone  data/corpus + only the documents the held-out questions are about (≈ 250 documents);
         for the gold set, "alone" is the sample corpus by itself (haystack-sample)

`build` ingests them with the real pipeline and reports where the ingest time went and its
throughput against the raw encoder on chunks of the same collection (target ≥ 0.85).
`measure` runs the gold set and the held-out sets on both indexes:

  - per question, the rank of the first passage holding gold evidence in the dense list, the BM25
    list (both 200 deep) and the fused list the product uses, and the documents that outrank it;
  - evidence hit@1/@5 and MRR, answer accuracy, abstention (the eval runner, `--backend`,
    extractive by default: 0.1 s a question; the LLM reader's figures come from bench/reader.py);
  - search latency (`Assistant.search`, what `dossier search` does) p50/p95 on the full index.

    python bench/real_haystack.py build [--home DIR]
    python bench/real_haystack.py measure [--sets gold,1,2,...,8] [--backend extractive]
    python bench/real_haystack.py measure --set-env DOSSIER_CANDIDATES=60   # try a lever

Without ../shared/haystack (or $DOSSIER_HAYSTACK) it stops with a message: the sample in
data/haystack_sample is far too small for this measurement.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    REPO,
    SAMPLE_CORPUS,
    Timer,
    columns,
    first_evidence_rank,
    instrument,
    link_corpus,
    machine,
    offline_env,
    percentile,
    print_table,
    write_result,
)

offline_env()

from core.settings import Settings  # noqa: E402
from eval.gold import load_gold  # noqa: E402

GOLD_DIR = REPO / "eval" / "gold"
FOLDERS = ("cables", "reuters")
DEFAULT_ROOT = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dossier" / "bench"
SETS = ["gold", "1", "2", "3", "4", "5", "6", "7", "8"]
TARGET_RATIO = 0.85
DEEP = 200  # how far down the dense and BM25 lists a miss is looked for


def set_path(name: str) -> Path:
    if name == "gold":
        return GOLD_DIR / "sample.jsonl"
    if name == "open":
        return GOLD_DIR / "open_questions.jsonl"
    return GOLD_DIR / ("heldout_haystack.jsonl" if name == "1" else f"heldout_haystack{name}.jsonl")


def full_haystack() -> Path:
    env = os.environ.get("DOSSIER_HAYSTACK")
    path = Path(env) if env else REPO.parent / "shared" / "haystack"
    if not (path / "cables").is_dir() or not (path / "reuters").is_dir():
        raise SystemExit(f"skipped: the full haystack is not at {path} (set DOSSIER_HAYSTACK); "
                         "this benchmark needs its 20,338 documents")
    return path


def question_sources(sets: list[str]) -> set[str]:
    names: set[str] = set()
    for name in sets:
        for q in load_gold(set_path(name)):
            names.update([*q.sources, *(p.source for p in q.key_points)])
    return names


# -- build ----------------------------------------------------------------------------------------
def raw_encoder_rate(embedder: Any, settings: Settings, hay: Path, files: int = 400,
                     seed: int = 7) -> dict[str, Any]:
    """Chunks/s of the bare encoder on the chunks of a seeded sample of the collection's files,
    in the ingest's batch size: the ceiling the ingest is measured against."""
    from ingest import chunk_corpus  # bench/ingest.py: the ingest's own load + chunk + embed text

    rng = random.Random(seed)
    pool = sorted(p for folder in FOLDERS for p in (hay / folder).glob("*.txt"))
    sample = rng.sample(pool, min(files, len(pool)))
    _, texts = chunk_corpus(sample, hay, settings)
    embedder.encode(texts[:32])  # warm
    with Timer() as t:
        embedder.encode(texts, batch_size=settings.embed_batch_size)
    return {"files": len(sample), "chunks": len(texts), "seconds": round(t.wall, 2),
            "chunks_per_s": round(len(texts) / t.wall, 2)}


def build_index(home: Path, roots: list[Path], settings: Settings, embedder: Any) -> dict[str, Any]:
    from index.ingest import ingest

    breakdown = instrument(embedder)
    try:
        with Timer() as t:
            report = ingest(roots, settings, embedder=embedder)
    finally:
        breakdown.restore()
    return {"home": str(home), "documents": report.added + report.updated + report.unchanged,
            "chunks": report.chunks, "seconds": round(t.wall, 1),
            "chunks_per_s": round(report.chunks / t.wall, 2) if report.chunks else None,
            "failed": len(report.failed), "breakdown": breakdown.rows()}


def cmd_build(args: argparse.Namespace) -> int:
    from index.embedder import make_embedder

    hay = full_haystack()
    root: Path = args.root
    root.mkdir(parents=True, exist_ok=True)
    full_home, alone_home = root / "haystack-full", root / "haystack-alone"
    settings = Settings(home=full_home)
    embedder = make_embedder(settings)
    result: dict[str, Any] = {"benchmark": "real_haystack_build", "machine": machine()}

    sample_home = root / "haystack-sample"
    result["sample"] = build_index(sample_home, [SAMPLE_CORPUS],
                                   settings.model_copy(update={"home": sample_home}), embedder)
    # The documents the questions are about, alone with the sample corpus (small, built first).
    alone_corpus = root / "haystack-alone-corpus"
    if not alone_corpus.is_dir():
        names = sorted(question_sources(SETS + (["open"] if set_path("open").exists() else [])))
        files = [hay / f / n for n in names for f in FOLDERS if (hay / f / n).is_file()]
        link_corpus(alone_corpus, sorted(SAMPLE_CORPUS.glob("*.txt")) + files)
    print("indexing the question documents alone…", flush=True)
    result["alone"] = build_index(alone_home, [alone_corpus],
                                  settings.model_copy(update={"home": alone_home}), embedder)

    print(f"indexing the sample corpus and the full haystack ({hay}) into {full_home}…", flush=True)
    roots = [SAMPLE_CORPUS, hay / "cables", hay / "reuters"]
    result["full"] = build_index(full_home, roots, settings, embedder)
    if result["full"]["chunks"]:
        result["raw_encoder"] = raw = raw_encoder_rate(embedder, settings, hay)
        result["ratio"] = round(result["full"]["chunks_per_s"] / raw["chunks_per_s"], 3)
        print(f"ingest {result['full']['chunks_per_s']} chunks/s, raw encoder "
              f"{raw['chunks_per_s']} chunks/s: ratio {result['ratio']} (target ≥ {TARGET_RATIO})")
        print_table(["step", "calls", "wall_s", "thread_cpu_s"],
                    columns(result["full"]["breakdown"], ["step", "calls", "wall_s", "thread_cpu_s"]),
                    title="where the full ingest's time went")
        path = write_result("real_haystack_build", result)
        print(f"wrote {path}")
    else:
        print("the full index was already built (nothing re-embedded); measure with `measure`")
    return 0


# -- measure --------------------------------------------------------------------------------------
def diagnose(assistant: Any, q: Any) -> dict[str, Any]:
    """Where the evidence ranks in each list, and what outranks it in the fused top 5."""
    from qa.retrieval import Retriever

    reader = assistant.reader
    retriever = Retriever(reader, assistant.settings)
    fused = retriever.retrieve(q.question, k=assistant.settings.candidates)
    dense = reader.dense(q.question, DEEP)
    keyword = reader.keyword(q.question, DEEP)
    rank = {name: first_evidence_rank([p.text for p in ranking], q.evidence)
            for name, ranking in (("fused", fused), ("dense", dense), ("bm25", keyword))}
    outranking: list[str] = []
    if rank["fused"] is None or rank["fused"] > 5:
        wanted = set(q.sources)
        outranking = [p.source for p in fused[:5] if p.source not in wanted]
    return {"id": q.id, **{f"rank_{k}": v for k, v in rank.items()}, "outranking": outranking,
            "top_sources": [p.source for p in fused[:5]]}


def search_latency(assistant: Any, questions: list[Any]) -> dict[str, float]:
    for q in questions[:3]:
        assistant.search(q.question)
    times = []
    for q in questions:
        t0 = time.perf_counter()
        assistant.search(q.question)
        times.append((time.perf_counter() - t0) * 1000)
    return {"n": len(times), "p50_ms": round(percentile(times, 50), 1),
            "p95_ms": round(percentile(times, 95), 1), "max_ms": round(max(times), 1)}


def hnsw_recall(assistant: Any, questions: list[Any], k: int) -> dict[str, Any]:
    """Recall of Chroma's HNSW top k against an exact (brute-force cosine) search of every vector:
    whether the vector index's search parameters lose passages at this size."""
    import numpy as np

    reader = assistant.reader
    collection = reader.store.collection
    ids: list[str] = []
    vectors = []
    total = collection.count()
    for offset in range(0, total, 5000):
        got = collection.get(include=["embeddings"], limit=5000, offset=offset)
        ids += got["ids"]
        vectors.append(np.asarray(got["embeddings"], dtype=np.float32))
    matrix = np.vstack(vectors)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-12
    recalls = []
    for q in questions:
        vec = np.asarray(reader.embedder.encode([q.question])[0], dtype=np.float32)
        vec /= np.linalg.norm(vec) + 1e-12
        exact = {ids[i] for i in np.argsort(-(matrix @ vec))[:k]}
        approx = {h.chunk_id for h in reader.dense(q.question, k)}
        recalls.append(len(exact & approx) / k)
    return {"k": k, "vectors": total, "questions": len(recalls),
            "mean_recall": round(float(np.mean(recalls)), 4), "min_recall": round(min(recalls), 4)}


METRICS = ["evidence_hit@1", "evidence_hit@5", "evidence_mrr", "answer_accuracy",
           "citation_precision", "abstain_accuracy", "false_abstain_rate"]


def cmd_measure(args: argparse.Namespace) -> int:
    from eval.runner import run_eval
    from index.embedder import make_embedder
    from qa import Assistant

    for pair in args.set_env:
        key, _, value = pair.partition("=")
        os.environ[key] = value
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    homes = {"alone": args.root / "haystack-alone", "full": args.root / "haystack-full",
             "sample": args.root / "haystack-sample"}
    if not (homes["sample"] / "catalog.sqlite").exists():
        from index.ingest import ingest

        ingest([SAMPLE_CORPUS], Settings(home=homes["sample"]))
    for name, home in homes.items():
        if not (home / "catalog.sqlite").exists():
            raise SystemExit(f"no {name} index at {home}: run `python bench/real_haystack.py build`")
    base = Settings(llm=args.backend)
    embedder = make_embedder(base)
    rows: list[dict[str, Any]] = []
    per_question: dict[str, dict[str, Any]] = {}
    latency: dict[str, Any] = {}
    for index_name in args.indexes.split(","):
        settings = base.model_copy(update={"home": homes[index_name]})
        assistant = Assistant(settings, embedder=embedder)
        if index_name == "alone":
            sample_settings = base.model_copy(update={"home": homes["sample"]})
            sample_assistant = Assistant(sample_settings, embedder=embedder)
        all_questions = []
        for name in sets:
            if index_name == "alone" and name == "gold":
                # The gold set's own corpus is the sample alone: the figure the issue compares to.
                settings_used, assistant_used = sample_settings, sample_assistant
            else:
                settings_used, assistant_used = settings, assistant
            questions = load_gold(set_path(name))
            all_questions += questions
            answerable = [q for q in questions if q.answerable and q.evidence]
            diag = [diagnose(assistant_used, q) for q in answerable]
            run = run_eval(questions, settings_used, assistant=assistant_used)
            row = {"index": index_name, "set": name, "n": len(questions),
                   **{m: run["metrics"].get(m) for m in METRICS}}
            for lst in ("dense", "bm25"):
                ranks = [d[f"rank_{lst}"] for d in diag]
                row[f"{lst}_hit@5"] = round(sum(1 for r in ranks if r and r <= 5) / len(ranks), 3) \
                    if ranks else None
            rows.append(row)
            outcomes = {o["id"]: o for o in run["outcomes"]}
            for d in diag:
                o = outcomes.get(d["id"], {})
                per_question[f"{index_name}:{name}:{d['id']}"] = {
                    **d, "correct": o.get("correct"), "abstained": o.get("abstained")}
            print(f"{index_name} {name}: hit@5 {row['evidence_hit@5']} acc {row['answer_accuracy']}",
                  flush=True)
        latency[index_name] = search_latency(assistant, all_questions)
        print(f"{index_name} search latency: {latency[index_name]}", flush=True)
        if index_name == "full" and args.hnsw:
            latency["hnsw_recall"] = hnsw_recall(assistant, all_questions, settings.candidates)
            print(f"HNSW recall against exact search: {latency['hnsw_recall']}", flush=True)

    keys = ["index", "set", "n", *METRICS, "dense_hit@5", "bm25_hit@5"]
    print_table(keys, columns(rows, keys), title=f"real haystack, backend {args.backend}")
    misses = [(k, v) for k, v in per_question.items()
              if k.startswith("full:") and (v["rank_fused"] is None or v["rank_fused"] > 5)]
    print(f"\n{len(misses)} evidence misses at 5 on the full index:")
    for key, v in misses:
        print(f"  {key}: fused {v['rank_fused']} dense {v['rank_dense']} bm25 {v['rank_bm25']}; "
              f"outranked by {', '.join(v['outranking'][:5])}")
    env = {pair.partition('=')[0]: pair.partition('=')[2] for pair in args.set_env}
    path = write_result(args.name or "real_haystack", {
        "benchmark": "real_haystack", "backend": args.backend, "env": env, "sets": sets,
        "machine": machine(), "rows": rows, "latency": latency, "per_question": per_question})
    print(f"\nwrote {path}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("build", "measure"):
        p = sub.add_parser(name)
        p.add_argument("--root", type=Path, default=DEFAULT_ROOT,
                       help="where the two indexes are kept (default ~/.cache/dossier/bench)")
    m = sub.choices["measure"]
    m.add_argument("--sets", default=",".join(SETS))
    m.add_argument("--backend", default="extractive")
    m.add_argument("--indexes", default="alone,full")
    m.add_argument("--set-env", action="append", default=[], metavar="KEY=VALUE",
                   help="a DOSSIER_* setting for this run (a lever under test)")
    m.add_argument("--name", help="results file name (default real_haystack)")
    m.add_argument("--hnsw", action="store_true",
                   help="also measure HNSW recall against exact search on the full index")
    args = parser.parse_args()
    return cmd_build(args) if args.cmd == "build" else cmd_measure(args)


if __name__ == "__main__":
    raise SystemExit(main())
