"""What kind of answer a question wants, and whether a sentence contains one.

The hardest unanswerable questions are on topic: "How much was Siemens fined?" retrieves the
Siemens sentence, which names no amount. Similarity cannot tell; the answer type can. A "how
much … fined" question needs an amount of money in the evidence, "how many passengers" a number
next to "passengers", "when" a date, "who" a person's name, "which company" a name that the
question does not already contain. Deliberately small rules: each one is testable and readable.
"""

from __future__ import annotations

import itertools
import re

from rapidfuzz.distance import Levenshtein

from index.keyword import tokenize

from .evidence import WORD, is_heading, numbers, strip_citations
from .kinds import AnswerKind
from .timeframe import FULL_MONTHS, SHORT_MONTHS
from .wordlists import alternation, entries, pairs, word_set

_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)s?\b")
_MONTH = re.compile(rf"\b({FULL_MONTHS}|(?:{SHORT_MONTHS})\.?(?= \d))\b")
_DAY = re.compile(r"\b(\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2})\b")
_NUMBER = re.compile(rf"\b\d[\d,.]*\b|\b({alternation('number_words.txt')})\b", re.I)
_MONEY_WORDS = alternation("currency_words.txt")
_MAGNITUDES = alternation("magnitude_words.txt")
_MONEY = re.compile(rf"[$€£¥]|\b({_MONEY_WORDS}|{_MAGNITUDES})\b", re.I)
# "How much money did France set aside?" — "France had not budgeted any funds" answers it.
_NO_MONEY = re.compile(r"\b(?:no|not (?:\w+ )?any|without any|zero)( \w+)? "
                       rf"(?:{alternation('money_nouns.txt')})\b", re.I)
# A figure that is an amount of money is not a count of things ("$147/barrel" for "how many
# barrels a day").
_AMOUNT = re.compile(rf"[$€£¥]\s*\d[\d,.]*|\d[\d,.]*\s*(?:(?:{_MAGNITUDES})\s+)?"
                     rf"(?:{_MONEY_WORDS})\b", re.I)
_PERCENT = re.compile(rf"(?:\d[\d,.]*|\b(?:{alternation('percent_number_words.txt')}))"
                      r"\s*(?:%|per ?cent\b|pct\b|percentage points?\b)", re.I)
# "What rate of interest …", "what percentage of …", "the inflation rate": a percentage.
_PERCENT_Q = re.compile(rf"\b(what|which) ({alternation('percent_nouns.txt')})\b|"
                        rf"\b({alternation('rate_subjects.txt')}) rates?\b|"
                        r"\brate of (interest|inflation|growth|return)\b|\bhow many percent|"
                        # "How large was the deficit as a share of GDP"
                        r"\bas an? (share|percentage|proportion|per ?cent) of\b", re.I)
# Questions about what someone said: there the speaker named in "…, Demir said" may be the answer.
_SPEECH_Q = re.compile(rf"\b({alternation('speech_verbs.txt')})\b", re.I)
# "…, Demir said." at the end of a sentence: who said it, not who did it.
_ATTRIBUTION = re.compile(r",\s+(?:(?:Mr|Ms|Mrs|Dr)\.?\s+)?(?:[A-Z][\w.’'-]*|[Xx]{4,})"
                          r"(?:\s+[A-Z][\w.’'-]*)?\s+(?:said|says|stated|added|noted|replied|told\s+\w+)\W*$")
# Cables print a withheld name as a run of x's: it names no one.
_REDACTED = re.compile(r"^[Xx]{4,}$")
_MONEY_Q = re.compile(rf"\b({alternation('money_question_words.txt')})\b", re.I)
# Up to three words describing the noun ("which Chinese Foreign Ministry official"), but not a
# verb phrase ("what did a Chinese official say" asks for what was said, not who).
_MODIFIERS = r"((?!(?:did|does|do|was|were|is|are|has|have|had)\b)\w+ ){0,3}"
# Things whose "how long" is a length, not a time.
_LONG_THINGS = rf"({alternation('long_things.txt')})s?"
_TIME_UNIT_NAMES = entries("time_units.txt")
# "How long did the talks last": a number of minutes, days or years.
_TIME_SPAN = (rf"(?:\d[\d,.]*|\b(?:{alternation('span_counts.txt')}))[\s-]+(?:\w+[\s-]+)?"
              rf"(?:{'|'.join(re.escape(unit) + 's?' for unit in _TIME_UNIT_NAMES)})\b")
