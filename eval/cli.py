"""`dossier eval`: run, report, and gate on a baseline (exit 1 on regression).

The gate is on quality metrics. Latency is reported, with the run's calibration (a fixed CPU
workload timed through the same run, eval/baseline.py); it is gated only with --gate-latency, and
then in calibration units, never in milliseconds against a number from another day."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.errors import UsageError
from core.settings import Settings

from .baseline import CALIBRATED, Calibration, add_calibration, compare, load_baseline, save_baseline
from .gold import DEFAULT_GOLD, load_gold
from .report import write_report
from .runner import run_eval


def run_eval_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.draft:
        if args.draft[0] != "draft" or len(args.draft) < 2:
            raise UsageError("usage: dossier eval draft PATH [PATH...]")
        from .draft import DraftReport, draft_questions, summary

        report = DraftReport()
        for item in draft_questions([Path(p) for p in args.draft[1:]], settings, report):
            print(json.dumps(item, ensure_ascii=False), flush=True)
        for line in summary(report):
            print(f"dossier: eval draft: {line}", file=sys.stderr)
        return 0

    questions = load_gold(args.gold or DEFAULT_GOLD)
    baseline = load_baseline(args.baseline) if args.baseline else None

    gate_latency = bool(getattr(args, "gate_latency", False))
    if gate_latency and not baseline:
        raise UsageError("--gate-latency needs --baseline")
    if gate_latency and args.retrieval_only:
        raise UsageError("--gate-latency needs a run that answers questions, not --retrieval-only")
    if gate_latency and not any(name in baseline["metrics"] for name in CALIBRATED):
        raise UsageError(f"--gate-latency: {args.baseline} has no calibrated latency "
                         f"({', '.join(CALIBRATED)}); save one with --save-baseline")
    # Timed between questions (never inside a question's latency): before the first, then
    # every few questions, so the calibration sees the load the questions saw.
    calibration = Calibration()
    if not args.retrieval_only:
        calibration.sample()
    every = calibration.every(len(questions))

    def progress(i: int, n: int) -> None:
        if not args.retrieval_only and (i % every == 0 or i == n):
            calibration.sample()
        if sys.stderr.isatty():
            print(f"\reval {i}/{n}", end="" if i < n else "\n", file=sys.stderr)

    run = run_eval(questions, settings, retrieval_only=args.retrieval_only, k=args.k,
                   verify=not getattr(args, "no_verify", False), progress=progress)
    add_calibration(run, calibration)
    regressions, flipped = compare(run, baseline, gate_latency=gate_latency) if baseline else (None, [])
    record, md = write_report(run, settings.eval_path, regressions, flipped)
    if args.save_baseline:
        save_baseline(run, args.save_baseline)

    if args.json:
        out = {k: run[k] for k in ("n", "backend", "metrics", "per_question", "calibration") if k in run}
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"{run['backend']}: {run['n']} questions")
        width = max(len(k) for k in run["metrics"])
        for name, value in run["metrics"].items():
            print(f"  {name:<{width}}  {value}")
        if "calibration" in run:
            c = run["calibration"]
            print(f"  latency in calibration units (*_cal): a fixed CPU workload took {c['ms']} ms "
                  f"(median of {c['samples']} timings through the run); latency "
                  f"{'gated on them' if gate_latency else 'reported, not gated (--gate-latency)'}")
    print(f"dossier: report {md} (run record {record})", file=sys.stderr)
    for line in flipped:
        print(f"dossier: flipped: {line}", file=sys.stderr)
    if regressions:
        for r in regressions:
            print(f"dossier: REGRESSION {r.metric}: {r.baseline} → {r.current} "
                  f"(tolerance {r.tolerance})", file=sys.stderr)
        return 1
    return 0
