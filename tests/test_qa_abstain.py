"""Abstention on questions the corpus cannot answer, and follow-up questions in a conversation."""

from __future__ import annotations

import pytest
from fakes import ScriptedLLM

from qa import ABSTAIN_TEXT, Turn
from qa.answer_type import elsewhere, mentions_anonymously, satisfies
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


@pytest.mark.parametrize(("sentence", "question", "anonymous"), [
    ("It had sold them to a Chinese company linked to Iran’s nuclear programme.",
     "Which Chinese company bought the computers?", True),
    ("It sold them to a Chinese company, Huawei, last year.", "Which Chinese company bought them?", False),
    ("Sinopec, a Chinese company, invested in the refinery.", "Which company invested?", False),
    # The question's own context is not the thing it asks for.
    ("The French firm Sofradir sold infrared detectors to a Chinese firm.",
     "Which French firm sold infrared detectors to a Chinese firm?", False),
    ("An official said so.", "How many boxes were recalled?", False),
])
def test_anonymous_mentions(sentence: str, question: str, anonymous: bool) -> None:
    assert mentions_anonymously(sentence, question) is anonymous


@pytest.mark.parametrize(("kind", "sentence", "question", "ok"), [
    ("date", "The exercise was held in January 2022.", "On what date was the exercise held?", False),
    ("date", "They met on May 15.", "On what date did they meet?", True),
    ("date", "Published: 2/2/2011 10:34:01 AM GMT", "On what date was it published?", True),
    ("date", "The exercise was held in January 2022.", "When was the exercise held?", True),
    ("person", "PolOff met Deputy Director Wang Daxue.", "Who was Secretary of Defense in 2008?", False),
    ("person", "China offered help, according to Ibrahim Jafari, Iraq’s foreign minister.",
     "Who is the Iraqi foreign minister who said China offered help?", True),
])
def test_answer_type_details(kind: str, sentence: str, question: str, ok: bool) -> None:
    assert satisfies(kind, sentence, question) is ok


@pytest.mark.parametrize("question", [
    # The documents say "a Chinese company" and never name it.
    "Which Chinese company did Siemens sell the recalled computers to?",
    # No document names any Secretary of Defense.
    "Who was US Secretary of Defense when Siemens recalled the computers?",
])
def test_abstains_when_the_documents_do_not_name_it(make_assistant, question: str) -> None:
    answer = make_assistant().ask(question)
    assert answer.abstained, answer.answer


def test_names_in_the_question_context_do_not_cause_abstention(make_assistant) -> None:
    answer = make_assistant().ask("Which French firm sold infrared detectors to a Chinese firm?")
    assert not answer.abstained and "Sofradir" in answer.answer


@pytest.mark.parametrize(("sentence", "question", "other_place"), [
    ("A battalion of 700 Chinese troops is now joining UN Peacekeepers in South Sudan.",
     "How many Chinese troops serve with the UN peacekeepers in Lebanon?", True),
    ("A battalion of 700 Chinese troops is now joining UN Peacekeepers in South Sudan.",
     "How many Chinese troops are joining UN peacekeepers in South Sudan?", False),
    ("PolOff shared photographs of QW-1 missiles seized in Basra, Iraq in April 2008.",
     "When were the QW-1 missiles seized in Iraq?", False),
    ("The shipment was seized in March.", "How many boxes were seized in Iraq?", False),
])
def test_a_figure_placed_elsewhere(sentence: str, question: str, other_place: bool) -> None:
    assert elsewhere(sentence, question) is other_place


def test_a_figure_about_another_place_is_no_answer(make_assistant) -> None:
    assistant = make_assistant()
    there = assistant.ask("How many Chinese troops are joining UN peacekeepers in South Sudan?")
    assert "700" in there.answer
    answer = assistant.ask("How many Chinese troops serve with the UN peacekeepers in Lebanon?")
    assert answer.abstained, answer.answer
