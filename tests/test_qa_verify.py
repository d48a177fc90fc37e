"""Verification of an LLM draft against the passages it was given (scripted LLM, real index)."""

from __future__ import annotations

import re

import pytest
from fakes import ScriptedLLM, passage_blocks, squash

from index.sentences import split_sentences
from qa.evidence import citations_in

SIEMENS_Q = "How many boxes of computers was Siemens forced to recall?"
PERCHLORATE_Q = "How much potassium perchlorate did China ship to Iran?"
TONNES = "208 tonnes of potassium perchlorate"
TONNES_CLAIM = ("In 2008 the US confronted China over a shipment to Iran of 208 tonnes of "
                "potassium perchlorate")


def assert_well_formed(answer, retrieved) -> None:  # type: ignore[no-untyped-def]
    """Markers are 1..m, each names a citation, and every citation is a retrieved passage."""
    ns = [c.n for c in answer.citations]
    assert ns == list(range(1, len(ns) + 1))
    assert set(citations_in(answer.answer)) == set(ns)
    given_ids = {p.chunk_id for p in retrieved}
    for c in answer.citations:
        assert c.supported
        assert c.passage.chunk_id in given_ids


def holders(messages, needle: str) -> list[int]:  # type: ignore[no-untyped-def]
    return [n for n, text in passage_blocks(messages).items() if needle in text]


def test_invented_sentence_is_dropped_and_true_one_kept(make_assistant) -> None:
    fake = ScriptedLLM("Siemens was forced to recall 111 boxes of computers [1]. "
                       "Siemens paid a fine of 50 million dollars [1].")
    assistant = make_assistant(llm=fake)
    answer = assistant.ask(SIEMENS_Q)

    assert len(fake.prompts) == 1
    assert answer.mode == "draft" and not answer.abstained
    assert "111" in answer.answer
    assert "50 million" not in answer.answer and "fine" not in answer.answer
    assert answer.citations
    assert_well_formed(answer, assistant.search(answer.standalone_question))
    assert any("111 boxes of computers" in c.passage.text for c in answer.citations)
    unsupported = [c for c in answer.checks if not c.supported]
    assert len(answer.checks) == 2 and len(unsupported) == 1
    assert "50 million" in unsupported[0].text
    assert "50" in unsupported[0].reason  # the invented number is named


def test_wrong_number_falls_back_to_quoted_evidence(make_assistant) -> None:
    fake = ScriptedLLM("Siemens was forced to recall 112 boxes of computers [1].")
    answer = make_assistant(llm=fake).ask(SIEMENS_Q)

    assert answer.mode == "fallback" and not answer.abstained
    assert "111" in answer.answer and "112" not in answer.answer
    assert [c.supported for c in answer.checks] == [False]
    assert "112" in answer.checks[0].reason
    assert answer.citations and all(c.supported for c in answer.citations)
    # The fallback quotes the document verbatim: each sentence is inside its cited passage.
    for sentence in split_sentences(answer.answer):
        text = re.sub(r"\s*\[\d+\]", "", sentence).rstrip(".")
        cited = citations_in(sentence)
        assert cited and all(text in answer.citations[n - 1].passage.text for n in cited)


def test_a_date_made_of_figures_from_around_the_passage_is_not_supported(make_assistant) -> None:
    # "May" (the meeting on May 15) and "2008" (April 2008) are both in the passage; "May 2008"
    # is not, and the missiles were seized in April.
    fake = ScriptedLLM("The Chinese QW-1 missiles were seized in Basra in May 2008 [1].")
    answer = make_assistant(llm=fake).ask("When were the Chinese QW-1 missiles seized in Basra?")
    assert answer.mode == "fallback", answer.answer
    assert "April 2008" in answer.answer and "May 2008" not in answer.answer
    assert [c.supported for c in answer.checks] == [False]
    assert "May 2008" in answer.checks[0].reason


ALLIES_Q = ("With how many “key allies” did the US decide to share intelligence to push China on "
            "export controls?")
ALLIES = "share intelligence with eight “key allies”"
ALLIES_CLAIM = "The US decided to share intelligence with eight “key allies” including Spain and Italy"


