"""Abstention on questions the corpus cannot answer, and follow-up questions in a conversation."""

from __future__ import annotations

import pytest
from fakes import ScriptedLLM

from qa import ABSTAIN_TEXT, Turn
from qa.answer_type import (
    about,
    elsewhere,
    expected_type,
    mentions_anonymously,
    qualified_as_asked,
    satisfies,
    speaks_of_asked,
    tells_of_event,
)
from qa.condense import condense, is_follow_up
from qa.timeframe import dated_as_asked

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
    # An amount of money is not a count of barrels.
    ("quantity", "Pakistan asked for help when oil was about $147/barrel.",
     "How many barrels per day of Saudi crude did Pakistan receive?", False),
    # People are counted as individuals, residents, citizens too.
    ("quantity", "The ministry revoked the passports of 24 individuals.",
     "How many people had their passports revoked?", True),
    ("quantity", "The ministry revoked 24 passports last year.",
     "How many people had their passports revoked?", False),
    ("quantity", "Saudi Arabia supplies an average 115,000 barrels per day.",
     "How many barrels per day does Saudi Arabia supply?", True),
    ("money", "Petrobras cancelled a 40 mln dlr crude oil purchase.",
     "How much was the cancelled crude purchase worth?", True),
    ("percent", "The bonds carried interest at five pct.",
     "What rate of interest did the bonds carry?", True),
    ("percent", "The bonds were issued in 1911 by the Qing dynasty.",
     "What rate of interest did the bonds carry?", False),
    # "…, Demir said" tells who said it, not who owns the company.
    ("person", "SOM Petrol has entered into a joint venture with Iran, Demir said.",
     "Who owns SOM Petrol?", False),
    ("person", "SOM Petrol has entered into a joint venture with Iran, Energy Minister Hilmi Guler said.",
     "Who said SOM Petrol had entered a joint venture with Iran?", True),
    # A nationality and a noun, or a title-case heading, is not a person.
    ("person", "Concerns focused on the service's popularity among Chinese Internet users.",
     "Which Google executive announced that Google might leave China?", False),
    ("person", "PRC Sees USG and Google Working Together",
     "Which Google executive announced that Google might leave China?", False),
    ("person", "PolOff met Deputy Director Wang Daxue on May 15.", "Whom did PolOff meet?", True),
    ("person", "The talks went well, Wang said.", "Who said the talks went well?", True),
    # The question's own company, misspelt in the document, and bare company suffixes (PLC,
    # Inc) name no other company; a new one does.
    ("name", "Printing and Communicaton Corp PLC said it sued Harcourt Brace Jovanovich Inc.",
     "Which bank was named in British Printing and Communication Corp's suit against Harcourt "
     "Brace Jovanovich?",
     False),
    ("name", "The suit, filed in Manhattan, also names First Boston Corp.",
     "Which bank was named in British Printing and Communication Corp's suit against Harcourt "
     "Brace Jovanovich?",
     True),
    # A cable heading in capitals dates the event; a mayor with a "von" in his name is a person.
    ("date", "ASSASSINATION AUGUST 13 OF HEAD OF PRISONS BRIGADIER GENERAL SAID TAHERI",
     "On what date in 1972 was the head of Iran's prisons assassinated?", True),
    ("person", "(C) Hamburg Mayor Ole von Beust (CDU) told Ambassador today that he had met Merkel.",
     "Which Hamburg mayor told the US ambassador that Merkel was furious?", True),
    # The day of a date counts nothing; "how many did he leave" leaves the things counted to
    # the clause before it.
    ("quantity", "The meeting was March 19.",
     "How many meetings did Hague hold with the embassy?", False),
    ("quantity", "Bouteflika made a conscious decision to leave 16 seats vacant.",
     "Of the Senate seats, how many did Bouteflika deliberately leave empty?", True),
    ("quantity", "Police killed the leader of the raid on March 3.",
     "How many were killed in the raid?", False),
    # The day in a month the question names is what "on what day in August" asks; it is no
    # answer to "by what year".
    ("date", "Sarkozy called Syrian President Assad August 5 to ask for his help.",
     "On what day in August 2009 did Sarkozy telephone Assad?", True),
    ("date", "Wexler met MG Amos Yadlin on Sunday 10 May 2009.",
     "In his May 2009 meeting, by what year did Yadlin say Iran could build a bomb?", False),
    # "No funds" answers "how much money".
    ("money", "The Iran desk said France had not budgeted any funds for democracy promotion.",
     "How much money had France set aside for democracy in Iran?", True),
    ("money", "The Iran desk did not say.",
     "How much money had France set aside for democracy in Iran?", False),
    # "Two weeks ago" counts no suspects; a span of time counts only when time is counted.
    ("quantity", "IN ISFAHAN A NUMBER OF SUSPECTS WERE ARRESTED TWO WEEKS AGO.",
     "How many suspects were arrested in Isfahan?", False),
    ("quantity", "Police in Isfahan arrested 12 suspects two weeks ago.",
     "How many suspects were arrested in Isfahan?", True),
    ("quantity", "Iran waited five years before it joined the SCO.",
     "How many years did Iran wait before entering the SCO?", True),
    # A length of time, not a point in it nor the same length the question gives.
    ("duration", "Mugabe engaged the Ambassador in a 45-minute discussion.",
     "How long did Mugabe talk with the ambassador?", True),
    ("duration", "The offer would have to remain open for 60 business days.",
     "How long would a tender offer have to remain open?", True),
    ("duration", "The war ended on June 24, two years ago.",
     "How long did the war between Iran and Israel last?", False),
    ("duration", "After the 12-day war, Iran rebuilt its air defences.",
     "What did Iran do after the 12-day war?", False),
    # A cable paragraph's number, classification and label are no names: "(SBU) Summary: Since
    # Dmitriy…" names no one new; a speaker right after them still is one.
    ("person", "(SBU) Summary: Since Dmitriy Medvedev's election, Svetlana Medvedeva has kept a "
     "low profile.", "What is the name of the son of Dmitriy and Svetlana Medvedev?", False),
    ("name", "(C/NF) Summary: Since Dmitriy Medvedev's election, Svetlana Medvedeva has kept a "
     "low profile.", "From which institute did Svetlana Medvedeva, wife of Dmitriy Medvedev, "
     "graduate?", False),
    ("person", "2. (S/NF) Wang said he had received a copy of the photographs.",
     "Which Chinese official said he had received copies of the photographs?", True),
    # A withheld name ("XXXXXXXXXXXX" in a cable) names no one.
    ("person", "Qadhafi cannot travel without his senior Ukrainian nurse, Galyna XXXXXXXXXXXX.",
     "What is the surname of Galyna, Qadhafi's senior Ukrainian nurse?", False),
    ("person", "Qadhafi cannot travel without his senior Ukrainian nurse, Galyna Kolotnytska.",
     "What is the surname of Galyna, Qadhafi's senior Ukrainian nurse?", True),
    ("name", "The rifles would come from the Bulgarian consignee XXXXXXXXXXXX in 2010.",
     "Which Bulgarian company supplied the rifles?", False),
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


