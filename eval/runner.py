"""Run gold questions through the real pipeline and score them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from core.settings import Settings
from qa import Assistant

from .gold import GoldQuestion
from .metrics import compute, question_outcome

RETRIEVED_K = 10


def run_eval(
    questions: Sequence[GoldQuestion],
    settings: Settings,
    *,
    assistant: Assistant | None = None,
    retrieval_only: bool = False,
    verify: bool = True,
    k: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Returns the contract's `eval --json` object (plus `outcomes` and run metadata)."""
    assistant = assistant or Assistant(settings, use_llm=not retrieval_only, verify=verify)
    per_question: list[dict[str, Any]] = []
    outcomes: list[dict[str, Any]] = []
    latencies: list[float] = []
    for i, gold in enumerate(questions, 1):
        retrieved = [p.contract() for p in assistant.search(gold.question, k=RETRIEVED_K)]
        result: dict[str, Any] | None = None
        if not retrieval_only:
            started = time.perf_counter()
            answer = assistant.ask(gold.question, k=k)
            latencies.append((time.perf_counter() - started) * 1000)
            result = answer.contract()
            checks = assistant.check_answer(answer)
            result["sentence_checks"] = [c.supported for c in checks]
            # Key points count only in sentences the verifier supports (open questions).
            result["supported_sentences"] = [c.text for c in checks if c.supported]
        per_question.append({"id": gold.id, "question": gold.question, "result": result,
                             "retrieved": retrieved})
        outcomes.append(question_outcome(gold, result, retrieved))
        if progress:
            progress(i, len(questions))
    backend = "retrieval-only" if retrieval_only else assistant.backend
    if not retrieval_only and not verify:
        backend += "-unverified"
    return {
        "n": len(questions),
        "backend": backend,
        "metrics": compute(outcomes, latencies),
        "per_question": per_question,
        "outcomes": outcomes,
        "config": {
            "k": k or settings.k,
            "fusion": settings.fusion,
            "chunk_tokens": settings.chunk_tokens,
            "chunk_overlap_tokens": settings.chunk_overlap_tokens,
            "embed_model": settings.embed_model,
            "abstain_strictness": settings.abstain_strictness,
        },
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
