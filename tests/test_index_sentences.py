"""The sentence splitter: exact character spans, abbreviations kept whole."""

from __future__ import annotations

import itertools

import pytest

from index.sentences import sentence_spans, split_sentences


def _texts(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Mr. Jafari said the army needs weapons.",
        "Indictments in a U.S. court named the firms.",
        "The U.S. Embassy in Berlin sent the cable.",
        "Dr. Muhammad Akram Zaheer wrote the report.",
        "Mrs. Smith met Gen. Petraeus and Sen. Kerry on Jan. 5 at 3 p.m. in the hall.",
        "The ship carried 208 tonnes, i.e. a full cargo, e.g. for fuel.",
        "It was signed by J. R. Smith on behalf of the U.N. mission.",
    ],
)
def test_abbreviations_do_not_split(text: str) -> None:
    assert _texts(text) == [text]


def test_full_stop_before_capital_splits() -> None:
    text = "Chinese firms sold materials to Iran. The US raised the issue."
    assert _texts(text) == ["Chinese firms sold materials to Iran.", "The US raised the issue."]


def test_spans_are_exact_offsets() -> None:
    text = (
        "  Wang said he had received a copy. China understands U.S. concerns!  Is it serious?\n"
        "\n"
        "SUBJECT: CHINA URGED TO TERMINATE TRANSFERS\n"
        "He said: \u201cIt is limited.\u201d Tehran agreed. 1747 does not mandate an embargo."
    )
    spans = sentence_spans(text)
    expected = [
        "Wang said he had received a copy.",
        "China understands U.S. concerns!",
        "Is it serious?",
        "SUBJECT: CHINA URGED TO TERMINATE TRANSFERS",
        "He said: \u201cIt is limited.\u201d",
        "Tehran agreed.",
        "1747 does not mandate an embargo.",
    ]
    assert [text[a:b] for a, b in spans] == expected
    for a, b in spans:
        assert 0 <= a < b <= len(text)
        assert not text[a].isspace() and not text[b - 1].isspace()
    # Ordered and disjoint.
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(spans))
    assert split_sentences(text) == expected


def test_sub_range_offsets_point_into_the_whole_text() -> None:
    text = "Header line\nFirst one here. Second one here.\nFooter"
    start = text.index("First")
    end = text.index("\nFooter")
    spans = sentence_spans(text, start, end)
    assert [text[a:b] for a, b in spans] == ["First one here.", "Second one here."]
    assert spans[0][0] == start


def test_line_breaks_end_sentences_unless_the_line_goes_on_in_lower_case() -> None:
    text = (
        "NOFORN\nE.O. 12958: DECL: 05/15/2018\nTAGS: PARM PREL\n"
        "Mr Jafari's Chinese\ncounterpart, made the offer. and on"
    )
    assert _texts(text) == [
        "NOFORN",
        "E.O. 12958: DECL: 05/15/2018",
        "TAGS: PARM PREL",
        "Mr Jafari's Chinese\ncounterpart, made the offer. and on",
    ]


# A Reuters item as the haystack holds it: title and header lines, then body text hard-wrapped
# at ~62 characters, where a wrapped line may go on with a capitalised name.
_WRAPPED = """CITICORP <CCI> DENIES RUMORS OF DEBT WRITEDOWN
Date: 13-MAR-1987 09:52:16.12
Dateline: NEW YORK, March 13 -

    In response to more specific market rumors that it had
taken action on its exposure to Brazil, Citicorp said it made
an 8-K filing on the subject with the Securities and Exchange
Commission on Tuesday in relation to a registration statement
for a preferred stock issue.
    Breach of any of the listed conditions, he noted, would be
cause for immediate license revocation. Abdullah also said that
Bank Melli and Bank Saderat had previously applied for licenses
from LOFSA, but were denied. "Petrobras has been Saudi Arabia's
traditional client since the year the refinery opened in
1955. If they do not accept our conditions now, it will be better."
-- The second point of a list goes on a line of its own, even
-- after a line that does not end a sentence.
"""


def test_hard_wrapped_lines_go_on_into_a_capitalised_next_line() -> None:
    got = [" ".join(s.split()) for s in _texts(_WRAPPED)]
    assert got[:3] == ["CITICORP <CCI> DENIES RUMORS OF DEBT WRITEDOWN",
                       "Date: 13-MAR-1987 09:52:16.12", "Dateline: NEW YORK, March 13 -"]
    assert ("In response to more specific market rumors that it had taken action on its exposure "
            "to Brazil, Citicorp said it made an 8-K filing on the subject with the Securities and "
            "Exchange Commission on Tuesday in relation to a registration statement for a "
            "preferred stock issue.") in got
    assert ("Abdullah also said that Bank Melli and Bank Saderat had previously applied for "
            "licenses from LOFSA, but were denied.") in got
    assert "\"Petrobras has been Saudi Arabia's traditional client since the year the refinery " \
        "opened in 1955." in got
    assert got[-2:] == ["-- The second point of a list goes on a line of its own, even",
                        "-- after a line that does not end a sentence."]