_DURATION = re.compile(_TIME_SPAN + r"(?! ago\b)", re.I)
# A span of time in a sentence, with what places it ("two weeks ago"): no count of things.
_TIME_SPAN_PLACED = re.compile(_TIME_SPAN + r"(?: ago| later| earlier| before| after)?", re.I)
_TIME_UNITS = frozenset(tokenize(" ".join(_TIME_UNIT_NAMES)))
# "What is the range of …" wants a number with a unit of length, weight or speed.
_MEASURE_ADJECTIVES = alternation("measure_adjectives.txt")
_MEASURE_Q = re.compile(rf"\b({alternation('range_qualifiers.txt')}) range\b|"
                        rf"\b({alternation('measure_nouns.txt')})\b|"
                        rf"\bhow ({_MEASURE_ADJECTIVES})\b|\bhow long (is|was|were|are) the "
                        rf"{_MODIFIERS}{_LONG_THINGS}\b", re.I)
_MEASURE = re.compile(rf"\d[\d,.]*\s*-?\s*({alternation('measure_units.txt')})\b", re.I)
_TOKEN = re.compile(r"[\w’'.,-]*\w")
# "How many people were killed" is answered by "30 deaths": one small class of synonyms.
_CASUALTIES = word_set("casualty_stems.txt")

# Capitalised words that are not names of people or companies.
_NOT_NAMES = word_set("not_names.txt")


# People a question may ask the name of beyond officials: "the name of the motorist".
_PERSON_NOUNS = rf"({alternation('person_nouns.txt')})"
_PERSON_ROLES = alternation("person_roles.txt")
_ORGANISATION_NOUNS = alternation("organisation_nouns.txt")
_VOLUME_NOUNS = alternation("volume_nouns.txt")
_PRICE_NOUNS = alternation("price_nouns.txt")
_DATE_OPENERS = alternation("date_question_openers.txt")

# "What is the surname of Galyna, the senior Ukrainian nurse": her name is in the question.
_SURNAME_Q = re.compile(r"\b(?:sur|last |family )name of ([A-Z][\w’'-]+)")


def expected_type(question: str) -> AnswerKind | None:
    q = question.lower().strip()
    if re.search(r"\b(how (much|many)|what (amount|number|quantity|sum))\b|\bwhat (level|volume) of "
                 rf"(\w+ ){{0,2}}({_VOLUME_NOUNS})\b", q):
        if re.search(r"\b(how much|what (amount|sum))\b", q) and _MONEY_Q.search(q):
            return AnswerKind.MONEY
        return AnswerKind.QUANTITY
    if _PERCENT_Q.search(q):
        return AnswerKind.PERCENT
    if re.search(r"\bhow (large|big)\b", q) and _MONEY_Q.search(q):
        return AnswerKind.MONEY  # "How large was Australia's foreign debt"
    if re.search(rf"\b(what|which) ({_PRICE_NOUNS})s?\b|\b(dollar|cash|monetary) (value|amount|cost)\b|"
                 r"\bwhat (is|was|were|are) the (\w+ )?(value|worth|cost|price)\b", q):
        return AnswerKind.MONEY
    if re.search(rf"^(what|how)\b|\bhow ({_MEASURE_ADJECTIVES}|long)\b", q) and _MEASURE_Q.search(q):
        return AnswerKind.MEASURE
    if re.search(r"\bhow long\b|\b(for )?what (period|length) of time\b", q):
        return AnswerKind.DURATION
    if re.search(rf"^({_DATE_OPENERS})\b", q) or re.search(r"\b(what|which) (year|date|month|day)\b", q):
        return AnswerKind.DATE
    if _SURNAME_Q.search(question):
        return AnswerKind.PERSON
    if re.search(r"^(who|whom|whose)\b", q) or re.search(
            rf"\b(name of the|which|what) {_MODIFIERS}({_PERSON_ROLES})\b", q):
        return AnswerKind.PERSON
    if re.search(rf"\b(which|what|name of the) {_MODIFIERS}({_ORGANISATION_NOUNS})s?\b", q):
        return AnswerKind.NAME
    if re.search(r"\bname of the\b", q):
        # The question asks for a name outright, whatever it names ("the name of the motorist").
        if re.search(rf"\bname of the {_MODIFIERS}{_PERSON_NOUNS}\b", q):
            return AnswerKind.PERSON
        return AnswerKind.NAME
    return None