def test_citation_is_renumbered_to_the_passage_that_holds_the_claim(make_assistant) -> None:
    chosen: dict[str, int] = {}

    def reply(messages) -> str:  # type: ignore[no-untyped-def]
        # Cite the last passage that holds the sentence: not passage 1 on this question.
        chosen["n"] = n = holders(messages, ALLIES)[-1]
        return f"{ALLIES_CLAIM} [{n}]."

    fake = ScriptedLLM(reply)
    # Gold q007: under reciprocal-rank fusion its evidence sits in the second-ranked passage, so
    # the model cites [2+] (retrieval is not under test here: the fusion is fixed for that).
    assistant = make_assistant(llm=fake, fusion="rrf")
    answer = assistant.ask(ALLIES_Q)

    n = chosen["n"]
    assert n > 1, "precondition: the sentence should sit in a passage other than [1]"
    assert answer.mode == "draft"
    assert answer.answer.endswith("[1].") and f"[{n}]" not in answer.answer
    assert len(answer.citations) == 1
    citation = answer.citations[0]
    assert citation.n == 1 and citation.supported
    assert ALLIES in citation.passage.text
    prompt_text = passage_blocks(fake.prompts[0])[n]
    # The very passage the model cited (the prompt shows its best sentences, "…" between).
    pieces = [piece.strip() for piece in prompt_text.split("…") if piece.strip()]
    assert pieces and all(piece in squash(citation.passage.text) for piece in pieces)
    # The support span points at the sentence inside the document.
    assert citation.support_start is not None and citation.support_end is not None
    assert citation.passage.start <= citation.support_start < citation.support_end <= citation.passage.end
    local = citation.passage.text[citation.support_start - citation.passage.start:
                                  citation.support_end - citation.passage.start]
    assert ALLIES in local


def test_two_sentences_map_to_their_own_passages(make_assistant) -> None:
    picked: dict[str, object] = {}

    def reply(messages) -> str:  # type: ignore[no-untyped-def]
        blocks = passage_blocks(messages)
        tonnes_n = holders(messages, TONNES)[-1]
        # A sentence found in exactly one other passage, quoted verbatim.
        for n in sorted(blocks, reverse=True):
            if n == tonnes_n:
                continue
            # ("…" marks where the prompt left out sentences of the passage.)
            for sentence in split_sentences(blocks[n].replace("…", " ")):
                unique = sum(sentence in text for text in blocks.values()) == 1
                if unique and len(sentence.split()) >= 8 and "[" not in sentence:
                    picked.update(other=sentence, other_n=n, tonnes_n=tonnes_n)
                    return f"{TONNES_CLAIM} [{tonnes_n}]. {sentence.rstrip('.')} [{n}]."
        raise AssertionError("no suitable second sentence in the prompt")

    answer = make_assistant(llm=ScriptedLLM(reply)).ask(PERCHLORATE_Q)

    assert answer.mode == "draft"
    assert [c.n for c in answer.citations] == [1, 2]
    assert re.search(r"potassium perchlorate \[1\]\.", answer.answer)
    assert answer.answer.endswith("[2].")
    assert TONNES in answer.citations[0].passage.text
    assert str(picked["other"]).rstrip(".") in squash(answer.citations[1].passage.text)
    assert TONNES not in answer.citations[1].passage.text


def test_citation_to_a_passage_not_given_is_repaired(make_assistant) -> None:
    fake = ScriptedLLM(f"{TONNES_CLAIM} [9].")
    assistant = make_assistant(llm=fake)
    answer = assistant.ask(PERCHLORATE_Q)

    given = passage_blocks(fake.prompts[0])
    assert 9 not in given
    assert "[9]" not in answer.answer
    assert answer.citations, answer
    assert_well_formed(answer, assistant.search(answer.standalone_question))
    assert all(TONNES in c.passage.text for c in answer.citations)
    assert "repaired" in answer.checks[0].reason


def test_citation_to_a_passage_not_given_is_never_kept(make_assistant) -> None:
    # A claim no given passage supports, cited to a passage that does not exist: dropped.
    fake = ScriptedLLM("Potassium perchlorate was shipped by an Iranian airline called Zagros Air [7].")
    assistant = make_assistant(llm=fake)
    answer = assistant.ask(PERCHLORATE_Q)

    assert "Zagros" not in answer.answer and "[7]" not in answer.answer
    assert answer.mode == "fallback"
    assert_well_formed(answer, assistant.search(answer.standalone_question))
    assert [c.supported for c in answer.checks] == [False]


def test_true_sentence_without_marker_gets_one(make_assistant) -> None:
    fake = ScriptedLLM(f"{TONNES_CLAIM}.")
    answer = make_assistant(llm=fake).ask(PERCHLORATE_Q)

    assert answer.mode == "draft"
    assert answer.answer == f"{TONNES_CLAIM} [1]."
    assert len(answer.citations) == 1 and TONNES in answer.citations[0].passage.text
    assert answer.checks[0].cited == [] and "repaired" in answer.checks[0].reason


