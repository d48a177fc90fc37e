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
                   "unsupported_answer_rate", "open_declined_rate"}


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
    if gold.open:
        return _open_outcome(gold, result, retrieved, out)
    rank = evidence_rank(retrieved[:10], gold.evidence) if gold.answerable else None
    out["evidence_rank"] = rank
    if result is None:
        return out
    abstained = bool(result.get("abstained"))
    out["abstained"] = abstained
    if gold.answerable:
        out["correct"] = not abstained and contains_answer(result.get("answer", ""), gold.answers)
        out["f1"] = 0.0 if abstained else token_f1(result.get("answer", ""), gold.answers)
        _citations_and_support(gold, result, out)
        out["cited_evidence"] = evidence_rank(result.get("citations", []), gold.evidence) is not None
    else:
        out["correct"] = abstained
    return out


def _open_outcome(gold: GoldQuestion, result: dict[str, Any] | None,
                  retrieved: Sequence[dict[str, Any]], out: dict[str, Any]) -> dict[str, Any]:
    """An open question: how many of its key points the retrieved passages hold, and how many a
    supported sentence of the answer states (one of the point's strings in that sentence)."""
    points = gold.key_points
    out["open"] = True
    out["key_points"] = len(points)
    out["key_points_retrieved"] = sum(
        1 for p in points if p.evidence and evidence_rank(retrieved[:10], [p.evidence]) is not None)
    if result is None:
        return out
    abstained = bool(result.get("abstained"))
    out["abstained"] = abstained
    sentences = [] if abstained else result.get("supported_sentences")
    if sentences is None:  # an eval file from before supported sentences were recorded
        sentences = [result.get("answer", "")]
    found = sum(1 for p in points if any(contains_answer(s, p.answers) for s in sentences))
    out["key_points_found"] = found
    _citations_and_support(gold, result, out)
    # "Right" for the flip report: three quarters of the points, the open-question target.
    out["correct"] = abstained if not gold.answerable else bool(points) and found / len(points) >= 0.75
    return out


def _citations_and_support(gold: GoldQuestion, result: dict[str, Any], out: dict[str, Any]) -> None:
    """How many citations, how many from a gold source; how many sentences, how many supported."""
    cites = result.get("citations", [])
    sources = {_basename(s) for s in gold.sources}
    out["citations"] = len(cites)
    out["citations_right_source"] = sum(1 for c in cites if _basename(c.get("source", "")) in sources)
    checks = result.get("sentence_checks", [])
    out["sentences"] = len(checks)
    out["supported_sentences"] = sum(1 for c in checks if c)


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def compute(outcomes: Sequence[dict[str, Any]], latencies_ms: Sequence[float]) -> dict[str, float]:
    """Factoid metrics over answerable questions with `answers`; open questions (key points) get
    their own metrics, so a set of either kind, or a mix, is scored without one diluting the other."""
    open_qs = [o for o in outcomes if o.get("open") and o["answerable"]]
    answerable = [o for o in outcomes if o["answerable"] and not o.get("open")]
    unanswerable = [o for o in outcomes if not o["answerable"]]
    ranks = [o["evidence_rank"] for o in answerable]

    def share(values: Sequence[bool]) -> float:
        return round(sum(values) / len(values), 4) if values else 0.0

    def ratio(num: float, den: float) -> float:
        return round(num / den, 4) if den else 0.0

    metrics: dict[str, float] = {}
    if answerable or not open_qs:
        metrics.update({
            "evidence_hit@1": share([r is not None and r <= 1 for r in ranks]),
            "evidence_hit@5": share([r is not None and r <= 5 for r in ranks]),
            "evidence_mrr": round(float(np.mean([1 / r if r else 0.0 for r in ranks])), 4)
            if ranks else 0.0,
        })
    if open_qs:
        metrics["key_point_evidence_recall@10"] = ratio(
            sum(o["key_points_retrieved"] for o in open_qs), sum(o["key_points"] for o in open_qs))
    if not any("abstained" in o for o in outcomes):
        return metrics  # retrieval-only run
    if answerable or not open_qs:
        answered = [o for o in answerable if not o["abstained"]]
        metrics.update({
            "answer_accuracy": share([o["correct"] for o in answerable]),
            "answer_token_f1": round(float(np.mean([o["f1"] for o in answerable])), 4)
            if answerable else 0.0,
            "citation_precision": ratio(sum(o["citations_right_source"] for o in answerable),
                                        sum(o["citations"] for o in answerable)),
            "citation_evidence_recall": share([o["cited_evidence"] for o in answerable]),
            "sentence_support": ratio(sum(o["supported_sentences"] for o in answered),
                                      sum(o["sentences"] for o in answered)),
            "unsupported_answer_rate": share(
                [o["supported_sentences"] < o["sentences"] for o in answered]),
            "false_abstain_rate": share([o["abstained"] for o in answerable]),
        })
    if open_qs:
        answered = [o for o in open_qs if not o["abstained"]]
        metrics.update({
            "key_point_recall": round(float(np.mean(
                [o["key_points_found"] / o["key_points"] for o in open_qs if o["key_points"]])), 4),
            "open_citation_precision": ratio(sum(o["citations_right_source"] for o in open_qs),
                                             sum(o["citations"] for o in open_qs)),
            "open_sentence_support": ratio(sum(o["supported_sentences"] for o in answered),
                                           sum(o["sentences"] for o in answered)),
            "open_declined_rate": share([o["abstained"] for o in open_qs]),
        })
    metrics.update({
        "abstain_accuracy": share([o["abstained"] for o in unanswerable]),
        "latency_p50_ms": round(float(np.percentile(latencies_ms, 50)), 1) if latencies_ms else 0.0,
        "latency_p95_ms": round(float(np.percentile(latencies_ms, 95)), 1) if latencies_ms else 0.0,
    })
    return metrics
