"""Which retrieved sentences may answer a question, and when the evidence is too weak to try.

A sentence may answer when it is among the best few for the question and holds the kind of
answer asked for — itself, or through the document around it: the next sentence that continues
it, the earlier one that dates "later the same year", the one that gives "Mr Hong" his full name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.keyword import tokenize

from .answer_type import (
    about,
    bare_surnames,
    continues,
    elsewhere,
    event_words,
    full_name,
    keeps_numbers,
    mentions_anonymously,
    qualified_as_asked,
    refers_back_in_time,
    satisfies,
    speaks_of_asked,
    tells_of_event,
)
from .evidence import EvidenceContext, SentenceEvidence
from .glossary import spell_out
from .kinds import HARD_KINDS, AnswerKind
from .timeframe import dated_as_asked
from .wordlists import alternation, word_set


@dataclass(frozen=True, slots=True)
class AbstainPolicy:
    """When the evidence is too weak to answer, set by `abstain_strictness` (0 lenient … 1 strict).

    Tuned on the gold set with bench/abstain_grid.py. The best sentence must be relevant and
    similar enough to the question, and when the question asks for a kind of answer (an amount, a
    date, a name, a measure) one of the best few sentences, scoring close to the best, must contain
    one that the question does not already give.
    """

    strictness: float = 0.5

    @property
    def min_relevance(self) -> float:
        return 0.15 + 0.2 * self.strictness

    @property
    def typed_ratio(self) -> float:
        """A typed answer must come from a sentence nearly as relevant as the best one."""
        return 0.35 + 0.5 * self.strictness

    @property
    def typed_window(self) -> int:
        """How many of the best sentences may hold the typed answer."""
        return max(1, round(8 - 6 * self.strictness))

    @property
    def min_similarity(self) -> float:
        """Off-topic floor: no sentence means anything close to the question (gold set: off-topic
        ≤ 0.23, answerable ≥ 0.46 best cosine similarity)."""
        return 0.2 + 0.2 * self.strictness

    @property
    def check_type(self) -> bool:
        return self.strictness >= 0.25


# The kinds of answer that may come from a neighbouring sentence (see kinds.HARD_KINDS).
NEIGHBOUR_KINDS = HARD_KINDS


def typed_candidates(
    ranked: Sequence[tuple[float, SentenceEvidence]],
    kind: AnswerKind | None,
    question: str,
    policy: AbstainPolicy,
    ctx: EvidenceContext,
) -> list[tuple[float, SentenceEvidence]]:
    """The sentences that may answer: among the best few, those holding the kind of answer asked
    for — or whose neighbour in the document holds it, since the sentence that matches the
    question often leaves the answer to the next one (a headline and its date line; "…the Jeddah
    depot. This is the same company that was attacked in 2019")."""
    if not ranked:
        return []
    if kind in (AnswerKind.NAME, AnswerKind.PERSON) and mentions_anonymously(ranked[0][1].text, question):
        # The sentence that best matches the question speaks of "a Chinese company": the document
        # does not know which; a name elsewhere would answer a different question.
        return []
    # A cable's header fields ("Origin: Embassy Tehran") match a question's names well and
    # answer nothing, save a date field asked for a date.
    ranked = [r for r in ranked if not _header_field(r[1].text, kind)] or ranked
    floor = policy.typed_ratio * ranked[0][0]
    out: list[tuple[float, SentenceEvidence]] = []
    for score, s in ranked[: policy.typed_window]:
        if score < floor:
            continue
        before = ctx.previous_of(s)
        # The sentence with the one before it, which may hold what it leaves implicit.
        with_before = s.text + " " + (before.text if before else "")
        if not keeps_numbers(with_before, question):
            continue
        passage = ctx.passages[s.passage]
        # A later chunk may leave the subject to its document's title ("EXXON SEES SYNFUELS …").
        if (not about(f"{ctx.titles[s.passage]}\n{passage}", question)
                or not dated_as_asked(passage, ctx.dates[s.passage], question)):
            continue
        if kind == AnswerKind.NAME and not speaks_of_asked(passage, question):
            continue
        if kind == AnswerKind.DATE and not tells_of_event(spell_out(with_before), question):
            continue
        if kind in NEIGHBOUR_KINDS and elsewhere(s.text, question):
            continue
        if satisfies(kind, s.text, question):
            out.append((score, s))
            if kind == AnswerKind.PERSON:
                out.extend((score, intro) for intro in _introductions(s, ctx, question))
            continue
        if kind == AnswerKind.DATE and refers_back_in_time(s.text):
            dated = next((e for e in ctx.earlier_in_document(s)[:3]
                          if satisfies(kind, e.text, question)), None)
            if dated is not None:
                out.extend([(score, dated), (score, s)])
                continue
        if kind not in NEIGHBOUR_KINDS:
            continue
        after = ctx.following(s)
        for first, second, typed in ((before, s, before), (s, after, after)):
            if first is None or second is None or typed is None:
                continue
            if not continues(second.text) or not satisfies(kind, typed.text, question):
                continue
            # Quoted as two sentences, each with its own marker (they may sit in two chunks).
            out.extend([(score, first), (score, second)])
            break
    # "Which Yemeni movement …": an answer from a document that speaks of Yemen beats one from a
    # document that never does. Only a preference — a cable on Bank Mellat need not say "Iran".
    qualified = [c for c in out if qualified_as_asked(ctx.document_text(c[1].passage), question)]
    return qualified or out


# Header fields of cables and wires. "Classified By: Ambassador …" is left out: it names who
# classified the cable, which a question may ask.
_FIELD = re.compile(rf"^\s*({alternation('header_fields.txt')})\b(?! By)")
_DATE_FIELDS = word_set("date_header_fields.txt")


def _header_field(text: str, kind: AnswerKind | None) -> bool:
    field = _FIELD.match(text)
    return field is not None and not (kind == AnswerKind.DATE
                                      and field.group(1).lower() in _DATE_FIELDS)


def sequel(
    candidates: Sequence[tuple[float, SentenceEvidence]],
    ctx: EvidenceContext,
    question: str,
    kind: AnswerKind | None,
) -> SentenceEvidence | None:
    """The next sentence of the best candidate's document when it holds a word of the question
    the best one lacks: "…operating at full capacity, Briam said." | "The exceptions were VW's
    Nigerian operations…" answers "which sites were the exceptions". Only for questions that ask
    no kind of answer: a date or a name asked for is in the best sentence, or in a neighbour
    `typed_candidates` has already found."""
    if not candidates or kind is not None:
        return None
    top = candidates[0][1]
    after = ctx.following(top)
    if after is None:
        return None
    lacking = event_words(question) - set(tokenize(spell_out(top.text)))
    return after if lacking & set(tokenize(spell_out(after.text))) else None


# What a sentence giving a reason says ("…rejected the application because…").
_REASON = re.compile(rf"\b({alternation('reason_phrases.txt')}|reasons? (?:was|were|is|are))\b", re.I)


def reason(
    candidates: Sequence[tuple[float, SentenceEvidence]],
    ctx: EvidenceContext,
    question: str,
    kind: AnswerKind | None,
) -> SentenceEvidence | None:
    """For a "why" question whose best sentence gives no reason, the best sentence of the same
    document that does, scoring at least half the best (0.4-0.6 measure the same on the
    held-out sets): "The board has denied an application by Hydro-Quebec…" | "…rejected the
    application because Hydro-Quebec did not offer the electricity first to Canadian
    provinces". A quote added, never a reason to decline: many a true answer to "why" states
    its reason without such a word."""
    if not candidates or kind is not None or not re.search(r"\bwhy\b", question, re.I):
        return None
    top_score, top = candidates[0]
    if _REASON.search(top.text):
        return None
    return next((s for score, s in ctx.ranked_sentences()
                 if score >= 0.5 * top_score and s is not top
                 and ctx.document_of(s) == ctx.document_of(top) and _REASON.search(s.text)), None)


def _introductions(
    sentence: SentenceEvidence, ctx: EvidenceContext, question: str
) -> list[SentenceEvidence]:
    """For a sentence naming someone by one word ("Mr Hong said"), the earlier sentence of the same
    document that gives the full name: "Wang" alone may be Wang Yi or Wang Daxue. People the
    question already names are not the answer."""
    out = []
    for surname in bare_surnames(sentence.text):
        if re.search(rf"\b{surname}\b", question):
            continue
        intro = next((e for e in ctx.earlier_in_document(sentence) if full_name(surname, e.text)),
                     None)
        if intro is not None and intro not in out:
            out.append(intro)
    return out[:1]