_SAID = word_set("saying_verbs.txt")


def _new_names(sentence: str, question: str) -> list[str]:
    asked = {w.lower().strip(".’'") for w in WORD.findall(question)}
    words = WORD.findall(sentence)
    out = []
    for i, w in enumerate(words):
        bare = re.sub(r"[’']s$", "", w).strip(".’'")
        if not bare or not (bare[0].isupper() or bare.isupper()):
            continue
        low = bare.lower()
        if low in _NOT_NAMES or low in asked or low.rstrip("s") in asked or _REDACTED.match(bare):
            continue
        if len(low) >= 6 and any(Levenshtein.distance(low, a, score_cutoff=1) <= 1 for a in asked):
            continue  # the question's own name, misspelt in the document ("Communicaton Corp")
        # Every sentence starts with a capital: a first word is a name only as part of a
        # multi-word one ("Global Times reported…", not "Later the same year…") or as a speaker
        # ("Wang said he had received…").
        if i == 0 and not (i + 1 < len(words) and (_title_case(words[1])
                                                   or words[1].lower() in _SAID)):
            continue
        out.append(bare)
    return out


def _title_case(word: str) -> bool:
    return word[:1].isupper() and any(c.islower() for c in word)


# After "how many", these put the subject next ("how many did he leave"); "were"/"have" put the
# verb, which says what is counted ("how many were killed").
_SUBJECT_NEXT = word_set("subject_next_words.txt")
_NOT_COUNTED = word_set("focus_skip_words.txt")


def _focus_words(question: str) -> list[str]:
    match = re.search(r"\bhow many ([\w\s-]+)", question, re.I)
    if not match:
        return []
    words = []
    for w in match.group(1).split()[:3]:
        if w.lower() in _SUBJECT_NEXT:
            # "Of the seats …, how many did he leave empty": the things counted came earlier.
            break
        if w.lower() not in _NOT_COUNTED:
            words.append(w)
    return [t for w in words for t in tokenize(w) if not w[:1].isupper()]


# A sentence that leans on the one before it ("This is the same company that…", "Later the same
# year…", "He said…") or a dateline under a headline: only then may the answer to a question that
# matches one sentence be taken from its neighbour.
_CONTINUES = re.compile(
    rf"^\W*({alternation('continuation_openers.txt')})\b"
    r"|\b(the same|that|the following|the previous|the next) "
    r"(year|month|day|week|company|firm|time)\b",
    re.I,
)


# "Later the same year…", "that month": the date is in an earlier sentence of the document.
_TIME_BACK_REFERENCE = re.compile(
    r"\b(the same|that|the following|the previous) (year|month|week|day)\b", re.I)


def refers_back_in_time(sentence: str) -> bool:
    return bool(_TIME_BACK_REFERENCE.search(sentence))


_TITLES = word_set("titles.txt")
# The small words inside names: "Ole von Beust", "Osama bin Laden", "Charles de Gaulle".
_NAME_PARTICLES = word_set("name_particles.txt")
# Capitalised words next to a surname that are not the rest of a person's name.
_NOT_NAME_PARTS = _TITLES | _NOT_NAMES
# "Mr Hong said", "Wang said he…": a person named by one word, whom the document introduced
# earlier by the full name ("Hong Lei, a foreign ministry spokesman, …").
_SURNAME = re.compile(r"\b(?:Mr|Ms|Mrs|Dr)\.? ([A-Z][a-z]+)\b|(?<![A-Za-z] )\b([A-Z][a-z]+) "
                      r"(?:said|says|stated|told|added|noted|replied)\b")


def bare_surnames(sentence: str) -> list[str]:
    """People the sentence names by one word only ("Mr Hong said", "Wang said")."""
    out = []
    for m in _SURNAME.finditer(sentence):
        word = m.group(1) or m.group(2)
        if word.lower() not in _NOT_NAME_PARTS:
            out.append(word)
    return list(dict.fromkeys(out))


def full_name(surname: str, sentence: str) -> str | None:
    """The two-word name containing `surname` in this sentence ("Wang Daxue", "Hong Lei")."""
    for m in re.finditer(rf"\b{surname}\b", sentence):
        after = re.match(r" ([A-Z][a-z]+)\b", sentence[m.end():])
        before = re.search(r"\b([A-Z][a-z]+) $", sentence[: m.start()])
        for other, name in ((after, f"{surname} {after.group(1)}" if after else ""),
                            (before, f"{before.group(1)} {surname}" if before else "")):
            if other and other.group(1).lower() not in _NOT_NAME_PARTS:
                return name
    return None


