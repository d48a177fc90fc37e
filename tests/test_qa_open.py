"""Open questions (lists, comparisons, summaries, definitions) on the real sample index: the
real embedder, Chroma and BM25; a scripted LLM where the model is not under test."""

from __future__ import annotations

import re

import pytest
from fakes import ScriptedLLM, passage_blocks, squash

from qa.open_questions import OpenKind, open_kind

WIKILEAKS = "000_e290e26eed46899f"  # the Guardian's WikiLeaks article: Siemens, Sofradir
THINK_TANK = "003_96d8c7cf5974db9e"  # the analysis naming Rowan Running Network
COMPANIES = ("Which companies are named in the documents in connection with goods or technology "
             "that reached Iran?")


@pytest.mark.parametrize("question, kind", [
    (COMPANIES, OpenKind.LIST),
    ("Summarize the examples of Chinese-made weapons that were seized from insurgents in Iraq",
     OpenKind.SUMMARY),
    ("Compare what the WikiLeaks article and the Beijing cable say about the QW-1 missiles",
     OpenKind.COMPARE),
    ("What is the QW-1?", OpenKind.DEFINITION),
    ("Why is Baghdad reluctant to have foreign combat forces deployed inside Iraq?", OpenKind.WHY),
    ("What did the State Department say about arms going to Iran?", OpenKind.SUMMARY),
])
def test_open_questions_are_recognised(question: str, kind: OpenKind) -> None:
    assert open_kind(question) == kind


@pytest.mark.parametrize("question", [
    "How many boxes of computers was Siemens forced to recall?",
    "What is the name of the French firm that sold infrared detectors?",
    "When did the US confront China over the potassium perchlorate shipment?",
    "Who is the author of the cable from Beijing?",
    "What is the population of Tehran?",
])
def test_factoids_stay_factoids(question: str) -> None:
    assert open_kind(question) is None


def _sources(answer) -> set[str]:  # type: ignore[no-untyped-def]
    return {c.passage.source.split(".")[0] for c in answer.citations}


def test_the_extractive_answer_to_a_list_question_is_cited_points_from_several_documents(
        make_assistant) -> None:
    answer = make_assistant().ask(COMPANIES)
    assert not answer.abstained and answer.open_kind == "list" and answer.reader == "rules"
    assert any(name in answer.answer for name in
               ("Rowan Running Network", "Centrifuge Technology Company", "Siemens", "Sofradir"))
    assert len(_sources(answer)) >= 2
    # One point a line, each cited and each citation confirmed.
    lines = answer.answer.splitlines()
    assert len(lines) >= 3 and all(line.startswith("- ") and re.search(r"\[\d+\]", line)
                                   for line in lines)
    assert all(c.supported for c in answer.citations)


def test_a_which_companies_question_lists_the_named_ones_from_two_documents(make_assistant) -> None:
    """The gatherer puts each document's company sentences in front of the model (Siemens sits
    below the topical sentences by relevance); the model lists them, the verifier keeps them."""
    companies = {
        "Siemens was forced to recall": "Siemens had to recall 111 boxes of computers it had sold "
                                        "to a Chinese company linked to Iran's nuclear programme",
        "Rowan Running": "The US Treasury approved the sale of Chinese Rowan Running Network "
                         "technology to an Iranian Defense Ministry-affiliated entity",
        "Sofradir selling": "Sofradir sold infrared detectors to a Chinese firm whose thermal "
                            "imaging systems were sold on to Iran"}

    def reply(messages) -> str:  # type: ignore[no-untyped-def]
        lines = []
        for n, text in passage_blocks(messages).items():
            for needle, sentence in companies.items():
                if needle in squash(text):
                    lines.append(f"- {sentence} [{n}].")
        return "\n".join(lines) or "NOT IN DOCUMENTS"

    answer = make_assistant(ScriptedLLM(reply)).ask(COMPANIES)
    assert answer.reader == "llm"
    assert "Siemens" in answer.answer and "Rowan Running Network" in answer.answer
    assert {WIKILEAKS, THINK_TANK} <= _sources(answer)
    assert all(c.supported for c in answer.citations)


def test_the_extractive_list_has_no_near_duplicate_quotes(make_assistant) -> None:
    from qa.verify import repeats

    answer = make_assistant().ask(
        "Summarize the examples of Chinese-made weapons that were seized from insurgents in Iraq")
    assert not answer.abstained
    points = [re.sub(r"\s*\[\d+\]", "", line[2:]) for line in answer.answer.splitlines()]
    assert len(points) >= 2
    for i, a in enumerate(points):
        for b in points[i + 1:]:
            assert not repeats(a, b) and not repeats(b, a), (a, b)
            words_a, words_b = set(a.lower().split()), set(b.lower().split())
            assert len(words_a & words_b) / min(len(words_a), len(words_b)) < 0.8, (a, b)