@pytest.mark.parametrize(("document", "question", "ok"), [
    ("Houthi rebels in Yemen are launching Iranian missiles.",
     "Which Yemeni insurgent movement is firing Iranian-made rockets?", True),
    ("Shia militants fired Iranian rockets at Coalition forces.",
     "Which Yemeni insurgent movement is firing Iranian-made rockets?", False),
    ("The Labuan subsidiary of Bank Mellat.", "It belonged to which Iranian bank?", False),
    # A relative "which" joins a clause: Washington is no qualifier of the flight number.
    ("Flight IR-112 from Pyongyang.", "What flight number was given, for which Washington asked "
     "governments to deny overflight?", True),
    # The United States goes by too many names to demand one.
    ("The American agency took the filing.", "With which US agency did Citicorp file?", True),
    ("Anything.", "What did the minister say?", True),
])
def test_the_name_qualifying_the_thing_asked(document: str, question: str, ok: bool) -> None:
    assert qualified_as_asked(document, question) is ok


def test_an_answer_from_a_document_speaking_of_the_qualifier_is_preferred(make_assistant) -> None:
    # The Guardian piece on Chinese arms quotes Iranian rockets fired by Iraqi militants and
    # scores a little higher; only the other article speaks of Yemen and its Houthi rebels.
    answer = make_assistant().ask("Which Yemeni insurgent movement is firing Iranian-made "
                                  "rockets and unmanned aircraft at Gulf states?")
    assert "Houthi" in answer.answer
    assert {c.passage.source for c in answer.citations} == {"003_96d8c7cf5974db9e.txt"}


