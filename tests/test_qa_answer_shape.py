"""What kind of answer a question wants, where in the document it may sit, and when a verified
draft is still no answer (real embedder; scripted LLM where the LLM is not under test)."""

from __future__ import annotations

import pytest
from fakes import ScriptedLLM

from qa.answer_type import adds_information, expected_type
from qa.assistant import AbstainPolicy, typed_candidates
from qa.evidence import EvidenceContext


@pytest.mark.parametrize(("question", "kind"), [
    ("Which Chinese Foreign Ministry official did the US embassy political officer meet?", "person"),
    ("Which Chinese official said he had received copies of the photographs?", "person"),
    # "what did a … official say" asks what was said, not who said it.
    ("The US pressed China; what did a Chinese official say Beijing had done about MANPADS?", None),
    ("What amount of Belt and Road funding was associated with Iraq?", "money"),
    ("What number of troops joined the mission?", "quantity"),
    ("In what year had the company previously been attacked?", "date"),
])
def test_expected_answer_type(question: str, kind: str | None) -> None:
    assert expected_type(question) == kind


def test_restating_the_question_adds_no_information() -> None:
    q = "Which Iranian rocket-propelled grenades were found to contain Chinese-made base detonators?"
    assert not adds_information(
        "The Iranian rocket-propelled grenades were found to contain Chinese-made base detonators [1].", q)
    assert adds_information("RPG-7 grenades seized in Basra contained them [1].", q)


JEDDAH = ("Houthi rebels in Yemen are launching Iranian missiles and drones. The latest attack took "
          "place at Saudi Aramco’s Jeddah oil depot in late March.")
SAME_COMPANY = ("This is the same company that was attacked in 2019, forcing China to pay an "
                "additional 97.97 million a day when Brent crude prices hit record highs.")
JEDDAH_Q = ("In what year had the company whose Jeddah oil depot was attacked in late March "
            "previously been attacked?")


def _context(embedder, origins):  # type: ignore[no-untyped-def]
    from index.keyword import tokenize

    def idf(term: str) -> float:
        return 1.0 if term in set(tokenize(JEDDAH_Q)) else 0.5

    return EvidenceContext(JEDDAH_Q, [JEDDAH, SAME_COMPANY], embedder.encode, idf, origins)


def test_answer_in_the_next_chunk_of_the_same_document_is_found(embedder) -> None:
    """Chunk boundaries fall between sentences: the date the question wants is in the sentence
    right after the one that matches it, which sits in the next chunk."""
    ctx = _context(embedder, [("doc", 0), ("doc", len(JEDDAH) + 1)])
    ranked = ctx.ranked_sentences()
    assert "Jeddah" in ranked[0][1].text
    found = typed_candidates(ranked, "date", JEDDAH_Q, AbstainPolicy(0.5), ctx)
    quoted = [s.text for _, s in found]
    assert any("2019" in t for t in quoted)
    # Quoted as two sentences, each from (and citing) its own chunk, in document order.
    assert [s.passage for _, s in found[:2]] == [0, 1]


def test_the_same_sentences_in_two_documents_are_not_neighbours(embedder) -> None:
    ctx = _context(embedder, [("doc-a", 0), ("doc-b", len(JEDDAH) + 1)])
    found = typed_candidates(ctx.ranked_sentences(), "date", JEDDAH_Q, AbstainPolicy(0.5), ctx)
    assert found == []


def test_draft_that_only_restates_the_question_falls_back_to_a_quote(make_assistant) -> None:
    question = "Which Iranian rocket-propelled grenades were found to contain Chinese-made base detonators?"
    restated = "The Iranian rocket-propelled grenades were found to contain Chinese-made base detonators [1]."
    fake = ScriptedLLM(restated)
    answer = make_assistant(llm=fake).ask(question)
    assert fake.prompts, "the LLM was asked"
    assert answer.mode == "fallback" and not answer.abstained
    assert "PG-7-AT1" in answer.answer  # the quoted evidence names them; the draft did not