def test_unwrapped_text_keeps_line_breaks_as_sentence_ends() -> None:
    # A headline over a one-line paragraph (the sample corpus's web articles): not wrapping.
    text = ("China 'helped Iran arm Iraq insurgents' says a leaked US cable from 2008 archive\n"
            "US diplomats also feared that Chinese companies were selling materials to Iran that "
            "could be used to build nuclear missiles and other weapons of mass destruction.\n"
            "Washington also confronted China over a shipment of potassium perchlorate.")
    assert len(_texts(text)) == 3


def test_a_passage_cut_in_mid_line_keeps_its_first_sentence_whole() -> None:
    """A chunk starts where a sentence does, often in mid-line: split alone, its first line is
    short and would read as a line the writer ended. With the line's real start (`lead`) it is
    the wrapped line it is."""
    doc = ("(SBU) Svetlana Medvedeva does not fit neatly into any of\n"
           "these roles. After graduating from the Leningrad\n"
           "Financial-Economic Institute in 1987, she worked for several\n"
           "years but gave up her job at the behest of her husband when\n"
           "their son was born. She is active in charity work for the\n"
           "Russian Orthodox Church and heads a board of trustees.\n")
    cut = doc.index("After graduating")
    passage = doc[cut:]
    whole = ("After graduating from the Leningrad Financial-Economic Institute in 1987, she worked "
             "for several years but gave up her job at the behest of her husband when their son "
             "was born.")
    lead = cut - (doc.rfind("\n", 0, cut) + 1)
    assert " ".join(split_sentences(passage)[0].split()) != whole  # what went wrong before
    spans = sentence_spans(passage, lead=lead)
    assert " ".join(passage[spans[0][0]:spans[0][1]].split()) == whole
    # Splitting the document from the cut measures the line from its real start by itself.
    in_doc = sentence_spans(doc, cut)
    assert [(a - cut, b - cut) for a, b in in_doc] == spans


# -- beyond English ----------------------------------------------------------------------------


def test_cjk_sentence_ends_split_without_a_space() -> None:
    text = "北京是中国的首都。上海是最大的城市！你知道吗？是的。"
    assert _texts(text) == ["北京是中国的首都。", "上海是最大的城市！", "你知道吗？", "是的。"]
    # A closing quote stays with its sentence; a following space is not part of either.
    assert _texts("他说：「我明天去。」 然后他走了。") == ["他说：「我明天去。」", "然后他走了。"]
    assert _texts("東京は日本の首都です。大阪は二番目です。") == ["東京は日本の首都です。",
                                                               "大阪は二番目です。"]


def test_cyrillic_sentences_split_before_a_capital_and_keep_initials_and_abbreviations() -> None:
    text = ("Москва — столица России. Это большой город. В 1147 г. Юрий Долгорукий основал её. "
            "А. С. Пушкин родился здесь, т.е. в Москве.")
    assert _texts(text) == ["Москва — столица России.", "Это большой город.",
                            "В 1147 г. Юрий Долгорукий основал её.",
                            "А. С. Пушкин родился здесь, т.е. в Москве."]
    assert _texts("Он сказал: «Я приду.» Затем ушёл.") == ["Он сказал: «Я приду.»", "Затем ушёл."]


def test_accented_capitals_and_german_quotes_start_sentences() -> None:
    text = "Der Zug fährt nach Zürich. Über die Brücke geht es weiter. Er sagte: „Ich komme.“ Dann ging er."
    assert _texts(text) == ["Der Zug fährt nach Zürich.", "Über die Brücke geht es weiter.",
                            "Er sagte: „Ich komme.“", "Dann ging er."]
    # Lower case after the dot goes on, as in English; so does a dotted abbreviation.
    assert _texts("Sie liegt östlich. z.B. Wien, vgl. Graz.") == ["Sie liegt östlich. z.B. Wien, vgl. Graz."]
    assert _texts("Élysée said nothing. Évian agreed.") == ["Élysée said nothing.", "Évian agreed."]


def test_non_english_spans_are_exact_offsets() -> None:
    text = "  Привет, мир! Как дела?\n\n你好。再见！  Grüß Gott. Ade.\n"
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == ["Привет, мир!", "Как дела?", "你好。", "再见！",
                                             "Grüß Gott.", "Ade."]
    assert all(text[a:b] == text[a:b].strip() for a, b in spans)