def continues(sentence: str) -> bool:
    """Does this sentence continue the previous one (so their facts belong together)?"""
    return bool(_CONTINUES.search(sentence))


def question_names(question: str) -> set[str]:
    """The stems of the names a question gives ("Pakistan", "Saudi", "Petrobras"): the words
    written with a capital after its first word; of "Mao-era" or "Iranian-made", the name part."""
    words = WORD.findall(question)[1:]
    return {t for w in words if w[:1].isupper()
            for t in tokenize(re.sub(r"[’']s$", "", w).split("-")[0])}


def _same_name(a: str, b: str) -> bool:
    """Stems of one name: equal, or one the start of the other that covers most of it (Yemen /
    Yemeni, Iran / Iranian, China / Chinese, Mao / Maoist)."""
    if a == b:
        return True
    shorter = min(len(a), len(b))
    common = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), shorter)
    return shorter >= 3 and common >= min(4, shorter) and common >= 0.75 * shorter


def about(evidence: str, question: str) -> bool:
    """Does the text around a candidate answer speak of at least one of the names the question
    gives? A figure in a passage about Iraq's oil does not answer a question about Pakistan's."""
    names = question_names(question)
    if not names:
        return True
    have = set(tokenize(evidence))
    return any(_same_name(n, t) for n in names for t in have)


# "Which Yemeni insurgent movement …": names written before the noun a question asks about. The
# United States goes by too many names (American, Washington) to demand one of them.
# Only the question's own "which": in "…, for which Washington asked" it joins a clause.
_QUALIFIED = re.compile(r"(?:^(?:\w+ )?|\b(?=\w+ (?:[A-Z][\w-]* )+\w+\?$))(?i:which|what) "
                        r"((?:(?!(?:US|U\.S\.|USA)\b)[A-Z][\w-]* )+)(?=[a-z])")


def qualified_as_asked(evidence: str, question: str) -> bool:
    """Does the evidence speak of the name that qualifies the thing asked for? "Which Yemeni
    movement fires rockets" is not answered from a passage that never mentions Yemen, however
    well its rockets match — the name it gives would be of some other movement."""
    asked = _QUALIFIED.search(question)
    if not asked:
        return True
    wanted = {t for w in asked.group(1).split() for t in tokenize(w.split("-")[0])}
    have = set(tokenize(evidence))
    return not wanted or any(_same_name(n, t) for n in wanted for t in have)


def keeps_numbers(evidence: str, question: str) -> bool:
    """Every figure the question gives ("the 25-year deal", "the 111 boxes") must be in the
    evidence: a sentence about other figures answers a different question. Years are left out:
    a year in a question mostly dates the context ("the May 2008 cable"), not the fact asked."""
    have = numbers(evidence)
    return all(n in have for n in numbers(question) if not _YEAR.fullmatch(n))


def adds_information(sentence: str, question: str) -> bool:
    """Does the sentence say anything the question did not? A draft that restates the question
    ("The Iranian grenades were found to contain Chinese detonators") is supported but no answer."""
    asked = set(tokenize(question))
    return any(t not in asked for t in tokenize(strip_citations(sentence)))


_MONTHS = rf"(?:{FULL_MONTHS}|{SHORT_MONTHS})\.?"
_MONTH_DAY = re.compile(rf"\b{_MONTHS} \d{{1,2}}\b(?!,? ?\d{{3}})|\b\d{{1,2}} {_MONTHS}")
_YEAR_ASKED = re.compile(r"\b(what|which) year\b", re.I)
_DAY_ASKED = re.compile(r"\b(what|which) (date|day)\b", re.I)
# "Who was US Secretary of State …": the office the question names, up to the clause after it.
_ROLE = re.compile(r"^(?i:who (?:is|was|were) (?:the )?)(?:U\.?S\.? )?(?!U\.?S\.?\b)([A-Z][\w.-]*"
                   r"(?: (?:of|for|to|the|[A-Z][\w.-]*))*)")
# The noun a "which …" question asks a name for, and its anonymous mention in a sentence: "a
# Chinese company has invested" says the document does not know which company.
_ASKED_NOUN = re.compile(r"\b(?:which|what|name of the) (?:\w+ ){0,3}?"
                         rf"({alternation('anonymous_nouns.txt')})\b", re.I)


