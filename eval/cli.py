"""`dossier eval`: run, report, and gate on a baseline (exit 1 on regression)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.errors import UsageError
from core.settings import Settings

from .baseline import compare, load_baseline, save_baseline
from .gold import DEFAULT_GOLD, load_gold
from .report import write_report
from .runner import run_eval


def run_eval_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.draft:
        if args.draft[0] != "draft" or len(args.draft) < 2:
            raise UsageError("usage: dossier eval draft PATH [PATH...]")
        from .draft import draft_questions

        for item in draft_questions([Path(p) for p in args.draft[1:]], settings):
            print(json.dumps(item, ensure_ascii=False))
        return 0

    questions = load_gold(args.gold or DEFAULT_GOLD)
    baseline = load_baseline(args.baseline) if args.baseline else None

    def progress(i: int, n: int) -> None:
        if sys.stderr.isatty():
            print(f"\reval {i}/{n}", end="" if i < n else "\n", file=sys.stderr)

    run = run_eval(questions, settings, retrieval_only=args.retrieval_only, k=args.k,
                   verify=not getattr(args, "no_verify", False), progress=progress)
    regressions, flipped = compare(run, baseline) if baseline else (None, [])
    record, md = write_report(run, settings.eval_path, regressions, flipped)
    if args.save_baseline:
        save_baseline(run, args.save_baseline)

    if args.json:
        out = {k: run[k] for k in ("n", "backend", "metrics", "per_question")}
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"{run['backend']}: {run['n']} questions")
        width = max(len(k) for k in run["metrics"])
        for name, value in run["metrics"].items():
            print(f"  {name:<{width}}  {value}")
    print(f"dossier: report {md} (run record {record})", file=sys.stderr)
    for line in flipped:
        print(f"dossier: flipped: {line}", file=sys.stderr)
    if regressions:
        for r in regressions:
            print(f"dossier: REGRESSION {r.metric}: {r.baseline} → {r.current} "
                  f"(tolerance {r.tolerance})", file=sys.stderr)
        return 1
    return 0
