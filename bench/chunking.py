"""Choose chunk size and overlap by measurement: retrieval metrics on the gold set per setting.

For each (chunk_tokens, overlap) pair the sample corpus is ingested into a fresh DOSSIER_HOME and
the gold questions are scored retrieval-only (evidence hit@1, hit@5, MRR), for the fused
retriever and dense alone. Prints a table and writes bench/results/chunking.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from core.settings import Settings
from eval.gold import DEFAULT_GOLD, load_gold
from eval.runner import run_eval
from index.embedder import make_embedder
from index.ingest import ingest
from qa import Assistant

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="96,128,160,200,256")
    parser.add_argument("--overlaps", default="0,40")
    parser.add_argument("--smoke", action="store_true", help="one setting only (CI)")
    args = parser.parse_args()
    sizes = [128] if args.smoke else [int(x) for x in args.sizes.split(",")]
    overlaps = [40] if args.smoke else [int(x) for x in args.overlaps.split(",")]
    questions = load_gold(DEFAULT_GOLD)
    embedder = make_embedder(Settings())
    rows = []
    for size in sizes:
        for overlap in overlaps:
            if overlap >= size:
                continue
            with tempfile.TemporaryDirectory() as home:
                for fusion in ("rrf", "dense"):
                    settings = Settings(home=Path(home), chunk_tokens=size,
                                        chunk_overlap_tokens=overlap, fusion=fusion)
                    if fusion == "rrf":
                        report = ingest([ROOT / "data" / "corpus"], settings, embedder=embedder)
                    assistant = Assistant(settings, embedder=embedder, use_llm=False)
                    run = run_eval(questions, settings, assistant=assistant, retrieval_only=True)
                    row = {"chunk_tokens": size, "overlap": overlap, "fusion": fusion,
                           "chunks": report.chunks, **run["metrics"]}
                    rows.append(row)
                    print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    out = ROOT / "bench" / "results" / "chunking.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