def mentions_anonymously(sentence: str, question: str) -> bool:
    """Does the sentence speak of the thing the question wants named without naming it ("sold
    to a Chinese company linked to…")? An apposition ("a Chinese company, Sinopec,") names it."""
    asked = _ASKED_NOUN.search(question)
    if not asked:
        return False
    noun = asked.group(1).lower()
    for m in re.finditer(rf"\b(?:a|an|another|one) (?:[\w-]+ ){{0,2}}?{noun}s?\b", sentence, re.I):
        after = sentence[m.end():]
        before = sentence[: m.start()]
        if re.match(r",? (?:called |named |known as )?[A-Z]", after) or re.search(r"[A-Z][\w.-]*, $", before):
            continue
        if m.group(0).lower() in question.lower():
            continue  # the question's own context: "which French firm sold … to a Chinese firm?"
        return True
    return False


_PLACE = re.compile(r"\b(?:in|at) ((?:[A-Z][\w’'-]+ ?){1,3})")
_WEEKDAYS = word_set("weekdays.txt")


def _places(text: str) -> set[str]:
    return {m.group(1).strip() for m in _PLACE.finditer(text)
            if not _MONTH.match(m.group(1)) and m.group(1).split()[0].lower() not in _WEEKDAYS}


def elsewhere(sentence: str, question: str) -> bool:
    """Is the sentence's figure placed somewhere other than where the question asks ("how many
    troops … in Mali?" — "700 Chinese troops … in South Sudan")?"""
    asked, found = _places(question), _places(sentence)
    if not asked or not found:
        return False
    lower = sentence.lower()
    return not any(word.lower() in lower for place in asked for word in place.split())


# What opens a cable's paragraph: its number, its classification ("(SBU)", "(S/NF)") and a label
# ("Summary:"). None of it is a name or a figure.
_PARAGRAPH_MARKS = re.compile(
    r"^[^\w(]*(?:\d{1,2}\.\s+)?(?:\((?:SBU|LOU|FOUO|TS|[UCS](?:\s*/+\s*(?:NF|FOUO|REL[\w ]*))?)\)\s*)?"
    r"(?:(?i:summary|comment|background|note|end summary|summary and comment)\s*[:.]\s*)?")


