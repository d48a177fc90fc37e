"""What kind of answer a question wants, where in the document it may sit, and when a verified
draft is still no answer (real embedder; scripted LLM where the LLM is not under test)."""

from __future__ import annotations

import pytest
from fakes import ScriptedLLM

from qa.answer_type import adds_information, bare_surnames, expected_type, full_name
from qa.candidates import AbstainPolicy, typed_candidates
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

    from index.models import Passage

    passages = [Passage(source=f"{doc}.txt", doc_id=doc, start=start, end=start + len(text),
                        text=text, score=1.0)
                for (doc, start), text in zip(origins, [JEDDAH, SAME_COMPANY], strict=True)]
    return EvidenceContext(JEDDAH_Q, passages, embedder.encode, idf)


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


def test_the_same_year_is_the_year_an_earlier_sentence_gives(make_assistant) -> None:
    """"Later the same year … Siemens was forced to recall …" names no year; the year is two
    sentences back ("In April 2009 …"). Both are quoted, each with its marker."""
    answer = make_assistant().ask("In what year was Siemens forced to recall the computers it had "
                                  "sold to a Chinese company?")
    assert not answer.abstained, answer.answer
    assert "2009" in answer.answer and "Later the same year" in answer.answer
    assert answer.answer.index("2009") < answer.answer.index("Later the same year")
    assert {c.passage.source[:3] for c in answer.citations} == {"000"}


@pytest.mark.parametrize(("sentence", "surnames"), [
    ("(S/NF) Wang said he had received a copy of the photographs.", ["Wang"]),
    ("In their meeting, Mr Wang had told Mr Jafari China backed Iraq, Mr Hong said.",
     ["Wang", "Jafari", "Hong"]),
    ("China understands U.S. concerns and takes this issue seriously, he said.", []),
    ("Deputy Director Wang Daxue said so.", []),
])
def test_people_named_by_one_word(sentence: str, surnames: list[str]) -> None:
    assert bare_surnames(sentence) == surnames


def test_full_name_skips_titles() -> None:
    assert full_name("Wang", "MFA Deputy Director Wang Daxue on May 15") == "Wang Daxue"
    assert full_name("Hong", "Hong Lei, a foreign ministry spokesman, would not comment") == "Hong Lei"
    assert full_name("Hong", "training, Mr Hong said.") is None


def test_a_speaker_named_by_surname_is_given_with_the_full_name(make_assistant) -> None:
    """"Mr Hong said" answers who said it, but only the document's earlier "Hong Lei, a foreign
    ministry spokesman" says who Mr Hong is; Wang and Jafari are in the question, so not him."""
    answer = make_assistant().ask("Which Chinese foreign ministry spokesman said Wang had told "
                                  "Jafari that China backed Iraq’s anti-terror efforts?")
    assert "Mr Hong said" in answer.answer and "Hong Lei" in answer.answer
    assert "Wang Yi" not in answer.answer


def test_a_date_in_the_chunk_retrieval_did_not_bring_is_found(make_assistant) -> None:
    """The matching sentence ends its chunk; the year is in the first sentence of the next one,
    which is not among the passages retrieved: that chunk is fetched and quoted. (Document
    evidence off: by default it lifts that next chunk of the leading document into the top 5.)"""
    assistant = make_assistant(document_weight=0.0)
    question = JEDDAH_Q
    assert not any("2019" in p.text for p in assistant.search(question))
    for answer in (assistant.ask(question), make_assistant().ask(question)):
        assert not answer.abstained and "2019" in answer.answer
        cited = [c.passage for c in answer.citations if "2019" in c.passage.text]
        assert cited and cited[0].source.startswith("003")


def test_prompt_passages_are_cut_to_their_best_sentences(embedder) -> None:
    """A focused prompt keeps each passage's numbering and its best sentences verbatim, in
    document order, with "…" where text was left out; 0 keeps passages whole."""
    from index.models import Passage
    from qa.prompting import focus_passages

    texts = [JEDDAH + " " + SAME_COMPANY, "Iran and China signed a 25-year deal. It was in 2021."]
    passages = [Passage(source=f"{i}.txt", doc_id=str(i), start=0, end=len(t), text=t, score=1.0)
                for i, t in enumerate(texts)]
    ctx = EvidenceContext(JEDDAH_Q, texts, embedder.encode, lambda t: 1.0)
    ranked = ctx.ranked_sentences()
    assert focus_passages(passages, ranked, 0) == passages
    one = focus_passages(passages, ranked, 1)
    assert [p.source for p in one] == ["0.txt", "1.txt"]
    best_first = next(s.text for _, s in ranked if s.passage == 0)
    assert one[0].text.replace("…", "").strip() == best_first.strip()
    assert "…" in one[0].text
    two = focus_passages(passages, ranked, 2)
    # Both sentences of passage 1, in their order, nothing left out between them.
    assert two[1].text == texts[1]


