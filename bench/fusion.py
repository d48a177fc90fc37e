"""Choose how dense and keyword candidates are fused, by measurement on the gold questions.

Scores retrieval alone (evidence hit@1, hit@5, MRR) for dense, keyword, reciprocal-rank fusion
and z-score fusion at several dense weights — on the sample corpus alone, and with N real cables
from the haystack mixed in as distractors (a collection where the gold documents are a small
minority, so a fusion tuned on five documents cannot pass by luck). Prints a table and writes
bench/results/fusion.json (`--smoke`: sample corpus only, two settings).

    python bench/fusion.py --cables 300 [--home DIR  # reuse an index built earlier]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import SAMPLE_CORPUS, build_corpus, columns, machine, offline_env, print_table, write_result

offline_env()

from core.settings import Settings  # noqa: E402  (after offline_env: nothing may go online)
from eval.gold import DEFAULT_GOLD, load_gold  # noqa: E402
from eval.runner import run_eval  # noqa: E402
from index.embedder import make_embedder  # noqa: E402
from index.ingest import ingest  # noqa: E402
from qa import Assistant  # noqa: E402

METRICS = ["evidence_hit@1", "evidence_hit@5", "evidence_mrr"]
SETTINGS = [("dense", None), ("keyword", None), ("rrf", None)] + [
    ("zscore", w) for w in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
]


def score_collection(label: str, home: Path, corpus: Path | None, settings_grid, embedder) -> list[dict]:
    base = Settings(home=home)
    if corpus is not None:
        ingest([corpus], base, embedder=embedder)
    questions = load_gold(DEFAULT_GOLD)
    rows = []
    for fusion, weight in settings_grid:
        update = {"fusion": fusion} | ({"dense_weight": weight} if weight is not None else {})
        settings = base.model_copy(update=update)
        assistant = Assistant(settings, embedder=embedder, use_llm=False)
        run = run_eval(questions, settings, assistant=assistant, retrieval_only=True)
        row = {"collection": label, "fusion": fusion, "dense_weight": weight, **run["metrics"]}
        rows.append(row)
        print("  ".join(f"{k}={v}" for k, v in row.items() if not k.startswith("latency")), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cables", type=int, default=300, help="haystack cables mixed in (0: none)")
    parser.add_argument("--home", type=Path, help="an index of sample + cables built earlier, to reuse")
    parser.add_argument("--smoke", action="store_true", help="sample corpus, two settings (CI)")
    args = parser.parse_args()
    grid = [("rrf", None), ("zscore", 0.6)] if args.smoke else SETTINGS
    embedder = make_embedder(Settings())
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += score_collection("sample (5 docs)", Path(tmp) / "sample", SAMPLE_CORPUS, grid, embedder)
        if not args.smoke and args.cables > 0:
            label = f"sample + {args.cables} cables"
            if args.home:
                rows += score_collection(label, args.home, None, grid, embedder)
            else:
                corpus = Path(tmp) / "corpus"
                build_corpus(corpus, args.cables)
                rows += score_collection(label, Path(tmp) / "haystack", corpus, grid, embedder)
    keys = ["collection", "fusion", "dense_weight", *METRICS]
    print_table(["collection", "fusion", "dense weight", *METRICS], columns(rows, keys))
    name = "fusion_smoke" if args.smoke else "fusion"
    result = {"benchmark": "fusion", "smoke": args.smoke, "machine": machine(), "rows": rows}
    print(f"wrote {write_result(name, result)}")


if __name__ == "__main__":
    main()