@pytest.mark.parametrize(("question", "kind"), [
    ("What price did Venezuela agree to pay Iran for the drones?", "money"),
    ("What rate of interest did the 1911 railway bonds carry?", "percent"),
    ("By what percentage did exports fall?", "percent"),
    ("Which Google executive announced that Google might leave China?", "person"),
    ("Who owns SOM Petrol?", "person"),
    ("Which Yemeni insurgent movement is firing rockets at Gulf states?", "name"),
    ("What is the name of the Bulgarian company that supplied the rifles?", "name"),
    ("What ransom did the pirates demand for the ship?", "money"),
    ("What was the dollar value of the contract?", "money"),
    ("What was the approximate value of the arms sale?", "money"),
    ("How much in deposits was withdrawn from the bank?", "money"),
    ("How much in damages would Ecolab receive from ChemLawn?", "money"),
    ("What level of oil production was Norway expected to reach?", "quantity"),
    ("What level of threat did the embassy see?", None),
    ("How much money did Hague say scrapping the card scheme would save?", "money"),
    # A name asked for outright: a person's, or another's.
    ("What was the name of the motorist who drove into the motorcade?", "person"),
    ("What was the name of the operation?", "name"),
    ("At which college did the Fed governor give his speech?", "name"),
    ("Which relative of Kim Jong-il would be a strong rival to Kim Jong-un?", "person"),
    ("During his trip to Sangin, how far past the base was the governor allowed to go?", "measure"),
    ("What is the surname of Galyna, Qadhafi's senior Ukrainian nurse?", "person"),
    # "How long": a time, unless it is the length of a thing; "how deep" a measure.
    ("How deep underground is the tunnel complex near Qom?", "measure"),
    ("How long is the new runway at Bagram?", "measure"),
    ("How long did Mugabe talk with the ambassador?", "duration"),
    ("Under the bill, how long would a tender offer have to remain open?", "duration"),
    # The size of a deficit: a share of GDP is a percentage, a debt an amount of money.
    ("How large was Venezuela's budget deficit as a share of GDP?", "percent"),
    ("What share of the vote did Nahles predict the SPD would win?", "percent"),
    ("How large was Australia's foreign debt in March 1987?", "money"),
    # A verb phrase, not a noun the question wants named.
    ("What did the company say about the recall?", None),
    ("What kind of metal goods have Chinese firms provided?", None),
])
def test_question_kinds(question: str, kind: str | None) -> None:
    assert expected_type(question) == kind


@pytest.mark.parametrize(("evidence", "question", "ok"), [
    ("ExxonMobil may develop three million barrels per day of future Iraqi oil production.",
     "How many barrels per day of Saudi crude did Pakistan receive?", False),
    ("Houthi rebels in Yemen are launching Iranian missiles and drones.",
     "Which Yemeni insurgent movement is firing Iranian-made rockets?", True),
    ("China abandoned the Maoist goal of exporting revolution.",
     "Which Mao-era aim did Beijing drop?", True),
    ("Any sentence at all.", "how many boxes were recalled?", True),  # no names asked: no test
])
def test_an_answer_speaks_of_the_names_the_question_gives(evidence: str, question: str, ok: bool) -> None:
    assert about(evidence, question) is ok


