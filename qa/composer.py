"""Deciding the answer from the two readers' work.

With a model that can judge (Qwen or a user's GGUF, in process), the LLM's verified sentences and
the rules' quote are both candidate answers, and the judge has the last word on each: a verified
LLM sentence stands when it holds the kind of answer asked for (the rules' check) and the judge
says it answers the question (paraphrases, "what is"); the rules' quote stands when the LLM
found nothing but the judge accepts the quote, or when both answer and the judge prefers it;
otherwise Dossier declines. A model's NOT IN DOCUMENTS raises the bar the quote must clear,
unless the model, read again with that reply banned, answers from the very sentence the rules
quote for a typed question (`wants_committed`).

Without a judge (HTTP backends, the tiny SmolLM2) the rules decide and a verified draft replaces
the quote only where it says at least what the quote says — the rule that suited a 135M model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .answer_type import adds_information, satisfies
from .evidence import grounded, numbers
from .readers import LLMReading, RuleReading
from .verify import KeptSentence

# P(yes) thresholds, chosen on the development halves (docs/experiments.md, 2026-12-03).
LLM_SENTENCE_MIN = 0.5
QUOTE_MIN = 0.5
QUOTE_AFTER_DECLINE_MIN = 0.8


@dataclass(slots=True)
class Decision:
    sentences: list[KeptSentence]
    # "llm": the LLM's verified sentences; "rules": the evidence engine's quote; "none": declined.
    reader: str
    # The Answer.mode of the older contract: "draft", "extractive", "fallback" or "abstained".
    mode: str
    why: str = ""
    judgements: dict[str, float] = field(default_factory=dict)


Judgement = Callable[[str], float]


def _declined(why: str, judgements: dict[str, float] | None = None) -> Decision:
    return Decision([], "none", "abstained", why, judgements or {})


class ReadAndCheck:
    """The policy for a model that reads and judges."""

    def __init__(self, llm_min: float = LLM_SENTENCE_MIN, quote_min: float = QUOTE_MIN,
                 quote_after_decline_min: float = QUOTE_AFTER_DECLINE_MIN) -> None:
        self.llm_min = llm_min
        self.quote_min = quote_min
        self.quote_after_decline_min = quote_after_decline_min

    def run(self, question: str, rules: RuleReading, llm: LLMReading, judge: Judgement,
            committed: LLMReading | None = None) -> Decision:
        """`committed`: the model's answer when it was not allowed to decline (read where
        `wants_committed`)."""
        judgements: dict[str, float] = {}
        if not llm.declined and llm.kept:
            # Each verified sentence is judged on its own: a true sentence that does not answer
            # (another company, another year) is not appended to one that does.
            kept = []
            for i, sentence in enumerate(llm.kept[:3]):
                if not _of_kind(sentence, rules, question):
                    # The rules' second opinion: "which company" is not answered by a sentence
                    # that names none, however true ("…a Chinese company linked to Iran").
                    judgements[f"llm{i + 1}"] = 0.0
                    continue
                p = judge(sentence.text)
                judgements[f"llm{i + 1}"] = round(p, 3)
                if p >= self.llm_min:
                    kept.append(sentence)
            if kept and not rules.declined and rules.quotes and not (
                    _evidence(kept) & _evidence(rules.quotes)):
                # The readers disagree: the rules' quote is judged too, and the better answer
                # stands (the model may pick a true sentence beside the one that answers).
                best_llm = max(judgements.values())
                p_quote = judge(" ".join(q.text for q in rules.quotes))
                judgements["quote"] = round(p_quote, 3)
                if p_quote > best_llm:
                    return Decision(list(rules.quotes), "rules", "fallback", "", judgements)
            if kept:
                return Decision(kept, "llm", "draft", "", judgements)
        if committed is not None and committed.kept and wants_committed(rules, llm):
            agreed = []
            quoted = _places(rules.quotes, rules)
            for i, sentence in enumerate(committed.kept[:3]):
                if not _places([sentence], rules) & quoted:
                    continue
                p = judge(sentence.text)
                judgements[f"committed{i + 1}"] = round(p, 3)
                if p >= self.llm_min:
                    agreed.append(sentence)
            if agreed:
                return Decision(agreed, "llm", "draft",
                                "the model's answer, once it could not decline, rests on the quote",
                                judgements)
        if not rules.declined and rules.quotes:
            quote = " ".join(q.text for q in rules.quotes)
            p = judge(quote)
            judgements["quote"] = round(p, 3)
            bar = self.quote_after_decline_min if llm.declined else self.quote_min
            if p >= bar:
                return Decision(list(rules.quotes), "rules", "extractive" if llm.declined else "fallback",
                                "", judgements)
            return _declined("the quote does not answer the question, the model judged", judgements)
        if llm.declined:
            return _declined(rules.why or "the model found no answer in the passages", judgements)
        if llm.kept:
            return _declined("no verified sentence of the model's answers the question", judgements)
        return _declined(rules.why or "no sentence of the model's draft is supported by its passage",
                         judgements)


def wants_committed(rules: RuleReading, llm: LLMReading) -> bool:
    """Is the model's answer with its decline banned worth reading? A small model declines many
    questions it can answer; made to answer anyway, its answer counts where it rests on the very
    sentence the rules quote for a typed question (one holding a figure, date or name of the
    kind asked): two readers that work differently found the same answer, and the judge agrees.
    For an untyped question the quote is only the closest sentence, and agreeing on it says
    little (on the development halves it let near misses through)."""
    return llm.declined and bool(rules.quotes) and rules.kind is not None


def _of_kind(sentence: KeptSentence, rules: RuleReading, question: str) -> bool:
    """Does the sentence hold an answer of the kind the question asks for (a name, a date, an
    amount …) that the question does not already give? Untyped questions: yes."""
    if rules.kind is None:
        return True
    return satisfies(rules.kind, sentence.text, question) and adds_information(sentence.text, question)


def _evidence(sentences: Sequence[KeptSentence]) -> set[tuple[int, int]]:
    """The source sentences (passage, start) that these sentences rest on."""
    return {(e.passage, e.start) for k in sentences for e in k.evidence.values() if e is not None}


def _places(sentences: Sequence[KeptSentence], rules: RuleReading) -> set[tuple[str, int]]:
    """Where in their documents the sentences' evidence starts: overlapping chunks hold the same
    sentence at different places in different passages."""
    return {(rules.passages[e.passage].doc_id, rules.passages[e.passage].start + e.start)
            for k in sentences for e in k.evidence.values() if e is not None}


class RulesFirst:
    """The policy without a judge: the rules decide whether to answer; a verified draft replaces
    their quote only when it says at least what the quote says."""

    def run(self, question: str, rules: RuleReading, llm: LLMReading | None) -> Decision:
        if rules.declined:
            return _declined(rules.why)
        if llm is None:
            return Decision(list(rules.quotes), "rules", "extractive")
        if not llm.declined and draft_answers(llm.kept, rules, question):
            return Decision(list(llm.kept), "llm", "draft")
        return Decision(list(rules.quotes), "rules", "fallback")


def draft_answers(kept: Sequence[KeptSentence], rules: RuleReading, question: str) -> bool:
    """Is a verified draft an answer worth showing instead of the quotes (no judge)?"""
    candidates, quotes, kind = rules.candidates, rules.quotes, rules.kind
    if not kept or not candidates or not quotes:
        return False
    # A draft that survives verification but drifts off the question is not kept.
    if max(k.relevance for k in kept) < 0.8 * candidates[0][0]:
        return False
    # The sentence that answers must take its figures and names from the sentences that may
    # answer, not from elsewhere in a long passage ("2021" pinned to another sentence's event).
    allowed = " ".join([*(s.text for _, s in candidates), *(q.text for q in quotes)])
    if not any(satisfies(kind, k.text, question) and adds_information(k.text, question)
               and grounded(k.text, allowed) for k in kept):
        return False
    # The draft must say at least what the quote would say: a small model's answer drawn from
    # other sentences is wrong about as often as it is right.
    if not _evidence(quotes) <= _evidence(kept):
        return False
    # Resting on the quoted sentence is not saying what it says: every figure the quote adds to
    # the question must be in the draft.
    said = numbers(" ".join(k.text for k in kept))
    return all(n in said for q in quotes for n in numbers(q.text) - numbers(question))