def test_draft_pinning_a_figure_from_another_sentence_falls_back(make_assistant) -> None:
    """"2021" is in the passage (the Belt and Road sentence) but not in any sentence that may
    answer; a draft dating the earlier attack to 2021 passes the passage-level check and is
    still not kept."""
    fake = ScriptedLLM("The company whose Jeddah oil depot was attacked in late March was "
                       "previously attacked in 2021 [1].")
    answer = make_assistant(llm=fake).ask(JEDDAH_Q)
    assert fake.prompts, "the LLM was asked"
    assert answer.mode == "fallback", answer.answer
    assert "2021" not in answer.answer and "2019" in answer.answer
    assert any(c.supported for c in answer.checks), "the draft sentence passed the passage check"


# A wire whose best-matching sentence leaves what is asked ("the exceptions") to the next one.
_PLANTS = """TOYOTA SAYS PLANTS RUNNING AT FULL CAPACITY
Date: 12-MAR-1987 10:02:11.00

    All of Toyota's Japanese plants and most of its overseas
assembly lines were currently running at full capacity, board
member Kenji Sato told reporters in Nagoya. The exceptions were
the Kenyan assembly operation and the Ohio truck plant.
    Sato said Toyota did not plan to hire more workers this year,
and that the company expected car exports to stay flat.
"""


