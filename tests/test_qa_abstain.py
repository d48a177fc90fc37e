"""Abstention on questions the corpus cannot answer, and follow-up questions in a conversation."""

from __future__ import annotations

import pytest
from fakes import ScriptedLLM

from qa import ABSTAIN_TEXT, Turn
from qa.condense import condense, is_follow_up

OUT_OF_CORPUS = [
    "What is the maximum range of the QW-1 surface-to-air missile?",  # on topic, not in the text
    "What is the capital of Australia?",  # off topic
]
PERCHLORATE_Q = "How much potassium perchlorate did China ship to Iran?"


@pytest.mark.parametrize("question", OUT_OF_CORPUS)
def test_extractive_abstains_on_out_of_corpus_questions(make_assistant, question: str) -> None:
    answer = make_assistant().ask(question)
    assert answer.abstained, answer.answer
    assert answer.mode == "abstained"
    assert answer.answer == ABSTAIN_TEXT
    assert "documents do not contain the answer" in answer.answer
    assert answer.citations == []
    assert answer.closest and all(p.text for p in answer.closest)
    assert answer.contract()["abstained"] is True and answer.contract()["citations"] == []


def test_llm_is_not_called_when_abstaining(make_assistant) -> None:
    fake = ScriptedLLM("The capital of Australia is Canberra [1].")
    events = list(make_assistant(llm=fake).ask_stream(OUT_OF_CORPUS[1]))
    assert fake.prompts == []
    assert [e.kind for e in events] == ["answer"]
    answer = events[0].answer
    assert answer is not None and answer.abstained and "Canberra" not in answer.answer
    assert answer.backend == "scripted"


# -- follow-up condensation ---------------------------------------------------------------------


@pytest.mark.parametrize("question", [
    "and when was that?",
    "And who sold it?",
    "what about Siemens?",
    "When was that?",
    "Where is it?",
])
def test_follow_ups_are_recognised(question: str) -> None:
    assert is_follow_up(question)


@pytest.mark.parametrize("question", [
    PERCHLORATE_Q,
    "Which French company sold infrared detectors to a Chinese firm?",
    # A pronoun, but the question says enough on its own.
    "Which official said that China tightened its export controls of MANPADS?",
])
def test_standalone_questions_are_left_alone(question: str) -> None:
    assert not is_follow_up(question)
    history = [Turn(question="Who is Wang Daxue?", standalone="Who is Wang Daxue?", answer="x")]
    assert condense(f"  {question} ", history) == question


def test_condense_joins_the_previous_standalone_question() -> None:
    assert condense(" and when was that? ", []) == "and when was that?"
    first = Turn(question="How much did they ship?", standalone=PERCHLORATE_Q, answer="208 tonnes")
    assert condense("and when was that?", [first]) == (
        f"and when was that? (follow-up to: {PERCHLORATE_Q})")
    # Without a standalone form, the previous question itself; only the last turn counts.
    earlier = Turn(question="Who is Wang Daxue?")
    bare = Turn(question="  What did Siemens recall? ")
    assert condense("and why?", [earlier, bare]) == "and why? (follow-up to: What did Siemens recall?)"


def test_follow_up_question_is_answered_from_the_conversation(make_assistant) -> None:
    assistant = make_assistant()
    first = assistant.ask(PERCHLORATE_Q)
    assert not first.abstained and "208" in first.answer
    history = [Turn(question=PERCHLORATE_Q, standalone=first.standalone_question, answer=first.answer)]

    second = assistant.ask("and when was that?", history=history)
    assert PERCHLORATE_Q in second.standalone_question
    assert second.question == "and when was that?"
    assert not second.abstained
    assert "2008" in second.answer
    assert second.citations and all(c.supported for c in second.citations)
