"""End to end with the real Qwen2.5-1.5B model (the default backend) on the sample index: the few
tests that show the model reading, judging and being checked. ~15 s each on 2 cores."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.llm, pytest.mark.timeout(600)]

PARAPHRASE = ("Which European computer company had to take back hardware it sold to a firm tied to "
              "Tehran's atomic program?")


@pytest.fixture(scope="module")
def qwen():  # type: ignore[no-untyped-def]
    from core.settings import Settings
    from qa.llm import make_llm

    return make_llm(Settings(llm="qwen"))


def test_a_paraphrase_the_rules_miss_is_answered_with_a_verified_citation(make_assistant, qwen) -> None:
    rules = make_assistant().ask(PARAPHRASE)
    answer = make_assistant(qwen).ask(PARAPHRASE)
    assert rules.abstained  # the evidence engine alone cannot read the paraphrase
    assert not answer.abstained and "Siemens" in answer.answer and answer.reader == "llm"
    assert answer.citations and all(c.supported for c in answer.citations)
    assert answer.citations[0].passage.source.startswith("000_e290e26eed46899f")


def test_an_unanswerable_question_with_an_on_topic_passage_is_declined(make_assistant, qwen) -> None:
    q = "What price did Iran pay for the potassium perchlorate shipment?"
    answer = make_assistant(qwen).ask(q)
    assert answer.abstained, answer.answer
    # The on-topic passage was retrieved and is offered to check.
    assert any("perchlorate" in p.text for p in answer.closest)


def test_the_judge_tells_an_answer_from_a_true_sentence_that_does_not_answer(make_assistant, qwen) -> None:
    from qa.judge import Judge

    assistant = make_assistant(qwen)
    q = "How many boxes of computers was Siemens forced to recall?"
    passages = assistant.search(q)
    judge = Judge(qwen)
    right = judge.run(q, passages, "Siemens was forced to recall 111 boxes of computers.")
    wrong = judge.run(q, passages, "In 2008 the US confronted China over a shipment to Iran of 208 "
                                   "tonnes of potassium perchlorate.")
    assert right > 0.5 > wrong, (right, wrong)


def test_a_factoid_answer_states_the_figure_and_nothing_unrelated(make_assistant, qwen) -> None:
    answer = make_assistant(qwen).ask("How many boxes of computers was Siemens forced to recall?")
    assert not answer.abstained and "111" in answer.answer
    assert all("Siemens" in c.passage.text for c in answer.citations)


def test_a_committed_reading_gives_an_answer_where_the_model_would_decline(make_assistant, qwen) -> None:
    from qa.prompting import NOT_FOUND
    from qa.readers import LLMReader

    assistant = make_assistant(qwen)
    q = "What price did Iran pay for the potassium perchlorate shipment?"
    passages = assistant.search(q)
    rules = assistant._rule_reader().run(q, q, passages)
    reader = LLMReader(qwen, passages=4, sentences=3, max_tokens=60, bare_answers=True)
    committed = reader.committed_reader()
    assert committed is not None
    draft = "".join(committed.stream(q, rules))
    # With its decline banned the model must say something; what it says is then verified and
    # weighed like any draft (here there is no price to find, so whatever it says is no answer).
    assert draft.strip() and NOT_FOUND not in draft.upper()


def test_the_decline_is_weighed_and_can_be_banned(qwen) -> None:
    from index.models import Passage
    from qa.prompting import READER_SYSTEM, build_messages

    text = ("The freighter Aurora carried 12 containers of maize from Durban to Mombasa in May. "
            "Its crew were not paid for the voyage.")
    passage = Passage(source="a.txt", doc_id="a", start=0, end=len(text), text=text, score=1.0,
                      title="AURORA DELIVERS MAIZE", date="2009-05-20")
    answerable = build_messages("How many containers of maize did the Aurora carry?", [passage],
                                READER_SYSTEM)
    missing = build_messages("What was the name of the Aurora's captain?", [passage],
                             READER_SYSTEM)
    assert qwen.first_token_share(answerable, ["NOT"]) < 0.5 < qwen.first_token_share(missing, ["NOT"])
    # Banned, the decline cannot open the reply.
    reply = "".join(qwen.stream_banning(missing, max_tokens=40, banned=["NOT"]))
    assert not reply.upper().startswith("NOT"), reply
