"""Metrics over per-question results, exactly as defined in docs/contracts.md (plus a few)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from .gold import GoldQuestion

# Higher is better unless listed here.
LOWER_IS_BETTER = {"false_abstain_rate", "latency_p50_ms", "latency_p95_ms",
                   "unsupported_answer_rate"}


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def _ws(text: str) -> str:
    return " ".join(text.split())


def contains_answer(answer: str, answers: Sequence[str]) -> bool:
    norm = f" {normalise(answer)} "
    return any(f" {normalise(a)} " in norm for a in answers if normalise(a))


def token_f1(answer: str, answers: Sequence[str]) -> float:
    pred = normalise(answer).split()
    best = 0.0
    for gold in answers:
        ref = normalise(gold).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if common:
            p, r = common / len(pred), common / len(ref)
            best = max(best, 2 * p * r / (p + r))
    return best


def evidence_rank(passages: Sequence[dict[str, Any]], evidence: Sequence[str]) -> int | None:
    """1-based rank of the first passage containing a gold evidence string (whitespace-normalised)."""
    wanted = [_ws(e) for e in evidence if e.strip()]
    for rank, p in enumerate(passages, 1):
        text = _ws(str(p.get("text", "")))
        if any(e in text for e in wanted):
            return rank
    return None


def question_outcome(gold: GoldQuestion, result: dict[str, Any] | None,
                     retrieved: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per-question booleans used by the metrics and by the baseline's flip report."""
    out: dict[str, Any] = {"id": gold.id, "answerable": gold.answerable}
    rank = evidence_rank(retrieved[:10], gold.evidence) if gold.answerable else None
    out["evidence_rank"] = rank
    if result is None:
        return out
    abstained = bool(result.get("abstained"))
    out["abstained"] = abstained
    if gold.answerable:
        out["correct"] = not abstained and contains_answer(result.get("answer", ""), gold.answers)
        out["f1"] = 0.0 if abstained else token_f1(result.get("answer", ""), gold.answers)
        cites = result.get("citations", [])
        out["citations"] = len(cites)
        out["citations_right_source"] = sum(
            1 for c in cites if _basename(c.get("source", "")) in {_basename(s) for s in gold.sources}
        )
        out["cited_evidence"] = evidence_rank(cites, gold.evidence) is not None
        checks = result.get("sentence_checks", [])
        out["sentences"] = len(checks)
        out["supported_sentences"] = sum(1 for c in checks if c)
    else:
        out["correct"] = abstained
    return out


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def compute(outcomes: Sequence[dict[str, Any]], latencies_ms: Sequence[float]) -> dict[str, float]:
    answerable = [o for o in outcomes if o["answerable"]]
    unanswerable = [o for o in outcomes if not o["answerable"]]
    ranks = [o["evidence_rank"] for o in answerable]

    def share(values: Sequence[bool]) -> float:
        return round(sum(values) / len(values), 4) if values else 0.0

    metrics: dict[str, float] = {
        "evidence_hit@1": share([r is not None and r <= 1 for r in ranks]),
        "evidence_hit@5": share([r is not None and r <= 5 for r in ranks]),
        "evidence_mrr": round(float(np.mean([1 / r if r else 0.0 for r in ranks])), 4)
        if ranks else 0.0,
    }
    if not any("abstained" in o for o in outcomes):
        return metrics  # retrieval-only run
    answered = [o for o in answerable if not o["abstained"]]
    n_cites = sum(o["citations"] for o in answerable)
    n_sentences = sum(o["sentences"] for o in answered)
    metrics.update({
        "answer_accuracy": share([o["correct"] for o in answerable]),
        "answer_token_f1": round(float(np.mean([o["f1"] for o in answerable])), 4)
        if answerable else 0.0,
        "citation_precision": round(sum(o["citations_right_source"] for o in answerable) / n_cites, 4)
        if n_cites else 0.0,
        "citation_evidence_recall": share([o["cited_evidence"] for o in answerable]),
        "sentence_support": round(sum(o["supported_sentences"] for o in answered) / n_sentences, 4)
        if n_sentences else 0.0,
        "unsupported_answer_rate": share(
            [o["supported_sentences"] < o["sentences"] for o in answered]),
        "abstain_accuracy": share([o["abstained"] for o in unanswerable]),
        "false_abstain_rate": share([o["abstained"] for o in answerable]),
        "latency_p50_ms": round(float(np.percentile(latencies_ms, 50)), 1) if latencies_ms else 0.0,
        "latency_p95_ms": round(float(np.percentile(latencies_ms, 95)), 1) if latencies_ms else 0.0,
    })
    return metrics
