"""The tiny bundled backend: the SmolLM2 GGUF through llama.cpp, in process, streaming."""

from __future__ import annotations

import pytest

from qa.evidence import citations_in

# Small enough to keep the weak 135M model fast on a shared CPU.
LEAN = {"llm_context_passages": 2, "llm_max_tokens": 48}


@pytest.mark.llm
def test_local_backend_streams_a_verified_answer(make_assistant, gold_questions) -> None:
    pytest.importorskip("llama_cpp")
    gold = next(g for g in gold_questions if g.id == "q001")
    assistant = make_assistant(llm="local", **LEAN)
    events = list(assistant.ask_stream(gold.question))

    kinds = [e.kind for e in events]
    assert kinds[-1] == "answer" and kinds.count("answer") == 1
    assert "token" in kinds[:-1], "no streamed piece before the final answer"
    answer = events[-1].answer
    assert answer is not None
    assert answer.backend == "local"
    assert answer.draft == "".join(e.text for e in events if e.kind == "token")

    # Whatever the weak model wrote, what reaches the user is verified.
    assert not answer.abstained and answer.mode in {"draft", "fallback"}
    assert answer.citations and all(c.supported for c in answer.citations)
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert set(citations_in(answer.answer)) == {c.n for c in answer.citations}
    assert all(check.supported for check in assistant.check_answer(answer))

    timings = answer.timings_ms
    assert set(timings) >= {"retrieve", "generate", "total"}
    assert timings["generate"] > 0
    assert timings["total"] >= timings["retrieve"] + timings["generate"] - 1