def test_a_comparison_cites_both_documents(make_assistant) -> None:
    answer = make_assistant().ask(
        "Compare what the WikiLeaks article and the Beijing cable say about the QW-1 missiles")
    assert not answer.abstained and answer.open_kind == "compare"
    assert len(_sources(answer)) >= 2, answer.answer
    assert WIKILEAKS in _sources(answer)
    assert all("QW-1" in c.passage.text or "MANPADS" in c.passage.text for c in answer.citations)


def test_a_summary_by_the_llm_has_every_sentence_supported(make_assistant) -> None:
    """The model's points are verified one by one: an invented one is dropped, the true ones stand,
    and the gathered quotes the model left out are kept after its points."""

    def reply(messages) -> str:  # type: ignore[no-untyped-def]
        blocks = passage_blocks(messages)
        n = next(n for n, text in blocks.items() if "Siemens" in squash(text))
        m = next(n for n, text in blocks.items() if "Rowan Running" in squash(text))
        return (f"- Siemens had to recall 111 boxes of computers sold to a Chinese company linked to "
                f"Iran's nuclear programme [{n}].\n"
                f"- The US Treasury approved the sale of Rowan Running Network technology for "
                f"navigation and guidance systems to an Iranian Defense Ministry-affiliated entity [{m}].\n"
                f"- Airbus sold 40 helicopters to Tehran in 2007 [{n}].")

    llm = ScriptedLLM(reply)
    answer = make_assistant(llm).ask(COMPANIES)
    assert answer.reader == "llm" and answer.mode == "draft"
    assert "Siemens" in answer.answer and "Rowan Running Network" in answer.answer
    assert "Airbus" not in answer.answer
    assert any("Airbus" in c.text and not c.supported for c in answer.checks)
    # The model was given the gathered points' passages, and the open-question instructions.
    assert "several points" in llm.last_system
    assert answer.citations and all(c.supported for c in answer.citations)
    # Every sentence of the final answer is supported when checked again, as the eval suite does.
    checks = make_assistant(llm).check_answer(answer)
    assert checks and all(c.supported for c in checks), [c for c in checks if not c.supported]


def test_an_open_question_off_the_documents_topic_is_declined(make_assistant) -> None:
    llm = ScriptedLLM("NOT IN DOCUMENTS")
    answer = make_assistant(llm).ask("Summarize the history of the Norwegian salmon farming industry")
    assert answer.abstained and answer.reader == "none"
    assert llm.prompts == []  # nothing on the topic was gathered: the model was not asked


def test_the_quotes_come_first_then_the_llm_answer(make_assistant) -> None:
    llm = ScriptedLLM("NOT IN DOCUMENTS")
    events = list(make_assistant(llm).ask_stream(COMPANIES))
    kinds = [e.kind for e in events if e.kind != "token"]
    assert kinds == ["quote", "answer"]
    assert events[0].answer.mode == "quote" and events[0].answer.answer.startswith("- ")
    # The model found nothing to add: the gathered quotes are the answer.
    final = events[-1].answer
    assert final.reader == "rules" and final.answer == events[0].answer.answer


def test_an_open_question_about_a_name_the_collection_never_mentions_is_declined(
        make_assistant) -> None:
    """The passages on Chinese firms supplying Iran are close in meaning, but no document names
    the firm asked about: the model is not asked and no on-topic quote stands in for an answer."""
    llm = ScriptedLLM("- Zhuhai Zhenrong is a Chinese state oil trader [1].")
    answer = make_assistant(llm).ask(
        "What is the Chinese state oil trader Zhuhai Zhenrong, and what part did it play in "
        "supplying refined fuel to Iran?")
    assert answer.abstained and answer.reader == "none"
    assert "Zhenrong" in answer.why and llm.prompts == []


def test_a_list_may_be_bare_names_each_in_its_cited_passage(make_assistant) -> None:
    """"- Rowan Running Network [n]" is a list item, not a heading; a name the cited passage does
    not hold is dropped like any unsupported claim."""

    def reply(messages) -> str:  # type: ignore[no-untyped-def]
        blocks = passage_blocks(messages)
        rowan = next(n for n, text in blocks.items() if "Rowan Running" in squash(text))
        return (f"- Rowan Running Network [{rowan}]\n- Centrifuge Technology Company [{rowan}]\n"
                f"- Huawei Technologies Company [{rowan}]")

    answer = make_assistant(ScriptedLLM(reply)).ask(COMPANIES)
    assert answer.reader == "llm"
    assert "Rowan Running Network" in answer.answer and "Centrifuge Technology Company" in answer.answer
    assert "Huawei" not in answer.answer
    checks = make_assistant().check_answer(answer)
    assert checks and all(c.supported for c in checks)