def test_draft_that_echoes_its_prompt_keeps_only_the_claim(make_assistant) -> None:
    """What SmolLM2 writes for some gold questions: a document heading, the answer, then a copy of
    the prompt's fenced passages (the last one cut off) after a lead-in, and the answer again.
    The copied passages are not the model's claims, though each sentence in them is verbatim
    (here a true sentence about another matter): the kept answer states the claim once."""
    claim = "Siemens was forced to recall 111 boxes of computers"
    fake = ScriptedLLM(f"China-Iran Military Relations [2]\n\n{claim} [1].\n\n"
                       "The passage with the citations is:\n\n"
                       f'<passage n="1">\n{TONNES_CLAIM}.\n</passage>\n<passage n="2">\n'
                       f"{TONNES_CLAIM}.\n\nThe answer is:\n\n{claim} [1].")
    answer = make_assistant(llm=fake).ask(SIEMENS_Q)

    assert answer.mode == "draft"
    assert answer.answer.count("111 boxes") == 1
    assert "Military Relations" not in answer.answer and TONNES not in answer.answer
    assert "passage" not in answer.answer.lower()
    assert len(answer.citations) == 1
    assert [c.reason for c in answer.checks if not c.supported] == ["a heading, not a claim"]
    assert not any(TONNES in c.text for c in answer.checks)


@pytest.mark.parametrize("again", [
    "Siemens was forced to recall 111 boxes of computers [1].",
    # A small model's echo cut short is no new claim either.
    "Siemens was forced to recall 111 boxes [1].",
])
def test_a_sentence_said_twice_is_kept_once(make_assistant, again: str) -> None:
    claim = "Siemens was forced to recall 111 boxes of computers"
    answer = make_assistant(llm=ScriptedLLM(f"{claim} [1]. {again}")).ask(SIEMENS_Q)
    assert answer.mode == "draft" and answer.answer.count("111 boxes") == 1
    assert [c.reason for c in answer.checks if not c.supported] == ["repeats an earlier sentence"]


def test_a_quoted_heading_does_not_run_into_the_next_quote() -> None:
    """A heading quoted as evidence has no full stop: rendered as it stands, it and the next quote
    read back as one sentence citing two passages, which the support check then fails."""
    from index.models import Passage
    from qa.verify import KeptSentence, _pieces, render

    heading = "SUBJECT: BRAZIL DECLINES GUANTANAMO MIGRANTS"
    body = "The GOB still contends that it cannot accept Guantanamo migrants."
    passages = [Passage(source=f"{i}.txt", doc_id=str(i), start=0, end=len(t), text=t, score=1.0)
                for i, t in enumerate((heading, body))]
    text, citations = render([KeptSentence(heading, [0]), KeptSentence(body, [1])], passages)
    pieces = _pieces(text)
    assert len(pieces) == 2, text
    assert [citations_in(p) for p in pieces] == [[1], [2]]
    assert heading in pieces[0] and body.rstrip(".") in pieces[1]
    assert [c.passage.source for c in citations] == ["0.txt", "1.txt"]


def test_the_highlighted_support_covers_adjacent_quotes_of_one_passage() -> None:
    from index.models import Passage
    from qa.evidence import SentenceEvidence
    from qa.verify import KeptSentence, render

    text = ("All plants ran at full capacity, Sato said. The exceptions were the Kenyan operation "
            "and the Ohio plant. Toyota will not hire this year. Exports will stay flat.")
    passage = Passage(source="w.txt", doc_id="w", start=1000, end=1000 + len(text), text=text,
                      score=1.0)

    def quote(sentence: str) -> KeptSentence:
        at = text.index(sentence)
        ev = SentenceEvidence(0, at, at + len(sentence), sentence)
        return KeptSentence(sentence, [0], evidence={0: ev})

    first, sequel, far = ("All plants ran at full capacity, Sato said.",
                          "The exceptions were the Kenyan operation and the Ohio plant.",
                          "Exports will stay flat.")
    _, citations = render([quote(first), quote(sequel)], [passage])
    c = citations[0]
    assert (c.support_start, c.support_end) == (1000, 1000 + text.index(sequel) + len(sequel))
    # A sentence further on does not stretch the highlight over the text between.
    _, citations = render([quote(first), quote(far)], [passage])
    assert (citations[0].support_start, citations[0].support_end) == (1000, 1000 + len(first))


def test_a_drafts_preamble_is_not_part_of_the_answer(make_assistant) -> None:
    draft = "The answer is: Siemens was forced to recall 111 boxes of computers [1]."
    answer = make_assistant(llm=ScriptedLLM(draft)).ask(SIEMENS_Q)
    assert answer.mode == "draft"
    assert answer.answer.startswith("Siemens was forced to recall 111 boxes"), answer.answer
