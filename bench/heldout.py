"""Answer quality on questions the answer rules were never tuned on.

The gold set (eval/gold/sample.jsonl) has been studied failure by failure while the answer rules
were written, so its figures are no longer a held-out measure. eval/gold/heldout_haystack.jsonl
was written afterwards, without reading the answering code, about 24 real cables and Reuters
items of the haystack (see eval/gold/heldout_haystack.md). This script indexes those documents
with real distractors from the same collections (seeded), runs the eval suite on them for each
backend, prints the metrics beside the gold set's and writes bench/results/heldout.json.

    python bench/heldout.py [--distractors 600] [--backends extractive,local] [--home DIR]
    python bench/heldout.py --smoke      # 8 questions, 20 distractors, extractive (CI)

The haystack is read from ../shared/haystack (or $DOSSIER_HAYSTACK); without it the script runs
on the sample in data/haystack_sample/ (it holds every source document of the first held-out set,
and fewer distractors than asked for) and says so; the results file records which.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    REPO,
    columns,
    haystack,
    link_corpus,
    machine,
    offline_env,
    print_table,
    write_result,
)

offline_env()

from core.settings import Settings  # noqa: E402  (after offline_env: nothing may go online)
from eval.gold import load_gold  # noqa: E402
from eval.runner import run_eval  # noqa: E402
from index.embedder import make_embedder  # noqa: E402
from index.ingest import ingest  # noqa: E402
from qa import Assistant  # noqa: E402

HELDOUT = REPO / "eval" / "gold" / "heldout_haystack.jsonl"
FOLDERS = ("cables", "reuters")
METRICS = ["evidence_hit@1", "evidence_hit@5", "evidence_mrr", "answer_accuracy",
           "citation_precision", "citation_evidence_recall", "sentence_support",
           "abstain_accuracy", "false_abstain_rate", "latency_p50_ms"]


def locate(name: str) -> Path:
    for folder in FOLDERS:
        path = haystack().path / folder / name
        if path.is_file():
            return path
    raise SystemExit(f"{HELDOUT.name}: source {name!r} is in none of {FOLDERS} under {haystack().path}"
                     " (the sample in data/haystack_sample holds the first held-out set's only)")


def build_corpus(dest: Path, sources: set[str], distractors: int, seed: int) -> dict[str, int]:
    """A flat folder of symlinks: the documents the questions are about, plus `distractors`
    others drawn (seeded) half from the cables and half from the Reuters items."""
    chosen = [locate(name) for name in sorted(sources)]
    rng = random.Random(seed)
    counts = {"sources": len(chosen)}
    for i, folder in enumerate(FOLDERS):
        pool = sorted(p for p in (haystack().path / folder).glob("*.txt") if p.name not in sources)
        n = distractors // 2 + (distractors % 2 if i == 0 else 0)
        picked = rng.sample(pool, min(n, len(pool)))
        counts[folder] = len(picked)
        chosen += picked
    link_corpus(dest, chosen)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--gold", type=Path, default=HELDOUT)
    parser.add_argument("--distractors", type=int, default=600,
                        help="other haystack documents mixed in (half cables, half Reuters)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--backends", default="extractive,local")
    parser.add_argument("--home", type=Path, help="reuse an index this script built earlier")
    parser.add_argument("--smoke", action="store_true", help="tiny and fast (CI)")
    args = parser.parse_args()

    questions = load_gold(args.gold)
    if args.smoke:
        args.distractors, args.backends = 20, "extractive"
        questions = [q for q in questions if q.answerable][:6] + [
            q for q in questions if not q.answerable][:2]
    sources = {s for q in questions for s in q.sources}
    home = args.home or Path(tempfile.mkdtemp(prefix="dossier-bench-heldout-"))
    base = Settings(home=home)
    embedder = make_embedder(base)
    corpus_info: dict[str, int] = {}
    if not (home / "catalog.sqlite").exists():
        corpus = home.parent / f"{home.name}-corpus"
        corpus_info = build_corpus(corpus, sources, args.distractors, args.seed)
        report = ingest([corpus], base, embedder=embedder)
        corpus_info["chunks"] = report.chunks
        print(f"indexed {sum(v for k, v in corpus_info.items() if k != 'chunks')} documents "
              f"({report.chunks} chunks) in {home}", flush=True)

    rows, runs = [], {}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        settings = base.model_copy(update={"llm": backend})
        assistant = Assistant(settings, embedder=embedder)
        run = run_eval(questions, settings, assistant=assistant)
        runs[backend] = run
        rows.append({"backend": run["backend"], **{m: run["metrics"].get(m) for m in METRICS}})
        missed = [o["id"] for o in run["outcomes"]
                  if (not o.get("correct") if o["answerable"] else not o["abstained"])]
        print(f"{backend}: {len(missed)} of {len(questions)} not right: {', '.join(missed)}", flush=True)

    print_table(["backend", *METRICS], columns(rows, ["backend", *METRICS]),
                title=f"held-out questions ({len(questions)}, {args.gold.name})")
    # One result file per question set: the second set must not overwrite the first's figures.
    name = "heldout" if args.gold.resolve() == HELDOUT.resolve() else args.gold.stem
    path = write_result(f"{name}_smoke" if args.smoke else name, {
        "benchmark": "heldout", "smoke": args.smoke, "gold": args.gold.name, "questions": len(questions),
        "corpus": corpus_info, "distractors": args.distractors, "seed": args.seed,
        "machine": machine(), "rows": rows,
        "outcomes": {b: r["outcomes"] for b, r in runs.items()},
        "answers": {b: [{"id": p["id"], "answer": (p["result"] or {}).get("answer")}
                        for p in r["per_question"]] for b, r in runs.items()},
    })
    print(f"\nwrote {path}")
    print(json.dumps({"home": str(home)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