# Two hard-wrapped newswire items: Pakistan's Saudi oil facility (no volume given) and Iraq's
# oil contracts (a volume in barrels per day). The volume answers a question about Iraq only.
_PAKISTAN = """SAUDI OIL FACILITY FOR PAKISTAN STALLS
Date: 12-APR-2008 10:00:00.00

    Pakistan's finance ministry said negotiations with Saudi
Arabia on a deferred-payment oil facility had still not been
concluded. Finance adviser Shams told the embassy that Pakistan
had requested the assistance when oil was about $147/barrel,
and that the facility would ease pressure on reserves.
    The ministry expects the Saudi facility to be signed within
weeks, Shams said, but gave no figure for its volume.
"""
_IRAQ = """IRAQ AWARDS OIL CONTRACTS
Date: 13-DEC-2009 09:00:00.00

    No U.S. companies were awarded contracts in the second bid
round; however, ExxonMobil and Occidental won contracts in the
first round that may allow them to develop nearly three million
barrels per day of future Iraqi oil production.
"""


def _wires_assistant(tmp_path, embedder, wires: dict[str, str]):  # type: ignore[no-untyped-def]
    """An extractive assistant over a folder of the given wires, indexed with the real embedder."""
    from core.settings import Settings
    from index.ingest import ingest
    from qa import Assistant

    folder = tmp_path / "wires"
    folder.mkdir()
    for name, text in wires.items():
        (folder / name).write_text(text)
    settings = Settings(home=tmp_path / "home", llm="extractive")
    ingest([folder], settings, embedder=embedder)
    return Assistant(settings, embedder=embedder, use_llm=False)


@pytest.mark.parametrize(("evidence", "date", "question", "ok"), [
    # A month the question names: in the evidence, or when the document was written (or after).
    ("OPEC kept the ceiling agreed Saturday.", "29-JUN-1987 07:12:17.89",
     "What output ceiling did OPEC agree at its December 1987 conference?", False),
    ("OPEC kept the ceiling agreed Saturday.", "29-JUN-1987 07:12:17.89",
     "What output ceiling did OPEC agree at its June 1987 conference?", True),
    ("OPEC kept the ceiling agreed Saturday.", "2009-07-02 08:00",
     "What did OPEC agree in June 2009?", True),  # the month after: a report of last week
    ("At its Dec. 12 meeting OPEC kept the ceiling.", "",
     "What output ceiling did OPEC agree in December?", True),
    ("OPEC kept the ceiling.", "", "What output ceiling did OPEC agree in December?", True),
    ("Exports may rise.", "12-MAR-1987", "What did exports do in May 1987?", False),
    # Theresa May is no month.
    ("The prime minister rejected the plan.", "2019-03-12",
     "What did Theresa May say about the plan?", True),
    # Nothing after the document was written, unless the question asks what was planned.
    ("Depositors withdrew $600 million.", "2009-10-08 12:00",
     "How much was withdrawn from Kabul Bank during the 2010 run?", False),
    ("Depositors withdrew $600 million.", "2010-10-08 12:00",
     "How much was withdrawn from Kabul Bank during the 2010 run?", True),
    ("The deal would ship rifles in the first part of 2010.", "150945Z NOV 09",
     "When was the deal expected to ship rifles in 2010?", True),
    ("The deal ships rifles.", "150945Z NOV 09", "How many rifles did the 2010 deal ship?", False),
    # The text outranks the date found for the document (it may be a date the text quotes).
    ("In 2010 the deal shipped 3,000 rifles.", "12 March 2008",
     "How many rifles did the 2010 deal ship?", True),
])
def test_evidence_from_the_time_the_question_asks_about(evidence: str, date: str, question: str,
                                                        ok: bool) -> None:
    assert dated_as_asked(evidence, date, question) is ok


