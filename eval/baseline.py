"""The regression gate: compare a run with a saved baseline, metric by metric.

Tolerances live in the baseline file. By default a rate may drop by two questions' worth of
its denominator (so one flaky question on a 60-question set is not a regression, two are), and
a latency may double; a baseline file can set any tolerance explicitly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import UsageError

from .metrics import LOWER_IS_BETTER

ALLOWED_FLIPS = 2


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
        if name.startswith("latency"):
            tolerances[name] = round(max(float(value), 250.0), 1)
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


def compare(run: dict[str, Any], baseline: dict[str, Any]) -> tuple[list[Regression], list[str]]:
    """Metrics that got worse beyond tolerance, and lines describing questions that flipped."""
    tolerances = {**default_tolerances(baseline), **baseline.get("tolerances", {})}
    regressions = []
    for name, old in baseline["metrics"].items():
        if name not in run["metrics"]:
            continue
        new = run["metrics"][name]
        tol = tolerances.get(name, 0.0)
        worse = new - old > tol if name in LOWER_IS_BETTER else old - new > tol
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
