"""The regression gate: compare a run with a saved baseline, metric by metric.

The gate is on quality. Tolerances live in the baseline file: by default a rate may drop by two
questions' worth of its denominator (so one flaky question on a 60-question set is not a
regression, two are); a baseline file can set any tolerance explicitly.

Latency is reported, never gated as an absolute: a time in milliseconds measured on a shared
machine on another day is load, not a regression. When asked (`dossier eval --gate-latency`), the
gate compares latency as a multiple of a calibration measured in the same run: a fixed CPU
workload (calibration_workload) timed before the first question and again every few questions,
whose median is `calibration_ms`. `latency_p50_cal` and `latency_p95_cal` are the latencies in
those units, which load slows down alike; by default they may double.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import UsageError

from .metrics import LOWER_IS_BETTER

ALLOWED_FLIPS = 2
# Latency in calibration units: the metrics gated with --gate-latency, and what they are made of.
CALIBRATED = {"latency_p50_cal": "latency_p50_ms", "latency_p95_cal": "latency_p95_ms"}
CALIBRATION_SAMPLES = 8  # timings spread through a run (plus one before the first question)


def is_latency(name: str) -> bool:
    return name.startswith("latency")


def calibration_workload() -> None:
    """A fixed CPU workload (~20-40 ms on one idle core of this class of machine): float32 matrix
    products through numpy's BLAS, as a model's inference is, and an interpreted loop, as the
    rules and verification are. It depends on nothing in the repository, so a change to the code
    under test never changes it; only the machine and its load do."""
    import numpy as np

    a = np.random.default_rng(0).standard_normal((160, 160), dtype=np.float32)
    for _ in range(24):
        a = np.tanh(a @ a.T / 160.0)
    total = 0
    for i in range(60_000):
        total += (i * i) % 7
    if total < 0 or not np.isfinite(a).all():  # never: keeps the work from being optimised away
        raise RuntimeError("calibration workload")


class Calibration:
    """Times the calibration workload now and then during a run; `ms` is the median timing."""

    def __init__(self) -> None:
        self.timings_ms: list[float] = []

    def sample(self) -> float:
        started = time.perf_counter()
        calibration_workload()
        ms = (time.perf_counter() - started) * 1000
        self.timings_ms.append(ms)
        return ms

    def every(self, n: int) -> int:
        """Sample after every this many questions of `n` (CALIBRATION_SAMPLES times a run)."""
        return max(1, -(-n // CALIBRATION_SAMPLES))

    @property
    def ms(self) -> float:
        return statistics.median(self.timings_ms) if self.timings_ms else float("nan")

    def record(self) -> dict[str, Any]:
        return {"ms": round(self.ms, 2), "samples": len(self.timings_ms),
                "min_ms": round(min(self.timings_ms), 2), "max_ms": round(max(self.timings_ms), 2),
                "workload": "eval.baseline.calibration_workload"}


def add_calibration(run: dict[str, Any], calibration: Calibration) -> None:
    """Record the calibration in `run` and add the latencies in its units to run["metrics"]
    (a run that answered no question, e.g. --retrieval-only, gets none)."""
    if not calibration.timings_ms:
        return
    run["calibration"] = calibration.record()
    metrics = run["metrics"]
    for name, ms_name in CALIBRATED.items():
        if metrics.get(ms_name):
            metrics[name] = round(float(metrics[ms_name]) / calibration.ms, 2)


def _denominators(outcomes: list[dict[str, Any]]) -> dict[str, int]:
    answerable = sum(1 for o in outcomes if o["answerable"])
    unanswerable = len(outcomes) - answerable
    answered = sum(1 for o in outcomes if o["answerable"] and not o.get("abstained", False))
    return {
        "abstain_accuracy": unanswerable,
        "sentence_support": max(answered, 1),
        "unsupported_answer_rate": max(answered, 1),
        "citation_precision": max(answered, 1),
    } | {"_answerable": max(answerable, 1)}


def default_tolerances(run: dict[str, Any]) -> dict[str, float]:
    denominators = _denominators(run.get("outcomes", []))
    tolerances: dict[str, float] = {}
    for name, value in run["metrics"].items():
        if name in CALIBRATED:  # may double
            tolerances[name] = round(float(value), 2)
        elif is_latency(name):  # reported, never gated
            continue
        else:
            d = denominators.get(name, denominators["_answerable"])
            tolerances[name] = round(ALLOWED_FLIPS / max(d, 1) + 1e-6, 4)
    return tolerances


def save_baseline(run: dict[str, Any], path: Path) -> None:
    record = {
        "backend": run["backend"],
        "n": run["n"],
        "metrics": run["metrics"],
        "tolerances": default_tolerances(run),
        "outcomes": run.get("outcomes", []),
        "config": run.get("config", {}),
        **({"calibration": run["calibration"]} if "calibration" in run else {}),
        "created": run.get("created", ""),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")


def load_baseline(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        data["metrics"]
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"not a baseline file: {path} ({exc.__class__.__name__})") from exc
    return data


@dataclass(frozen=True, slots=True)
class Regression:
    metric: str
    baseline: float
    current: float
    tolerance: float


def compare(run: dict[str, Any], baseline: dict[str, Any], *,
            gate_latency: bool = False) -> tuple[list[Regression], list[str]]:
    """Quality metrics that got worse beyond tolerance, and lines describing questions that
    flipped. Latency in milliseconds is never compared. With `gate_latency`, the latencies in
    calibration units (CALIBRATED) are compared too; both the run and the baseline must have
    them, else UsageError says how to get them."""
    tolerances = {**default_tolerances(baseline), **baseline.get("tolerances", {})}
    gated = [name for name in baseline["metrics"] if not is_latency(name)]
    if gate_latency:
        missing = [where for where, r in (("this run", run), ("the baseline", baseline))
                   if not any(name in r["metrics"] for name in CALIBRATED)]
        if missing:
            raise UsageError(
                f"--gate-latency: {' and '.join(missing)} has no calibrated latency "
                f"({', '.join(CALIBRATED)}): it needs a run that answers questions (not "
                "--retrieval-only), and a baseline saved by such a run with --save-baseline")
        gated += [name for name in CALIBRATED if name in baseline["metrics"]]
    regressions = []
    for name in gated:
        old = baseline["metrics"][name]
        if name not in run["metrics"]:
            continue
        new = run["metrics"][name]
        tol = tolerances.get(name, 0.0)
        lower_is_better = name in LOWER_IS_BETTER or name in CALIBRATED
        worse = new - old > tol if lower_is_better else old - new > tol
        if worse:
            regressions.append(Regression(name, old, new, tol))
    return regressions, flips(run.get("outcomes", []), baseline.get("outcomes", []))


def _passed(o: dict[str, Any]) -> dict[str, bool]:
    out = {"retrieval": o.get("evidence_rank") is not None and o["evidence_rank"] <= 5} \
        if o["answerable"] else {}
    if "correct" in o:
        out["answer"] = bool(o["correct"])
    return out


def flips(current: list[dict[str, Any]], previous: list[dict[str, Any]]) -> list[str]:
    before = {o["id"]: _passed(o) for o in previous}
    lines = []
    for o in current:
        old = before.get(o["id"])
        if old is None:
            continue
        for what, ok in _passed(o).items():
            if what in old and old[what] != ok:
                lines.append(f"{o['id']} {what}: {'fail → pass' if ok else 'pass → FAIL'}")
    return lines