@pytest.mark.parametrize(("evidence", "question", "ok"), [
    ("NBC reported that the United States had been shipping equipment to Iran.",
     "Which Pakistani airline did NBC say flew the equipment to Iran?", False),
    ("Pakistan International Airlines flew the crates to Tehran.",
     "Which Pakistani airline did NBC say flew the equipment to Iran?", True),
    ("Pirates seized the MV Faina off Somalia.", "Which ship did the pirates seize?", True),
    ("Thales said the deal was done.", "Which French firm sold the radars?", False),
    ("The Thales group said the deal was done.", "Which French firm sold the radars?", True),
    ("The Daily Star reported the raid.", "Which newspaper reported the raid?", True),
    # A bank is a company: "First Boston Corp" may answer "which investment bank".
    ("The suit also names First Boston Corp.", "Which investment bank was named in the suit?", True),
    ("Anything.", "Which Yemeni movement fired the rockets?", True),  # no word list: no test
])
def test_a_named_thing_comes_from_a_passage_speaking_of_its_kind(evidence: str, question: str,
                                                                  ok: bool) -> None:
    assert speaks_of_asked(evidence, question) is ok


@pytest.mark.parametrize(("evidence", "question", "ok"), [
    ("The counselor conveyed points on FEEB to the central bank on September 10.",
     "On what date did the US Treasury formally designate FEEB under sanctions law?", False),
    ("Treasury designated FEEB on August 4.",
     "On what date did the US Treasury formally designate FEEB under sanctions law?", True),
    ("The war began in 1980.", "When did the Iran-Iraq war start?", True),
    # One word of its own may be paraphrased ("visit" / "arrived"): no test.
    ("Putin arrived in Beijing on March 3.", "When did Putin visit Beijing?", True),
])
def test_a_date_comes_from_a_sentence_telling_of_the_event(evidence: str, question: str,
                                                           ok: bool) -> None:
    assert tells_of_event(evidence, question) is ok


# A June newswire item on OPEC's output ceiling: it answers what OPEC agreed in June, and says
# nothing of a December conference that had not happened when it was written.
_OPEC = """KUWAIT SEES OPEC OUTPUT OVER CEILING
Date: 29-JUN-1987 07:12:17.89

    OPEC output for the second half of 1987 will be above the
official 16.6 mln barrels per day output ceiling agreed by OPEC
Saturday, Kuwait's oil minister said in Vienna.
"""


def test_evidence_from_another_time_is_no_answer(tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    assistant = _wires_assistant(tmp_path, embedder, {"opec.txt": _OPEC, "iraq.txt": _IRAQ})
    december = assistant.ask("What output ceiling did OPEC agree at its December 1987 conference "
                             "in Vienna?")
    assert december.abstained, december.answer
    june = assistant.ask("What output ceiling did OPEC agree at its June 1987 conference in Vienna?")
    assert not june.abstained and "16.6 mln barrels" in june.answer


_QOM = """EXISTENCE OF A COVERT URANIUM ENRICHMENT FACILITY IN IRAN
Date: 25-SEP-2009 18:06:00.00

    The United States has acquired information that Iran has been
secretly building another enrichment facility near the city of Qom.
The facility is located in an underground tunnel complex on the
grounds of an Islamic Revolutionary Guard Corps base. It has been
under construction for several years and is not yet operational.
"""


@pytest.mark.parametrize(("wire", "near_miss", "answerable", "said"), [
    # A figure from a document about something else: Iraq's oil volume is no answer for Pakistan.
    (_PAKISTAN, "How many barrels per day of Saudi crude did Pakistan receive under the "
     "deferred-payment oil facility?", "How many barrels per day of Iraqi oil production could "
     "ExxonMobil develop?", "nearly three million barrels per day"),
    # "How deep" asks for a measure: that the complex is underground does not say how deep.
    (_QOM, "How deep underground is the tunnel complex that houses Iran's covert enrichment "
     "facility near Qom?", "On whose grounds is Iran's covert enrichment facility near Qom "
     "located?", "Revolutionary Guard"),
])
def test_a_near_miss_is_declined_and_its_passage_still_answers(  # type: ignore[no-untyped-def]
        tmp_path, embedder, wire: str, near_miss: str, answerable: str, said: str) -> None:
    assistant = _wires_assistant(tmp_path, embedder, {"wire.txt": wire, "iraq.txt": _IRAQ})
    declined = assistant.ask(near_miss)
    assert declined.abstained, declined.answer
    answer = assistant.ask(answerable)
    assert not answer.abstained and said in answer.answer, answer.answer
    # A wrapped quote is one sentence on one line.
    assert "\n" not in answer.answer
