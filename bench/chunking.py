"""Choose chunk size and overlap by measurement: retrieval metrics on the gold set per setting.

For each (chunk_tokens, overlap) pair the sample corpus is ingested into a fresh DOSSIER_HOME and
the gold questions are scored retrieval-only (evidence hit@1, hit@5, MRR), for the fused
retriever and dense alone. Prints a table and writes bench/results/chunking.json
(`--smoke`: one setting, bench/results/chunking_smoke.json).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import SAMPLE_CORPUS, columns, machine, offline_env, print_table, write_result

offline_env()

from core.settings import Settings  # noqa: E402  (after offline_env: nothing may go online)
from eval.gold import DEFAULT_GOLD, load_gold  # noqa: E402
from eval.runner import run_eval  # noqa: E402
from index.embedder import make_embedder  # noqa: E402
from index.ingest import ingest  # noqa: E402
from qa import Assistant  # noqa: E402

METRICS = ["evidence_hit@1", "evidence_hit@5", "evidence_mrr"]


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
                        report = ingest([SAMPLE_CORPUS], settings, embedder=embedder)
                    assistant = Assistant(settings, embedder=embedder, use_llm=False)
                    run = run_eval(questions, settings, assistant=assistant, retrieval_only=True)
                    row = {"chunk_tokens": size, "overlap": overlap, "fusion": fusion,
                           "chunks": report.chunks, **run["metrics"]}
                    rows.append(row)
                    print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    print_table(["chunk tokens", "overlap", "fusion", "chunks", *METRICS],
                columns(rows, ["chunk_tokens", "overlap", "fusion", "chunks", *METRICS]))
    path = write_result("chunking_smoke" if args.smoke else "chunking",
                        {"benchmark": "chunking", "smoke": args.smoke, "machine": machine(),
                         "questions": len(questions), "rows": rows})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