def test_the_sentence_after_the_best_one_is_quoted_when_it_goes_on_to_the_question(
        tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    from test_qa_abstain import _IRAQ, _wires_assistant

    assistant = _wires_assistant(tmp_path, embedder, {"plants.txt": _PLANTS, "iraq.txt": _IRAQ})
    answer = assistant.ask("According to Toyota board member Kenji Sato in March 1987, which "
                           "production sites were the exceptions to running at full capacity?")
    assert not answer.abstained
    # The best sentence first, then the one it leads to, both quoted from the wire.
    assert answer.answer.index("full capacity") < answer.answer.index("Kenyan assembly operation")
    assert {c.passage.source for c in answer.citations} == {"plants.txt"}
    # Both sentences are highlighted as the support, the one holding the answer included.
    cited = answer.citations[0]
    assert cited.support_start is not None and cited.support_end is not None
    span = cited.passage.text[cited.support_start - cited.passage.start:
                              cited.support_end - cited.passage.start]
    assert "full capacity" in span and "Ohio truck plant" in span


def test_a_sequel_takes_no_runner_up_place() -> None:
    from qa.evidence import SentenceEvidence
    from qa.extractive import extractive_sentences

    best, runner_up, sequel, weak = (SentenceEvidence(0, 0, 1, t) for t in ("Best.", "Close.",
                                                                            "Next.", "Weak."))
    ranked = [(1.0, best), (0.95, runner_up), (0.5, weak)]
    quoted = [k.text for k in extractive_sentences(ranked, sequel, max_sentences=2)]
    assert quoted == ["Best.", "Next.", "Close."]
    assert [k.text for k in extractive_sentences(ranked, max_sentences=2)] == ["Best.", "Close."]
    # A sequel that is the runner-up anyway is quoted once, and lets no weaker sentence in.
    quoted = [k.text for k in extractive_sentences([(1.0, best), (0.95, runner_up), (0.92, weak)],
                                                   runner_up, max_sentences=2)]
    assert quoted == ["Best.", "Close."]
    # Sentences far below the best are never quoted, however many may be.
    assert [k.text for k in extractive_sentences(ranked)] == ["Best.", "Close."]


_CABLE = """TURKMENISTAN/IRAN: WEAPONS FOUND HIDDEN IN IRANIAN EMBASSY SHIPMENT
Reference ID: 09ASHGABAT210
Created: 2009-02-18 10:15
Classification: SECRET//NOFORN
Origin: Embassy Ashgabat

E.O. 12958: DECL: 02/18/2019
TAGS: PARM PREL TX IR
SUBJECT: TURKMENISTAN/IRAN: WEAPONS FOUND HIDDEN IN IRANIAN
EMBASSY SHIPMENT

1. (S/NF) Turkmen customs officials at the Farap border post opened a diplomatic shipment
bound for the Iranian Embassy in Ashgabat. Officials said the crates were declared as
furniture for the embassy residence. The Iranian Embassy protested the inspection.
"""


def test_a_title_repeated_as_the_subject_line_is_quoted_once(tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    """A cable's title comes back as its SUBJECT line (wrapped): one quote, not the same words
    twice, and the place it held goes to the next best sentence."""
    from test_qa_abstain import _IRAQ, _wires_assistant

    assistant = _wires_assistant(tmp_path, embedder, {"cable.txt": _CABLE, "iraq.txt": _IRAQ})
    answer = assistant.ask("Were weapons found hidden in an Iranian embassy shipment in Turkmenistan?")
    assert not answer.abstained
    assert answer.answer.upper().count("WEAPONS FOUND HIDDEN IN IRANIAN") == 1, answer.answer


def test_a_quote_already_said_is_not_repeated() -> None:
    from qa.evidence import SentenceEvidence
    from qa.extractive import extractive_sentences

    title, subject, cut, whole, other = (SentenceEvidence(i, 0, 1, t) for i, t in enumerate((
        "BRAZIL DECLINES GUANTANAMO MIGRANTS", "SUBJECT: BRAZIL DECLINES GUANTANAMO\nMIGRANTS",
        "The GOB says it cannot accept the migrants under UN Security Council Resolution",
        "The GOB says it cannot accept the migrants under UN Security Council Resolution (UNSCR) 1737.",
        "Brazil has no refugee law for people outside its territory.")))
    ranked = [(1.0, title), (0.99, subject), (0.98, whole), (0.97, cut), (0.96, other)]
    assert [k.text for k in extractive_sentences(ranked)] == [title.text, whole.text, other.text]


_NEGOTIATING = """NEGOTIATING WITH PERSIANS
Reference ID: 79TEHRAN8980
Created: 1979-08-13 12:00
Classification: SECRET
Origin: Embassy Tehran

SUBJECT: NEGOTIATING WITH PERSIANS

1. (S) Recent dealings of the embassy with the new authorities, from compound security to
visa work, show several features of doing business in this environment.
2. (S) Perhaps the single dominant aspect of the Persian psyche is an overriding egoism,
which leaves little room for understanding the other side's position.
"""


def test_a_cables_header_fields_are_no_answer(tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    """"Origin: Embassy Tehran" matches a question about the US Embassy in Tehran better than any
    sentence does, and answers nothing."""
    from test_qa_abstain import _IRAQ, _wires_assistant

    assistant = _wires_assistant(tmp_path, embedder, {"cable.txt": _NEGOTIATING, "iraq.txt": _IRAQ})
    trait = assistant.ask("In its August 1979 cable, what did the US Embassy in Tehran name as the "
                          "chief trait of the Persian psyche?")
    assert not trait.abstained and "egoism" in trait.answer, trait.answer
    assert "Origin:" not in trait.answer and "Reference ID" not in trait.answer


def test_header_fields() -> None:
    from qa.candidates import _header_field

    assert _header_field("Origin: Embassy Tehran", None)
    assert _header_field("TAGS: PREL IR", "name")
    assert _header_field("Created: 1979-08-13 12:00", None)
    assert not _header_field("Created: 1979-08-13 12:00", "date")  # a date asked for
    assert not _header_field("Classified By: Ambassador Clark Randt", "person")
    assert not _header_field("Dates of the visit were set in May.", None)


_WAGYU = """JAPAN FARM MINISTRY PLANS
Date: 18-MAR-1987 04:12:31.00

    Japan's agriculture ministry outlined its livestock plans
on Wednesday. Under the plan, the standard or bottom price of
castrated wagyu will be set at 1,370 yen per kilo for 1987/88
against 1,400 now, and the ceiling at 1,780 yen against 1,820,
officials said. Pork import quotas are to stay unchanged.
"""


def test_a_draft_dropping_the_quotes_figure_falls_back(tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    """A small model's draft can rest on the very sentence the quote gives and still leave out
    its answer: every figure the quote adds to the question must be in a kept draft."""
    from test_qa_abstain import _IRAQ, _wires_assistant

    from qa import Assistant

    question = "What standard price per kilo did Japan plan to set for castrated wagyu beef for 1987/88?"
    settings = _wires_assistant(tmp_path, embedder, {"wagyu.txt": _WAGYU, "iraq.txt": _IRAQ}).settings
    garbled = ScriptedLLM("The standard or bottom price of castrated wagyu will be set for 1987/88 "
                          "against 1,400 now, and the ceiling at 1,780 yen against 1,820 [1].")
    answer = Assistant(settings, llm=garbled, embedder=embedder).ask(question)
    assert garbled.prompts and answer.mode == "fallback", answer.answer
    assert "1,370 yen" in answer.answer
    whole = ScriptedLLM("The standard or bottom price of castrated wagyu will be set at 1,370 yen "
                        "per kilo for 1987/88 against 1,400 now, and the ceiling at 1,780 yen "
                        "against 1,820 [1].")
    kept = Assistant(settings, llm=whole, embedder=embedder).ask(question)
    assert kept.mode == "draft" and "1,370 yen" in kept.answer, kept.answer


_HYDRO = """CANADA BOARD DENIES HYDRO-QUEBEC EXPORT BID
Date: 12-JUN-1987 15:20:41.00

    Canada's National Energy Board has denied an application by
Quebec-owned Hydro-Quebec to export about three billion Canadian
dlrs worth of electricity to the New England states, a board
spokeswoman told Reuters. The utility had sought a ten-year
contract with a group of New England power companies. Board
spokeswoman Denise Sicotte said the board rejected the application
after hearings because the utility did not offer the power first to
Canadian provinces. Hydro-Quebec officials said they would study
the decision.
"""


def test_a_why_question_gets_the_sentence_giving_the_reason(tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    from test_qa_abstain import _IRAQ, _wires_assistant

    assistant = _wires_assistant(tmp_path, embedder, {"hydro.txt": _HYDRO, "iraq.txt": _IRAQ})
    answer = assistant.ask("Why did Canada's National Energy Board turn down Hydro-Quebec's "
                           "application to export electricity to the New England states?")
    assert not answer.abstained
    assert "because the utility did not offer the power first" in answer.answer, answer.answer
    # After the sentence that best matches the question, not in its place.
    assert answer.answer.index("has denied") < answer.answer.index("because")