def satisfies(kind: AnswerKind | None, sentence: str, question: str) -> bool:
    if kind is None:
        return True
    sentence = _PARAGRAPH_MARKS.sub("", sentence)
    asked_numbers = set(_NUMBER.findall(question.lower()))
    if kind == AnswerKind.MONEY:
        return ((bool(_MONEY.search(sentence)) and bool(re.search(r"\d", sentence)))
                or bool(_NO_MONEY.search(sentence)))
    if kind == AnswerKind.PERCENT:
        return bool(_PERCENT.search(sentence))
    if kind == AnswerKind.MEASURE:
        return bool(_MEASURE.search(sentence))
    if kind == AnswerKind.DURATION:
        return any(d.group(0).lower() not in question.lower() for d in _DURATION.finditer(sentence))
    if kind == AnswerKind.QUANTITY:
        focus = set(_focus_words(question))
        if focus & _CASUALTIES:
            focus |= _CASUALTIES
        # Neither an amount of money nor the day of a date ("met … March 19") counts things, nor
        # a span of time unless time is what is counted ("arrested two weeks ago").
        text = _MONTH_DAY.sub(" ", _AMOUNT.sub(" ", sentence))
        if not focus & _TIME_UNITS:
            text = _TIME_SPAN_PLACED.sub(" ", text)
        tokens = _TOKEN.findall(text)
        for i, tok in enumerate(tokens):
            tok = tok.rstrip(".,")
            if _NUMBER.fullmatch(tok) is None or tok.lower() in asked_numbers:
                continue
            if not focus:
                return True
            window = {t for w in tokens[max(0, i - 3) : i + 9] for t in tokenize(w)}
            if window & focus:
                return True
        return False
    if kind == AnswerKind.DATE:
        if sentence.isupper():
            sentence = sentence.title()  # cable headings: "ASSASSINATION AUGUST 13 OF …"
        if _DAY_ASKED.search(question) and not (_MONTH_DAY.search(sentence) or _DAY.search(sentence)):
            return False  # "on what date" is not answered by "in January 2022"
        asked_years = set(_YEAR.findall(question))
        years = [y for y in _YEAR.findall(sentence) if y not in asked_years]
        asked_months = {m.lower() for m in _MONTH.findall(question)}
        months = [m for m in _MONTH.findall(sentence) if m.lower() not in asked_months]
        # "On what day in August …": "August 5" gives the day, though August is asked; "by what
        # year" is not answered by the day of a meeting in the month the question names.
        days = [] if _YEAR_ASKED.search(question) else [
            d for d in _MONTH_DAY.findall(sentence) if d.lower() not in question.lower()]
        return bool(years or months or days or _DAY.search(sentence))
    if kind == AnswerKind.PERSON:
        given = _SURNAME_Q.search(question)
        if given:
            # "The surname of Galyna": the word after her given name — not a withheld one.
            return bool(re.search(rf"\b{re.escape(given.group(1))}\s+(?![Xx]{{4}})[A-Z][\w’'-]+",
                                  sentence))
        role = _ROLE.search(question)
        # Places and nationalities in it are context ("Iraqi foreign minister" ~ "Iraq's").
        office = {t for w in (role.group(1).split() if role else [])
                  if re.sub(r"[’']s$", "", w).lower() not in _NOT_NAMES for t in tokenize(w)}
        if not office <= set(tokenize(sentence)):
            return False  # "Who was US Secretary of State": a sentence naming no such office
        if is_heading(sentence):
            return False  # "PRC Sees USG and Google Working Together" names no one
        if not _SPEECH_Q.search(question):
            sentence = _ATTRIBUTION.sub(".", sentence)
        names = _new_names(sentence, question)
        words = [w for w in WORD.findall(sentence) if w.lower() not in _NAME_PARTICLES]
        # A person is two capitalised words in a row (Wang Daxue, Mr Jafari) or an all-caps
        # signature (RANDT).
        for a, b in itertools.pairwise(words):
            a, b = a.strip("."), b.strip(".")
            # "Wang Daxue", "Mr Jafari", "Minister Mottaki" — not "Chinese Internet" (a
            # nationality and a noun) nor "Export Commission" after a title-case word.
            if _title_case(a) and _title_case(b) and b in names and (a in names or a.lower() in _TITLES):
                return True
        if len(words) == 1 and names and names[0].isupper() and len(names[0]) >= 4:
            return True  # an all-caps signature line: RANDT
        # One word: a surname as the speaker ("Wang said", "Mr Hong said").
        return any(n in bare_surnames(sentence) for n in names)
    if kind == AnswerKind.NAME:
        return bool(_new_names(sentence, question))
    return True


# Words a question shares with any sentence near its topic: they say nothing of the event asked.
_EVENT_GENERIC = frozenset(tokenize(" ".join(entries("event_generic_words.txt"))))


_QUESTION_STEMS = frozenset(tokenize(" ".join(entries("question_stems.txt"))))


def event_words(question: str) -> set[str]:
    """The question's own words for what happened (its lower-case content words: "formally
    designate … under sanctions law"), without the names, which `about` checks."""
    words = WORD.findall(question)[1:]
    return {t for w in words if not w[:1].isupper() for t in tokenize(w)
            if t not in _EVENT_GENERIC and not t.isdigit()} - _QUESTION_STEMS


def tells_of_event(evidence: str, question: str) -> bool:
    """A date answers "when did X designate Y" only from a sentence that tells of the event: it
    shares at least one of the question's words for it. "…conveyed points on Y to the central
    bank on September 10" dates a meeting, not a designation."""
    wanted = event_words(question)
    # One word may well be paraphrased ("visit" / "arrived"); of several, one is said as asked.
    return len(wanted) < 2 or bool(wanted & set(tokenize(evidence)))


# What a passage calls the thing a "which …" question wants named. A passage that never speaks
# of an airline cannot say which airline flew the goods, whatever other names it holds.
_KIND_WORDS = {
    noun: frozenset(tokenize(said))
    for nouns, said in pairs("kind_words.tsv").items()
    for noun in nouns.split()
}
_NAMED_NOUN = re.compile(
    rf"\b(?:which|what|name of the) {_MODIFIERS}(?P<noun>{'|'.join(_KIND_WORDS)})\b", re.I)


def speaks_of_asked(evidence: str, question: str) -> bool:
    """Does the evidence speak of the kind of thing the question wants named (an airline, a
    ship, a newspaper, a company)? Only those kinds whose words a passage naming one uses."""
    asked = _NAMED_NOUN.search(question)
    if not asked:
        return True
    return bool(_KIND_WORDS[asked.group("noun").lower()] & set(tokenize(evidence)))
